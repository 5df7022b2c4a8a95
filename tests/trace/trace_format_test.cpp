// Round trips through TraceWriter and read_trace, and the writer's own
// error handling.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "schema/trace_writer.h"
#include "tests/trace/trace_test_util.h"

namespace loophound::trace {
namespace {

using testing::chunk_spans;
using testing::read_bytes;
using testing::RecordingVisitor;
using testing::temp_path;
using testing::write_bytes;

Header sample_header() {
  Header header;
  header.metadata = {
      {"recorder_version", "0.1.0"},
      {"hostname", "build-host"},
      {"start_monotonic_ns", "123456789012"},
      {"events", "sample,execute"},
      {"offset.tls_g", "-8"},
      {"empty_value", ""},
      {"long_value", std::string(300, 'x')},  // a two-byte length varint
      {"utf8", "gr\xc3\xbc\xc3\x9f"},
  };
  header.mappings = {
      {0x400000, 0x4a0000, 0, "r-xp", "/usr/local/bin/spin_flag"},
      {0xc000000000, 0xc000400000, 0, "rw-p", ""},
      {0x7ffd1000, 0x7ffd2000, 0x1000, "rw-p", "[stack]"},
      {0xffffffffff600000, 0xffffffffff601000, 0, "--xp", "[vsyscall]"},
  };
  return header;
}

// What the test wrote, in order, to compare with what the reader delivers.
struct Expected {
  Header header;
  std::vector<Stack> stacks;
  std::vector<Sample> samples;
  std::vector<ExecuteEvent> executes;
  std::vector<LostEvents> losts;
  std::vector<GoroutineInfo> infos;
  std::vector<GoroutineState> states;
  std::vector<GoroutineCreate> creates;
  std::vector<GoroutineExit> exits;
  std::vector<ThreadSwitch> switches;
  Footer footer;
  std::string order;
};

Stack big_stack() {
  // 127 frames (the recorder's maximum) that jump around: decreasing,
  // near UINT64_MAX, near 0, so deltas of both signs and every length occur.
  Stack stack{7, {}};
  uint64_t frame = 0xffffffffffffff00;
  for (int i = 0; i < 127; ++i) {
    stack.frames.push_back(frame);
    frame = (i % 3 == 0) ? frame - 0x1234567 : (i % 3 == 1) ? frame / 3 : ~frame;
  }
  stack.frames[60] = 0;
  stack.frames[61] = UINT64_MAX;
  return stack;
}

Expected write_full_trace(const std::string& path) {
  Expected expected;
  auto writer = TraceWriter::create(path);
  EXPECT_TRUE(writer.ok()) << writer.error().message;
  expected.header = sample_header();
  EXPECT_TRUE((*writer)->write_header(expected.header).ok());

  auto add_stack = [&](const Stack& stack) {
    EXPECT_TRUE((*writer)->add_stack(stack).ok());
    expected.stacks.push_back(stack);
    expected.order += 'S';
  };
  auto add_info = [&](const GoroutineInfo& info) {
    EXPECT_TRUE((*writer)->add_goroutine_info(info).ok());
    expected.infos.push_back(info);
    expected.order += 'i';
  };
  auto add_state = [&](const GoroutineState& state) {
    EXPECT_TRUE((*writer)->add_goroutine_state(state).ok());
    expected.states.push_back(state);
    expected.order += 'g';
  };
  auto add_create = [&](const GoroutineCreate& create) {
    EXPECT_TRUE((*writer)->add_goroutine_create(create).ok());
    expected.creates.push_back(create);
    expected.order += 'c';
  };
  auto add_exit = [&](const GoroutineExit& exit) {
    EXPECT_TRUE((*writer)->add_goroutine_exit(exit).ok());
    expected.exits.push_back(exit);
    expected.order += 'x';
  };
  auto add_switch = [&](const ThreadSwitch& change) {
    EXPECT_TRUE((*writer)->add_thread_switch(change).ok());
    expected.switches.push_back(change);
    expected.order += 't';
  };
  // Every field of every newer record at 0 and at its type's maximum, so
  // that each varint takes its shortest and its longest form, and the
  // timestamp delta spans the whole 64-bit range both ways.
  auto add_extreme_goroutine_records = [&] {
    constexpr uint64_t kMax64 = UINT64_MAX;
    constexpr uint32_t kMax32 = UINT32_MAX;
    add_info(GoroutineInfo{0, 0, 0, 0});
    add_info(GoroutineInfo{kMax64, kMax64, kMax64, kMax64});
    add_state(GoroutineState{0, 0, 0, 0, 0, 0, 0, 0});
    add_state(GoroutineState{kMax64, kMax32, kMax32, kMax64, kMax64, kMax32, kMax32, kMax32});
    add_create(GoroutineCreate{0, 0, 0, 0, 0, 0, 0});
    add_create(GoroutineCreate{kMax64, kMax32, kMax32, kMax64, kMax64, kMax64, kMax64});
    add_exit(GoroutineExit{0, 0, 0, 0});
    add_exit(GoroutineExit{kMax64, kMax32, kMax32, kMax64});
    add_switch(ThreadSwitch{0, 0, 0, 0, 0, 0});
    add_switch(ThreadSwitch{kMax64, kMax32, kMax32, kMax64, kMax32, kMax32});
  };

  add_stack(Stack{1, {}});
  add_stack(Stack{2, {0x401000}});
  add_stack(big_stack());
  add_extreme_goroutine_records();  // lands in the first events chunk

  // Enough events for several events chunks; timestamps mostly rise but
  // sometimes step back, as events from different CPUs do. Every record
  // kind is interleaved with the others, so they share the delta base.
  std::mt19937_64 random(42);
  uint64_t now = 1'000'000'000;
  const auto cpu = [&] { return static_cast<uint32_t>(random() % 64); };
  const auto tid = [&] { return static_cast<uint32_t>(1000 + random() % 50000); };
  const auto pc = [&] { return 0x400000 + random() % 0x100000; };
  for (uint32_t i = 0; i < 60000; ++i) {
    now += random() % 2'000'000;
    const uint64_t timestamp = (i % 17 == 0) ? now - random() % 5'000'000 : now;
    switch (i % 10) {
      case 0: {
        ExecuteEvent event{timestamp, cpu(), tid(), random() % 100000};
        EXPECT_TRUE((*writer)->add_execute(event).ok());
        expected.executes.push_back(event);
        expected.order += 'e';
        break;
      }
      case 2: {
        const auto old_status = static_cast<uint32_t>(random() % 10);
        const auto new_status = i % 3 == 0 ? uint32_t{kGwaiting} : static_cast<uint32_t>(random() % 10);
        add_state(GoroutineState{timestamp, cpu(), tid(), random() % 100000, 0xc000000000 + random() % 0x100000,
                                 (i % 13 == 0) ? old_status | 0x1000 : old_status, new_status,
                                 new_status == kGwaiting ? static_cast<uint32_t>(random() % 40) : 0});
        break;
      }
      case 4:
        add_switch(ThreadSwitch{timestamp, cpu(), tid(), random() % 3, tid(),
                                static_cast<uint32_t>(1 + random() % 3)});
        break;
      case 6: {
        // As the recorder does: the creation, then what it learnt of the
        // new goroutine (no timestamp, between two timestamped records).
        const GoroutineCreate create{timestamp, cpu(), tid(), i % 4 == 0 ? 0 : random() % 100000,
                                     random() % 100000, pc(), pc()};
        add_create(create);
        add_info(GoroutineInfo{create.goid, create.parent_goid, create.start_pc, create.creation_pc});
        break;
      }
      case 8:
        add_exit(GoroutineExit{timestamp, cpu(), tid(), random() % 100000});
        break;
      default: {
        Sample sample{timestamp,
                      cpu(),
                      tid(),
                      i % 7 == 0 ? 0 : random(),
                      static_cast<uint32_t>(random() % 3 + 1),
                      static_cast<uint32_t>(i % 11 == 0 ? kSampleOnSystemStack : 0),
                      i % 9 == 0 ? 0 : pc(),
                      i % 9 == 0 ? 0 : random() % 1'000'000,
                      {},
                      i % 5 == 0 ? 0 : pc()};
        EXPECT_TRUE((*writer)->add_sample(sample).ok());
        expected.samples.push_back(sample);
        expected.order += 's';
        break;
      }
    }
    if (i % 20000 == 19999) {
      LostEvents lost{now, random() % 1000, "ringbuf_reserve"};
      EXPECT_TRUE((*writer)->add_lost(lost).ok());
      expected.losts.push_back(lost);
      expected.order += 'l';
    }
  }
  // Extreme timestamps: a delta of the full 64-bit range, both ways; and
  // the most registers a sample may carry, each at its longest.
  for (const uint64_t timestamp : {uint64_t{0}, UINT64_MAX, uint64_t{0}}) {
    Sample sample{timestamp,
                  0,
                  1,
                  UINT64_MAX,
                  UINT32_MAX,
                  UINT32_MAX,
                  UINT64_MAX,
                  UINT64_MAX,
                  std::vector<uint64_t>(timestamp == 0 ? 0 : kMaxSampleRegisters, UINT64_MAX),
                  UINT64_MAX};
    EXPECT_TRUE((*writer)->add_sample(sample).ok());
    expected.samples.push_back(sample);
    expected.order += 's';
  }
  add_extreme_goroutine_records();  // and in the last one
  LostEvents lost{5, UINT64_MAX, ""};
  EXPECT_TRUE((*writer)->add_lost(lost).ok());
  expected.losts.push_back(lost);
  expected.order += 'l';

  expected.footer = {now, expected.samples.size(), expected.executes.size(), 1234,
                     expected.stacks.size(), "signal"};
  EXPECT_TRUE((*writer)->finish(expected.footer).ok());
  expected.order = "H" + expected.order + "F";
  return expected;
}

TEST(TraceRoundTrip, EveryFieldSurvivesAcrossManyChunks) {
  const std::string path = temp_path("full.lhtrace");
  const Expected expected = write_full_trace(path);

  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->format_version, kFormatVersion);
  EXPECT_TRUE(summary->has_footer);
  EXPECT_FALSE(summary->truncated);
  EXPECT_EQ(summary->truncated_bytes, 0u);
  EXPECT_TRUE(summary->warnings.empty());
  EXPECT_EQ(summary->unknown_records, 0u);
  EXPECT_EQ(summary->records_with_extra_fields, 0u);
  // header + at least three events chunks + footer
  EXPECT_GE(summary->chunks, 5u);
  EXPECT_EQ(summary->chunks, chunk_spans(read_bytes(path)).size());
  EXPECT_EQ(summary->records, expected.header.metadata.size() + expected.header.mappings.size() +
                                  expected.order.size() - 2 + 1);

  ASSERT_EQ(visitor.headers.size(), 1u);
  EXPECT_EQ(visitor.headers[0], expected.header);
  EXPECT_EQ(visitor.stacks, expected.stacks);
  EXPECT_EQ(visitor.samples, expected.samples);
  EXPECT_EQ(visitor.executes, expected.executes);
  EXPECT_EQ(visitor.losts, expected.losts);
  EXPECT_EQ(visitor.infos, expected.infos);
  EXPECT_EQ(visitor.states, expected.states);
  EXPECT_EQ(visitor.creates, expected.creates);
  EXPECT_EQ(visitor.exits, expected.exits);
  EXPECT_EQ(visitor.switches, expected.switches);
  ASSERT_EQ(visitor.footers.size(), 1u);
  EXPECT_EQ(visitor.footers[0], expected.footer);
  EXPECT_EQ(visitor.order, expected.order);
}

TEST(TraceRoundTrip, EventsChunksStayNearTheTargetSize) {
  const std::string path = temp_path("sizes.lhtrace");
  write_full_trace(path);
  const std::string bytes = read_bytes(path);
  for (const auto& span : chunk_spans(bytes)) {
    EXPECT_LE(span.size, kChunkHeaderSize + kTargetChunkPayload + 64) << "chunk at " << span.offset;
  }
}

// `got` (from one late chunk) is the end of `all`, and not empty.
template <typename Record>
void expect_tail(const std::vector<Record>& got, const std::vector<Record>& all) {
  ASSERT_FALSE(got.empty());
  ASSERT_LE(got.size(), all.size());
  EXPECT_EQ(got, std::vector<Record>(all.end() - got.size(), all.end()));
}

TEST(TraceRoundTrip, EachEventsChunkDecodesOnItsOwn) {
  // Keep only the header chunk and the last events chunk: its timestamps
  // must come out right without the chunks before it.
  const std::string path = temp_path("full.lhtrace");
  const Expected expected = write_full_trace(path);
  const std::string bytes = read_bytes(path);
  const auto spans = chunk_spans(bytes);
  ASSERT_GE(spans.size(), 4u);
  const auto& last_events = spans[spans.size() - 2];
  ASSERT_EQ(last_events.kind, static_cast<uint8_t>(ChunkKind::kEvents));
  const std::string cut = bytes.substr(0, spans[0].offset + spans[0].size) +
                          bytes.substr(last_events.offset, last_events.size);
  const std::string cut_path = temp_path("last_chunk.lhtrace");
  write_bytes(cut_path, cut);

  RecordingVisitor visitor;
  auto summary = read_trace(cut_path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_FALSE(visitor.samples.empty());
  ASSERT_LT(visitor.samples.size(), expected.samples.size());
  expect_tail(visitor.samples, expected.samples);
  expect_tail(visitor.infos, expected.infos);
  expect_tail(visitor.states, expected.states);
  expect_tail(visitor.creates, expected.creates);
  expect_tail(visitor.exits, expected.exits);
  expect_tail(visitor.switches, expected.switches);
}

TEST(TraceRoundTrip, EmptyHeaderAndNoEvents) {
  const std::string path = temp_path("empty.lhtrace");
  {
    auto writer = TraceWriter::create(path);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->write_header(Header{}).ok());
    ASSERT_TRUE((*writer)->flush().ok());  // nothing buffered: no chunk
    ASSERT_TRUE((*writer)->finish(Footer{}).ok());
    EXPECT_EQ((*writer)->bytes_written(), read_bytes(path).size());
  }
  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->chunks, 2u);
  EXPECT_EQ(visitor.order, "HF");
  EXPECT_EQ(visitor.headers[0], Header{});
  EXPECT_EQ(visitor.footers[0], Footer{});
}

// Events chunks are stored zstd-compressed when that shrinks them, and
// read back exactly; set_compression(false) stores them as written.
TEST(TraceRoundTrip, CompressedChunksReadBackExactly) {
  for (bool compress : {true, false}) {
    const std::string path = temp_path(compress ? "zstd.lhtrace" : "raw.lhtrace");
    std::vector<Sample> written;
    {
      auto writer = TraceWriter::create(path);
      ASSERT_TRUE(writer.ok());
      (*writer)->set_compression(compress);
      ASSERT_TRUE((*writer)->write_header(Header{{{"pid", "42"}}, {}}).ok());
      ASSERT_TRUE((*writer)->add_stack(Stack{1, {0x401000, 0x400ff0}}).ok());
      for (uint64_t i = 0; i < 3000; ++i) {
        Sample s{1000 + i * 10'000'000, 1, 7, 9, 1, 0, 0x401000, i, testing::x86_64_registers(), 0x400ff8};
        s.frame_windows.push_back(FrameWindow{0, 0xc000042f00, std::string(256, static_cast<char>(i % 7))});
        written.push_back(s);
        ASSERT_TRUE((*writer)->add_sample(s).ok());
      }
      ASSERT_TRUE((*writer)->finish(Footer{}).ok());
      EXPECT_EQ((*writer)->bytes_written(), read_bytes(path).size());
    }
    const std::string bytes = read_bytes(path);
    size_t compressed = 0, events = 0;
    for (const auto& span : chunk_spans(bytes)) {
      if (span.kind != static_cast<uint8_t>(ChunkKind::kEvents)) continue;
      ++events;
      compressed += (static_cast<uint8_t>(bytes[span.offset + 5]) & kChunkZstd) != 0;
    }
    EXPECT_GT(events, 1u);
    EXPECT_EQ(compressed, compress ? events : 0u);
    if (compress) {
      EXPECT_LT(bytes.size(), 3000u * 256 / 4) << "frame bytes that repeat compress well";
    }
    RecordingVisitor visitor;
    auto summary = read_trace(path, visitor);
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(visitor.samples, written);
  }
}

TEST(TraceRoundTrip, BytesMatchTheExampleInTraceFormatMd) {
  // The worked example at the end of schema/TRACE_FORMAT.md: if this test
  // changes, the document must change with it.
  const std::string path = temp_path("example.lhtrace");
  {
    auto writer = TraceWriter::create(path);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->write_header(Header{{{"pid", "42"}}, {}}).ok());
    ASSERT_TRUE((*writer)->add_stack(Stack{1, {0x401000, 0x400ff0}}).ok());
    ASSERT_TRUE((*writer)->add_sample(Sample{1000, 2, 7, 9, 1, 0, 0x401000, 5, {}, 0x400ff8}).ok());
    ASSERT_TRUE((*writer)->add_sample(Sample{990, 3, 8, 9, 1, 0, 0x401000, 6, {}, 0}).ok());
    ASSERT_TRUE((*writer)->finish(Footer{2000, 2, 0, 0, 1, "signal"}).ok());
  }
  const unsigned char expected[] = {
      0x89, 0x4c, 0x48, 0x54, 0x52, 0x0d, 0x0a, 0x1a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x09, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x82, 0x9f, 0x4a, 0x37,
      0x01, 0x07, 0x03, 0x70, 0x69, 0x64, 0x02, 0x34, 0x32,
      0x2d, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xb9, 0xff, 0xd4, 0x3c,
      0x03, 0x07, 0x01, 0x02, 0x80, 0xa0, 0x80, 0x02, 0x1f,
      0x04, 0x12, 0xd0, 0x0f, 0x02, 0x07, 0x09, 0x01, 0x00, 0x80, 0xa0, 0x80, 0x02, 0x05, 0x00,
      0xf8, 0x9f, 0x80, 0x02, 0x00,
      0x04, 0x0e, 0x13, 0x03, 0x08, 0x09, 0x01, 0x00, 0x80, 0xa0, 0x80, 0x02, 0x06, 0x00, 0x00, 0x00,
      0x0f, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x91, 0xd5, 0x45, 0x41,
      0x07, 0x0d, 0xd0, 0x0f, 0x02, 0x00, 0x00, 0x01, 0x06, 's', 'i', 'g', 'n', 'a', 'l',
  };
  EXPECT_EQ(read_bytes(path), std::string(reinterpret_cast<const char*>(expected), sizeof(expected)));
}

TEST(TraceWriter, NewerRecordsMatchTheDocumentedLayout) {
  // A round trip cannot catch a field order that writer and reader share
  // by mistake; the bodies spelled out from TRACE_FORMAT.md can.
  const std::string path = temp_path("layout.lhtrace");
  const GoroutineInfo info{17, 1, 0x45a0e0, 0x48c2f1};
  const GoroutineState state{1000, 3, 4242, 17, 0xc000007340, kGrunning, kGwaiting, 7};
  const GoroutineCreate create{990, 2, 4243, 0, 1, 0x45a0e0, 0x48c2f1};
  const GoroutineExit exit{2000, 5, 4244, 17};
  const ThreadSwitch change{1500, 1, 4242, 1, 0, kSwitchPrevIsTarget};
  const Sample sample{
      1600, 1, 4245, 17, 3, kSampleOnSystemStack, 0x45b3c0, 123456, testing::x86_64_registers(), 0x45a0f7};
  const Sample no_registers{1700, 2, 4246, 18, 4, 0, 0x45b3c4, 123457, {}, 0};
  const std::vector<FrameWindow> windows = {{0, 0xc000042f00, std::string("\x01\x02\x03", 3)},
                                            {0x45a0f7, 0xc000042f40, std::string(16, '\xff')}};
  Sample with_windows = sample;
  with_windows.timestamp_ns = 1800;
  with_windows.frame_windows = windows;
  {
    auto writer = TraceWriter::create(path);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->write_header(Header{}).ok());
    ASSERT_TRUE((*writer)->add_goroutine_state(state).ok());
    ASSERT_TRUE((*writer)->add_goroutine_info(info).ok());
    ASSERT_TRUE((*writer)->add_goroutine_create(create).ok());
    ASSERT_TRUE((*writer)->add_goroutine_exit(exit).ok());
    ASSERT_TRUE((*writer)->add_thread_switch(change).ok());
    ASSERT_TRUE((*writer)->add_sample(sample).ok());
    ASSERT_TRUE((*writer)->add_sample(no_registers).ok());
    ASSERT_TRUE((*writer)->add_sample(with_windows).ok());
    ASSERT_TRUE((*writer)->finish(Footer{}).ok());
  }
  using testing::record;
  // One delta base for every timestamped record; info has no timestamp.
  const std::string payload = record(RecordKind::kGoroutineState, testing::goroutine_state_body(1000, state)) +
                              record(RecordKind::kGoroutineInfo, testing::goroutine_info_body(info)) +
                              record(RecordKind::kGoroutineCreate, testing::goroutine_create_body(-10, create)) +
                              record(RecordKind::kGoroutineExit, testing::goroutine_exit_body(1010, exit)) +
                              record(RecordKind::kThreadSwitch, testing::thread_switch_body(-500, change)) +
                              record(RecordKind::kSample, testing::sample_body(100, 1, 4245, 17, 3, 1, 0x45b3c0, 123456,
                                                                               testing::x86_64_registers(), 0x45a0f7)) +
                              // Without --regs: a register count of 0, sp_word (0) and a window count of 0.
                              record(RecordKind::kSample, testing::sample_body(100, 2, 4246, 18, 4, 0, 0x45b3c4, 123457)) +
                              record(RecordKind::kSample, testing::sample_body(100, 1, 4245, 17, 3, 1, 0x45b3c0, 123456,
                                                                               testing::x86_64_registers(), 0x45a0f7,
                                                                               windows));
  const std::string bytes = read_bytes(path);
  const auto spans = chunk_spans(bytes);
  ASSERT_EQ(spans.size(), 3u);
  ASSERT_EQ(spans[1].kind, static_cast<uint8_t>(ChunkKind::kEvents));
  EXPECT_EQ(bytes.substr(spans[1].offset, spans[1].size), testing::chunk(ChunkKind::kEvents, payload));
  // The register part spelled out byte by byte: count 18, then rax (0),
  // rbx (1), rcx (0x7f), rdx (0x80 = 80 01), ...
  const std::string with_registers = testing::sample_body(100, 1, 4245, 17, 3, 1, 0x45b3c0, 123456,
                                                          testing::x86_64_registers());
  const std::string head = testing::schedtick_sample_body(100, 1, 4245, 17, 3, 1, 0x45b3c0, 123456);
  EXPECT_EQ(with_registers.substr(head.size(), 6), std::string("\x12\x00\x01\x7f\x80\x01", 6));
  // sp_word comes after the registers: 0x45a0f7 = f7 c1 96 02 after rflags (0x246 = c6 04).
  const std::string with_sp_word = testing::sp_word_sample_body(100, 1, 4245, 17, 3, 1, 0x45b3c0, 123456,
                                                        testing::x86_64_registers(), 0x45a0f7);
  EXPECT_EQ(with_sp_word.substr(with_sp_word.size() - 6), std::string("\xc6\x04\xf7\xc1\x96\x02", 6));
  // Without --regs the body ends in a register count of 0, sp_word 0 and
  // no frame windows.
  const std::string bare = testing::sample_body(100, 2, 4246, 18, 4, 0, 0x45b3c4, 123457);
  EXPECT_EQ(bare.substr(bare.size() - 3), std::string("\x00\x00\x00", 3));
  // Frame windows spelled out: count 2; pc 0, sp 0xc000042f00 (80 de 90 80 80 18), 3 bytes; ...
  const std::string windowed = testing::sample_body(100, 1, 4245, 17, 3, 1, 0x45b3c0, 123456,
                                                    testing::x86_64_registers(), 0x45a0f7, windows);
  EXPECT_EQ(windowed.substr(with_sp_word.size(), 12),
            std::string("\x02\x00\x80\xde\x90\x80\x80\x18\x03\x01\x02\x03", 12));
  // And they read back as written.
  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_EQ(visitor.samples.size(), 3u);
  EXPECT_EQ(visitor.samples[2], with_windows);
}

TEST(TraceWriter, FlushWritesACompleteChunk) {
  const std::string path = temp_path("flush.lhtrace");
  auto writer = TraceWriter::create(path);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->write_header(sample_header()).ok());
  ASSERT_TRUE((*writer)->add_sample(Sample{10, 1, 2, 3, 4, 0, 0, 0, {}}).ok());
  ASSERT_TRUE((*writer)->flush().ok());
  EXPECT_EQ((*writer)->bytes_written(), read_bytes(path).size()) << "flush reaches the file";

  // A reader looking now, while the recorder still runs, sees the sample.
  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(visitor.samples.size(), 1u);
  EXPECT_FALSE(summary->has_footer);
}

TEST(TraceWriter, DestructorWithoutFinishKeepsEventsButNoFooter) {
  const std::string path = temp_path("unfinished.lhtrace");
  {
    auto writer = TraceWriter::create(path);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->write_header(sample_header()).ok());
    ASSERT_TRUE((*writer)->add_sample(Sample{10, 1, 2, 3, 4, 0, 0, 0, {}}).ok());
  }
  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_FALSE(summary->has_footer);
  EXPECT_FALSE(summary->truncated);
  EXPECT_EQ(visitor.samples.size(), 1u);
  ASSERT_EQ(summary->warnings.size(), 1u);
  EXPECT_NE(summary->warnings[0].find("not closed cleanly"), std::string::npos);
  EXPECT_NE(summary->warnings[0].find("'" + path + "'"), std::string::npos);
}

TEST(TraceWriter, CreateInMissingDirectoryNamesThePath) {
  const std::string path = temp_path("no/such/dir/x.lhtrace");
  auto writer = TraceWriter::create(path);
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.error().message.find("'" + path + "'"), std::string::npos);
  EXPECT_NE(writer.error().message.find("No such file or directory"), std::string::npos);
}

TEST(TraceWriter, FullDiskIsAnErrorNamingThePath) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "SKIPPED: no /dev/full";
  auto writer = TraceWriter::create("/dev/full");
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.error().message.find("'/dev/full'"), std::string::npos);
  EXPECT_NE(writer.error().message.find("No space left on device"), std::string::npos);
}

TEST(TraceWriter, RejectsMisuse) {
  const std::string path = temp_path("misuse.lhtrace");
  auto writer = TraceWriter::create(path);
  ASSERT_TRUE(writer.ok());
  TraceWriter& w = **writer;
  EXPECT_FALSE(w.add_sample(Sample{}).ok()) << "events before the header";
  EXPECT_FALSE(w.finish(Footer{}).ok()) << "finish before the header";
  ASSERT_TRUE(w.write_header(Header{}).ok());
  EXPECT_FALSE(w.write_header(Header{}).ok()) << "two headers";

  Stack huge{1, std::vector<uint64_t>(kMaxStackFrames + 1, 0x401000)};
  auto status = w.add_stack(huge);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("1025 frames"), std::string::npos);
  Stack largest{1, std::vector<uint64_t>(kMaxStackFrames, 0x401000)};
  EXPECT_TRUE(w.add_stack(largest).ok());

  ASSERT_TRUE(w.finish(Footer{}).ok());
  EXPECT_FALSE(w.add_sample(Sample{}).ok()) << "events after finish";
  EXPECT_FALSE(w.finish(Footer{}).ok()) << "finish twice";

  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(visitor.order, "HSF") << "rejected calls wrote nothing";
}

// A bundle part as large as allowed (16 MiB of incompressible bytes) and a
// small one survive intact between other events; a part over the limit or
// with an impossible part number is refused by the writer.
TEST(TraceRoundTrip, BinaryBundlePartsSurvive) {
  const std::string path = temp_path("bundle.lhtrace");
  auto writer = TraceWriter::create(path);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->write_header(Header{}).ok());
  BinaryBundle big{"go-id", "abcd", "/srv/app", "zstd", 40u << 20, 0, 2, kBundleHasDwarf, std::string()};
  big.data.resize(kMaxBundlePart);
  for (size_t i = 0; i < big.data.size(); ++i) big.data[i] = static_cast<char>((i * 2654435761u) >> 13);
  BinaryBundle small = big;
  small.part = 1;
  small.data = "tail";
  ASSERT_TRUE((*writer)->add_sample(Sample{100, 1, 2, 3, 4, 0, 0, 0, {}}).ok());
  ASSERT_TRUE((*writer)->add_binary_bundle(big).ok());
  ASSERT_TRUE((*writer)->add_sample(Sample{200, 1, 2, 3, 4, 0, 0, 0, {}}).ok());
  ASSERT_TRUE((*writer)->add_binary_bundle(small).ok());
  BinaryBundle too_big = small;
  too_big.data.assign(kMaxBundlePart + 1, 'x');
  EXPECT_FALSE((*writer)->add_binary_bundle(too_big).ok());
  ASSERT_TRUE((*writer)->finish(Footer{}).ok());

  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_EQ(visitor.bundles.size(), 2u);
  EXPECT_EQ(visitor.bundles[0], big);
  EXPECT_EQ(visitor.bundles[1], small);
  // The bundle carries no timestamp: the samples around it keep theirs.
  ASSERT_EQ(visitor.samples.size(), 2u);
  EXPECT_EQ(visitor.samples[1].timestamp_ns, 200u);
}

// --regs: 18 registers (x86-64) with each sample, every varint length
// among them; samples without registers (a count of 0) and with the most
// allowed (64) in between.
TEST(TraceRoundTrip, SampleRegistersSurvive) {
  const std::string path = temp_path("registers.lhtrace");
  std::vector<uint64_t> most(kMaxSampleRegisters);
  for (size_t i = 0; i < most.size(); ++i) most[i] = (i % 2 == 0) ? UINT64_MAX - i : i << (i % 57);
  const std::vector<Sample> samples = {
      {1000, 2, 7, 9, 1, 0, 0x401000, 5, testing::x86_64_registers()},
      {990, 3, 8, 9, 1, kSampleOnSystemStack, 0x401000, 6, {}},
      {2000, 0, 7, 0, 2, kSampleStackError, 0, 0, testing::x86_64_registers()},
      {1500, 1, 9, 10, 1, 0, 0x401004, 7, most},
      {1600, 1, 9, 10, 1, 0, 0x401004, 8, std::vector<uint64_t>(18, 0)},
  };
  {
    auto writer = TraceWriter::create(path);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->write_header(Header{}).ok());
    ASSERT_TRUE((*writer)->add_stack(Stack{1, {0x401000}}).ok());
    ASSERT_TRUE((*writer)->add_stack(Stack{2, {}}).ok());
    for (const Sample& sample : samples) ASSERT_TRUE((*writer)->add_sample(sample).ok());
    ASSERT_TRUE((*writer)->finish(Footer{2000, samples.size(), 0, 0, 2, "signal"}).ok());
  }
  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->records_with_extra_fields, 0u) << "the registers are known fields";
  EXPECT_TRUE(summary->warnings.empty());
  EXPECT_EQ(visitor.samples, samples);
  ASSERT_EQ(visitor.samples[0].registers.size(), 18u);
  EXPECT_EQ(visitor.samples[0].registers[16], 0x45b3c0u) << "rip";
  EXPECT_EQ(visitor.samples[0].registers[17], 0x246u) << "rflags";
}

// sp_word, the word at the user stack pointer: 0 (unknown), 1, a return
// address and UINT64_MAX (a 10-byte varint), after no registers, after 18
// and after the most allowed; it is a known field, not an extra one.
TEST(TraceRoundTrip, SampleSpWordSurvives) {
  const std::string path = temp_path("sp_word.lhtrace");
  const std::vector<Sample> samples = {
      {1000, 2, 7, 9, 1, 0, 0x401000, 5, {}, UINT64_MAX},
      {1001, 2, 7, 9, 1, 0, 0x401000, 5, testing::x86_64_registers(), UINT64_MAX},
      {1002, 2, 7, 9, 1, 0, 0x401000, 5, std::vector<uint64_t>(kMaxSampleRegisters, UINT64_MAX), UINT64_MAX},
      {1003, 3, 8, 9, 1, 0, 0x401000, 6, {}, 0},
      {1004, 3, 8, 9, 1, 0, 0x401000, 6, {}, 1},
      {1005, 3, 8, 9, 1, kSampleOnSystemStack, 0x401000, 6, testing::x86_64_registers(), 0x45a0f7},
  };
  {
    auto writer = TraceWriter::create(path);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->write_header(Header{}).ok());
    ASSERT_TRUE((*writer)->add_stack(Stack{1, {0x401000}}).ok());
    for (const Sample& sample : samples) ASSERT_TRUE((*writer)->add_sample(sample).ok());
    ASSERT_TRUE((*writer)->finish(Footer{2000, samples.size(), 0, 0, 1, "signal"}).ok());
  }
  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->records_with_extra_fields, 0u) << "sp_word is a known field";
  EXPECT_TRUE(summary->warnings.empty());
  EXPECT_EQ(visitor.samples, samples);
  ASSERT_EQ(visitor.samples.size(), samples.size());
  EXPECT_EQ(visitor.samples[0].sp_word, UINT64_MAX);
  EXPECT_EQ(visitor.samples[2].sp_word, UINT64_MAX);
}

TEST(TraceWriter, RefusesMoreThan64Registers) {
  const std::string path = temp_path("too_many_registers.lhtrace");
  auto writer = TraceWriter::create(path);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->write_header(Header{}).ok());
  auto status = (*writer)->add_sample(
      Sample{100, 1, 2, 3, 4, 0, 0, 0, std::vector<uint64_t>(kMaxSampleRegisters + 1, 1)});
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(testing::has_substr(status.error().message, "'" + path + "'"));
  EXPECT_TRUE(testing::has_substr(status.error().message, "sample with 65 registers"));
  ASSERT_TRUE((*writer)->finish(Footer{}).ok());

  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(visitor.order, "HF") << "the refused sample wrote nothing";
}

TEST(Header, GetReturnsValueOrEmpty) {
  const Header header = sample_header();
  EXPECT_EQ(header.get("hostname"), "build-host");
  EXPECT_EQ(header.get("offset.tls_g"), "-8");
  EXPECT_EQ(header.get("empty_value"), "");
  EXPECT_EQ(header.get("no_such_key"), "");
}

}  // namespace
}  // namespace loophound::trace

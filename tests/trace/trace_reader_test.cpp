// read_trace on damaged and hostile input: truncated tails, flipped bytes,
// files that are not traces, newer versions, hand-built malformed chunks.
// Every case must end in a clear Error or a warning, never a crash (run
// these under -fsanitize=address,undefined too).
#include <gtest/gtest.h>
#include <zstd.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "schema/trace_writer.h"
#include "tests/trace/trace_test_util.h"

namespace loophound::trace {
namespace {

using namespace testing;  // the helpers of trace_test_util.h

std::string quoted(const std::string& path) { return "'" + path + "'"; }

// Reads `bytes` from a file and returns the error message ("" if ok).
std::string read_error(const std::string& path, const std::string& bytes) {
  write_bytes(path, bytes);
  RecordingVisitor visitor;
  auto result = read_trace(path, visitor);
  return result.ok() ? "" : result.error().message;
}

// A small trace with known chunk contents, one letter per delivered record
// (as RecordingVisitor::order spells them).
struct SmallTrace {
  std::string bytes;
  std::vector<std::string> chunk_orders;
};

SmallTrace write_small_trace(const std::string& path) {
  auto writer = TraceWriter::create(path);
  EXPECT_TRUE(writer.ok());
  TraceWriter& w = **writer;
  Header header;
  header.metadata = {{"pid", "42"}, {"executable", "/bin/spin"}};
  header.mappings = {{0x400000, 0x500000, 0, "r-xp", "/bin/spin"}};
  EXPECT_TRUE(w.write_header(header).ok());
  EXPECT_TRUE(w.add_stack(Stack{1, {0x401000, 0x402000, 0x400500}}).ok());
  for (uint64_t t = 100; t < 400; t += 100) EXPECT_TRUE(w.add_sample(Sample{t, 0, 7, 9, 1, 0, 0, 0, {}}).ok());
  EXPECT_TRUE(w.flush().ok());
  EXPECT_TRUE(w.add_execute(ExecuteEvent{500, 1, 7, 10}).ok());
  EXPECT_TRUE(w.add_execute(ExecuteEvent{450, 2, 8, 11}).ok());
  EXPECT_TRUE(w.add_lost(LostEvents{600, 3, "ringbuf_reserve"}).ok());
  EXPECT_TRUE(w.flush().ok());
  for (uint64_t t = 700; t < 1100; t += 100) EXPECT_TRUE(w.add_sample(Sample{t, 3, 7, 9, 1, 0, 0, 0, {}}).ok());
  EXPECT_TRUE(w.finish(Footer{1100, 7, 2, 3, 1, "duration"}).ok());
  return {read_bytes(path), {"H", "Ssss", "eel", "ssss", "F"}};
}

TEST(TraceTruncation, EveryCutPositionDeliversExactlyTheCompleteChunks) {
  const std::string path = temp_path("small.lhtrace");
  const SmallTrace trace = write_small_trace(path);
  const auto spans = chunk_spans(trace.bytes);
  ASSERT_EQ(spans.size(), trace.chunk_orders.size());
  const size_t header_end = spans[0].offset + spans[0].size;
  const std::string cut_path = temp_path("cut.lhtrace");

  for (size_t cut = 0; cut < trace.bytes.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    write_bytes(cut_path, trace.bytes.substr(0, cut));
    RecordingVisitor visitor;
    auto summary = read_trace(cut_path, visitor);
    if (cut < header_end) {
      // Before the header chunk is whole there is nothing to analyse.
      ASSERT_FALSE(summary.ok());
      EXPECT_TRUE(has_substr(summary.error().message, quoted(cut_path)));
      EXPECT_TRUE(has_substr(summary.error().message,
                  cut < kFileHeaderSize ? "not a loophound trace" : "header chunk"));
      continue;
    }
    ASSERT_TRUE(summary.ok()) << summary.error().message;

    std::string expected_order;
    size_t boundary = kFileHeaderSize;
    uint64_t complete = 0;
    for (size_t i = 0; i < spans.size() && spans[i].offset + spans[i].size <= cut; ++i) {
      expected_order += trace.chunk_orders[i];
      boundary = spans[i].offset + spans[i].size;
      ++complete;
    }
    EXPECT_EQ(visitor.order, expected_order);
    EXPECT_EQ(summary->chunks, complete);
    EXPECT_FALSE(summary->has_footer);
    EXPECT_EQ(summary->truncated, cut != boundary);
    EXPECT_EQ(summary->truncated_bytes, cut - boundary);
    ASSERT_EQ(summary->warnings.size(), cut != boundary ? 2u : 1u);
    for (const std::string& warning : summary->warnings) EXPECT_TRUE(has_substr(warning, quoted(cut_path)));
    if (cut != boundary) {
      EXPECT_TRUE(has_substr(summary->warnings[0], "truncated at byte " + std::to_string(boundary)));
      EXPECT_TRUE(has_substr(summary->warnings[0], "the last " + std::to_string(cut - boundary) + " bytes"));
    }
    EXPECT_TRUE(has_substr(summary->warnings.back(), "not closed cleanly"));
  }
}

TEST(TraceTruncation, CutInsideTheFooter) {
  const std::string path = temp_path("small.lhtrace");
  const SmallTrace trace = write_small_trace(path);
  const auto footer = chunk_spans(trace.bytes).back();
  ASSERT_EQ(footer.kind, static_cast<uint8_t>(ChunkKind::kFooter));
  write_bytes(path, trace.bytes.substr(0, trace.bytes.size() - 1));
  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_TRUE(summary->truncated);
  EXPECT_EQ(summary->truncated_bytes, footer.size - 1);
  EXPECT_EQ(visitor.order, "HSssseelssss");
  EXPECT_TRUE(visitor.footers.empty());
}

TEST(TraceCorruption, FlippedPayloadByteIsACrcError) {
  const std::string path = temp_path("small.lhtrace");
  std::string bytes = write_small_trace(path).bytes;
  const auto spans = chunk_spans(bytes);
  const ChunkSpan& events = spans[2];
  bytes[events.offset + kChunkHeaderSize + 3] ^= 0x40;
  const std::string message = read_error(path, bytes);
  EXPECT_TRUE(has_substr(message, quoted(path)));
  EXPECT_TRUE(has_substr(message, "chunk 2 at byte " + std::to_string(events.offset)));
  EXPECT_TRUE(has_substr(message, "CRC32C mismatch (stored 0x"));
}

TEST(TraceCorruption, AnySingleFlippedByteIsCaught) {
  // Only the reserved word of the file header is free to change; any other
  // flip is an error, or (in a length field) looks like a truncated tail.
  const std::string path = temp_path("small.lhtrace");
  const std::string original = write_small_trace(path).bytes;
  const std::string flipped_path = temp_path("flipped.lhtrace");
  for (size_t position = 0; position < original.size(); ++position) {
    for (const uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::string bytes = original;
      bytes[position] = static_cast<char>(bytes[position] ^ mask);
      write_bytes(flipped_path, bytes);
      RecordingVisitor visitor;
      auto summary = read_trace(flipped_path, visitor);
      if (summary.ok()) {
        EXPECT_TRUE(summary->truncated || (position >= 12 && position < 16))
            << "byte " << position << " ^ " << int{mask} << " went unnoticed";
      } else {
        EXPECT_TRUE(has_substr(summary.error().message, quoted(flipped_path)));
      }
    }
  }
}

TEST(TraceGarbage, RandomBytesAreNotATrace) {
  const std::string path = temp_path("random.bin");
  std::mt19937 random(7);
  for (const size_t size : {size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{100}, size_t{100000}}) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    const std::string message = read_error(path, bytes);
    EXPECT_TRUE(has_substr(message, quoted(path))) << size;
    EXPECT_TRUE(has_substr(message, "not a loophound trace")) << size;
  }
}

TEST(TraceGarbage, RandomChunksAfterAValidFileHeaderAreErrors) {
  const std::string path = temp_path("random.lhtrace");
  std::mt19937 random(11);
  for (int round = 0; round < 200; ++round) {
    std::string bytes = file_header();
    const size_t size = random() % 2000;
    for (size_t i = 0; i < size; ++i) bytes.push_back(static_cast<char>(random()));
    EXPECT_TRUE(has_substr(read_error(path, bytes), quoted(path))) << "round " << round;
  }
}

TEST(TraceGarbage, TextEmptyAndMagicOnlyFiles) {
  const std::string path = temp_path("garbage");
  EXPECT_TRUE(has_substr(read_error(path, "this is a text file, not a trace\nsecond line\n"),
              quoted(path) + ": not a loophound trace (wrong magic bytes)"));
  EXPECT_TRUE(has_substr(read_error(path, ""), quoted(path) + ": not a loophound trace (the file is empty"));
  const std::string magic(reinterpret_cast<const char*>(kMagic), sizeof(kMagic));
  EXPECT_TRUE(has_substr(read_error(path, magic),
              quoted(path) + ": not a loophound trace (the file is 8 bytes long"));
  // A text-mode copy that turned "\r\n" into "\n" breaks the magic.
  std::string mangled = file_header();
  mangled.erase(5, 1);
  EXPECT_TRUE(has_substr(read_error(path, mangled + minimal_header_chunk()), "wrong magic bytes"));
  // A whole file header, but no chunk at all.
  EXPECT_TRUE(has_substr(read_error(path, file_header()), "before its header chunk is complete"));
}

TEST(TraceGarbage, MissingFileAndDirectory) {
  const std::string missing = temp_path("does_not_exist.lhtrace");
  RecordingVisitor visitor;
  auto result = read_trace(missing, visitor);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, quoted(missing) + ": cannot open: No such file or directory");

  const std::string directory = temp_path("dir");
  std::filesystem::create_directories(directory);
  result = read_trace(directory, visitor);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(has_substr(result.error().message, quoted(directory)));
}

TEST(TraceVersion, NewerVersionIsRefused) {
  const std::string path = temp_path("v3.lhtrace");
  EXPECT_EQ(read_error(path, file_header(3) + minimal_header_chunk()),
            quoted(path) + ": trace format version 3 is newer than this loophound supports (2); "
                           "upgrade loophound");
  EXPECT_TRUE(has_substr(read_error(path, file_header(0xffffffff)), "version 4294967295 is newer"));
  EXPECT_TRUE(has_substr(read_error(path, file_header(0) + minimal_header_chunk()),
              quoted(path) + ": invalid trace format version 0"));
}

TEST(TraceVersion, UnknownRecordKindsAreSkippedAndCounted) {
  // As a later minor writer would produce them: new kinds mixed in with
  // known ones, in every chunk kind.
  const std::string path = temp_path("unknown.lhtrace");
  const std::string header = record(RecordKind::kMetadata, str("pid") + str("42")) +
                             record(200, "future header data") + record(14, "");  // first unassigned kind
  const std::string events = record(RecordKind::kSample, sample_body(1000)) +
                             record(99, std::string(300, 'z')) +  // two-byte length
                             record(RecordKind::kSample, sample_body(5));
  const std::string footer = record(0, "zero is not a kind either") +
                             record(RecordKind::kFooter, varint(9) + varint(2) + varint(0) + varint(0) +
                                                             varint(0) + str("duration"));
  write_bytes(path, file_header() + chunk(ChunkKind::kHeader, header) + chunk(ChunkKind::kEvents, events) +
                        chunk(ChunkKind::kFooter, footer));
  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->unknown_records, 4u);
  EXPECT_EQ(summary->records, 4u);
  EXPECT_EQ(summary->records_with_extra_fields, 0u);
  EXPECT_TRUE(summary->warnings.empty());
  EXPECT_EQ(visitor.order, "HssF");
  EXPECT_EQ(visitor.headers[0].get("pid"), "42");
  ASSERT_EQ(visitor.samples.size(), 2u);
  EXPECT_EQ(visitor.samples[0].timestamp_ns, 1000u);
  EXPECT_EQ(visitor.samples[1].timestamp_ns, 1005u) << "the delta base skips unknown records";
}

TEST(TraceVersion, OldLayoutSamplesReadWithZeroSchedulerFields) {
  // Samples as traces written before sched_pc and schedtick existed hold
  // them: the body ends after flags. Mixed with new-layout samples in one
  // chunk, so each record is judged by its own length.
  const std::string path = temp_path("old_samples.lhtrace");
  const std::string events = record(RecordKind::kSample, old_sample_body(1000, 2, 7, 9, 1, 0)) +
                             record(RecordKind::kSample, sample_body(5, 3, 8, 10, 2, 1, 0x401000, 77)) +
                             record(RecordKind::kSample, old_sample_body(-3, UINT32_MAX, UINT32_MAX, UINT64_MAX,
                                                                         UINT32_MAX, UINT32_MAX));
  write_bytes(path, file_header() + minimal_header_chunk() + chunk(ChunkKind::kEvents, events) + footer_chunk());
  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->records_with_extra_fields, 0u) << "the old layout is complete, not short";
  EXPECT_TRUE(summary->warnings.empty());
  const std::vector<Sample> expected = {
      {1000, 2, 7, 9, 1, 0, 0, 0, {}},
      {1005, 3, 8, 10, 2, 1, 0x401000, 77, {}},
      {1002, UINT32_MAX, UINT32_MAX, UINT64_MAX, UINT32_MAX, UINT32_MAX, 0, 0, {}},
  };
  EXPECT_EQ(visitor.samples, expected);
}

TEST(TraceVersion, SecondLayoutSamplesReadWithNoRegisters) {
  // Samples as traces written before the registers existed hold them: the
  // body ends after schedtick. Mixed in one chunk with the original and the
  // current layout (with and without registers), so each record is judged
  // by its own length.
  const std::string path = temp_path("schedtick_samples.lhtrace");
  const std::string events =
      record(RecordKind::kSample, schedtick_sample_body(1000, 2, 7, 9, 1, 0, 0x401000, 5)) +
      record(RecordKind::kSample, sample_body(5, 3, 8, 10, 2, 1, 0x401004, 6, x86_64_registers())) +
      record(RecordKind::kSample, schedtick_sample_body(-3, UINT32_MAX, UINT32_MAX, UINT64_MAX, UINT32_MAX,
                                                        UINT32_MAX, UINT64_MAX, UINT64_MAX)) +
      record(RecordKind::kSample, old_sample_body(4, 1, 2, 3, 4, 0)) +
      record(RecordKind::kSample, sample_body(1, 1, 2, 3, 4, 0, 0x401008, 8));
  write_bytes(path, file_header() + minimal_header_chunk() + chunk(ChunkKind::kEvents, events) + footer_chunk());
  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->records_with_extra_fields, 0u) << "the second layout is complete, not short";
  EXPECT_TRUE(summary->warnings.empty());
  const std::vector<Sample> expected = {
      {1000, 2, 7, 9, 1, 0, 0x401000, 5, {}},
      {1005, 3, 8, 10, 2, 1, 0x401004, 6, x86_64_registers()},
      {1002, UINT32_MAX, UINT32_MAX, UINT64_MAX, UINT32_MAX, UINT32_MAX, UINT64_MAX, UINT64_MAX, {}},
      {1006, 1, 2, 3, 4, 0, 0, 0, {}},
      {1007, 1, 2, 3, 4, 0, 0x401008, 8, {}},
  };
  EXPECT_EQ(visitor.samples, expected);
}

TEST(TraceVersion, ThirdLayoutSamplesReadWithZeroSpWord) {
  // Samples as traces written before sp_word existed hold them: the body
  // ends right after the registers (or after a register count of 0).
  // Mixed in one chunk with every other layout, so each record is judged
  // by its own length.
  const std::string path = temp_path("registers_samples.lhtrace");
  const std::string events =
      record(RecordKind::kSample, registers_sample_body(1000, 2, 7, 9, 1, 0, 0x401000, 5, x86_64_registers())) +
      record(RecordKind::kSample, sample_body(5, 3, 8, 10, 2, 1, 0x401004, 6, x86_64_registers(), UINT64_MAX)) +
      record(RecordKind::kSample, registers_sample_body(1, 3, 8, 10, 2, 1, 0x401004, 7)) +
      record(RecordKind::kSample, schedtick_sample_body(1, 1, 2, 3, 4, 0, 0x401008, 8)) +
      record(RecordKind::kSample, old_sample_body(1, 1, 2, 3, 4, 0)) +
      record(RecordKind::kSample, sample_body(1, 1, 2, 3, 4, 0, 0x401008, 9, {}, 0x45a0f7)) +
      record(RecordKind::kSample, registers_sample_body(1, 1, 2, 3, 4, 0, 0x401008, 10,
                                                        std::vector<uint64_t>(kMaxSampleRegisters, UINT64_MAX)));
  write_bytes(path, file_header() + minimal_header_chunk() + chunk(ChunkKind::kEvents, events) + footer_chunk());
  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->records_with_extra_fields, 0u) << "the third layout is complete, not short";
  EXPECT_TRUE(summary->warnings.empty());
  const std::vector<Sample> expected = {
      {1000, 2, 7, 9, 1, 0, 0x401000, 5, x86_64_registers(), 0},
      {1005, 3, 8, 10, 2, 1, 0x401004, 6, x86_64_registers(), UINT64_MAX},
      {1006, 3, 8, 10, 2, 1, 0x401004, 7, {}, 0},
      {1007, 1, 2, 3, 4, 0, 0x401008, 8, {}, 0},
      {1008, 1, 2, 3, 4, 0, 0, 0, {}, 0},
      {1009, 1, 2, 3, 4, 0, 0x401008, 9, {}, 0x45a0f7},
      {1010, 1, 2, 3, 4, 0, 0x401008, 10, std::vector<uint64_t>(kMaxSampleRegisters, UINT64_MAX), 0},
  };
  EXPECT_EQ(visitor.samples, expected);
}

TEST(TraceVersion, ExtraTrailingBytesOfKnownRecordsAreIgnoredAndCounted) {
  // As a later writer appends fields: every known record kind with bytes
  // after its last known field (for a Sample: after sp_word, which follows
  // the registers or a register count of 0). What follows is opaque to
  // this reader, so even bytes that are no valid varint must not matter.
  const std::string path = temp_path("extra.lhtrace");
  const std::string bad_varint(11, '\xff');
  const std::string long_extra(300, '\x80');  // a two-byte record length
  const std::string extra = varint(12345) + zigzag(-1000);

  const std::string header = record(RecordKind::kMetadata, str("pid") + str("42") + extra) +
                             record(RecordKind::kMapping, varint(0x400000) + varint(0x500000) + varint(0) +
                                                              str("r-xp") + str("/bin/spin") + bad_varint);
  const GoroutineInfo info{17, 1, 0x45a0e0, 0x48c2f1};
  const GoroutineState state{0, 3, 4242, 17, 0xc000007340, kGrunning, kGwaiting, 7};
  const GoroutineCreate create{0, 2, 4243, 0, 17, 0x45a0e0, 0x48c2f1};
  const GoroutineExit exit{0, 5, 4244, 17};
  const ThreadSwitch change{0, 1, 4242, 1, 0, kSwitchPrevIsTarget};
  const std::string events =
      record(RecordKind::kStack, varint(1) + varint(2) + varint(0x401000) + zigzag(-16) + extra) +
      record(RecordKind::kSample,
             sample_body(1000, 2, 7, 9, 1, 0, 0x401000, 5, x86_64_registers(), 0x401005) + extra) +
      record(RecordKind::kExecute, zigzag(10) + varint(1) + varint(7) + varint(9) + bad_varint) +
      record(RecordKind::kLost, zigzag(10) + varint(3) + str("ringbuf_reserve") + long_extra) +
      record(RecordKind::kGoroutineInfo, goroutine_info_body(info) + extra) +
      record(RecordKind::kGoroutineState, goroutine_state_body(10, state) + bad_varint) +
      record(RecordKind::kGoroutineCreate, goroutine_create_body(10, create) + extra) +
      record(RecordKind::kGoroutineExit, goroutine_exit_body(10, exit) + long_extra) +
      record(RecordKind::kThreadSwitch, thread_switch_body(10, change) + std::string(1, '\0')) +
      record(RecordKind::kSample, sample_body(10, 2, 7, 9, 1, 0, 0x401000, 6) + bad_varint) +
      // Without extra bytes: read as before, not counted.
      record(RecordKind::kSample, sample_body(10, 2, 7, 9, 1, 0, 0x401000, 7, x86_64_registers()));
  const std::string footer = record(RecordKind::kFooter, varint(2000) + varint(2) + varint(6) + varint(3) +
                                                             varint(1) + str("signal") + extra);
  write_bytes(path, file_header() + chunk(ChunkKind::kHeader, header) + chunk(ChunkKind::kEvents, events) +
                        chunk(ChunkKind::kFooter, footer));

  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->records, 14u);
  EXPECT_EQ(summary->records_with_extra_fields, 13u);
  EXPECT_EQ(summary->unknown_records, 0u);
  EXPECT_TRUE(summary->warnings.empty());
  EXPECT_EQ(visitor.order, "HSseligcxtssF");

  ASSERT_EQ(visitor.headers.size(), 1u);
  EXPECT_EQ(visitor.headers[0].metadata, (std::vector<std::pair<std::string, std::string>>{{"pid", "42"}}));
  EXPECT_EQ(visitor.headers[0].mappings, (std::vector<Mapping>{{0x400000, 0x500000, 0, "r-xp", "/bin/spin"}}));
  EXPECT_EQ(visitor.stacks, (std::vector<Stack>{{1, {0x401000, 0x400ff0}}}));
  // The extra bytes are not read as fields, so the delta base moves by
  // the known timestamps only: 1000, then +10 for each later record.
  ASSERT_EQ(visitor.samples.size(), 3u);
  EXPECT_EQ(visitor.samples[0], (Sample{1000, 2, 7, 9, 1, 0, 0x401000, 5, x86_64_registers(), 0x401005}));
  EXPECT_EQ(visitor.samples[1], (Sample{1070, 2, 7, 9, 1, 0, 0x401000, 6, {}}));
  EXPECT_EQ(visitor.samples[2], (Sample{1080, 2, 7, 9, 1, 0, 0x401000, 7, x86_64_registers()}));
  EXPECT_EQ(visitor.executes, (std::vector<ExecuteEvent>{{1010, 1, 7, 9}}));
  EXPECT_EQ(visitor.losts, (std::vector<LostEvents>{{1020, 3, "ringbuf_reserve"}}));
  EXPECT_EQ(visitor.infos, std::vector<GoroutineInfo>{info});
  auto with_time = [](auto event, uint64_t timestamp_ns) {
    event.timestamp_ns = timestamp_ns;
    return event;
  };
  EXPECT_EQ(visitor.states, std::vector<GoroutineState>{with_time(state, 1030)});
  EXPECT_EQ(visitor.creates, std::vector<GoroutineCreate>{with_time(create, 1040)});
  EXPECT_EQ(visitor.exits, std::vector<GoroutineExit>{with_time(exit, 1050)});
  EXPECT_EQ(visitor.switches, std::vector<ThreadSwitch>{with_time(change, 1060)});
  ASSERT_EQ(visitor.footers.size(), 1u);
  EXPECT_EQ(visitor.footers[0], (Footer{2000, 2, 6, 3, 1, "signal"}));
}

TEST(TraceVersion, EveryTimestampedRecordSharesTheDeltaBase) {
  // Built by hand from TRACE_FORMAT.md: the base moves with each
  // timestamped record of any kind, and GoroutineInfo has no timestamp.
  const std::string path = temp_path("deltas.lhtrace");
  const std::string events = record(RecordKind::kSample, sample_body(1000)) +
                             record(RecordKind::kThreadSwitch, thread_switch_body(5, ThreadSwitch{})) +
                             record(RecordKind::kGoroutineInfo, goroutine_info_body(GoroutineInfo{})) +
                             record(RecordKind::kGoroutineState, goroutine_state_body(-3, GoroutineState{})) +
                             record(RecordKind::kGoroutineCreate, goroutine_create_body(10, GoroutineCreate{})) +
                             record(RecordKind::kGoroutineExit, goroutine_exit_body(1, GoroutineExit{})) +
                             record(RecordKind::kExecute, zigzag(-8) + varint(0) + varint(0) + varint(0)) +
                             record(RecordKind::kSample, sample_body(2));
  write_bytes(path, file_header() + minimal_header_chunk() + chunk(ChunkKind::kEvents, events));
  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(visitor.order, "Hstigcxes");
  ASSERT_EQ(visitor.samples.size(), 2u);
  EXPECT_EQ(visitor.samples[0].timestamp_ns, 1000u);
  EXPECT_EQ(visitor.switches.at(0).timestamp_ns, 1005u);
  EXPECT_EQ(visitor.states.at(0).timestamp_ns, 1002u);
  EXPECT_EQ(visitor.creates.at(0).timestamp_ns, 1012u);
  EXPECT_EQ(visitor.exits.at(0).timestamp_ns, 1013u);
  EXPECT_EQ(visitor.executes.at(0).timestamp_ns, 1005u);
  EXPECT_EQ(visitor.samples[1].timestamp_ns, 1007u);
}

TEST(TraceChunks, OversizedLengthIsAnError) {
  const std::string path = temp_path("oversized.lhtrace");
  for (const uint32_t length : {kMaxChunkPayload + 1, uint32_t{0xffffffff}}) {
    std::string bad;
    append_le32(bad, length);
    bad += std::string("\x02\x00\x00\x00", 4) + "\0\0\0\0" + "some bytes";
    const std::string message = read_error(path, file_header() + minimal_header_chunk() + bad);
    EXPECT_TRUE(has_substr(message, quoted(path) + ": chunk 1 at byte "));
    EXPECT_TRUE(has_substr(message, "payload length " + std::to_string(length) + " exceeds the limit"));
  }
}

TEST(TraceChunks, LargestLengthRunningPastEofIsTruncation) {
  // A length within the limit but past EOF: the tail of a killed recorder.
  const std::string path = temp_path("long.lhtrace");
  std::string tail;
  append_le32(tail, kMaxChunkPayload);
  tail += std::string("\x02\x00\x00\x00", 4) + "\0\0\0\0" + "only a few bytes";
  write_bytes(path, file_header() + minimal_header_chunk() + tail);
  RecordingVisitor visitor;
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_TRUE(summary->truncated);
  EXPECT_EQ(summary->truncated_bytes, tail.size());
}

TEST(TraceChunks, UnknownFlagsAndKindsAreErrors) {
  const std::string path = temp_path("flags.lhtrace");
  const std::string prefix = file_header() + minimal_header_chunk();
  ASSERT_EQ(prefix.size(), 37u);  // 16-byte file header + 21-byte header chunk
  const std::string events = record(RecordKind::kSample, sample_body(1));
  // Version 1 defines no flag; version 2 only bit 0 (zstd).
  const std::string v1_prefix = file_header(1) + minimal_header_chunk();
  std::string message = read_error(path, v1_prefix + chunk(uint8_t{2}, events, uint8_t{0x01}));
  EXPECT_TRUE(has_substr(message, quoted(path) + ": chunk 1 at byte 37: unknown chunk flag bits 0x01"));
  EXPECT_TRUE(has_substr(message, "format version 1 defines none"));
  EXPECT_TRUE(has_substr(read_error(path, prefix + chunk(uint8_t{2}, events, uint8_t{0x84})),
              "flag bits 0x84 (format version 2 defines only bit 0, zstd)"));
  EXPECT_TRUE(has_substr(read_error(path, prefix + chunk(uint8_t{9}, events)),
              quoted(path) + ": chunk 1 at byte 37: unknown chunk kind 9"));
  EXPECT_TRUE(has_substr(read_error(path, prefix + chunk(uint8_t{0}, "")), "unknown chunk kind 0"));
}

// A compressed payload is u32 LE size + one zstd frame: every way it can
// lie is an error naming the chunk, and nothing is allocated past the
// limit.
TEST(TraceChunks, BadCompressedPayloadsAreErrors) {
  const std::string path = temp_path("zstd.lhtrace");
  const std::string prefix = file_header() + minimal_header_chunk();
  const std::string events = record(RecordKind::kSample, sample_body(1));
  std::string frame(ZSTD_compressBound(events.size()), '\0');
  frame.resize(ZSTD_compress(frame.data(), frame.size(), events.data(), events.size(), 3));
  auto zstd_chunk = [](uint32_t size, const std::string& body) {
    std::string payload;
    append_le32(payload, size);
    return chunk(uint8_t{2}, payload + body, kChunkZstd);
  };
  // The good one reads.
  RecordingVisitor visitor;
  write_bytes(path, prefix + zstd_chunk(static_cast<uint32_t>(events.size()), frame) + footer_chunk());
  auto summary = read_trace(path, visitor);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(visitor.samples.size(), 1u);
  EXPECT_TRUE(has_substr(read_error(path, prefix + chunk(uint8_t{2}, "ab", kChunkZstd)),
                         "chunk 1 at byte 37: compressed payload of 2 bytes has no size"));
  EXPECT_TRUE(has_substr(read_error(path, prefix + zstd_chunk(kMaxChunkPayload + 1, frame)),
                         "compressed payload claims 67108865 bytes, more than the limit of 67108864"));
  EXPECT_TRUE(has_substr(read_error(path, prefix + zstd_chunk(static_cast<uint32_t>(events.size()), "not zstd")),
                         "chunk 1 at byte 37: zstd cannot decompress the payload"));
  EXPECT_TRUE(has_substr(read_error(path, prefix + zstd_chunk(static_cast<uint32_t>(events.size()) + 5, frame)),
                         "not the " + std::to_string(events.size() + 5) + " its size says"));
  std::string cut = frame.substr(0, frame.size() - 3);
  EXPECT_TRUE(has_substr(read_error(path, prefix + zstd_chunk(static_cast<uint32_t>(events.size()), cut)),
                         "zstd cannot decompress"));
}

TEST(TraceChunks, ChunkOrderIsEnforced) {
  const std::string path = temp_path("order.lhtrace");
  const std::string events = chunk(ChunkKind::kEvents, record(RecordKind::kSample, sample_body(1)));
  EXPECT_TRUE(has_substr(read_error(path, file_header() + events),
              "chunk 0 at byte 16: the first chunk is of kind 'events'"));
  EXPECT_TRUE(has_substr(read_error(path, file_header() + footer_chunk()), "must start with a header chunk"));
  EXPECT_TRUE(has_substr(read_error(path, file_header() + minimal_header_chunk() + minimal_header_chunk()),
              "chunk 1 at byte 37: a second header chunk"));
  EXPECT_TRUE(has_substr(read_error(path, file_header() + minimal_header_chunk() + footer_chunk() + events),
              "a chunk after the footer chunk"));
  EXPECT_TRUE(has_substr(read_error(path, file_header() + minimal_header_chunk() + chunk(ChunkKind::kFooter, "")),
              "the footer chunk holds 0 footer records, expected 1"));
  const std::string footer_record = footer_chunk().substr(kChunkHeaderSize);
  EXPECT_TRUE(has_substr(read_error(path, file_header() + minimal_header_chunk() +
                                   chunk(ChunkKind::kFooter, footer_record + footer_record)),
              "holds 2 footer records"));
}

struct MalformedCase {
  const char* name;
  ChunkKind chunk_kind;
  std::string payload;
  const char* expected;
};

TEST(TraceRecords, MalformedRecordsAreErrorsNamingTheirPlace) {
  const auto sample = [](const std::string& body) { return record(RecordKind::kSample, body); };
  const std::string one_sample = sample(sample_body(1));
  std::string too_many_frames = varint(1) + varint(kMaxStackFrames + 1);
  for (uint32_t i = 0; i <= kMaxStackFrames; ++i) too_many_frames += varint(1);
  const MalformedCase cases[] = {
      {"body past chunk end", ChunkKind::kEvents, one_sample + "\x04\x32" + "short",
       // one_sample is 13 bytes: kind, length, 11 bytes of body (the window count last).
       "record 1 at payload offset 13: record body of 50 bytes runs past the end of the chunk (5 bytes left)"},
      {"record length truncated", ChunkKind::kEvents, std::string("\x04\x80", 2),
       "record 0 at payload offset 0: record length: varint runs past the end of the record"},
      {"record length overlong", ChunkKind::kEvents, "\x04" + std::string(11, '\xff'),
       "record length: varint is longer than 10 bytes"},
      {"field runs past body", ChunkKind::kEvents, sample(zigzag(1) + varint(1) + "\x80"),
       "record 0 at payload offset 0 (sample): varint runs past the end of the record"},
      {"overlong field", ChunkKind::kEvents, sample(std::string(10, '\x80') + "\x01"),
       "(sample): varint is longer than 10 bytes"},
      // Only the old layout may stop after flags; once sched_pc is there,
      // schedtick must follow.
      {"sample ends between sched_pc and schedtick", ChunkKind::kEvents,
       sample(old_sample_body(1) + varint(0x401000)), "(sample): varint runs past the end of the record"},
      // The register count is checked against kMaxSampleRegisters before
      // anything is allocated for it; a count within the limit but past the
      // end of the body is a short body.
      {"65 registers", ChunkKind::kEvents,
       sample(schedtick_sample_body(1) + varint(kMaxSampleRegisters + 1) +
              std::string(kMaxSampleRegisters + 1, '\1')),
       "record 0 at payload offset 0 (sample): sample with 65 registers (at most 64)"},
      {"register count of 2^64-1", ChunkKind::kEvents, sample(schedtick_sample_body(1) + varint(UINT64_MAX)),
       "(sample): sample with 18446744073709551615 registers (at most 64)"},
      {"register count of 2^62, no registers", ChunkKind::kEvents,
       sample(schedtick_sample_body(1) + varint(1ull << 62)),
       "(sample): sample with 4611686018427387904 registers (at most 64)"},
      {"18 registers counted, 3 present", ChunkKind::kEvents,
       sample(schedtick_sample_body(1) + varint(18) + varint(1) + varint(2) + varint(3)),
       "(sample): varint runs past the end of the record"},
      {"64 registers counted, none present", ChunkKind::kEvents,
       sample(schedtick_sample_body(1) + varint(kMaxSampleRegisters)),
       "(sample): varint runs past the end of the record"},
      {"register count truncated", ChunkKind::kEvents, sample(schedtick_sample_body(1) + "\x80"),
       "(sample): varint runs past the end of the record"},
      {"register overlong", ChunkKind::kEvents,
       sample(schedtick_sample_body(1) + varint(1) + std::string(10, '\x80') + "\x01"),
       "(sample): varint is longer than 10 bytes"},
      {"sp_word overlong", ChunkKind::kEvents,
       sample(registers_sample_body(1) + std::string(10, '\x80') + "\x01"),
       "(sample): varint is longer than 10 bytes"},
      {"too many frame windows", ChunkKind::kEvents, sample(sp_word_sample_body(1) + varint(kMaxFrameWindows + 1)),
       "(sample): sample with 33 frame windows (at most 32)"},
      {"frame window too large", ChunkKind::kEvents,
       sample(sp_word_sample_body(1) + varint(1) + varint(0) + varint(0x1000) + varint(kMaxFrameWindowBytes + 1) +
              std::string(kMaxFrameWindowBytes + 1, '\0')),
       "(sample): frame window of 4097 bytes (at most 4096)"},
      {"frame window past the record", ChunkKind::kEvents,
       sample(sp_word_sample_body(1) + varint(1) + varint(0) + varint(0x1000) + varint(64) + "short"),
       "(sample): string of 64 bytes runs past the end of the record"},
      {"cpu above 32 bits", ChunkKind::kEvents, sample(zigzag(1) + varint(1ull << 32) + "\1\1\1\1"),
       "(sample): value 4294967296 does not fit in 32 bits"},
      {"too many frames", ChunkKind::kEvents, record(RecordKind::kStack, too_many_frames),
       "(stack): stack 1 has 1025 frames, more than the limit of 1024"},
      {"fewer frames than counted", ChunkKind::kEvents,
       record(RecordKind::kStack, varint(1) + varint(3) + varint(0x401000) + zigzag(-8)),
       "(stack): varint runs past the end of the record"},
      {"execute too short", ChunkKind::kEvents, record(RecordKind::kExecute, zigzag(1) + varint(1)),
       "(execute): varint runs past"},
      {"string past record", ChunkKind::kEvents, record(RecordKind::kLost, zigzag(1) + varint(1) + varint(9) + "abc"),
       "(lost): string of 9 bytes runs past the end of the record (3 bytes left)"},
      {"sample in header chunk", ChunkKind::kHeader, one_sample,
       "(sample): a sample record does not belong in a header chunk"},
      {"metadata in events chunk", ChunkKind::kEvents, record(RecordKind::kMetadata, str("a") + str("b")),
       "(metadata): a metadata record does not belong in a events chunk"},
      {"mapping in footer chunk", ChunkKind::kFooter, record(RecordKind::kMapping, std::string(5, '\0')),
       "(mapping): a mapping record does not belong in a footer chunk"},
      {"metadata value missing", ChunkKind::kHeader, record(RecordKind::kMetadata, str("key")),
       "(metadata): varint runs past"},
      {"footer too short", ChunkKind::kFooter, record(RecordKind::kFooter, std::string(5, '\0')),
       "(footer): varint runs past"},
      {"thread switch in header chunk", ChunkKind::kHeader,
       record(RecordKind::kThreadSwitch, thread_switch_body(1, ThreadSwitch{})),
       "(thread switch): a thread switch record does not belong in a header chunk"},
      {"goroutine info in footer chunk", ChunkKind::kFooter,
       record(RecordKind::kGoroutineInfo, goroutine_info_body(GoroutineInfo{})),
       "(goroutine info): a goroutine info record does not belong in a footer chunk"},
      {"wait reason above 32 bits", ChunkKind::kEvents,
       record(RecordKind::kGoroutineState, zigzag(1) + varint(0) + varint(0) + varint(0) + varint(0) + varint(0) +
                                               varint(0) + varint(1ull << 32)),
       "(goroutine state): value 4294967296 does not fit in 32 bits"},
      {"next tid above 32 bits", ChunkKind::kEvents,
       record(RecordKind::kThreadSwitch, zigzag(1) + varint(0) + varint(0) + varint(0) + varint(UINT64_MAX) +
                                             varint(0)),
       "(thread switch): value 18446744073709551615 does not fit in 32 bits"},
  };
  const std::string path = temp_path("malformed.lhtrace");
  for (const MalformedCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::string bytes = file_header();
    if (c.chunk_kind != ChunkKind::kHeader) bytes += minimal_header_chunk();
    const size_t offset = bytes.size();
    const uint64_t index = c.chunk_kind == ChunkKind::kHeader ? 0 : 1;
    bytes += chunk(c.chunk_kind, c.payload);
    const std::string message = read_error(path, bytes);
    EXPECT_TRUE(has_substr(message, quoted(path) + ": chunk " + std::to_string(index) + " at byte " +
                                   std::to_string(offset) + ": "));
    EXPECT_TRUE(has_substr(message, c.expected));
  }
}

TEST(TraceRecords, TruncatedBodiesOfNewerRecordsAreErrors) {
  // Every field at a multi-byte value, so cuts land both between fields
  // and inside a varint. Any body that ends before the last known field is
  // an error, except a Sample ending right after flags, right after
  // schedtick or right after its registers (its three earlier layouts).
  struct Case {
    RecordKind kind;
    const char* name;
    std::string body;
    std::vector<size_t> also_valid_at;  // shorter lengths that are complete bodies
  };
  const std::string old_sample = old_sample_body(1'000'000, 300, 70000, 1ull << 40, 200, 1u << 20);
  const std::string schedtick_sample = old_sample + varint(0x45b3c0) + varint(1ull << 40);
  const std::string registers_sample = schedtick_sample + varint(18) + [] {
    std::string registers;
    for (const uint64_t r : x86_64_registers()) registers += varint(r);
    return registers;
  }();
  const Case cases[] = {
      {RecordKind::kGoroutineInfo, "goroutine info",
       goroutine_info_body(GoroutineInfo{1ull << 40, 1ull << 33, 0x45a0e0, UINT64_MAX}), {}},
      {RecordKind::kGoroutineState, "goroutine state",
       goroutine_state_body(-1'000'000, GoroutineState{0, 300, 70000, 1ull << 40, 0xc000007340,
                                                       kGwaiting | 0x1000, kGrunnable, 300}),
       {}},
      {RecordKind::kGoroutineCreate, "goroutine create",
       goroutine_create_body(1'000'000, GoroutineCreate{0, 300, 70000, 1ull << 40, 1ull << 33, 0x45a0e0,
                                                        UINT64_MAX}),
       {}},
      {RecordKind::kGoroutineExit, "goroutine exit",
       goroutine_exit_body(1'000'000, GoroutineExit{0, 300, 70000, 1ull << 40}), {}},
      {RecordKind::kThreadSwitch, "thread switch",
       thread_switch_body(1'000'000, ThreadSwitch{0, 300, 70000, 1ull << 40, 70001, 3}), {}},
      // 18 registers of 1 to 10 bytes each, so cuts land between registers
      // and inside them; then sp_word at 10 bytes, so cuts land inside it.
      {RecordKind::kSample, "sample", registers_sample + varint(UINT64_MAX),
       {old_sample.size(), schedtick_sample.size(), registers_sample.size()}},
  };
  const std::string path = temp_path("short.lhtrace");
  const std::string prefix = file_header() + minimal_header_chunk();
  for (const Case& c : cases) {
    // The whole body reads; it is what the cuts are taken from.
    ASSERT_EQ(read_error(path, prefix + chunk(ChunkKind::kEvents, record(c.kind, c.body))), "") << c.name;
    for (size_t length = 0; length < c.body.size(); ++length) {
      SCOPED_TRACE(std::string(c.name) + " cut to " + std::to_string(length) + " bytes");
      // A good record first, so the failing one is not trivially record 0.
      const std::string payload = record(RecordKind::kSample, sample_body(1)) + record(c.kind, c.body.substr(0, length));
      const std::string message = read_error(path, prefix + chunk(ChunkKind::kEvents, payload));
      if (std::find(c.also_valid_at.begin(), c.also_valid_at.end(), length) != c.also_valid_at.end()) {
        EXPECT_EQ(message, "");
        continue;
      }
      EXPECT_TRUE(has_substr(message, quoted(path) + ": chunk 1 at byte 37: record 1 at payload offset " +
                                          std::to_string(record(RecordKind::kSample, sample_body(1)).size()) +
                                          " (" + c.name + "): varint runs past the end of the record"));
    }
  }
}

TEST(TraceRecords, RandomRecordsWithValidChecksumsNeverCrash) {
  // The CRC keeps random corruption away from the record decoder; this
  // feeds it crafted garbage directly. Success or Error are both fine.
  const std::string path = temp_path("fuzz.lhtrace");
  std::mt19937 random(3);
  int errors = 0;
  for (int round = 0; round < 1500; ++round) {
    std::string payload;
    const int records = random() % 6;
    for (int i = 0; i < records; ++i) {
      std::string body;
      const size_t size = random() % 24;
      for (size_t b = 0; b < size; ++b) {
        // Mostly small bytes and continuation bytes: plausible varints.
        const uint32_t pick = random() % 4;
        body.push_back(static_cast<char>(pick == 0 ? 0x80 | random() : pick == 1 ? 0xff : random() % 8));
      }
      // Kinds 0..14: every known decoder and an unknown kind on each side.
      std::string framed = record(static_cast<uint8_t>(random() % 15), body);
      if (random() % 10 == 0) framed.resize(random() % (framed.size() + 1));  // broken framing
      payload += framed;
    }
    const auto kind = static_cast<ChunkKind>(1 + random() % 3);
    const std::string prefix = kind == ChunkKind::kHeader ? file_header() : file_header() + minimal_header_chunk();
    write_bytes(path, prefix + chunk(kind, payload));
    RecordingVisitor visitor;
    auto summary = read_trace(path, visitor);
    if (!summary.ok()) {
      ++errors;
      EXPECT_TRUE(has_substr(summary.error().message, quoted(path)));
    }
  }
  EXPECT_GT(errors, 0);
}

}  // namespace
}  // namespace loophound::trace

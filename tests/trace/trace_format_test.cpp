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
  add_stack(Stack{1, {}});
  add_stack(Stack{2, {0x401000}});
  add_stack(big_stack());

  // Enough events for several events chunks; timestamps mostly rise but
  // sometimes step back, as events from different CPUs do.
  std::mt19937_64 random(42);
  uint64_t now = 1'000'000'000;
  for (uint32_t i = 0; i < 60000; ++i) {
    now += random() % 2'000'000;
    const uint64_t timestamp = (i % 17 == 0) ? now - random() % 5'000'000 : now;
    if (i % 5 == 0) {
      ExecuteEvent event{timestamp, static_cast<uint32_t>(random() % 64),
                         static_cast<uint32_t>(1000 + random() % 50000), random() % 100000};
      EXPECT_TRUE((*writer)->add_execute(event).ok());
      expected.executes.push_back(event);
      expected.order += 'e';
    } else {
      Sample sample{timestamp,
                    static_cast<uint32_t>(random() % 64),
                    static_cast<uint32_t>(1000 + random() % 50000),
                    i % 7 == 0 ? 0 : random(),
                    static_cast<uint32_t>(random() % 3 + 1),
                    static_cast<uint32_t>(i % 11 == 0 ? kSampleOnSystemStack : 0)};
      EXPECT_TRUE((*writer)->add_sample(sample).ok());
      expected.samples.push_back(sample);
      expected.order += 's';
    }
    if (i % 20000 == 19999) {
      LostEvents lost{now, random() % 1000, "ringbuf_reserve"};
      EXPECT_TRUE((*writer)->add_lost(lost).ok());
      expected.losts.push_back(lost);
      expected.order += 'l';
    }
  }
  // Extreme timestamps: a delta of the full 64-bit range, both ways.
  for (const uint64_t timestamp : {uint64_t{0}, UINT64_MAX, uint64_t{0}}) {
    Sample sample{timestamp, 0, 1, UINT64_MAX, UINT32_MAX, UINT32_MAX};
    EXPECT_TRUE((*writer)->add_sample(sample).ok());
    expected.samples.push_back(sample);
    expected.order += 's';
  }
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
  const std::vector<Sample> tail(expected.samples.end() - visitor.samples.size(), expected.samples.end());
  EXPECT_EQ(visitor.samples, tail);
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

TEST(TraceRoundTrip, BytesMatchTheExampleInTraceFormatMd) {
  // The worked example at the end of schema/TRACE_FORMAT.md: if this test
  // changes, the document must change with it.
  const std::string path = temp_path("example.lhtrace");
  {
    auto writer = TraceWriter::create(path);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->write_header(Header{{{"pid", "42"}}, {}}).ok());
    ASSERT_TRUE((*writer)->add_stack(Stack{1, {0x401000, 0x400ff0}}).ok());
    ASSERT_TRUE((*writer)->add_sample(Sample{1000, 2, 7, 9, 1, 0}).ok());
    ASSERT_TRUE((*writer)->add_sample(Sample{990, 3, 8, 9, 1, 0}).ok());
    ASSERT_TRUE((*writer)->finish(Footer{2000, 2, 0, 0, 1, "signal"}).ok());
  }
  const unsigned char expected[] = {
      0x89, 0x4c, 0x48, 0x54, 0x52, 0x0d, 0x0a, 0x1a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x09, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x82, 0x9f, 0x4a, 0x37,
      0x01, 0x07, 0x03, 0x70, 0x69, 0x64, 0x02, 0x34, 0x32,
      0x1a, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x9b, 0xe6, 0xd3, 0x7c,
      0x03, 0x07, 0x01, 0x02, 0x80, 0xa0, 0x80, 0x02, 0x1f,
      0x04, 0x07, 0xd0, 0x0f, 0x02, 0x07, 0x09, 0x01, 0x00,
      0x04, 0x06, 0x13, 0x03, 0x08, 0x09, 0x01, 0x00,
      0x0f, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x91, 0xd5, 0x45, 0x41,
      0x07, 0x0d, 0xd0, 0x0f, 0x02, 0x00, 0x00, 0x01, 0x06, 's', 'i', 'g', 'n', 'a', 'l',
  };
  EXPECT_EQ(read_bytes(path), std::string(reinterpret_cast<const char*>(expected), sizeof(expected)));
}

TEST(TraceWriter, FlushWritesACompleteChunk) {
  const std::string path = temp_path("flush.lhtrace");
  auto writer = TraceWriter::create(path);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->write_header(sample_header()).ok());
  ASSERT_TRUE((*writer)->add_sample(Sample{10, 1, 2, 3, 4, 0}).ok());
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
    ASSERT_TRUE((*writer)->add_sample(Sample{10, 1, 2, 3, 4, 0}).ok());
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

TEST(Header, GetReturnsValueOrEmpty) {
  const Header header = sample_header();
  EXPECT_EQ(header.get("hostname"), "build-host");
  EXPECT_EQ(header.get("offset.tls_g"), "-8");
  EXPECT_EQ(header.get("empty_value"), "");
  EXPECT_EQ(header.get("no_such_key"), "");
}

}  // namespace
}  // namespace loophound::trace

// Import of synthesized traces: what lands in which table, and that damage
// (lost events, a cut-off tail) is recorded in import_stats, not lost.
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "analyzer/import/trace_importer.h"
#include "schema/trace_writer.h"

namespace loophound::analyzer {
namespace {

// A path unique to this process; files are removed when the test ends.
class TempFile {
 public:
  explicit TempFile(const std::string& name)
      : path_(::testing::TempDir() + "/import_test_" + std::to_string(getpid()) + "_" + name) {}
  ~TempFile() { std::filesystem::remove(path_); }
  operator const std::string&() const { return path_; }
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

trace::Header test_header() {
  trace::Header h;
  h.metadata = {{"pid", "4242"}, {"command", "demo"}, {"executable", "/nonexistent/demo"},
                {"go_version", "go1.26.8"}, {"sample_frequency_hz", "99"}};
  h.mappings = {{0x400000, 0x500000, 0, "r-xp", "/nonexistent/demo"}};
  return h;
}

// Writes a trace of `samples` samples of goroutine 7 on two stacks.
void write_trace(const std::string& path, int samples, uint64_t lost, bool finish) {
  auto writer = trace::TraceWriter::create(path);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->write_header(test_header()).ok());
  ASSERT_TRUE((*writer)->add_stack({1, {0x401000, 0x402005, 0x403009}}).ok());
  ASSERT_TRUE((*writer)->add_stack({2, {0x401010}}).ok());
  for (int i = 0; i < samples; ++i)
    ASSERT_TRUE((*writer)->add_sample({1000 + uint64_t(i) * 10101010, uint32_t(i % 2), 99, 7, uint32_t(1 + i % 2), 0}).ok());
  ASSERT_TRUE((*writer)->add_execute({5000, 1, 99, 7}).ok());
  if (lost > 0) {
    ASSERT_TRUE((*writer)->add_lost({6000, lost, "ringbuf_reserve"}).ok());
  }
  if (finish) {
    ASSERT_TRUE((*writer)->finish({9000, uint64_t(samples), 1, lost, 2, "duration"}).ok());
  }
}

int64_t scalar(Database& db, const std::string& sql) {
  auto st = db.prepare(sql);
  EXPECT_TRUE(st.ok()) << sql;
  if (!st) return -1;
  auto row = st->step();
  EXPECT_TRUE(row.ok() && *row) << sql;
  return st->int64(0);
}

std::unique_ptr<Database> memory_db() { return std::move(Database::open(":memory:").value()); }

TEST(Import, FillsTablesFromTheTrace) {
  const TempFile path("plain.lhtrace");
  write_trace(path, 100, 0, true);
  auto db = memory_db();
  auto summary = import_trace(path, *db);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->samples, 100u);
  EXPECT_TRUE(summary->has_footer);
  EXPECT_EQ(scalar(*db, "SELECT count(*) FROM sample"), 100);
  EXPECT_EQ(scalar(*db, "SELECT count(*) FROM switch_event WHERE goid = 7"), 1);
  EXPECT_EQ(scalar(*db, "SELECT samples FROM goroutine WHERE goid = 7"), 100);
  EXPECT_EQ(scalar(*db, "SELECT switches FROM goroutine WHERE goid = 7"), 1);
  EXPECT_EQ(scalar(*db, "SELECT samples FROM thread WHERE tid = 99"), 100);
  EXPECT_EQ(scalar(*db, "SELECT pid FROM process"), 4242);
  EXPECT_EQ(scalar(*db, "SELECT count(*) FROM mapping WHERE path = '/nonexistent/demo'"), 1);
  EXPECT_EQ(scalar(*db, "SELECT depth FROM stack WHERE id = 1"), 3);
  // Callers are symbolized one byte back, inside their call instruction.
  EXPECT_EQ(scalar(*db, "SELECT pc FROM stack_frame WHERE stack_id = 1 AND position = 0"), 0x401000);
  EXPECT_EQ(scalar(*db, "SELECT pc FROM stack_frame WHERE stack_id = 1 AND position = 1"), 0x402004);
  EXPECT_EQ(scalar(*db, "SELECT value FROM import_stats WHERE name = 'missing_footer'"), 0);
}

TEST(Import, LostEventsAreCountedAndReported) {
  const TempFile path("lost.lhtrace");
  write_trace(path, 10, 37, true);
  auto db = memory_db();
  auto summary = import_trace(path, *db);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->lost_events, 37u);
  EXPECT_EQ(scalar(*db, "SELECT value FROM import_stats WHERE name = 'lost_events' AND severity = 'data_loss'"), 37);
  ASSERT_FALSE(summary->warnings.empty());
  EXPECT_NE(summary->warnings.back().find("37 events were lost"), std::string::npos);
}

TEST(Import, TruncatedTraceYieldsWhatItHoldsWithAWarning) {
  const TempFile path("cut.lhtrace");
  write_trace(path, 50000, 0, true);  // several chunks
  auto size = std::filesystem::file_size(path.str());
  std::filesystem::resize_file(path.str(), size - size / 3);
  auto db = memory_db();
  auto summary = import_trace(path, *db);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_FALSE(summary->has_footer);
  EXPECT_GT(summary->samples, 0u);
  EXPECT_LT(summary->samples, 50000u);
  EXPECT_GT(scalar(*db, "SELECT value FROM import_stats WHERE name = 'truncated_bytes'"), 0);
  EXPECT_EQ(scalar(*db, "SELECT value FROM import_stats WHERE name = 'missing_footer'"), 1);
  bool warned = false;
  for (const auto& w : summary->warnings) warned |= w.find(path.str()) != std::string::npos && w.find("truncated") != std::string::npos;
  EXPECT_TRUE(warned) << "no truncation warning naming the file";
}

TEST(Import, GarbageFileIsAnErrorNamingTheFile) {
  const TempFile path("garbage.lhtrace");
  std::ofstream(path.str()) << "this is not a trace at all, just text\n";
  auto db = memory_db();
  auto summary = import_trace(path, *db);
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.error().message.find(path.str()), std::string::npos) << summary.error().message;
}

}  // namespace
}  // namespace loophound::analyzer

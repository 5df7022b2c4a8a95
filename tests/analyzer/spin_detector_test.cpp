// The spin detector on hand-made databases: the decision logic without a
// kernel or a binary. Each test lays out samples the way a real recording
// of that situation would.
#include <gtest/gtest.h>

#include "analyzer/detect/spin_detector.h"
#include "analyzer/import/trace_importer.h"

namespace loophound::analyzer {
namespace {

constexpr double kHz = 99;
constexpr uint64_t kTick = static_cast<uint64_t>(1e9 / kHz);

class SpinDetectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::open(":memory:");
    ASSERT_TRUE(db.ok());
    db_ = std::move(db.value());
    ASSERT_TRUE(create_schema(*db_).ok());
    ASSERT_TRUE(db_->exec("INSERT INTO metadata VALUES ('sample_frequency_hz', '99')").ok());
  }

  // A one-frame stack at `pc`, symbolized to function:line.
  void define_pc(uint32_t stack_id, uint64_t pc, const std::string& function, int line) {
    auto sql = "INSERT INTO stack VALUES (" + std::to_string(stack_id) + ", 1);" +
               "INSERT INTO stack_frame VALUES (" + std::to_string(stack_id) + ", 0, " + std::to_string(pc) + ", " +
               std::to_string(pc) + ");" + "INSERT INTO frame VALUES (" + std::to_string(pc) + ", 0, '" + function +
               "', 'main.go', " + std::to_string(line) + ", 0, '/bin/x', 1);";
    ASSERT_TRUE(db_->exec(sql).ok());
  }

  // `count` samples of goid, one every `every` ticks, cycling over stacks.
  void add_samples(uint64_t goid, int count, int every, std::vector<uint32_t> stacks) {
    auto st = db_->prepare(
        "INSERT INTO sample (ts, cpu, tid, goid, stack_id, on_system_stack, stack_error, sched_pc, schedtick) "
        "VALUES (?, 0, 7, ?, ?, 0, 0, 0, 0)");
    ASSERT_TRUE(st.ok());
    for (int i = 0; i < count; ++i)
      ASSERT_TRUE(st->bind(1, uint64_t{1000000000} + uint64_t(i) * every * kTick).bind(2, goid)
                      .bind(3, stacks[i % stacks.size()]).run().ok());
  }

  std::vector<Finding> detect() {
    auto findings = detect_spins(*db_);
    EXPECT_TRUE(findings.ok()) << (findings ? "" : findings.error().message);
    return findings ? *findings : std::vector<Finding>{};
  }

  std::unique_ptr<Database> db_;
};

TEST_F(SpinDetectorTest, GoroutineOnCpuInOneFunctionIsASpin) {
  define_pc(1, 0x1000, "main.spin", 19);
  define_pc(2, 0x1004, "main.spin", 20);
  add_samples(12, 495, 1, {1, 1, 2});  // 5 s, every tick
  auto findings = detect();
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].kind, "spin");
  EXPECT_EQ(findings[0].goid, 12u);
  EXPECT_EQ(findings[0].function, "main.spin");
  EXPECT_EQ(findings[0].line, 19);
  EXPECT_EQ(findings[0].end_line, 20);
  EXPECT_NEAR(findings[0].duration_s, 494 / kHz, 0.01);
  EXPECT_GT(findings[0].cpu_share, 0.99);
  EXPECT_EQ(findings[0].samples, 495u);
}

TEST_F(SpinDetectorTest, GoroutineThatSleepsHalfTheTimeIsNotASpin) {
  define_pc(1, 0x1000, "main.spin", 19);
  add_samples(12, 250, 2, {1});  // on CPU every other tick
  EXPECT_TRUE(detect().empty());
}

TEST_F(SpinDetectorTest, ShortBurstIsNotASpin) {
  define_pc(1, 0x1000, "main.spin", 19);
  add_samples(12, 150, 1, {1});  // 1.5 s < the 2 s window
  EXPECT_TRUE(detect().empty());
}

TEST_F(SpinDetectorTest, BusyWorkSpreadOverFunctionsIsNotASpin) {
  define_pc(1, 0x1000, "main.hash", 10);
  define_pc(2, 0x2000, "main.sort", 20);
  define_pc(3, 0x3000, "main.compress", 30);
  add_samples(12, 495, 1, {1, 2, 3});
  EXPECT_TRUE(detect().empty());
}

TEST_F(SpinDetectorTest, StraySamplesDoNotWidenTheLineRange) {
  define_pc(1, 0x1000, "main.spin", 19);
  define_pc(2, 0x1100, "main.spin", 90);  // one sample in 100 elsewhere in the function
  std::vector<uint32_t> stacks(99, 1);
  stacks.push_back(2);
  add_samples(12, 495, 1, stacks);
  auto findings = detect();
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].line, 19);
  EXPECT_EQ(findings[0].end_line, 19);
}

// The loop header's compare-and-branch sits between hot pcs but is never
// sampled; its line (the `for`) comes from the line-table row the
// symbolizer added with sampled = 0.
TEST_F(SpinDetectorTest, UnsampledLineBetweenHotPcsIsInTheRange) {
  define_pc(1, 0x1000, "main.spin", 23);
  define_pc(2, 0x1010, "main.spin", 18);
  ASSERT_TRUE(db_->exec("INSERT INTO frame VALUES (4104, 0, 'main.spin', 'main.go', 17, 0, '/bin/x', 0)").ok());
  add_samples(12, 495, 1, {1, 2});
  auto findings = detect();
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].line, 17);
  EXPECT_EQ(findings[0].end_line, 23);
}

TEST_F(SpinDetectorTest, SamplesWithoutGoroutineAreIgnored) {
  define_pc(1, 0x1000, "runtime.schedule", 19);
  add_samples(0, 495, 1, {1});  // goid 0: on g0 with no user goroutine
  EXPECT_TRUE(detect().empty());
}

TEST_F(SpinDetectorTest, MissingFrequencyIsAnError) {
  ASSERT_TRUE(db_->exec("DELETE FROM metadata").ok());
  auto findings = detect_spins(*db_);
  ASSERT_FALSE(findings.ok());
  EXPECT_NE(findings.error().message.find("sample_frequency_hz"), std::string::npos);
}

}  // namespace
}  // namespace loophound::analyzer

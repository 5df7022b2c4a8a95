// The loop-structure detectors on hand-made databases: samples, their
// frames and the loops the loop pass would have found, laid out the way a
// recording of each situation looks.
#include <gtest/gtest.h>

#include "analyzer/detect/stuck_detector.h"
#include "analyzer/import/trace_importer.h"

namespace loophound::analyzer {
namespace {

constexpr uint64_t kTick = static_cast<uint64_t>(1e9 / 99);

class StuckDetectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(Database::open(":memory:").value());
    ASSERT_TRUE(create_schema(*db_).ok());
    ASSERT_TRUE(db_->exec("INSERT INTO metadata VALUES ('sample_frequency_hz', '99')").ok());
  }

  void exec(const std::string& sql) { ASSERT_TRUE(db_->exec(sql).ok()) << sql; }

  // A loop row; parent 0 = none.
  void loop(int id, const std::string& function, int header, int first, int last, int depth = 1, int parent = 0,
            const std::string& callees = ",", bool has_call = true, bool has_store = false, bool has_exit = true) {
    exec("INSERT INTO loop VALUES (" + std::to_string(id) + ", '" + function + "', 'main.go', " +
         std::to_string(header) + ", " + std::to_string(first) + ", " + std::to_string(last) + ", 0, '" + function +
         "', " + std::to_string(depth) + ", " + (parent ? std::to_string(parent) : "NULL") + ", " +
         (has_call ? "1" : "0") + ", " + (has_store ? "1" : "0") + ", " + (has_exit ? "1" : "0") + ", '" + callees +
         "')");
  }

  // A loop that neither calls nor stores (a spin on a flag, `for i < n`).
  void self_contained_loop(int id, const std::string& function, int line, bool has_exit = true) {
    loop(id, function, line, line, line, 1, 0, ",", false, false, has_exit);
  }

  // One sample per entry of `rax`, every tick, on stack 1, with registers
  // rax = the entry, rcx = rcx, the rest 0.
  void samples_with_registers(uint64_t goid, const std::vector<uint64_t>& rax, uint64_t rcx) {
    auto le64 = [](uint64_t v) {
      std::string hex;
      for (int i = 0; i < 8; ++i) {
        char b[3];
        std::snprintf(b, sizeof b, "%02x", static_cast<unsigned>((v >> (8 * i)) & 0xff));
        hex += b;
      }
      return hex;
    };
    for (size_t i = 0; i < rax.size(); ++i) {
      std::string blob = le64(rax[i]) + le64(0) + le64(rcx);
      for (int r = 3; r < 18; ++r) blob += le64(0);
      exec("INSERT INTO sample VALUES (" + std::to_string(i + 1) + ", " + std::to_string(1000000000ull + i * kTick) +
           ", 0, 7, " + std::to_string(goid) + ", 1, 0, 0, 0, 0, X'" + blob + "', 0)");
    }
  }

  // A stack of (function, loop id or 0) frames, leaf first.
  void stack(int id, const std::vector<std::pair<std::string, int>>& frames) {
    exec("INSERT INTO stack VALUES (" + std::to_string(id) + ", " + std::to_string(frames.size()) + ")");
    for (size_t p = 0; p < frames.size(); ++p) {
      uint64_t pc = static_cast<uint64_t>(id) * 0x1000 + p * 0x10;
      exec("INSERT INTO stack_frame VALUES (" + std::to_string(id) + ", " + std::to_string(p) + ", " +
           std::to_string(pc) + ", " + std::to_string(pc) + ")");
      exec("INSERT OR IGNORE INTO frame VALUES (" + std::to_string(pc) + ", 0, '" + frames[p].first +
           "', 'main.go', 10, 0, '/bin/x', 1)");
      if (frames[p].second) exec("INSERT OR IGNORE INTO loop_pc VALUES (" + std::to_string(pc) + ", " +
                                 std::to_string(frames[p].second) + ")");
    }
  }

  // `count` samples of goid every `every` ticks, cycling over the stacks.
  void samples(uint64_t goid, int count, int every, const std::vector<int>& stacks, int first_id = 1) {
    for (int i = 0; i < count; ++i)
      exec("INSERT INTO sample VALUES (" + std::to_string(first_id + i) + ", " +
           std::to_string(1000000000ull + uint64_t(i) * every * kTick) + ", 0, 7, " + std::to_string(goid) + ", " +
           std::to_string(stacks[i % stacks.size()]) + ", 0, 0, 0, 0, NULL, 0)");
  }

  std::vector<Finding> detect() {
    exec("INSERT INTO loop_sample SELECT s.id, sf.position, lp.loop_id, sf.address FROM sample s "
         "JOIN stack_frame sf ON sf.stack_id = s.stack_id JOIN loop_pc lp ON lp.pc = sf.pc");
    auto findings = detect_stuck_goroutines(*db_);
    EXPECT_TRUE(findings.ok()) << (findings ? "" : findings.error().message);
    return findings ? *findings : std::vector<Finding>{};
  }

  std::unique_ptr<Database> db_;
};

// The leaf varies (a lock, a map lookup) while one caller frame stays in
// its loop: the caller's loop is the one reported.
TEST_F(StuckDetectorTest, LoopInACallerFrameIsTheSpin) {
  loop(1, "main.rootOf", 29, 29, 34);
  stack(1, {{"sync.(*RWMutex).RLock", 0}, {"main.rootOf", 1}, {"main.main", 0}});
  stack(2, {{"runtime.mapaccess2", 0}, {"main.rootOf", 1}, {"main.main", 0}});
  samples(12, 495, 1, {1, 2});
  auto f = detect();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, "spin");
  EXPECT_EQ(f[0].function, "main.rootOf");
  EXPECT_EQ(f[0].line, 29);
  EXPECT_EQ(f[0].end_line, 34);
}

TEST_F(StuckDetectorTest, LoopThatCallsSelectWithDefaultIsABusyPoll) {
  loop(1, "main.(*pump).run", 33, 33, 37);
  stack(1, {{"runtime.selectnbrecv", 0}, {"main.(*pump).run", 1}});
  stack(2, {{"main.(*pump).run", 1}});
  samples(12, 495, 1, {1, 2});
  auto f = detect();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, "busy_poll");
  EXPECT_NE(f[0].evidence.find("runtime.selectnbrecv"), std::string::npos) << f[0].evidence;
}

// Hash, then sort, then compress from one driver loop: busy, progressing.
TEST_F(StuckDetectorTest, WorkMovingThroughSeveralInnerLoopsIsNotReported) {
  loop(1, "main.work", 60, 60, 70);
  loop(2, "main.hash", 10, 10, 12);
  loop(3, "main.sortRound", 20, 20, 25);
  loop(4, "main.compress", 30, 30, 40);
  stack(1, {{"main.hash", 2}, {"main.work", 1}});
  stack(2, {{"main.sortRound", 3}, {"main.work", 1}});
  stack(3, {{"main.compress", 4}, {"main.work", 1}});
  samples(12, 495, 1, {1, 2, 3});
  EXPECT_TRUE(detect().empty());
  // --all lists it as busy but progressing, with the reason.
  std::vector<BusyGoroutine> busy;
  auto again = detect_stuck_goroutines(*db_, {}, {}, &busy);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(busy.size(), 1u);
  EXPECT_EQ(busy[0].goid, 12u);
  EXPECT_NE(busy[0].why.find("3 inner loops"), std::string::npos) << busy[0].why;
}

// A state that comes back after another one, in a loop that changes
// nothing but registers, proves the loop cannot end.
TEST_F(StuckDetectorTest, AStateThatComesBackIsNoProgress) {
  self_contained_loop(1, "main.waitForReady", 19);
  stack(1, {{"main.waitForReady", 1}});
  std::vector<uint64_t> rax;
  for (int i = 0; i < 495; ++i) rax.push_back(i % 2);  // two pcs of `for !ready {}`, alternating
  samples_with_registers(12, rax, 0);
  auto f = detect();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, "no_progress");
  EXPECT_NE(f[0].evidence.find("cannot terminate"), std::string::npos) << f[0].evidence;
}

// The same registers at back-to-back samples are what a thread held in the
// kernel reports (the registers of its last entry): no proof.
TEST_F(StuckDetectorTest, BackToBackEqualStatesProveNothing) {
  self_contained_loop(1, "main.integrate", 25);
  stack(1, {{"main.integrate", 1}});
  std::vector<uint64_t> rax;
  for (uint64_t i = 0; i < 495; ++i) rax.push_back(i % 7 == 3 ? i - 1 : i);  // repeats the sample before, now and then
  // A bound far away: no exit-progress verdict either (no loop_exit rows).
  samples_with_registers(12, rax, 1ull << 40);
  auto f = detect();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, "spin") << f[0].evidence;
  EXPECT_EQ(f[0].evidence.find("cannot terminate"), std::string::npos) << f[0].evidence;
}

// No branch leaves the loop and it changes nothing (`nop; jmp`): cannot
// terminate, registers or not.
TEST_F(StuckDetectorTest, NoWayOutAndNoEffectIsNoProgress) {
  self_contained_loop(1, "main.(*ring).recentTotal", 31, /*has_exit=*/false);
  stack(1, {{"main.(*ring).recentTotal", 1}});
  samples(12, 495, 1, {1});
  auto f = detect();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, "no_progress");
  EXPECT_NE(f[0].evidence.find("no way out"), std::string::npos) << f[0].evidence;
}

// The loop's exit test (rax >= rcx) comes closer at every sample: a long
// bounded loop, busy but progressing, with when it ends.
TEST_F(StuckDetectorTest, AnIndexAdvancingTowardItsBoundIsProgress) {
  self_contained_loop(1, "main.integrate", 25);
  stack(1, {{"main.integrate", 1}});
  exec("INSERT INTO loop_exit VALUES (1, 0, '>=', 1, 8, 'register', 0, 0, 'register', 2, 0)");
  std::vector<uint64_t> rax;
  for (uint64_t i = 0; i < 495; ++i) rax.push_back(1000 + i * 10'000'000);
  samples_with_registers(12, rax, 20'000'000'000ull);
  EXPECT_TRUE(detect().empty());
  std::vector<BusyGoroutine> busy;
  ASSERT_TRUE(detect_stuck_goroutines(*db_, {}, {}, &busy).ok());
  ASSERT_EQ(busy.size(), 1u);
  EXPECT_NE(busy[0].why.find("advances toward its end"), std::string::npos) << busy[0].why;
  EXPECT_NE(busy[0].why.find("the bound rcx stays 20000000000"), std::string::npos) << busy[0].why;
}

TEST_F(StuckDetectorTest, RunawayRecursionIsReportedAsRecursion) {
  std::vector<std::pair<std::string, int>> frames(127, {"main.(*resolver).effective", 0});
  stack(1, frames);
  samples(12, 495, 1, {1});
  auto f = detect();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, "recursion");
  EXPECT_EQ(f[0].function, "main.(*resolver).effective");
}

// Two goroutines at 40% each, each retrying a loop that backs off with
// time.Sleep: a livelock, one finding per goroutine.
TEST_F(StuckDetectorTest, TwoRetryingGoroutinesAreALivelock) {
  loop(1, "main.reserve", 61, 61, 75, 1, 0, ",time.Sleep,");
  loop(2, "main.restock", 81, 81, 96, 1, 0, ",time.Sleep,");
  stack(1, {{"main.reserve", 1}});
  stack(2, {{"main.restock", 2}});
  samples(13, 200, 2, {1}, 1);
  samples(14, 200, 2, {2}, 1000);
  // Each left the CPU through gopark between samples (schedtick moved).
  exec("INSERT INTO frame VALUES (777, 0, 'runtime.gopark', 'proc.go', 1, 0, '/bin/x', 0)");
  exec("UPDATE sample SET sched_pc = 778, schedtick = id");
  auto f = detect();
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].kind, "livelock");
  EXPECT_EQ(f[1].kind, "livelock");
}

TEST_F(StuckDetectorTest, GoroutineThatSleepsMostOfTheTimeIsNotReported) {
  loop(1, "main.ticker", 5, 5, 8, 1, 0, ",time.Sleep,");
  stack(1, {{"main.ticker", 1}});
  samples(12, 50, 10, {1});  // 10% of the ticks
  EXPECT_TRUE(detect().empty());
}

}  // namespace
}  // namespace loophound::analyzer

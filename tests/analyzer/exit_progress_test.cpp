// judge_exit_progress on synthetic frame states: which value series mean
// "this loop will end" and which do not.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "analyzer/detect/exit_progress.h"

namespace loophound::analyzer {
namespace {

constexpr uint64_t kTick = 10'000'000;  // 10 ms between samples (99 Hz)

std::string le64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
  return out;
}

// rax = index, rcx = bound, in the registers blob.
FrameState registers_state(uint64_t ts, uint64_t rax, uint64_t rcx) {
  FrameState s;
  s.ts = ts;
  s.registers = le64(rax) + le64(0) + le64(rcx);
  return s;
}

ExitTest exit_test(const char* relation, bool is_signed, int width, ExitTest::Side lhs, ExitTest::Side rhs) {
  return ExitTest{relation, is_signed, width, lhs, rhs};
}

// `leaves when rax >= rcx`, signed, 8 bytes: `for i := 0; i < n; i++`.
ExitTest index_below_bound() {
  return exit_test(">=", true, 8, {ExitTest::Side::kRegister, 0, 0}, {ExitTest::Side::kRegister, 2, 0});
}

TEST(ExitProgress, SteadyIndexTowardItsBoundEnds) {
  std::vector<FrameState> states;
  for (uint64_t i = 0; i < 50; ++i) states.push_back(registers_state(i * kTick, 1000 + i * 1'000'000, 1'000'000'000));
  auto v = judge_exit_progress({index_below_bound()}, states);
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(v->advancing) << v->why;
  // 49 M done in 0.49 s, 951 M to go: about 9.5 s.
  EXPECT_NE(v->why.find("about 10 s"), std::string::npos) << v->why;
  EXPECT_NE(v->why.find("49 of 49"), std::string::npos) << v->why;
}

TEST(ExitProgress, TooSlowToWaitForIsNotAdvancing) {
  std::vector<FrameState> states;
  for (uint64_t i = 0; i < 50; ++i) states.push_back(registers_state(i * kTick, i, 1'000'000'000));
  auto v = judge_exit_progress({index_below_bound()}, states);
  ASSERT_TRUE(v.has_value());
  EXPECT_FALSE(v->advancing) << "100 steps a second toward a billion is not an end anyone waits for: " << v->why;
}

TEST(ExitProgress, IndexThatStandsStillIsNotAdvancing) {
  std::vector<FrameState> states;
  for (uint64_t i = 0; i < 50; ++i) states.push_back(registers_state(i * kTick, 17, 100));
  auto v = judge_exit_progress({index_below_bound()}, states);
  ASSERT_TRUE(v.has_value());
  EXPECT_FALSE(v->advancing);
  EXPECT_NE(v->why.find("only 0 of 49"), std::string::npos) << v->why;
}

TEST(ExitProgress, RunsToItsBoundAndStartsOver) {
  // An inner loop re-entered every 10 samples.
  std::vector<FrameState> states;
  for (uint64_t i = 0; i < 60; ++i) states.push_back(registers_state(i * kTick, (i % 10) * 50, 512));
  auto v = judge_exit_progress({index_below_bound()}, states);
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(v->advancing) << v->why;
  EXPECT_NE(v->why.find("started over 5 times"), std::string::npos) << v->why;
}

TEST(ExitProgress, IndexSeenAtRandomIsNoEvidence) {
  // An index that wraps far faster than the sampling rate (i % size in
  // an endless loop) looks random: no verdict that it ends.
  std::mt19937_64 random(1);
  std::vector<FrameState> states;
  for (uint64_t i = 0; i < 200; ++i) states.push_back(registers_state(i * kTick, random() % 1000, 1000));
  auto v = judge_exit_progress({index_below_bound()}, states);
  EXPECT_TRUE(!v || !v->advancing) << v->why;
}

TEST(ExitProgress, ATestThatCanNeverHoldIsIgnored) {
  // for b := byte(0); b <= max; b++ with max = 255: leaves when b > 255.
  const ExitTest t = exit_test(">", false, 1, {ExitTest::Side::kRegister, 0, 0}, {ExitTest::Side::kConstant, 255, 0});
  std::vector<FrameState> states;
  for (uint64_t i = 0; i < 50; ++i) states.push_back(registers_state(i * kTick, (i * 5) % 256, 0));
  EXPECT_FALSE(judge_exit_progress({t}, states).has_value());
}

TEST(ExitProgress, ReadsStackSlotsOfTheFrameWindow) {
  // i at [sp+0x10] compared as i+1 against n at [sp+0x18]: leaves when n <= i+1.
  const ExitTest t = exit_test("<=", true, 8, {ExitTest::Side::kStack, 0x18, 0}, {ExitTest::Side::kStack, 0x10, 1});
  std::vector<FrameState> states;
  for (uint64_t i = 0; i < 30; ++i) {
    FrameState s;
    s.ts = i * kTick;
    s.memory = std::string(0x10, '\0') + le64(i * 100) + le64(100'000);
    states.push_back(s);
  }
  auto v = judge_exit_progress({t}, states);
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(v->advancing) << v->why;
  EXPECT_NE(v->why.find("[sp+0x10]+1"), std::string::npos) << v->why;

  // A window too short for the slot: nothing to read, no verdict.
  for (auto& s : states) s.memory.resize(0x18);
  EXPECT_FALSE(judge_exit_progress({t}, states).has_value());
}

TEST(ExitProgress, ValuesOnTheExitSideAreNotTrusted) {
  // Read as if the loop had already left it (the wrong slot, a stale
  // value): no verdict rather than a confident wrong one.
  std::vector<FrameState> states;
  for (uint64_t i = 0; i < 50; ++i) states.push_back(registers_state(i * kTick, 2000 + i, 1000));
  EXPECT_FALSE(judge_exit_progress({index_below_bound()}, states).has_value());
}

TEST(ExitProgress, TooFewSamplesGiveNoVerdict) {
  std::vector<FrameState> states;
  for (uint64_t i = 0; i < 5; ++i) states.push_back(registers_state(i * kTick, i * 1000, 1'000'000));
  EXPECT_FALSE(judge_exit_progress({index_below_bound()}, states).has_value());
}

}  // namespace
}  // namespace loophound::analyzer

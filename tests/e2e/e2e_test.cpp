// End-to-end: build a real Go sample, run it, record it with real eBPF for
// 5 s, analyze the trace, and check the reported function and line against
// the expectation written in the sample's source. Needs root and BTF; when
// they are missing each test prints "SKIPPED: <reason>" (ctest counts it
// as skipped, never as passed).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_support.h"
#include "tests/e2e/sample_expectation.h"
#include "tests/support/go_samples.h"

namespace loophound::testing {
namespace {

struct Recorded {
  nlohmann::json report;
  std::string trace_path;
};

Recorded record_and_analyze(const std::string& sample, const std::string& record_flags = "") {
  auto binary = build_sample(sample);
  EXPECT_TRUE(binary.ok()) << (binary ? "" : binary.error().message);
  if (!binary) return {};
  RunningSample running(*binary);
  static int traces = 0;
  const std::string trace = temp_dir() + "/" + sample + "_" + std::to_string(++traces) + ".lhtrace";
  auto recorded = run_command(shell_quote(recorder_path()) + " -q -p " + std::to_string(running.pid()) + " -d 5 " +
                              record_flags + " -o " + shell_quote(trace));
  EXPECT_TRUE(recorded.ok()) << (recorded ? "" : recorded.error().message);
  if (!recorded) return {};
  auto analyzed = run_command(shell_quote(analyzer_path()) + " analyze --format json " + shell_quote(trace) + " 2>/dev/null");
  EXPECT_TRUE(analyzed.ok()) << (analyzed ? "" : analyzed.error().message);
  if (!analyzed) return {};
  return Recorded{nlohmann::json::parse(*analyzed, nullptr, false), trace};
}

SampleExpectation expectation_of(const std::string& sample) {
  auto e = read_expectation(LOOPHOUND_SOURCE_DIR "/samples/" + sample + "/main.go");
  EXPECT_TRUE(e.ok()) << (e ? "" : e.error().message);
  return e ? *e : SampleExpectation{};
}

// What a failed expectation should show: the busiest goroutines and the
// loops that held them.
std::string diagnose(const std::string& trace) {
  if (trace.empty()) return "";
  auto out = run_command(shell_quote(analyzer_path()) + " query " + shell_quote(trace) +
                         " 'SELECT goid, samples, round(cpu_share, 2) AS share, start_function FROM goroutine_cpu "
                         "LIMIT 4; SELECT l.id, l.function, l.header_line, count(DISTINCT ls.sample_id) AS samples "
                         "FROM loop l JOIN loop_sample ls ON ls.loop_id = l.id GROUP BY l.id ORDER BY 4 DESC LIMIT 6' "
                         "2>&1");
  return out ? *out : out.error().message;
}

void expect_loop_found(const std::string& sample, const nlohmann::json& report, const std::string& trace = "") {
  const std::string diagnosis = diagnose(trace);
  SampleExpectation want = expectation_of(sample);
  ASSERT_TRUE(report.is_object() && report.contains("findings")) << report.dump();
  const auto& findings = report["findings"];
  ASSERT_EQ(findings.size(), 1u) << "expected one finding for " << sample << ": " << report.dump(2)
                                 << "\nbusiest goroutines:\n" << diagnosis;
  const auto& f = findings[0];
  // Exactly the documented keys, no more, no fewer.
  std::vector<std::string> keys;
  for (auto it = f.begin(); it != f.end(); ++it) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"confidence", "cpu_share", "duration_s", "end_line", "file", "function",
                                            "goroutine", "kind", "line", "samples"}));
  ASSERT_FALSE(want.loops.empty());
  EXPECT_TRUE(want.loops.front().allows(f["kind"].get<std::string>())) << f["kind"] << " is not " << want.kind;
  EXPECT_EQ(f["function"], want.function);
  EXPECT_TRUE(f["file"].get<std::string>().ends_with("samples/" + sample + "/main.go")) << f["file"];
  EXPECT_LE(f["line"].get<int>(), want.loop_line) << f.dump();
  EXPECT_GE(f["end_line"].get<int>(), want.loop_line) << f.dump();
  EXPECT_GE(f["duration_s"].get<double>(), 4.0);
  EXPECT_GT(f["goroutine"].get<uint64_t>(), 0u);
  EXPECT_GT(f["samples"].get<uint64_t>(), 300u);  // 5 s at 99 Hz is ~495
}

TEST(EndToEnd, SpinFlagIsFoundAtItsForLine) {
  REQUIRE_BPF_AND_GO();
  Recorded r = record_and_analyze("spin_flag");
  expect_loop_found("spin_flag", r.report, r.trace_path);
  // Symbolizing with the wrong program must fail loudly, not report
  // confident wrong lines: the trace carries the build id.
  auto other = build_sample("decoy_cpu");
  ASSERT_TRUE(other.ok());
  auto wrong = run_command(shell_quote(analyzer_path()) + " analyze " + shell_quote(r.trace_path) + " --binary " +
                           shell_quote(*other));
  ASSERT_FALSE(wrong.ok()) << *wrong;
  EXPECT_NE(wrong.error().message.find("is not the traced executable"), std::string::npos) << wrong.error().message;
}

TEST(EndToEnd, SpinComputeIsFoundAtItsForLine) {
  REQUIRE_BPF_AND_GO();
  Recorded r = record_and_analyze("spin_compute");
  expect_loop_found("spin_compute", r.report, r.trace_path);
}

TEST(EndToEnd, DecoyCpuGivesNoFinding) {
  REQUIRE_BPF_AND_GO();
  SampleExpectation want = expectation_of("decoy_cpu");
  ASSERT_TRUE(want.expect_none);
  Recorded r = record_and_analyze("decoy_cpu");
  ASSERT_TRUE(r.report.contains("findings")) << r.report.dump();
  EXPECT_TRUE(r.report["findings"].empty()) << r.report.dump(2);
  // The decoy was really busy: the test means something only if it ran.
  EXPECT_GT(std::stoi(query_one(r.trace_path, "SELECT max(samples) FROM goroutine WHERE goid != 0")), 250);
}

// A long loop that is bounded is not stuck: its index register is seen
// to come closer to its bound register at nearly every sample, and the
// analyzer says when it will end instead of reporting a spin.
TEST(EndToEnd, BoundedLoopIsSeenAdvancingTowardItsEnd) {
  REQUIRE_BPF_AND_GO();
  Recorded r = record_and_analyze("decoy_bounded_loop");
  ASSERT_TRUE(r.report.contains("findings")) << r.report.dump();
  EXPECT_TRUE(r.report["findings"].empty()) << r.report.dump(2) << diagnose(r.trace_path);
  auto text = run_command(shell_quote(analyzer_path()) + " analyze --all " + shell_quote(r.trace_path) + " 2>/dev/null");
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_NE(text->find("busy but progressing"), std::string::npos) << *text;
  EXPECT_NE(text->find("decoy_bounded_loop/main.go:25 advances toward its end"), std::string::npos) << *text;
  EXPECT_NE(text->find("at that pace the loop ends in"), std::string::npos) << *text;
  auto json = run_command(shell_quote(analyzer_path()) + " analyze --all --format json " + shell_quote(r.trace_path) +
                          " 2>/dev/null");
  ASSERT_TRUE(json.ok()) << json.error().message;
  auto report = nlohmann::json::parse(*json, nullptr, false);
  ASSERT_TRUE(report.contains("progressing") && report["progressing"].size() == 1) << *json;
  EXPECT_NE(report["progressing"][0]["why"].get<std::string>().find("advances toward its end"), std::string::npos);
  EXPECT_EQ(query_one(r.trace_path, "SELECT value FROM metadata WHERE key = 'registers'"), "1");
  // The exit test the loop pass found: i (a register) against steps.
  EXPECT_EQ(query_one(r.trace_path, "SELECT count(*) FROM loop_exit e JOIN loop l ON l.id = e.loop_id "
                                    "WHERE l.function = 'main.integrate' AND e.lhs_kind = 'register' "
                                    "AND e.rhs_kind = 'register'"),
            "1");
}

// --no-regs leaves registers and frame bytes out: a flag spin is then a
// plain spin (no proof that it cannot end), and the trace holds neither.
TEST(EndToEnd, WithoutRegistersAFlagSpinIsASpin) {
  REQUIRE_BPF_AND_GO();
  Recorded r = record_and_analyze("spin_flag", "--no-regs");
  ASSERT_TRUE(r.report.contains("findings") && r.report["findings"].size() == 1) << r.report.dump(2);
  EXPECT_EQ(r.report["findings"][0]["kind"], "spin");
  EXPECT_EQ(r.report["findings"][0]["function"], "main.waitForReady");
  EXPECT_EQ(query_one(r.trace_path, "SELECT count(*) FROM frame_memory"), "0");
  EXPECT_EQ(query_one(r.trace_path, "SELECT count(*) FROM sample WHERE registers IS NOT NULL"), "0");
  EXPECT_EQ(query_one(r.trace_path, "SELECT value FROM metadata WHERE key = 'registers'"), "0");
}

// What a user does with a trace besides analyze: SQL over it (BLOBs shown
// as hex literals, nothing writable), info and analyze on a cut copy and
// on the database analyze --db wrote.
TEST(EndToEnd, QueryInfoAndCutTracesSayWhatTheyHold) {
  REQUIRE_BPF_AND_GO();
  Recorded r = record_and_analyze("spin_flag_helper");
  ASSERT_FALSE(r.trace_path.empty());
  const std::string tool = shell_quote(analyzer_path());
  auto blob = run_command(tool + " query " + shell_quote(r.trace_path) +
                          " 'SELECT bytes FROM frame_memory LIMIT 1' 2>/dev/null");
  ASSERT_TRUE(blob.ok()) << blob.error().message;
  EXPECT_NE(blob->find("\nx'"), std::string::npos) << *blob;
  EXPECT_EQ(blob->size(), std::string("bytes\nx''\n").size() + 2 * 256) << "256 bytes as 512 hex digits";
  auto write = run_command(tool + " query " + shell_quote(r.trace_path) + " 'DELETE FROM sample' 2>&1");
  ASSERT_FALSE(write.ok()) << *write;
  EXPECT_NE(write.error().message.find("readonly"), std::string::npos) << write.error().message;

  // Cut inside the bundled executable, before any sample: an error, not
  // "no stuck loop found".
  const std::string cut = temp_dir() + "/cut.lhtrace";
  ASSERT_TRUE(run_command("head -c 20000 " + shell_quote(r.trace_path) + " > " + shell_quote(cut)).ok());
  auto analyzed = run_command(tool + " analyze " + shell_quote(cut) + " 2>&1");
  ASSERT_FALSE(analyzed.ok()) << *analyzed;
  EXPECT_NE(analyzed.error().message.find("truncated before its first sample"), std::string::npos)
      << analyzed.error().message;
  auto info = run_command(tool + " info " + shell_quote(cut) + " 2>&1");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_NE(info->find("none survived: the trace is truncated"), std::string::npos) << *info;

  const std::string db = temp_dir() + "/helper.db";
  ASSERT_TRUE(run_command(tool + " analyze " + shell_quote(r.trace_path) + " --db " + shell_quote(db) +
                          " >/dev/null 2>&1").ok());
  auto db_info = run_command(tool + " info " + shell_quote(db) + " 2>&1");
  ASSERT_FALSE(db_info.ok());
  EXPECT_NE(db_info.error().message.find("is an SQLite database"), std::string::npos) << db_info.error().message;
}

// With switch events on, the spinner's goroutine id in runtime.execute
// events (read from the g in RAX) must be the one its samples carry (read
// from TLS): two independent paths to the same id.
TEST(EndToEnd, ExecuteEventsNameTheSampledGoroutine) {
  REQUIRE_BPF_AND_GO();
  Recorded r = record_and_analyze("spin_compute", "-e samples,execute");
  expect_loop_found("spin_compute", r.report, r.trace_path);
  if (!r.report.contains("findings") || r.report["findings"].empty()) return;
  uint64_t goid = r.report["findings"][0]["goroutine"];
  // Async preemption reschedules a spinner every 10-20 ms: dozens in 5 s.
  EXPECT_GT(std::stoi(query_one(r.trace_path, "SELECT count(*) FROM switch_event WHERE goid = " +
                                                  std::to_string(goid))),
            20);
}

}  // namespace
}  // namespace loophound::testing

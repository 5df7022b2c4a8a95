// loophound-record as a user meets it: one clear line for each way it can
// refuse, and a clean trace however the recording ends (duration, Ctrl-C,
// the target exiting).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/e2e_support.h"
#include "tests/support/go_samples.h"

namespace loophound::testing {
namespace {

// Runs the recorder and returns {exit code, stderr+stdout}.
std::pair<int, std::string> run_recorder(const std::string& args, const std::string& prefix = "") {
  std::string command = prefix + shell_quote(recorder_path()) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buf[4096];
  for (size_t n; pipe != nullptr && (n = fread(buf, 1, sizeof buf, pipe)) > 0;) output.append(buf, n);
  int status = pipe != nullptr ? pclose(pipe) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(RecorderCli, MissingCapabilitiesAreNamed) {
  REQUIRE_BPF_AND_GO();
  // Dropping every capability from the bounding set makes root powerless.
  auto [code, out] = run_recorder("-p 1 -o " + shell_quote(temp_dir() + "/nocap.lhtrace"),
                                  "setpriv --bounding-set=-all --inh-caps=-all ");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("ERROR: missing capability: CAP_BPF CAP_PERFMON"), std::string::npos) << out;
}

TEST(RecorderCli, NoSuchPid) {
  REQUIRE_BPF_AND_GO();
  auto [code, out] = run_recorder("-p 999999999 -o " + shell_quote(temp_dir() + "/nopid.lhtrace"));
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("ERROR: no such process: PID 999999999"), std::string::npos) << out;
}

TEST(RecorderCli, NotAGoProgram) {
  REQUIRE_BPF_AND_GO();
  pid_t child = fork();
  if (child == 0) {
    execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto [code, out] = run_recorder("-p " + std::to_string(child) + " -o " + shell_quote(temp_dir() + "/nogo.lhtrace"));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("is not a Go program"), std::string::npos) << out;
}

TEST(RecorderCli, BadUsageExitsTwo) {
  auto [code, out] = run_recorder("-o x.lhtrace");
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("ERROR: the option '--pid' is required"), std::string::npos) << out;
  auto [code2, out2] = run_recorder("-p 1 -e samples,bogus -o x.lhtrace");
  EXPECT_EQ(code2, 2) << out2;
  EXPECT_NE(out2.find("unknown event kind 'bogus'"), std::string::npos) << out2;
}

TEST(RecorderCli, CtrlCStopsCleanlyWithAFooter) {
  REQUIRE_BPF_AND_GO();
  auto binary = build_sample("spin_flag");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  RunningSample sample(*binary);
  const std::string trace = temp_dir() + "/sigint.lhtrace";
  pid_t recorder = fork();
  if (recorder == 0) {
    execl(recorder_path().c_str(), recorder_path().c_str(), "-q", "-p", std::to_string(sample.pid()).c_str(), "-o",
          trace.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  kill(recorder, SIGINT);
  int status = 0;
  waitpid(recorder, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(query_one(trace, "SELECT value FROM import_stats WHERE name = 'missing_footer'"), "0");
  EXPECT_GT(std::stoi(query_one(trace, "SELECT count(*) FROM sample")), 50);
}

TEST(RecorderCli, TargetExitEndsTheRecording) {
  REQUIRE_BPF_AND_GO();
  auto binary = build_sample("spin_flag");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  RunningSample sample(*binary, "2s");  // the watchdog ends it after 2 s
  const std::string trace = temp_dir() + "/exit.lhtrace";
  auto start = std::chrono::steady_clock::now();
  auto [code, out] = run_recorder("-p " + std::to_string(sample.pid()) + " -d 30 -o " + shell_quote(trace));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("(target exited)"), std::string::npos) << out;
  EXPECT_LT(took, 10.0);
  EXPECT_EQ(query_one(trace, "SELECT value FROM import_stats WHERE name = 'missing_footer'"), "0");
}

}  // namespace
}  // namespace loophound::testing

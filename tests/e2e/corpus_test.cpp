// A CI-sized part of the loop corpus (samples/evaluate.sh runs all of it):
// one program per kind the detectors name, and three decoys (among them the
// hardest: one long hashing pass, told apart only by its index), and one
// program built with the oldest supported Go. Each is
// recorded for 5 s with the default events; every expected finding must be
// reported with its kind, function and a line range holding its loop's
// line, and nothing else may be reported.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_support.h"
#include "tests/e2e/sample_expectation.h"
#include "tests/support/go_samples.h"

namespace loophound::testing {
namespace {

class Corpus : public ::testing::TestWithParam<const char*> {};

// Generic instantiations are named by shape ([go.shape.int] on one Go,
// [go.shape.int_0] on another): compare with the type arguments left out.
std::string without_type_arguments(std::string name) {
  for (size_t open; (open = name.find('[')) != std::string::npos;) {
    size_t close = name.find(']', open);
    if (close == std::string::npos) break;
    name.erase(open, close - open + 1);
  }
  return name;
}

// "sample" (the machine's Go) or "sample@go1.N.M" (that toolchain).
TEST_P(Corpus, ReportsExactlyWhatTheProgramPromises) {
  REQUIRE_BPF_AND_GO();
  const std::string param = GetParam();
  const std::string sample = param.substr(0, param.find('@'));
  std::string go;
  if (param.find('@') != std::string::npos) {
    auto toolchain = go_toolchain(param.substr(param.find('@') + 1));
    if (!toolchain) {
      std::printf("SKIPPED: %s\n", toolchain.error().message.c_str());
      GTEST_SKIP() << toolchain.error().message;
    }
    go = *toolchain;
  }
  auto want = read_expectation(LOOPHOUND_SOURCE_DIR "/samples/" + sample + "/main.go");
  ASSERT_TRUE(want.ok()) << want.error().message;
  auto binary = build_sample(sample, "", go);
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  const std::string trace = temp_dir() + "/corpus_" + sample + (go.empty() ? "" : "_old_go") + ".lhtrace";
  {
    RunningSample running(*binary);
    auto recorded = run_command(shell_quote(recorder_path()) + " -q -p " + std::to_string(running.pid()) +
                                " -d 5 --no-bundle -o " + shell_quote(trace));
    ASSERT_TRUE(recorded.ok()) << recorded.error().message;
  }
  auto analyzed = run_command(shell_quote(analyzer_path()) + " analyze --format json " + shell_quote(trace) +
                              " 2>/dev/null");
  ASSERT_TRUE(analyzed.ok()) << analyzed.error().message;
  auto report = nlohmann::json::parse(*analyzed, nullptr, false);
  ASSERT_TRUE(report.contains("findings")) << *analyzed;
  const auto& findings = report["findings"];
  EXPECT_EQ(findings.size(), want->loops.size()) << report.dump(2);
  for (const auto& loop : want->loops) {
    bool found = false;
    for (const auto& f : findings)
      found |= loop.allows(f["kind"].get<std::string>()) &&
               without_type_arguments(f["function"]) == without_type_arguments(loop.function) &&
               f["line"].get<int>() <= loop.loop_line && f["end_line"].get<int>() >= loop.loop_line;
    EXPECT_TRUE(found) << "missing " << loop.kind << " in " << loop.function << " at line " << loop.loop_line
                       << "; reported: " << report.dump(2);
  }
}

INSTANTIATE_TEST_SUITE_P(Samples, Corpus,
                         ::testing::Values("busy_select_default", "busy_gosched", "retry_open", "closed_channel",
                                           "deep_recursion", "livelock", "unsigned_underflow", "decoy_sort",
                                           "decoy_flate", "decoy_sha256",
                                           // Go 1.19 gives an inlined loop's first instruction the
                                           // line of the call: the loop is still the callee's.
                                           "spin_flag_helper@go1.19.13",
                                           // ... and steps an index through a temporary register.
                                           "decoy_bounded_loop@go1.19.13"));

}  // namespace
}  // namespace loophound::testing

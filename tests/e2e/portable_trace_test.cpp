// Production binaries and portable traces (issue 4): the same sample built
// plain, stripped (-s -w: no DWARF, no .symtab), as PIE and externally
// linked (cgo-style TLS), recorded with the default bundle, then analyzed
// from a copy of the trace in a directory after the binary was deleted.
// The reported function and loop line must equal the plain build's.
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_support.h"
#include "tests/e2e/sample_expectation.h"
#include "tests/support/go_samples.h"

namespace loophound::testing {
namespace {

struct Flavour {
  const char* label;
  const char* flags;
};

// Test names and ctest labels show the flavour, not the struct's bytes.
void PrintTo(const Flavour& flavour, std::ostream* out) { *out << flavour.label; }

class PortableTrace : public ::testing::TestWithParam<Flavour> {};

TEST_P(PortableTrace, SpinIsFoundWithoutTheBinary) {
  REQUIRE_BPF_AND_GO();
  const Flavour& flavour = GetParam();
  auto built = build_sample("spin_compute", flavour.flags);
  ASSERT_TRUE(built.ok()) << built.error().message;
  // A private copy, so deleting it does not disturb other tests.
  const std::string dir = temp_dir() + "/portable_" + flavour.label;
  std::filesystem::create_directories(dir + "/elsewhere");
  const std::string binary = dir + "/spin_compute";
  std::filesystem::copy_file(*built, binary, std::filesystem::copy_options::overwrite_existing);

  const std::string trace = dir + "/trace.lhtrace";
  {
    RunningSample sample(binary);
    auto recorded = run_command(shell_quote(recorder_path()) + " -q -p " + std::to_string(sample.pid()) +
                                " -d 5 -o " + shell_quote(trace));
    ASSERT_TRUE(recorded.ok()) << recorded.error().message;
  }
  std::filesystem::remove(binary);
  const std::string copy = dir + "/elsewhere/trace.lhtrace";
  std::filesystem::copy_file(trace, copy, std::filesystem::copy_options::overwrite_existing);

  auto analyzed = run_command(shell_quote(analyzer_path()) + " analyze --format json " + shell_quote(copy) +
                              " 2>/dev/null");
  ASSERT_TRUE(analyzed.ok()) << analyzed.error().message;
  auto report = nlohmann::json::parse(*analyzed, nullptr, false);
  ASSERT_TRUE(report.contains("findings")) << *analyzed;
  ASSERT_EQ(report["findings"].size(), 1u) << report.dump(2);
  const auto& f = report["findings"][0];
  auto want = read_expectation(LOOPHOUND_SOURCE_DIR "/samples/spin_compute/main.go");
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(f["function"], want->function);
  EXPECT_LE(f["line"].get<int>(), want->loop_line) << f.dump();
  EXPECT_GE(f["end_line"].get<int>(), want->loop_line) << f.dump();
  // The text report says the symbols came from the bundle.
  auto text = run_command(shell_quote(analyzer_path()) + " analyze " + shell_quote(copy) + " 2>/dev/null");
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("symbols: the executable bundled in the trace"), std::string::npos) << *text;
  std::printf("%s: %s at %s:%d-%d\n", flavour.label, f["function"].get<std::string>().c_str(),
              f["file"].get<std::string>().c_str(), f["line"].get<int>(), f["end_line"].get<int>());
}

INSTANTIATE_TEST_SUITE_P(Flavours, PortableTrace,
                         ::testing::Values(Flavour{"plain", ""}, Flavour{"stripped", "-ldflags=-s\\ -w"},
                                           Flavour{"pie", "-buildmode=pie"},
                                           Flavour{"stripped_pie", "-buildmode=pie -ldflags=-s\\ -w"},
                                           Flavour{"external_link", "-ldflags=-linkmode=external"}),
                         [](const ::testing::TestParamInfo<Flavour>& info) { return std::string(info.param.label); });

}  // namespace
}  // namespace loophound::testing

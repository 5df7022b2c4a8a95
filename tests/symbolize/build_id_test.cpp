// Build ids: read from a real Go binary and checked against the Go
// toolchain's own reader (`go tool buildid`), and the matching rule.
#include <gtest/gtest.h>

#include "analyzer/symbolize/build_id.h"
#include "tests/support/go_samples.h"

namespace loophound::analyzer {
namespace {

using loophound::testing::build_sample;
using loophound::testing::find_go;
using loophound::testing::run_command;
using loophound::testing::shell_quote;

TEST(BuildId, MatchesGoToolBuildid) {
  LOOPHOUND_REQUIRE_GO();
  auto binary = build_sample("spin_compute");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  auto ids = read_build_ids(*binary);
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  auto expected = run_command(shell_quote(*find_go()) + " tool buildid " + shell_quote(*binary));
  ASSERT_TRUE(expected.ok());
  std::string want = *expected;
  while (!want.empty() && (want.back() == '\n' || want.back() == '\r')) want.pop_back();
  EXPECT_EQ(ids->go, want);
}

TEST(BuildId, DifferentProgramsMismatch) {
  LOOPHOUND_REQUIRE_GO();
  auto a = build_sample("spin_compute");
  auto b = build_sample("spin_flag");
  ASSERT_TRUE(a.ok() && b.ok());
  auto ia = read_build_ids(*a), ib = read_build_ids(*b);
  ASSERT_TRUE(ia.ok() && ib.ok());
  EXPECT_EQ(build_id_mismatch(*ia, *ia), "");
  EXPECT_NE(build_id_mismatch(*ia, *ib).find("Go build id"), std::string::npos);
}

TEST(BuildId, MissingIdsDoNotCountAsMismatch) {
  EXPECT_EQ(build_id_mismatch(BuildIds{"", ""}, BuildIds{"abc", "01"}), "");
  EXPECT_EQ(build_id_mismatch(BuildIds{"abc", ""}, BuildIds{"", "01"}), "");
  EXPECT_NE(build_id_mismatch(BuildIds{"", "01"}, BuildIds{"", "02"}), "");
}

TEST(BuildId, NotAnElfNamesTheFile) {
  auto ids = read_build_ids(LOOPHOUND_SOURCE_DIR "/README.md");
  ASSERT_FALSE(ids.ok());
  EXPECT_NE(ids.error().message.find("README.md"), std::string::npos);
}

}  // namespace
}  // namespace loophound::analyzer

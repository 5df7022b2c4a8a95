// GoPclnTable on binaries of older Go toolchains, one per table layout and
// then some: each checked against that toolchain's own `go tool addr2line`
// and, on every frame, against DwarfSymbolizer on the same binary.
// Toolchains come through the Go module proxy (scripts/go-toolchain.sh);
// one that cannot be had is "SKIPPED:", not failed.
#include <gtest/gtest.h>

#include "analyzer/symbolize/gopclntab.h"
#include "analyzer/symbolize/pclntab_symbolizer.h"
#include "tests/symbolize/go_builds.h"

namespace loophound::analyzer {
namespace {

constexpr size_t kAddresses = 10000;

struct Version {
  const char* go;
  GoPclnVersion layout;
};

void PrintTo(const Version& version, std::ostream* os) { *os << version.go; }

class OlderToolchain : public ::testing::TestWithParam<Version> {
 protected:
  // The toolchain, or a skip with the reason.
  std::optional<testing::Toolchain> toolchain_or_skip() {
    if (!testing::find_go()) return std::nullopt;
    Result<testing::Toolchain> toolchain = testing::toolchain(GetParam().go);
    if (!toolchain.ok()) {
      std::printf("SKIPPED: %s\n", toolchain.error().message.c_str());
      return std::nullopt;
    }
    return toolchain.value();
  }
};

bool any_function(const std::string&) { return true; }

// A plain build (with .symtab and DWARF) and a stripped PIE (no .symtab;
// before Go 1.26 the table is then called .data.rel.ro.gopclntab).
TEST_P(OlderToolchain, MatchesItsOwnAddr2lineAndDwarf) {
  std::optional<testing::Toolchain> toolchain = toolchain_or_skip();
  if (!toolchain) GTEST_SKIP() << "no " << GetParam().go;
  for (const char* flags : {"", "-buildmode=pie -ldflags='-s -w'"}) {
    Result<std::string> binary = testing::build_spin_compute(*toolchain, "", flags);
    ASSERT_TRUE(binary.ok()) << binary.error().message;
    auto symbolizer = PclntabSymbolizer::open(*binary);
    ASSERT_TRUE(symbolizer.ok()) << symbolizer.error().message;
    EXPECT_EQ((*symbolizer)->table().version(), GetParam().layout);
    if (GetParam().layout != GoPclnVersion::kGo116) {
      EXPECT_TRUE((*symbolizer)->table().found_moduledata()) << flags;
    }
    // Before Go 1.20, cmd/internal/objfile looked for .gopclntab only, so
    // those toolchains' addr2line answer "?" for every address of their
    // own stripped PIEs (.data.rel.ro.gopclntab, no .symtab to fall back
    // on); the machine's addr2line (debug/gosym reads every layout) is the
    // reference there.
    const bool own_cannot_read = *flags != '\0' && toolchain->minor < 20;
    std::optional<testing::Toolchain> reference =
        own_cannot_read ? testing::machine_toolchain() : toolchain;
    ASSERT_TRUE(reference.has_value());
    Result<testing::Agreement> agreement =
        testing::agree_with_addr2line(*reference, *binary, kAddresses);
    ASSERT_TRUE(agreement.ok()) << agreement.error().message;
    std::printf("%s %s: %zu addresses compared with %s go tool addr2line, %zu with inlined "
                "frames, %zu mismatches\n",
                GetParam().go, *flags ? flags : "(plain)", agreement->addresses,
                own_cannot_read ? reference->version.c_str() : "its own",
                agreement->inlined, agreement->mismatches);
    EXPECT_GE(agreement->addresses, kAddresses * 9 / 10);
    EXPECT_EQ(agreement->mismatches, 0u) << agreement->report;
    EXPECT_GT(agreement->inlined, 0u) << "the inline tree was not found";
  }
  Result<std::string> plain = testing::build_spin_compute(*toolchain, "", "");
  ASSERT_TRUE(plain.ok());
  Result<testing::Agreement> dwarf = testing::agree_with_dwarf(*plain, 5000, any_function, toolchain->minor);
  ASSERT_TRUE(dwarf.ok()) << dwarf.error().message;
  std::printf("%s: %zu addresses (%zu frames, %zu with inlined frames) compared with "
              "DwarfSymbolizer, %zu mismatches; inherent in this Go's DWARF: %zu generic names, "
              "%zu wrappers without inlined call, %zu inline marks without row\n",
              GetParam().go, dwarf->addresses, dwarf->frames, dwarf->inlined, dwarf->mismatches,
              dwarf->generic_names, dwarf->dwarf_lacks_inline, dwarf->dwarf_lacks_row);
  EXPECT_EQ(dwarf->mismatches, 0u) << dwarf->report;
}

// Each layout's first and last release, and those the version matrix uses.
INSTANTIATE_TEST_SUITE_P(
    Versions, OlderToolchain,
    ::testing::Values(Version{"go1.16.15", GoPclnVersion::kGo116},
                      Version{"go1.17.13", GoPclnVersion::kGo116},
                      Version{"go1.18.10", GoPclnVersion::kGo118},
                      Version{"go1.19.13", GoPclnVersion::kGo118},
                      Version{"go1.20.14", GoPclnVersion::kGo120},
                      Version{"go1.22.12", GoPclnVersion::kGo120},
                      Version{"go1.24.13", GoPclnVersion::kGo120},
                      Version{"go1.25.14", GoPclnVersion::kGo120}),
    [](const ::testing::TestParamInfo<Version>& info) {
      std::string name = info.param.go;
      for (char& c : name) c = c == '.' ? '_' : c;
      return name;
    });

}  // namespace
}  // namespace loophound::analyzer

// DwarfSymbolizer against `go tool addr2line` (Go's own line table, not
// DWARF) on real Go binaries, plus inlining, fallbacks and bad input.
#include "analyzer/symbolize/dwarf_symbolizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "tests/support/go_samples.h"

namespace loophound::analyzer {
namespace {

using loophound::testing::build_sample;
using loophound::testing::function_symbols;
using loophound::testing::FunctionSymbol;

// Every third byte: not every instruction start, but both sides answer for
// any address inside a function, and every instruction of 3 bytes or more
// is hit at least once.
constexpr uint64_t kStride = 3;

bool in_compared_package(const std::string& name) {
  return name.starts_with("main.") || name.starts_with("runtime.");
}

std::vector<uint64_t> addresses_of(const std::vector<FunctionSymbol>& functions,
                                   bool (*keep)(const std::string&)) {
  std::vector<uint64_t> addresses;
  for (const FunctionSymbol& f : functions) {
    if (!keep(f.name)) continue;
    for (uint64_t offset = 0; offset < f.size; offset += kStride) addresses.push_back(f.address + offset);
  }
  return addresses;
}

std::unique_ptr<DwarfSymbolizer> open_or_die(const std::string& path) {
  Result<std::unique_ptr<DwarfSymbolizer>> symbolizer = DwarfSymbolizer::open(path);
  if (!symbolizer.ok()) ADD_FAILURE() << symbolizer.error().message;
  return symbolizer.ok() ? std::move(symbolizer).value() : nullptr;
}

std::string describe(const std::vector<SourceFrame>& frames) {
  std::string s;
  for (const SourceFrame& f : frames) {
    s += "\n    " + f.function + " " + f.file + ":" + std::to_string(f.line) +
         (f.inlined ? " (inlined)" : "");
  }
  return frames.empty() ? " (none)" : s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---- Agreement with go tool addr2line ----------------------------------------

struct Build {
  const char* package;
  const char* flags;
};

void PrintTo(const Build& build, std::ostream* os) { *os << build.package << " " << build.flags; }

class MatchesGoAddr2line : public ::testing::TestWithParam<Build> {};

TEST_P(MatchesGoAddr2line, OnEveryThirdByteOfMainAndRuntime) {
  LOOPHOUND_REQUIRE_GO();
  Result<std::string> binary = build_sample(GetParam().package, GetParam().flags);
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  std::vector<uint64_t> addresses = addresses_of(function_symbols(*binary), in_compared_package);
  ASSERT_GT(addresses.size(), 1000u);
  Result<std::vector<testing::GoLine>> expected = testing::go_addr2line(*binary, addresses);
  ASSERT_TRUE(expected.ok()) << expected.error().message;

  std::unique_ptr<DwarfSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  ASSERT_TRUE(symbolizer->has_dwarf());
  size_t function_mismatches = 0;
  size_t line_mismatches = 0;
  size_t inlined = 0;
  std::string report;
  for (size_t i = 0; i < addresses.size(); ++i) {
    std::vector<SourceFrame> frames = symbolizer->symbolize(addresses[i]);
    const testing::GoLine& go = expected.value()[i];
    // addr2line: the physical function's name, the innermost file:line.
    bool function_ok = !frames.empty() && frames.back().function == go.function;
    bool line_ok = !frames.empty() && frames.front().file == go.file && frames.front().line == go.line;
    function_mismatches += !function_ok;
    line_mismatches += !line_ok;
    inlined += frames.size() > 1;
    if ((!function_ok || !line_ok) && function_mismatches + line_mismatches <= 20) {
      char hex[32];
      std::snprintf(hex, sizeof hex, "%#llx", static_cast<unsigned long long>(addresses[i]));
      report += std::string("\n  ") + hex + ": addr2line " + go.function + " " + go.file + ":" +
                std::to_string(go.line) + "; ours:" + describe(frames);
    }
  }
  std::printf("%s %s: %zu addresses compared, %zu with inlined frames, %zu function and %zu "
              "file:line mismatches\n",
              GetParam().package, GetParam().flags, addresses.size(), inlined,
              function_mismatches, line_mismatches);
  EXPECT_EQ(function_mismatches, 0u) << report;
  EXPECT_EQ(line_mismatches, 0u) << report;
  EXPECT_GT(inlined, 0u) << "Go inlines runtime helpers everywhere; no inlined frame is a bug";
}

INSTANTIATE_TEST_SUITE_P(Samples, MatchesGoAddr2line,
                         ::testing::Values(Build{"spin_compute", ""}, Build{"spin_flag", ""},
                                           Build{"spin_compute", "-buildmode=pie"}),
                         [](const ::testing::TestParamInfo<Build>& info) {
                           std::string name = info.param.package;
                           if (*info.param.flags != '\0') name += "_pie";
                           return name;
                         });

// ---- Inlining ----------------------------------------------------------------

TEST(DwarfSymbolizer, LoopLineOfCollatzStepsIsResolved) {
  LOOPHOUND_REQUIRE_GO();
  Result<std::string> binary = build_sample("spin_compute");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  const std::string source = LOOPHOUND_SOURCE_DIR "/samples/spin_compute/main.go";
  const int loop_line = testing::line_containing(source, "loophound:loop");
  const int call_line = testing::line_containing(source, "collatzSteps(s)");
  ASSERT_GT(loop_line, 0);
  ASSERT_GT(call_line, 0);

  std::unique_ptr<DwarfSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  std::set<int> lines;
  size_t inlined_addresses = 0;
  for (uint64_t a : addresses_of(function_symbols(*binary),
                                 [](const std::string& n) { return n.starts_with("main."); })) {
    std::vector<SourceFrame> frames = symbolizer->symbolize(a);
    for (size_t i = 0; i < frames.size(); ++i) {
      if (frames[i].function != "main.collatzSteps") continue;
      lines.insert(frames[i].line);
      EXPECT_EQ(frames[i].file, source);
      // The Go compiler inlines collatzSteps into worker: then the outer
      // frame must be worker at the call, from DW_AT_call_file/line.
      if (frames[i].inlined) {
        ++inlined_addresses;
        ASSERT_LT(i + 1, frames.size());
        EXPECT_EQ(frames[i + 1].function, "main.worker");
        EXPECT_EQ(frames[i + 1].file, source);
        EXPECT_EQ(frames[i + 1].line, call_line);
      }
    }
  }
  EXPECT_TRUE(lines.count(loop_line)) << "loop line " << loop_line << " not among the lines of "
                                      << "main.collatzSteps (" << lines.size() << " lines seen)";
  std::printf("main.collatzSteps: %zu lines, %zu inlined addresses\n", lines.size(),
              inlined_addresses);
}

// Every call site the symbolizer reports for a package-main inlined frame
// must be a source line that names the inlined function.
TEST(DwarfSymbolizer, CallSitesNameTheInlinedFunction) {
  LOOPHOUND_REQUIRE_GO();
  Result<std::string> binary = build_sample("spin_compute");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  std::unique_ptr<DwarfSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  size_t checked = 0;
  for (uint64_t a : addresses_of(function_symbols(*binary), in_compared_package)) {
    std::vector<SourceFrame> frames = symbolizer->symbolize(a);
    for (size_t i = 0; i + 1 < frames.size(); ++i) {
      ASSERT_TRUE(frames[i].inlined);
      const SourceFrame& callee = frames[i];
      const SourceFrame& caller = frames[i + 1];
      // Only plain functions of the sources we wrote: runtime call sites
      // include method values, generics and closures named "func1".
      if (!callee.function.starts_with("main.") || caller.file.find("/samples/") == std::string::npos) {
        continue;
      }
      std::string base = callee.function.substr(callee.function.rfind('.') + 1);
      std::ifstream in(caller.file);
      std::string text;
      for (int n = 0; n < caller.line && std::getline(in, text);) ++n;
      EXPECT_NE(text.find(base + "("), std::string::npos)
          << caller.file << ":" << caller.line << " does not call " << callee.function;
      ++checked;
    }
    EXPECT_FALSE(frames.empty() || frames.back().inlined);
  }
  EXPECT_GT(checked, 0u);
}

// Go's DWARF has no line row for the first bytes of a function that starts
// at file 1 line 1 ("<autogenerated>:1": init functions, wrappers); the
// symbolizer fills in the line program's initial state, which is what Go
// meant (see set_line_from_table). Without that, these addresses alone
// broke the agreement with addr2line.
TEST(DwarfSymbolizer, StartOfAutogeneratedFunctionHasItsLine) {
  LOOPHOUND_REQUIRE_GO();
  Result<std::string> binary = build_sample("spin_compute");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  std::unique_ptr<DwarfSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  size_t checked = 0;
  for (const FunctionSymbol& f : function_symbols(*binary)) {
    if (f.name != "runtime.init" && !f.name.ends_with("-fm")) continue;
    std::vector<SourceFrame> frames = symbolizer->symbolize(f.address);
    ASSERT_FALSE(frames.empty()) << f.name;
    if (frames.front().file != "<autogenerated>") continue;
    EXPECT_EQ(frames.front().line, 1) << f.name;
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

// ---- Without DWARF -----------------------------------------------------------

TEST(DwarfSymbolizer, WithoutDwarfFallsBackToSymbolNames) {
  LOOPHOUND_REQUIRE_GO();
  Result<std::string> binary = build_sample("spin_compute", "-ldflags=-w");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  std::unique_ptr<DwarfSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  EXPECT_FALSE(symbolizer->has_dwarf());
  std::vector<uint64_t> addresses = addresses_of(function_symbols(*binary), in_compared_package);
  Result<std::vector<testing::GoLine>> expected = testing::go_addr2line(*binary, addresses);
  ASSERT_TRUE(expected.ok()) << expected.error().message;
  size_t mismatches = 0;
  for (size_t i = 0; i < addresses.size(); ++i) {
    std::vector<SourceFrame> frames = symbolizer->symbolize(addresses[i]);
    bool ok = frames.size() == 1 && frames[0].function == expected.value()[i].function &&
              frames[0].file.empty() && frames[0].line == 0 && !frames[0].inlined;
    if (!ok && ++mismatches <= 5) {
      ADD_FAILURE() << std::hex << addresses[i] << ": " << expected.value()[i].function << " vs"
                    << describe(frames);
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(DwarfSymbolizer, StrippedBinaryKnowsNothing) {
  LOOPHOUND_REQUIRE_GO();
  Result<std::string> binary = build_sample("spin_compute", "-ldflags=-s\\ -w");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  std::unique_ptr<DwarfSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  EXPECT_FALSE(symbolizer->has_dwarf());
  std::optional<uint64_t> entry = testing::elf_entry(*binary);
  ASSERT_TRUE(entry.has_value());
  // The Go line table still knows (a separate resolver's job), libdw not.
  EXPECT_TRUE(symbolizer->symbolize(*entry).empty());
}

// ---- Odd addresses and the cache -----------------------------------------------

TEST(DwarfSymbolizer, UnknownAddressesGiveNoFrames) {
  LOOPHOUND_REQUIRE_GO();
  Result<std::string> binary = build_sample("spin_compute");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  std::unique_ptr<DwarfSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  for (uint64_t a : {uint64_t{0}, uint64_t{1}, uint64_t{0x400000}, uint64_t{0x7fffffffe000},
                     UINT64_MAX}) {
    EXPECT_TRUE(symbolizer->symbolize(a).empty()) << std::hex << a << describe(symbolizer->symbolize(a));
  }
}

TEST(DwarfSymbolizer, CachedAnswerIsTheSame) {
  LOOPHOUND_REQUIRE_GO();
  Result<std::string> binary = build_sample("spin_compute");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  std::unique_ptr<DwarfSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  std::optional<uint64_t> entry = testing::elf_entry(*binary);
  ASSERT_TRUE(entry.has_value());
  std::vector<SourceFrame> first = symbolizer->symbolize(*entry);
  std::vector<SourceFrame> second = symbolizer->symbolize(*entry);
  ASSERT_FALSE(first.empty());
  ASSERT_EQ(first.size(), second.size());
  EXPECT_EQ(first.back().function, second.back().function);
  EXPECT_EQ(first.front().line, second.front().line);
}

// Not a pass/fail figure: how fast cold lookups are, for the record.
TEST(DwarfSymbolizer, ColdThroughput) {
  LOOPHOUND_REQUIRE_GO();
  Result<std::string> binary = build_sample("spin_compute");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  std::vector<uint64_t> addresses =
      addresses_of(function_symbols(*binary), [](const std::string&) { return true; });
  // Samples arrive in no particular order; do not flatter libdw's caches.
  std::mt19937_64 random(42);
  std::shuffle(addresses.begin(), addresses.end(), random);
  auto start = std::chrono::steady_clock::now();
  std::unique_ptr<DwarfSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  size_t frames = 0;
  for (uint64_t a : addresses) frames += symbolizer->symbolize(a).size();
  double cold = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  start = std::chrono::steady_clock::now();
  for (uint64_t a : addresses) frames += symbolizer->symbolize(a).size();
  double warm = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu addresses: cold %.0f/s (open included), cached %.0f/s\n", addresses.size(),
              addresses.size() / cold, addresses.size() / warm);
  EXPECT_GT(frames, addresses.size());
}

// ---- Bad input ---------------------------------------------------------------

TEST(DwarfSymbolizer, MissingFileIsAnError) {
  auto symbolizer = DwarfSymbolizer::open("/nonexistent/loophound_binary");
  ASSERT_FALSE(symbolizer.ok());
  EXPECT_EQ(symbolizer.error().message, "'/nonexistent/loophound_binary': No such file or directory");
}

TEST(DwarfSymbolizer, NonElfFilesAreErrors) {
  const std::string empty = testing::temp_dir() + "/empty";
  std::ofstream(empty).close();
  for (const std::string& path : {std::string(LOOPHOUND_SOURCE_DIR "/samples/go.mod"), empty,
                                  testing::temp_dir()}) {
    auto symbolizer = DwarfSymbolizer::open(path);
    ASSERT_FALSE(symbolizer.ok()) << path;
    EXPECT_EQ(symbolizer.error().message, "'" + path + "': not an ELF file");
  }
}

// A binary cut short, and binaries with bytes of one (uncompressed)
// DWARF section scrambled: any answer is fine, crashing or hanging is not.
TEST(DwarfSymbolizer, DamagedBinariesDoNotCrash) {
  LOOPHOUND_REQUIRE_GO();
  Result<std::string> binary = build_sample("spin_compute", "-ldflags=-compressdwarf=false");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  const std::string original = read_file(*binary);
  std::vector<uint64_t> addresses = addresses_of(function_symbols(*binary), in_compared_package);

  std::vector<std::string> damaged = {original.substr(0, 4096), original.substr(0, original.size() / 2),
                                      original.substr(0, original.size() - 100000)};
  uint64_t state = 0x9e3779b97f4a7c15;  // xorshift: the same damage every run
  for (const char* section : {".debug_info", ".debug_abbrev", ".debug_line", ".debug_rnglists",
                              ".debug_addr"}) {
    std::optional<testing::FileRange> range = testing::section_file_range(*binary, section);
    ASSERT_TRUE(range.has_value() && range->size > 0) << section;
    for (int flips : {4, 64, 1024}) {
      std::string copy = original;
      for (int i = 0; i < flips; ++i) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        copy[range->offset + state % range->size] = static_cast<char>(state >> 32);
      }
      damaged.push_back(std::move(copy));
    }
  }
  size_t with_dwarf = 0;
  size_t with_frames = 0;
  for (size_t i = 0; i < damaged.size(); ++i) {
    const std::string path = testing::temp_dir() + "/damaged_" + std::to_string(i);
    std::ofstream(path, std::ios::binary) << damaged[i];
    auto symbolizer = DwarfSymbolizer::open(path);
    if (!symbolizer.ok()) {
      EXPECT_NE(symbolizer.error().message.find(path), std::string::npos);
      continue;
    }
    with_dwarf += symbolizer.value()->has_dwarf();
    size_t frames = 0;
    for (size_t j = 0; j < addresses.size(); j += 7) frames += symbolizer.value()->symbolize(addresses[j]).size();
    with_frames += frames > 0;
  }
  std::printf("%zu damaged binaries: %zu opened with DWARF, %zu resolved something\n",
              damaged.size(), with_dwarf, with_frames);
  EXPECT_GT(with_dwarf, 5u) << "the damage should reach the DWARF parser, not just stop it";
}

}  // namespace
}  // namespace loophound::analyzer

// GoPclnTable / PclntabSymbolizer on spin_compute built by the machine's Go
// in every flavour a production binary comes in, against `go tool
// addr2line` (Go's own reader of the same table) and against
// DwarfSymbolizer (an independent source: DWARF).
#include "analyzer/symbolize/gopclntab.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "analyzer/symbolize/dwarf_symbolizer.h"
#include "analyzer/symbolize/pclntab_symbolizer.h"
#include "tests/symbolize/go_builds.h"

namespace loophound::analyzer {
namespace {

using loophound::testing::build_spin_compute;
using loophound::testing::describe;
using loophound::testing::hex;

constexpr size_t kAddresses = 10000;

std::unique_ptr<PclntabSymbolizer> open_or_die(const std::string& path) {
  Result<std::unique_ptr<PclntabSymbolizer>> symbolizer = PclntabSymbolizer::open(path);
  if (!symbolizer.ok()) ADD_FAILURE() << symbolizer.error().message;
  return symbolizer.ok() ? std::move(symbolizer).value() : nullptr;
}

// spin_compute by the machine's Go with `env` and `flags`; skips without Go.
#define BUILD_OR_SKIP(binary, env, flags)                                              \
  LOOPHOUND_REQUIRE_GO();                                                              \
  std::optional<testing::Toolchain> go_ = testing::machine_toolchain();                \
  ASSERT_TRUE(go_.has_value());                                                        \
  Result<std::string> binary = build_spin_compute(*go_, env, flags);                   \
  ASSERT_TRUE(binary.ok()) << binary.error().message

// ---- Agreement with go tool addr2line, per flavour ----------------------------

struct Flavour {
  const char* name;
  const char* env;
  const char* flags;
};

void PrintTo(const Flavour& flavour, std::ostream* os) { *os << flavour.name; }

class PclntabMatchesGoAddr2line : public ::testing::TestWithParam<Flavour> {};

TEST_P(PclntabMatchesGoAddr2line, OnAddressesOverAllFunctions) {
  BUILD_OR_SKIP(binary, GetParam().env, GetParam().flags);
  Result<testing::Agreement> agreement = testing::agree_with_addr2line(*go_, *binary, kAddresses);
  ASSERT_TRUE(agreement.ok()) << agreement.error().message;
  std::printf("%s (%s): %zu addresses compared with go tool addr2line, %zu with inlined frames, "
              "%zu mismatches\n",
              GetParam().name, go_->version.c_str(), agreement->addresses, agreement->inlined,
              agreement->mismatches);
  EXPECT_GE(agreement->addresses, kAddresses * 9 / 10);
  EXPECT_EQ(agreement->mismatches, 0u) << agreement->report;
  // The moduledata was found (so runtime.text and the inline trees are
  // known) in every flavour, stripped or not.
  std::unique_ptr<PclntabSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  EXPECT_TRUE(symbolizer->table().found_moduledata());
  EXPECT_GT(agreement->inlined, 0u) << "Go inlines runtime helpers everywhere";
}

INSTANTIATE_TEST_SUITE_P(
    Flavours, PclntabMatchesGoAddr2line,
    ::testing::Values(Flavour{"plain", "", ""}, Flavour{"stripped", "", "-ldflags='-s -w'"},
                      Flavour{"pie", "", "-buildmode=pie"},
                      Flavour{"pie_stripped", "", "-buildmode=pie -ldflags='-s -w'"},
                      // runtime.text is not .text's start here: the external
                      // linker puts C start-up code first.
                      Flavour{"cgo", "CGO_ENABLED=1", "-ldflags=-linkmode=external"},
                      Flavour{"cgo_pie", "CGO_ENABLED=1", "-buildmode=pie -ldflags=-linkmode=external"},
                      // Other table parameters: pc quantum 4, pointer size 4.
                      Flavour{"arm64", "GOARCH=arm64", ""}, Flavour{"386", "GOARCH=386", ""}),
    [](const ::testing::TestParamInfo<Flavour>& info) { return std::string(info.param.name); });

// An externally linked binary puts C start-up code before runtime.text, so
// Go 1.18+ entry offsets are not relative to .text's start; Go 1.26 no
// longer writes runtime.text into the table's header either. Without
// .symtab, `go tool addr2line` falls back to .text's start and is off by
// that much; the moduledata still knows. Same link, so same layout: the
// stripped build must resolve like addr2line on the unstripped one.
TEST(PclntabSymbolizer, StrippedCgoBinaryFindsRuntimeTextInTheModuledata) {
  BUILD_OR_SKIP(cgo, "CGO_ENABLED=1", "-ldflags=-linkmode=external");
  Result<std::string> stripped =
      build_spin_compute(*go_, "CGO_ENABLED=1", "-ldflags='-linkmode=external -s -w'");
  ASSERT_TRUE(stripped.ok()) << stripped.error().message;
  ASSERT_FALSE(testing::read_section(*stripped, ".symtab").has_value());
  std::unique_ptr<PclntabSymbolizer> ours = open_or_die(*stripped);
  ASSERT_NE(ours, nullptr);
  std::optional<testing::Section> text = testing::read_section(*stripped, ".text");
  ASSERT_TRUE(text.has_value());
  EXPECT_TRUE(ours->table().found_moduledata());
  EXPECT_NE(ours->table().text_start(), text->vaddr) << "C code comes first in .text";
  std::printf("stripped cgo build: .text at %s, runtime.text at %s\n", hex(text->vaddr).c_str(),
              hex(ours->table().text_start()).c_str());

  std::vector<uint64_t> addresses = testing::spread_addresses(ours->table().functions(), 3000);
  Result<std::vector<testing::GoLine>> expected = testing::addr2line(*go_, *cgo, addresses);
  ASSERT_TRUE(expected.ok()) << expected.error().message;
  size_t mismatches = 0;
  for (size_t i = 0; i < addresses.size(); ++i) {
    std::vector<SourceFrame> frames = ours->symbolize(addresses[i]);
    const testing::GoLine& go = expected.value()[i];
    bool ok = !frames.empty() && frames.back().function == go.function &&
              frames.front().file == go.file && frames.front().line == std::max(go.line, 0);
    if (!ok && ++mismatches <= 5) {
      ADD_FAILURE() << hex(addresses[i]) << ": " << go.function << " " << go.file << ":" << go.line
                    << " vs" << describe(frames);
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

// ---- Agreement with DWARF on every frame --------------------------------------

bool main_or_runtime(const std::string& name) {
  return name.starts_with("main.") || name.starts_with("runtime.");
}
bool any_function(const std::string&) { return true; }

TEST(PclntabSymbolizer, EqualsDwarfOnEveryFrameOfMainAndRuntime) {
  BUILD_OR_SKIP(binary, "", "");
  Result<testing::Agreement> agreement = testing::agree_with_dwarf(*binary, 5000, main_or_runtime, go_->minor);
  ASSERT_TRUE(agreement.ok()) << agreement.error().message;
  std::printf("%zu addresses (%zu frames, %zu addresses with inlined frames) compared with "
              "DwarfSymbolizer: %zu mismatches\n",
              agreement->addresses, agreement->frames, agreement->inlined, agreement->mismatches);
  EXPECT_EQ(agreement->mismatches, 0u) << agreement->report;
  EXPECT_GT(agreement->inlined, 100u);
  if (go_->minor >= 22) {  // none of the older DWARF quirks
    EXPECT_EQ(agreement->generic_names + agreement->dwarf_lacks_inline + agreement->dwarf_lacks_row,
              0u);
  }
}

TEST(PclntabSymbolizer, EqualsDwarfOnEveryFrameOfAllFunctions) {
  BUILD_OR_SKIP(binary, "", "");
  Result<testing::Agreement> agreement = testing::agree_with_dwarf(*binary, 10000, any_function, go_->minor);
  ASSERT_TRUE(agreement.ok()) << agreement.error().message;
  std::printf("%zu addresses (%zu frames) of all packages compared with DwarfSymbolizer: %zu "
              "mismatches\n",
              agreement->addresses, agreement->frames, agreement->mismatches);
  EXPECT_EQ(agreement->mismatches, 0u) << agreement->report;
}

// ---- Inlining without DWARF ---------------------------------------------------

// The point of the inline tree: a stripped production binary still says
// that the loop is in collatzSteps, inlined into worker at the call.
TEST(PclntabSymbolizer, StrippedBinaryExpandsCollatzStepsInlinedIntoWorker) {
  BUILD_OR_SKIP(binary, "", "-ldflags='-s -w'");
  ASSERT_FALSE(testing::read_section(*binary, ".symtab").has_value());
  const std::string source = LOOPHOUND_SOURCE_DIR "/samples/spin_compute/main.go";
  const int loop_line = testing::line_containing(source, "loophound:loop");
  const int call_line = testing::line_containing(source, "collatzSteps(s)");
  std::unique_ptr<PclntabSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  std::set<int> lines;
  size_t inlined = 0;
  for (const FunctionInfo& f : symbolizer->table().functions()) {
    if (f.name != "main.worker") continue;
    for (uint64_t a = f.entry; a < f.end; ++a) {
      std::vector<SourceFrame> frames = symbolizer->symbolize(a);
      ASSERT_FALSE(frames.empty());
      EXPECT_EQ(frames.back().function, "main.worker");
      if (frames.front().function != "main.collatzSteps") continue;
      ++inlined;
      lines.insert(frames.front().line);
      ASSERT_EQ(frames.size(), 2u) << describe(frames);
      EXPECT_TRUE(frames[0].inlined);
      EXPECT_EQ(frames[0].file, source);
      EXPECT_EQ(frames[1].file, source);
      EXPECT_EQ(frames[1].line, call_line);
      EXPECT_FALSE(frames[1].inlined);
    }
  }
  EXPECT_GT(inlined, 0u);
  EXPECT_TRUE(lines.count(loop_line)) << "loop line " << loop_line;
}

// Without the data sections there is no moduledata and no inline tree:
// one frame per address, the physical function and the innermost line,
// as go tool addr2line prints them.
TEST(GoPclnTable, WithoutDataSectionsGivesPhysicalFunctionAndInnermostLine) {
  BUILD_OR_SKIP(binary, "", "");
  std::optional<testing::PclnInputs> inputs = testing::read_pcln_inputs(*binary);
  ASSERT_TRUE(inputs.has_value());
  std::unique_ptr<PclntabSymbolizer> full = open_or_die(*binary);
  ASSERT_NE(full, nullptr);
  Result<GoPclnTable> bare = GoPclnTable::parse(inputs->pclntab.bytes, inputs->pclntab.vaddr,
                                                inputs->text_vaddr);
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  EXPECT_FALSE(bare->found_moduledata());
  EXPECT_EQ(bare->text_start(), full->table().text_start());
  size_t compared = 0;
  for (uint64_t a : testing::spread_addresses(full->table().functions(), 3000)) {
    std::vector<SourceFrame> frames = full->symbolize(a);
    std::vector<SourceFrame> one = bare->symbolize(a);
    ASSERT_EQ(one.size(), 1u) << hex(a);
    EXPECT_EQ(one[0].function, frames.back().function) << hex(a);
    EXPECT_EQ(one[0].file, frames.front().file) << hex(a);
    EXPECT_EQ(one[0].line, frames.front().line) << hex(a);
    ++compared;
  }
  EXPECT_GT(compared, 2000u);
}

// ---- Function entries for uprobes ---------------------------------------------

TEST(GoPclnTable, FunctionEntriesEqualSymtab) {
  for (const char* flags : {"", "-buildmode=pie"}) {
    BUILD_OR_SKIP(binary, "", flags);
    std::unique_ptr<PclntabSymbolizer> symbolizer = open_or_die(*binary);
    ASSERT_NE(symbolizer, nullptr);
    std::map<std::string, uint64_t> symtab;
    for (const testing::FunctionSymbol& s : testing::function_symbols(*binary)) {
      symtab.emplace(s.name, s.address);
    }
    ASSERT_GT(symtab.size(), 1000u);
    for (const char* name : {"runtime.casgstatus", "runtime.execute", "main.worker",
                             "runtime.newproc1", "main.main"}) {
      ASSERT_TRUE(symtab.count(name)) << name;
      std::optional<uint64_t> entry = symbolizer->table().function_entry(name);
      ASSERT_TRUE(entry.has_value()) << name;
      EXPECT_EQ(*entry, symtab[name]) << name << " " << flags;
    }
    // And every function's extent: .symtab's symbol at the entry has the
    // table's name (".abi0" added for assembly functions and wrappers
    // that share a name with their ABIInternal twin) and its size.
    std::map<uint64_t, testing::FunctionSymbol> by_address;
    for (const testing::FunctionSymbol& s : testing::function_symbols(*binary)) {
      by_address.emplace(s.address, s);
    }
    // The linker writes "·" in some generated names in the table
    // ("type:.eq.runtime.untracedG·7") and "." in .symtab.
    auto dotted = [](std::string name) {
      for (size_t at; (at = name.find("\xc2\xb7")) != std::string::npos;) name.replace(at, 2, ".");
      return name;
    };
    size_t checked = 0;
    for (const FunctionInfo& f : symbolizer->table().functions()) {
      auto it = by_address.find(f.entry);
      ASSERT_NE(it, by_address.end()) << f.name << " at " << hex(f.entry);
      const std::string name = dotted(f.name);
      EXPECT_TRUE(it->second.name == name || it->second.name == name + ".abi0")
          << it->second.name << " vs " << f.name;
      // Markers without code or line table (go:textfipsstart, 1 byte in
      // .symtab) run to the next entry.
      if (!f.name.starts_with("go:textfips")) {
        EXPECT_EQ(f.end - f.entry, it->second.size) << f.name;
      }
      ++checked;
    }
    EXPECT_EQ(checked, symbolizer->table().function_count());
    // Names shared by a body and its ABI wrapper: the body, which every
    // call reaches.
    size_t shared = 0;
    for (const auto& [name, address] : symtab) {
      if (!name.ends_with(".abi0")) continue;
      const std::string plain = name.substr(0, name.size() - 5);
      if (!symtab.count(plain)) continue;
      ++shared;
      std::optional<uint64_t> entry = symbolizer->table().function_entry(plain);
      ASSERT_TRUE(entry.has_value()) << plain;
      EXPECT_TRUE(*entry == address || *entry == symtab[plain]) << plain;
      std::vector<SourceFrame> frames = symbolizer->symbolize(*entry);
      ASSERT_FALSE(frames.empty());
      EXPECT_NE(frames.front().file, "<autogenerated>") << plain;
    }
    EXPECT_GT(shared, 10u) << "regabi (Go 1.17+) gives assembly functions wrappers";
    EXPECT_FALSE(symbolizer->table().function_entry("main.noSuchFunction").has_value());
    EXPECT_FALSE(symbolizer->table().function_entry("").has_value());
    EXPECT_FALSE(symbolizer->table().function_entry("runtime.casgstatu").has_value());
  }
}

// The stripped build has no .symtab to compare with, but its code is laid
// out as in the plain build: the same entries, found from the table alone.
TEST(GoPclnTable, StrippedBinaryHasThePlainBuildsEntries) {
  BUILD_OR_SKIP(plain, "", "");
  Result<std::string> stripped = build_spin_compute(*go_, "", "-ldflags='-s -w'");
  ASSERT_TRUE(stripped.ok()) << stripped.error().message;
  std::unique_ptr<PclntabSymbolizer> a = open_or_die(*plain);
  std::unique_ptr<PclntabSymbolizer> b = open_or_die(*stripped);
  ASSERT_TRUE(a && b);
  for (const char* name : {"runtime.casgstatus", "runtime.execute", "main.worker"}) {
    EXPECT_EQ(a->table().function_entry(name), b->table().function_entry(name)) << name;
    EXPECT_TRUE(b->table().function_entry(name).has_value()) << name;
  }
}

// ---- Line rows ------------------------------------------------------------------

// line_row_addresses must list exactly the addresses where the innermost
// file:line differs from the byte before (plus function entries), and be a
// subset of DWARF's rows (Go's DWARF also starts rows at is_stmt changes).
TEST(GoPclnTable, LineRowsAreWhereThePositionChanges) {
  BUILD_OR_SKIP(binary, "", "");
  std::unique_ptr<PclntabSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  auto dwarf = DwarfSymbolizer::open(*binary);
  ASSERT_TRUE(dwarf.ok());
  size_t rows = 0;
  size_t not_in_dwarf = 0;
  for (const FunctionInfo& f : symbolizer->table().functions()) {
    if (f.name != "main.collatzSteps" && f.name != "main.worker" && f.name != "main.main" &&
        f.name != "runtime.schedule" && f.name != "runtime.casgstatus") {
      continue;
    }
    std::vector<uint64_t> ours = symbolizer->line_row_addresses(f.entry, f.end - 1);
    std::vector<uint64_t> theirs = (*dwarf)->line_row_addresses(f.entry, f.end - 1);
    std::set<uint64_t> dwarf_rows(theirs.begin(), theirs.end());
    ASSERT_FALSE(ours.empty()) << f.name;
    EXPECT_EQ(ours.front(), f.entry) << f.name;
    EXPECT_TRUE(std::is_sorted(ours.begin(), ours.end()));
    std::set<uint64_t> row_set(ours.begin(), ours.end());
    for (uint64_t a = f.entry + 1; a < f.end; ++a) {
      SourceFrame here = symbolizer->symbolize(a).front();
      SourceFrame before = symbolizer->symbolize(a - 1).front();
      bool changes = here.file != before.file || here.line != before.line;
      EXPECT_EQ(changes, row_set.count(a) == 1) << f.name << " " << hex(a);
    }
    for (uint64_t a : ours) not_in_dwarf += dwarf_rows.count(a) == 0;
    rows += ours.size();
    // A sub-range gives the rows inside it.
    std::vector<uint64_t> inner = symbolizer->line_row_addresses(f.entry + 1, f.end - 2);
    for (uint64_t a : inner) EXPECT_TRUE(a >= f.entry + 1 && a <= f.end - 2);
  }
  std::printf("%zu line rows, %zu not rows of DWARF\n", rows, not_in_dwarf);
  EXPECT_GT(rows, 20u);
  EXPECT_EQ(not_in_dwarf, 0u);
  EXPECT_TRUE(symbolizer->line_row_addresses(10, 5).empty());
  EXPECT_TRUE(symbolizer->line_row_addresses(0, 0x1000).empty());
}

// ---- Odd addresses, the cache, errors ---------------------------------------------

TEST(PclntabSymbolizer, UnknownAddressesGiveNoFrames) {
  BUILD_OR_SKIP(binary, "", "-ldflags='-s -w'");
  std::unique_ptr<PclntabSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  const std::vector<FunctionInfo> functions = symbolizer->table().functions();
  for (uint64_t a : {uint64_t{0}, uint64_t{1}, uint64_t{0x400000}, uint64_t{0x7fffffffe000},
                     UINT64_MAX, functions.front().entry - 1, functions.back().end}) {
    EXPECT_TRUE(symbolizer->symbolize(a).empty()) << hex(a) << describe(symbolizer->symbolize(a));
  }
  EXPECT_FALSE(symbolizer->symbolize(functions.back().end - 1).empty());
  // The alignment padding between two functions belongs to neither.
  size_t padding = 0;
  for (size_t i = 0; i + 1 < functions.size(); ++i) {
    for (uint64_t a = functions[i].end; a < functions[i + 1].entry; ++a) {
      EXPECT_TRUE(symbolizer->symbolize(a).empty()) << hex(a);
      ++padding;
    }
  }
  EXPECT_GT(padding, 0u);
}

TEST(PclntabSymbolizer, CachedAnswerIsTheSame) {
  BUILD_OR_SKIP(binary, "", "");
  std::unique_ptr<PclntabSymbolizer> symbolizer = open_or_die(*binary);
  ASSERT_NE(symbolizer, nullptr);
  std::optional<uint64_t> entry = symbolizer->table().function_entry("main.worker");
  ASSERT_TRUE(entry.has_value());
  for (uint64_t a = *entry; a < *entry + 64; ++a) {
    std::vector<SourceFrame> first = symbolizer->symbolize(a);
    std::vector<SourceFrame> second = symbolizer->symbolize(a);
    ASSERT_EQ(first.size(), second.size());
    for (size_t i = 0; i < first.size(); ++i) {
      EXPECT_EQ(first[i].function, second[i].function);
      EXPECT_EQ(first[i].line, second[i].line);
    }
  }
}

TEST(PclntabSymbolizer, MissingFileIsAnError) {
  auto symbolizer = PclntabSymbolizer::open("/nonexistent/loophound_binary");
  ASSERT_FALSE(symbolizer.ok());
  EXPECT_EQ(symbolizer.error().message, "'/nonexistent/loophound_binary': No such file or directory");
}

TEST(PclntabSymbolizer, NonElfAndNonGoFilesAreErrors) {
  const std::string empty = testing::temp_dir() + "/pcln_empty";
  std::ofstream(empty).close();
  for (const std::string& path : {std::string(LOOPHOUND_SOURCE_DIR "/samples/go.mod"), empty}) {
    auto symbolizer = PclntabSymbolizer::open(path);
    ASSERT_FALSE(symbolizer.ok()) << path;
    EXPECT_EQ(symbolizer.error().message, "'" + path + "': not an ELF file");
  }
  // This test program: an ELF executable, but not Go.
  auto symbolizer = PclntabSymbolizer::open("/proc/self/exe");
  ASSERT_FALSE(symbolizer.ok());
  EXPECT_EQ(symbolizer.error().message,
            "'/proc/self/exe': no .gopclntab section (not a Go binary?)");
}

}  // namespace
}  // namespace loophound::analyzer

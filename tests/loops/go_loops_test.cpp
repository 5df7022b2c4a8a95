// Loops of real Go functions: the samples are built with the machine's Go,
// their code bytes read from the ELF file, and the loops found are checked
// against the lines `go tool objdump` (Go's own line table) attributes to
// each instruction.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "analyzer/loops/function_loops.h"
#include "analyzer/loops/go_noreturn.h"
#include "analyzer/symbolize/address_space.h"
#include "tests/support/go_samples.h"

namespace loophound::analyzer {
namespace {

using loophound::testing::build_sample;
using loophound::testing::function_symbols;
using loophound::testing::FunctionSymbol;

// Bytes [vaddr, vaddr + size) of the ELF file, through the PT_LOAD segment
// that maps them.
std::optional<std::vector<uint8_t>> read_code(const std::string& path, const ElfLoadLayout& layout,
                                              uint64_t vaddr, uint64_t size) {
  for (const LoadSegment& s : layout.segments) {
    if (vaddr < s.vaddr || vaddr + size > s.vaddr + s.file_size) continue;
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(s.file_offset + (vaddr - s.vaddr)));
    std::vector<uint8_t> bytes(size);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    if (!in) return std::nullopt;
    return bytes;
  }
  return std::nullopt;
}

// Entry addresses of the binary's no-return runtime functions.
NoReturnSet noreturn_set(const std::vector<FunctionSymbol>& symbols) {
  NoReturnSet set;
  for (const FunctionSymbol& f : symbols) {
    if (is_go_noreturn_function(f.name)) set.insert(f.address);
  }
  return set;
}

struct GoBinary {
  std::string path;
  ElfLoadLayout layout;
  std::vector<FunctionSymbol> symbols;
  NoReturnSet noreturn;

  const FunctionSymbol* find(const std::string& name) const {
    for (const FunctionSymbol& f : symbols) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
};

std::optional<GoBinary> load(const std::string& package) {
  Result<std::string> path = build_sample(package);
  if (!path.ok()) {
    ADD_FAILURE() << path.error().message;
    return std::nullopt;
  }
  Result<ElfLoadLayout> layout = read_load_layout(*path);
  if (!layout.ok()) {
    ADD_FAILURE() << layout.error().message;
    return std::nullopt;
  }
  GoBinary binary{*path, *layout, function_symbols(*path), {}};
  binary.noreturn = noreturn_set(binary.symbols);
  return binary;
}

std::optional<FunctionLoops> analyze(const GoBinary& binary, const FunctionSymbol& f,
                                     bool with_noreturn = true) {
  std::optional<std::vector<uint8_t>> code = read_code(binary.path, binary.layout, f.address, f.size);
  if (!code) return std::nullopt;
  Result<FunctionLoops> loops = analyze_function(code->data(), code->size(), f.address,
                                                 with_noreturn ? binary.noreturn : NoReturnSet{});
  if (!loops.ok()) {
    ADD_FAILURE() << f.name << ": " << loops.error().message;
    return std::nullopt;
  }
  return std::move(loops).value();
}

// address -> source line of one function, from `go tool objdump -s`, whose
// lines read "  main.go:17\t0x4aac99\t4885c9\tTESTQ CX, CX".
std::map<uint64_t, int> objdump_lines(const std::string& binary, const std::string& function,
                                      const std::string& file) {
  std::map<uint64_t, int> lines;
  Result<std::string> out = testing::run_command(
      "GOTOOLCHAIN=local " + testing::shell_quote(*testing::find_go()) + " tool objdump -s " +
      testing::shell_quote("^" + function + "$") + " " + testing::shell_quote(binary));
  if (!out.ok()) {
    ADD_FAILURE() << out.error().message;
    return lines;
  }
  std::istringstream text(*out);
  for (std::string line; std::getline(text, line);) {
    std::istringstream fields(line);
    std::string where, address;
    if (!(fields >> where >> address) || !where.starts_with(file + ":")) continue;
    lines[std::stoull(address, nullptr, 16)] = std::stoi(where.substr(file.size() + 1));
  }
  return lines;
}

std::string describe(const FunctionLoops& f) {
  std::string s;
  char buffer[160];
  for (size_t i = 0; i < f.loops.size(); ++i) {
    const Loop& l = f.loops[i];
    std::snprintf(buffer, sizeof buffer, "\n  #%zu header %#llx depth %d parent %d call %d store %d exit %d%s:",
                  i, static_cast<unsigned long long>(l.header), l.depth, l.parent, l.has_call,
                  l.has_store, l.has_exit, l.stack_check_retry ? " (stack check)" : "");
    s += buffer;
    for (const auto& [start, end] : l.ranges) {
      std::snprintf(buffer, sizeof buffer, " [%#llx,%#llx)", static_cast<unsigned long long>(start),
                    static_cast<unsigned long long>(end));
      s += buffer;
    }
  }
  return s;
}

// ---- spin_compute: main.worker with collatzSteps inlined -------------------------

TEST(GoLoops, WorkerHasTheRangeLoopAndTheInlinedCollatzLoopNestedInIt) {
  LOOPHOUND_REQUIRE_GO();
  std::optional<GoBinary> binary = load("spin_compute");
  ASSERT_TRUE(binary);
  const FunctionSymbol* worker = binary->find("main.worker");
  ASSERT_NE(worker, nullptr);
  std::optional<FunctionLoops> f = analyze(*binary, *worker);
  ASSERT_TRUE(f);
  std::printf("main.worker at %#llx, %llu bytes:%s\n", static_cast<unsigned long long>(worker->address),
              static_cast<unsigned long long>(worker->size), describe(*f).c_str());

  const std::string source = LOOPHOUND_SOURCE_DIR "/samples/spin_compute/main.go";
  const int loop_line = testing::line_containing(source, "loophound:loop");
  const int last_body_line = testing::line_containing(source, "steps++");
  const int range_line = testing::line_containing(source, "for s := range seeds");
  ASSERT_GT(loop_line, 0);
  ASSERT_GT(last_body_line, loop_line);
  ASSERT_GT(range_line, last_body_line);
  std::map<uint64_t, int> lines = objdump_lines(binary->path, "main.worker", "main.go");
  ASSERT_FALSE(lines.empty());

  size_t source_loops = 0;
  for (const Loop& loop : f->loops) source_loops += !loop.stack_check_retry;
  EXPECT_GE(source_loops, 2u);

  // The inner loop is the one holding the body lines of collatzSteps.
  uint64_t body_address = 0;
  for (const auto& [address, line] : lines) {
    if (line > loop_line && line <= last_body_line) body_address = address;
  }
  ASSERT_NE(body_address, 0u);
  const int inner_index = innermost_loop_at(f->loops, body_address);
  ASSERT_GE(inner_index, 0);
  const Loop& inner = f->loops[static_cast<size_t>(inner_index)];
  EXPECT_EQ(inner.depth, 2);
  ASSERT_GE(inner.parent, 0);
  EXPECT_FALSE(inner.has_call) << "pure arithmetic; no preemption-check call since Go 1.14";
  // x and steps live in registers for the whole walk: no spill, no store.
  EXPECT_FALSE(inner.has_store);
  EXPECT_TRUE(inner.has_exit) << "`for x != 0` exits in the machine code; it just never happens";
  // Loop rotation: the entry jumps to the condition, so the block that
  // dominates the body (the header) is the `for` line's test.
  EXPECT_EQ(lines[inner.header], loop_line);

  // Every instruction of the body lines is inside the loop, and everything
  // inside the loop comes from the loop's lines. (The `for` line also owns
  // the jump into the loop, which is outside it: not checked that way.)
  for (const auto& [address, line] : lines) {
    if (line > loop_line && line <= last_body_line) {
      EXPECT_TRUE(inner.contains(address)) << std::hex << address << " (line " << std::dec << line << ")";
    }
    if (inner.contains(address)) {
      EXPECT_GE(line, loop_line) << std::hex << address;
      EXPECT_LE(line, last_body_line) << std::hex << address;
    }
  }

  const Loop& outer = f->loops[static_cast<size_t>(inner.parent)];
  EXPECT_EQ(outer.depth, 1);
  EXPECT_TRUE(outer.has_call) << "chanrecv2 and chansend1";
  EXPECT_TRUE(outer.has_exit) << "the channel can be closed";
  EXPECT_FALSE(outer.stack_check_retry);
  EXPECT_EQ(lines[outer.header], range_line);
  for (const auto& [address, line] : lines) {
    if (inner.contains(address)) {
      EXPECT_TRUE(outer.contains(address));
    }
  }

  // The prologue's morestack cycle is found and marked, at the entry.
  size_t retries = 0;
  for (const Loop& loop : f->loops) {
    if (!loop.stack_check_retry) continue;
    ++retries;
    EXPECT_EQ(loop.header, worker->address);
    EXPECT_EQ(loop.depth, 1);
  }
  EXPECT_EQ(retries, 1u);
  EXPECT_EQ(innermost_loop_at(f->loops, worker->address), -1);
}

// ---- spin_flag: `for !ready {}` ------------------------------------------------

// The compiler does not hoist the load of the plain global out of the loop
// (Go performs no loop-invariant code motion of memory loads), so every
// iteration re-reads `ready`: `cmpb main.ready(SB), $0; je <same cmpb>`.
// The loop is one block with a self edge, and it does have an exit edge
// (the not-taken je): the machine code would leave the loop as soon as it
// observed the store. It is a spin because nothing stores, not because the
// code cannot exit.
TEST(GoLoops, WaitForReadyIsASelfLoopThatRereadsTheFlag) {
  LOOPHOUND_REQUIRE_GO();
  std::optional<GoBinary> binary = load("spin_flag");
  ASSERT_TRUE(binary);
  const FunctionSymbol* wait = binary->find("main.waitForReady");
  ASSERT_NE(wait, nullptr);
  std::optional<FunctionLoops> f = analyze(*binary, *wait);
  ASSERT_TRUE(f);
  std::printf("main.waitForReady:%s\n", describe(*f).c_str());

  const int loop_line = testing::line_containing(LOOPHOUND_SOURCE_DIR "/samples/spin_flag/main.go", "loophound:loop");
  ASSERT_GT(loop_line, 0);
  std::map<uint64_t, int> lines = objdump_lines(binary->path, "main.waitForReady", "main.go");
  int spin = -1;
  for (const auto& [address, line] : lines) {
    if (line != loop_line) continue;
    int at = innermost_loop_at(f->loops, address);
    EXPECT_GE(at, 0) << std::hex << address << " of the for line is in no loop";
    if (spin < 0) spin = at;
    EXPECT_EQ(at, spin) << "one loop for the for line";
  }
  ASSERT_GE(spin, 0);
  const Loop& loop = f->loops[static_cast<size_t>(spin)];
  EXPECT_EQ(loop.depth, 1);
  EXPECT_EQ(loop.blocks.size(), 1u) << "one block jumping to itself";
  EXPECT_EQ(loop.ranges.size(), 1u);
  EXPECT_FALSE(loop.has_call);
  EXPECT_FALSE(loop.has_store);
  EXPECT_TRUE(loop.has_exit);
  for (const auto& [address, line] : lines) {
    if (loop.contains(address)) {
      EXPECT_EQ(line, loop_line) << std::hex << address;
    }
  }
}

// ---- Robustness over a whole binary ----------------------------------------------

TEST(GoLoops, EveryFunctionOfSpinComputeIsAnalyzed) {
  LOOPHOUND_REQUIRE_GO();
  std::optional<GoBinary> binary = load("spin_compute");
  ASSERT_TRUE(binary);
  ASSERT_GT(binary->symbols.size(), 1000u);
  ASSERT_GT(binary->noreturn.size(), 10u) << "runtime.throw, runtime.panicBounds, ...";

  size_t functions = 0, unreadable = 0, with_loops = 0, invalid = 0, indirect = 0;
  size_t loops = 0, no_exit = 0, retries = 0, nested = 0, spins = 0, naive_loops = 0, max_depth = 0;
  std::set<uint64_t> morestack;
  for (const FunctionSymbol& f : binary->symbols) {
    if (f.name.starts_with("runtime.morestack")) morestack.insert(f.address);
  }
  auto start = std::chrono::steady_clock::now();
  for (const FunctionSymbol& symbol : binary->symbols) {
    std::optional<FunctionLoops> f = analyze(*binary, symbol);
    if (!f) {
      ++unreadable;
      continue;
    }
    ++functions;
    size_t own = 0;
    for (const Instruction& i : f->instructions) {
      invalid += i.kind == Instruction::kInvalid;
      indirect += i.kind == Instruction::kIndirectJump;
    }
    for (size_t n = 0; n < f->loops.size(); ++n) {
      const Loop& loop = f->loops[n];
      // Structural invariants.
      ASSERT_TRUE(loop.contains(loop.header)) << symbol.name;
      ASSERT_FALSE(loop.ranges.empty()) << symbol.name;
      ASSERT_GE(loop.ranges.front().first, symbol.address) << symbol.name;
      ASSERT_LE(loop.ranges.back().second, symbol.address + symbol.size) << symbol.name;
      if (loop.parent >= 0) {
        const Loop& parent = f->loops[static_cast<size_t>(loop.parent)];
        ASSERT_EQ(loop.depth, parent.depth + 1) << symbol.name;
        ASSERT_TRUE(parent.contains(loop.header)) << symbol.name;
        ASSERT_GT(parent.blocks.size(), loop.blocks.size()) << symbol.name;
      } else {
        ASSERT_EQ(loop.depth, 1) << symbol.name;
      }
      if (loop.stack_check_retry) {
        ++retries;
        ASSERT_EQ(loop.header, symbol.address) << symbol.name;
        continue;
      }
      ++own;
      nested += loop.depth > 1;
      spins += !loop.has_call && !loop.has_store;
      if (!loop.has_exit) {
        ++no_exit;
        std::printf("  no exit edge: %s loop at %#llx\n", symbol.name.c_str(),
                    static_cast<unsigned long long>(loop.header));
      }
      max_depth = std::max(max_depth, static_cast<size_t>(loop.depth));
    }
    loops += own;
    with_loops += own > 0;
    // Every function that calls runtime.morestack has its retry cycle
    // recognised (small and big-frame prologues, Go and assembly).
    bool calls_morestack = false;
    for (const Instruction& i : f->instructions) {
      calls_morestack |= i.kind == Instruction::kCall && morestack.contains(i.target);
    }
    size_t own_retries = 0;
    for (const Loop& loop : f->loops) own_retries += loop.stack_check_retry;
    EXPECT_EQ(own_retries, calls_morestack ? 1u : 0u) << symbol.name << describe(*f);
    if (std::optional<FunctionLoops> naive = analyze(*binary, symbol, false)) {
      for (const Loop& loop : naive->loops) naive_loops += !loop.stack_check_retry;
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("spin_compute: %zu functions (%zu unreadable), %zu with loops; %zu loops (%zu nested, "
              "max depth %zu, %zu without call or store, %zu without exit), %zu stack-check retries; %zu loops when "
              "panics are assumed to return; %zu invalid and %zu indirect-jump instructions; "
              "%.2f s for both passes\n",
              functions, unreadable, with_loops, loops, nested, max_depth, spins, no_exit, retries,
              naive_loops, invalid, indirect, seconds);
  EXPECT_EQ(unreadable, 0u);
  EXPECT_GT(loops, 100u);
  EXPECT_GT(retries, functions / 2) << "most Go functions check the stack";
  EXPECT_LT(loops, naive_loops) << "panic calls that fall through invent loops";
}

}  // namespace
}  // namespace loophound::analyzer

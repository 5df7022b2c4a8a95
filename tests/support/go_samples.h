// Test support: build the Go samples with the machine's toolchain, list a
// binary's functions, and ask `go tool addr2line` (the Go line table, an
// implementation independent of DWARF) what it thinks of addresses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/result.h"

namespace loophound::testing {

// `go` from PATH, else /usr/local/go/bin/go; nullopt when there is none.
std::optional<std::string> find_go();

// The `go` binary of a Go version ("go1.19.13") from
// scripts/go-toolchain.sh (the module proxy, cached); on failure the
// script's reason.
Result<std::string> go_toolchain(const std::string& version);

// Builds LOOPHOUND_SOURCE_DIR/samples/<package> into a per-process temp
// dir with `go build <flags>`, once per (package, flags, go). `go` is a
// toolchain from go_toolchain; "" for the machine's. Returns the path.
Result<std::string> build_sample(const std::string& package, const std::string& flags = "",
                                 const std::string& go = "");

// A directory removed with everything in it when the test process exits.
const std::string& temp_dir();

struct FunctionSymbol {
  std::string name;
  uint64_t address = 0;
  uint64_t size = 0;
};

// STT_FUNC symbols with a size, from .symtab (read with libelf).
std::vector<FunctionSymbol> function_symbols(const std::string& elf_path);

// File offset and size of section `name`, if the ELF has it.
struct FileRange {
  uint64_t offset = 0;
  uint64_t size = 0;
};
std::optional<FileRange> section_file_range(const std::string& elf_path, const std::string& name);

// e_entry of the ELF header.
std::optional<uint64_t> elf_entry(const std::string& elf_path);

struct GoLine {
  std::string function;  // "?" when unknown
  std::string file;
  int line = 0;
};

// Runs `go tool addr2line` on all addresses at once.
Result<std::vector<GoLine>> go_addr2line(const std::string& binary,
                                         const std::vector<uint64_t>& addresses);

// Parses `go tool addr2line` output (function line, file:line line, per
// address); Error when it has not `addresses` answers.
Result<std::vector<GoLine>> parse_addr2line(const std::string& output, size_t addresses);

// Runs a shell command; returns its stdout and stderr merged, or an Error
// with that output when it exits non-zero.
Result<std::string> run_command(const std::string& command);

std::string shell_quote(const std::string& s);

// 1-based number of the first line of `path` containing `needle`, or 0
// (the samples mark their loops with "loophound:loop").
int line_containing(const std::string& path, const std::string& needle);

}  // namespace loophound::testing

// Skips (visibly to ctest: see SKIP_REGULAR_EXPRESSION) without Go.
#define LOOPHOUND_REQUIRE_GO()                              \
  do {                                                      \
    if (!::loophound::testing::find_go()) {                 \
      std::printf("SKIPPED: no Go toolchain\n");            \
      GTEST_SKIP() << "no Go toolchain";                    \
    }                                                       \
  } while (0)

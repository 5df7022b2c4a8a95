// Test support for the Go line table tests: spin_compute built by any Go
// toolchain (the machine's, or an older one from scripts/go-toolchain.sh)
// in any flavour (stripped, PIE, externally linked, other GOARCH), that
// toolchain's own `go tool addr2line`, and raw ELF sections.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/symbolize/gopclntab.h"
#include "schema/result.h"
#include "tests/support/go_samples.h"

namespace loophound::testing {

struct Toolchain {
  std::string version;  // "go1.16.15"; "" for the machine's go
  std::string go;       // path of the go command
  int minor = 0;        // 16 for go1.16.15
};

// The machine's go (find_go()), or nullopt.
std::optional<Toolchain> machine_toolchain();

// `version` through scripts/go-toolchain.sh (the module proxy on first
// use); an Error with the script's reason when it cannot be had.
Result<Toolchain> toolchain(const std::string& version);

// Builds spin_compute with `go build <flags>` and `env` (shell words, e.g.
// "CGO_ENABLED=1 GOARCH=arm64"), once per (toolchain, env, flags). Go
// 1.16–1.18 build a copy of the sample in a temp module whose go.mod says
// go 1.16 (samples/go.mod says 1.19, which they refuse or warn about).
Result<std::string> build_spin_compute(const Toolchain& toolchain, const std::string& env = "",
                                       const std::string& flags = "");

// `go tool addr2line` of `toolchain` on all addresses at once.
Result<std::vector<GoLine>> addr2line(const Toolchain& toolchain, const std::string& binary,
                                      const std::vector<uint64_t>& addresses);

// About `target` addresses spread over all functions: every k-th byte of
// each function (k chosen for the count), so that every function, however
// small, has its entry in the list.
std::vector<uint64_t> spread_addresses(const std::vector<analyzer::FunctionInfo>& functions,
                                       size_t target);

// One section's vaddr and bytes.
struct Section {
  uint64_t vaddr = 0;
  std::string bytes;
  bool executable = false;
};
std::optional<Section> read_section(const std::string& elf_path, const std::string& name);

// .gopclntab (or .data.rel.ro.gopclntab), .text's start, and the other
// allocated data sections, as PclntabSymbolizer passes them.
struct PclnInputs {
  Section pclntab;
  uint64_t text_vaddr = 0;
  std::vector<analyzer::GoDataRegion> data;
};
std::optional<PclnInputs> read_pcln_inputs(const std::string& elf_path);

std::string hex(uint64_t value);

// How PclntabSymbolizer agreed with a reference on a list of addresses.
struct Agreement {
  size_t addresses = 0;
  size_t inlined = 0;  // addresses where we gave more than one frame
  size_t frames = 0;   // frames compared (DWARF: all; addr2line: 2 facts)
  size_t mismatches = 0;  // unexplained ones
  std::string report;     // the first mismatches, one per line
  // DWARF only: differences inherent to what older Go versions write (see
  // agree_with_dwarf), counted apart and tolerated for those versions.
  size_t generic_names = 0;
  size_t dwarf_lacks_inline = 0;
  size_t dwarf_lacks_row = 0;
};

// `go tool addr2line` prints the outermost (physical) function and the
// innermost file:line; compares those with our last and first frame on
// about `target` addresses spread over all functions of the table.
Result<Agreement> agree_with_addr2line(const Toolchain& toolchain, const std::string& binary,
                                       size_t target);

// Every frame (function, file, line, inlined) against DwarfSymbolizer on
// about `target` addresses spread over the functions `keep` accepts.
// `go_minor` is the Go release that built `binary` (20 for Go 1.20).
Result<Agreement> agree_with_dwarf(const std::string& binary, size_t target,
                                   bool (*keep)(const std::string& function), int go_minor);

std::string describe(const std::vector<analyzer::SourceFrame>& frames);

}  // namespace loophound::testing

// symbolize_trace: fills the frame table for every pc of an imported trace
// and names each goroutine's start function. Addresses in the traced
// executable are translated through the recorded mappings (PIE-aware) and
// resolved with libdw; addresses elsewhere (vdso, C libraries) keep their
// module name with function '??' for now.
#pragma once

#include <string>
#include <vector>

#include "analyzer/db/database.h"
#include "analyzer/symbolize/binary_source.h"
#include "schema/result.h"

namespace loophound::analyzer {

struct SymbolizeOptions {
  std::string binary;  // --binary: use this file instead of the recorded executable path
};

struct SymbolizeSummary {
  std::string binary_used;  // "" when none could be opened
  std::string binary_source;  // "--binary", "recorded path", "debug file", "bundle"
  std::string line_table;     // "DWARF", ".gopclntab" or "ELF symbols"
  BinaryChoice binary;        // keeps an unpacked bundle on disk while the analysis runs
  uint64_t pcs = 0;
  uint64_t resolved = 0;  // pcs with a known function
  uint64_t loops = 0;     // natural loops holding sampled pcs
  std::vector<std::string> warnings;
};

Result<SymbolizeSummary> symbolize_trace(Database& db, const SymbolizeOptions& options);

}  // namespace loophound::analyzer

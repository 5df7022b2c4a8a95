// The executable's copy that travels inside the trace, so the analyzer can
// symbolize (and disassemble) on a laptop that has no copy of the binary:
// zstd-compressed once per build id, optionally without DWARF, split into
// parts that each fit one record.
#pragma once

#include <string>
#include <vector>

#include "recorder/elf_file.h"
#include "recorder/go_build_info.h"
#include "schema/result.h"
#include "schema/trace_format.h"

namespace loophound::recorder {

struct BundleOptions {
  bool include_dwarf = true;  // --no-dwarf-bundle clears it
  int zstd_level = 6;         // measured: ~3x smaller than the binary, ~50 MB/s on these VMs
};

// `recorded_path` is the path written into the bundle (already redacted).
Result<std::vector<trace::BinaryBundle>> make_binary_bundle(const ElfFile& elf, const GoBuildInfo& build,
                                                            const std::string& recorded_path,
                                                            const BundleOptions& options);

// A copy of the ELF bytes with every .debug_* / .zdebug_* section emptied:
// contents zeroed (they compress to nothing) and the section type set to
// SHT_NOBITS, so DWARF readers see no DWARF instead of garbage.
std::string without_dwarf(const ElfFile& elf);

}  // namespace loophound::recorder

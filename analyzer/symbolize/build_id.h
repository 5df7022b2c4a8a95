// Build ids of an ELF file: how the analyzer checks that the binary it
// symbolizes with is the one that was recorded. A rebuilt binary at the
// same path, or a wrong --binary, would otherwise give confident wrong
// file:lines.
#pragma once

#include <string>

#include "schema/result.h"

namespace loophound::analyzer {

struct BuildIds {
  std::string go;   // .note.go.buildid (text)
  std::string gnu;  // .note.gnu.build-id (hex)
};

Result<BuildIds> read_build_ids(const std::string& elf_path);

// "" when `actual` may be the recorded binary, else why not. Ids missing on
// either side do not count as a mismatch.
std::string build_id_mismatch(const BuildIds& recorded, const BuildIds& actual);

}  // namespace loophound::analyzer

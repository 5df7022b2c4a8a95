// What the recorder learns about a Go executable before attaching: the Go
// version (from .go.buildinfo, which every Go binary has, stripped or not)
// and its build ids (how the analyzer matches a trace to a binary later).
#pragma once

#include <string>
#include <vector>

#include "recorder/elf_file.h"
#include "schema/result.h"

namespace loophound::recorder {

struct GoBuildInfo {
  std::string go_version;    // "go1.26.8"
  std::string build_id_go;   // .note.go.buildid
  std::string build_id_gnu;  // .note.gnu.build-id, hex; often absent in Go binaries
  // runtime.waitReasonStrings, indexed by g.waitreason; empty when the
  // binary has no symbol table.
  std::vector<std::string> wait_reasons;
};

// Error "'path': not a Go binary (no .go.buildinfo)" when it is not one.
Result<GoBuildInfo> read_go_build_info(const ElfFile& elf);

// Parses "go1.21.3" / "go1.22rc1" into major.minor (1, 21); false if not.
bool parse_go_version(const std::string& version, int* major, int* minor);

}  // namespace loophound::recorder

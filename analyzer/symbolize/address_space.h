// Translation of runtime addresses of a traced process into the virtual
// address space of the ELF file itself, which is what DWARF, the symbol
// table and the Go line table speak.
//
// Kept free of the trace format and of files: the caller passes the
// mappings and the PT_LOAD segments, so the arithmetic is unit-testable.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "schema/result.h"

namespace loophound::analyzer {

// One line of /proc/PID/maps, reduced to what translation needs.
struct ProcessMapping {
  uint64_t start = 0;  // first runtime address
  uint64_t end = 0;    // one past the last runtime address
  uint64_t file_offset = 0;
  std::string path;
};

// One PT_LOAD program header.
struct LoadSegment {
  uint64_t vaddr = 0;
  uint64_t mem_size = 0;
  uint64_t file_offset = 0;
  uint64_t file_size = 0;
};

struct ElfLoadLayout {
  // ET_DYN (PIE, shared object): loaded at a bias the ELF does not know.
  // ET_EXEC: loaded exactly at its p_vaddrs.
  bool position_independent = false;
  std::vector<LoadSegment> segments;
};

// Maps `runtime_addr` to the ELF's own vaddr. `mappings` are the process's
// mappings of this one ELF file (the caller selects them by path). Returns
// nullopt when the address is in none of them or lands outside every
// PT_LOAD segment.
std::optional<uint64_t> to_file_vaddr(uint64_t runtime_addr,
                                      std::span<const ProcessMapping> mappings,
                                      const ElfLoadLayout& layout);

// Reads the ELF type and PT_LOAD headers of `elf_path` (libelf).
Result<ElfLoadLayout> read_load_layout(const std::string& elf_path);

}  // namespace loophound::analyzer

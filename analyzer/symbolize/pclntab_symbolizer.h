// PclntabSymbolizer: file vaddr -> source frames (innermost first, inlined
// calls expanded) for one Go ELF file, from its Go line table alone. The
// resolver for production builds (`-ldflags="-s -w"`: no DWARF, no
// .symtab), with the same interface shape as DwarfSymbolizer.
//
// Not thread-safe: one instance per thread, or lock around it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analyzer/symbolize/gopclntab.h"
#include "analyzer/symbolize/source_frame.h"
#include "schema/result.h"

namespace loophound::analyzer {

class PclntabSymbolizer {
 public:
  // Reads .gopclntab (.data.rel.ro.gopclntab in PIE builds before Go
  // 1.26), .text and the other allocated data sections (for the
  // moduledata and the inline trees). Errors name the file:
  // "'x': No such file or directory", "'x': not an ELF file",
  // "'x': no .gopclntab section (not a Go binary?)".
  static Result<std::unique_ptr<PclntabSymbolizer>> open(const std::string& elf_path);

  // `file_vaddr` is an address in the ELF's own address space (see
  // address_space.h). Frames innermost first; the last one is the
  // physical function. Empty when the address is in no Go function.
  std::vector<SourceFrame> symbolize(uint64_t file_vaddr) { return table_.symbolize(file_vaddr); }

  // Addresses in [low, high] where the source position changes (see
  // GoPclnTable::line_row_addresses).
  std::vector<uint64_t> line_row_addresses(uint64_t low, uint64_t high) const {
    return table_.line_row_addresses(low, high);
  }

  const std::string& path() const { return path_; }
  GoPclnTable& table() { return table_; }

 private:
  PclntabSymbolizer(std::string path, GoPclnTable table)
      : path_(std::move(path)), table_(std::move(table)) {}

  std::string path_;
  GoPclnTable table_;
};

}  // namespace loophound::analyzer

// DwarfSymbolizer: file vaddr -> source frames (innermost first, inlined
// calls expanded) for one ELF file, with libdw. Falls back to ELF symbol
// names when the file has no DWARF (Go's `-ldflags=-w`).
//
// Not thread-safe: one instance per thread, or lock around it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyzer/symbolize/source_frame.h"
#include "schema/result.h"

// libdw handles, opaque here so that users of this header need no elfutils
// headers.
struct Dwfl;
struct Dwfl_Module;
struct Dwarf;

namespace loophound::analyzer {

class DwarfSymbolizer {
 public:
  // Errors name the file: "'x': No such file or directory",
  // "'x': not an ELF file".
  static Result<std::unique_ptr<DwarfSymbolizer>> open(const std::string& elf_path);
  ~DwarfSymbolizer();
  DwarfSymbolizer(const DwarfSymbolizer&) = delete;
  DwarfSymbolizer& operator=(const DwarfSymbolizer&) = delete;

  // `file_vaddr` is an address in the ELF's own address space (see
  // address_space.h). Returns frames innermost first; the last one is the
  // physical function. Empty when nothing is known about the address.
  std::vector<SourceFrame> symbolize(uint64_t file_vaddr);

  // Addresses in [low, high] (file vaddrs) where a row of the DWARF line
  // table starts, ascending: the code between two sampled PCs that samples
  // may never land on (a fused compare-and-branch at a loop's header is
  // rarely the interrupted instruction). Empty without DWARF.
  std::vector<uint64_t> line_row_addresses(uint64_t low, uint64_t high);

  bool has_dwarf() const { return dwarf_ != nullptr; }
  const std::string& path() const { return path_; }

 private:
  // The pc range of one out-of-line function (DW_TAG_subprogram).
  struct FunctionRange {
    uint64_t low = 0;   // first address, DWARF's view (file vaddr - bias)
    uint64_t high = 0;  // one past the last address
    uint64_t die_offset = 0;
  };

  // The extent of one STT_FUNC symbol.
  struct SymbolRange {
    uint64_t low = 0;
    uint64_t high = 0;
    const char* name = nullptr;  // owned by libdwfl's copy of .strtab
  };

  DwarfSymbolizer(std::string path, Dwfl* dwfl, Dwfl_Module* module, bool go_binary);
  void build_function_index();
  void build_symbol_index();
  std::vector<SourceFrame> resolve(uint64_t file_vaddr);
  std::vector<SourceFrame> resolve_with_dwarf(uint64_t file_vaddr);
  std::optional<SourceFrame> symbol_frame(uint64_t file_vaddr);

  std::string path_;
  Dwfl* dwfl_ = nullptr;
  Dwfl_Module* module_ = nullptr;
  bool go_binary_ = false;
  Dwarf* dwarf_ = nullptr;  // null: the file has no usable DWARF
  uint64_t bias_ = 0;       // file vaddr - DWARF address; 0 as reported
  bool index_built_ = false;
  std::vector<FunctionRange> functions_;  // sorted by low
  bool symbols_built_ = false;
  std::vector<SymbolRange> symbols_;  // sorted by low
  // Traces repeat the same few thousand PCs millions of times.
  std::unordered_map<uint64_t, std::vector<SourceFrame>> cache_;
};

}  // namespace loophound::analyzer

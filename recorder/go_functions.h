// Where a Go function starts, for a uprobe: from .symtab when the binary
// has one, else from .gopclntab, which every Go binary carries, stripped
// (-ldflags=-s -w) or not.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "recorder/elf_file.h"
#include "schema/result.h"

namespace loophound::analyzer {
class GoPclnTable;
}

namespace loophound::recorder {

class GoFunctions {
 public:
  explicit GoFunctions(const ElfFile& elf);
  ~GoFunctions();

  // The function's entry as a file offset (what uprobes attach at). Error
  // names the binary and the function.
  Result<uint64_t> entry_file_offset(const std::string& name);

 private:
  Result<uint64_t> entry_vaddr(const std::string& name);

  const ElfFile& elf_;
  std::unique_ptr<analyzer::GoPclnTable> pclntab_;  // parsed on first need
  bool pclntab_tried_ = false;
  std::string pclntab_error_;
};

}  // namespace loophound::recorder

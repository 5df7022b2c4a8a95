// ElfFile: a read-only view of an ELF executable through libelf: sections,
// program headers, symbols and notes. The recorder uses it to learn what a
// Go target is before attaching (version, build id, where functions are).
#pragma once

#include <gelf.h>
#include <libelf.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/result.h"

namespace loophound::recorder {

struct ElfSegment {
  uint64_t vaddr = 0;
  uint64_t file_offset = 0;
  uint64_t file_size = 0;
  uint64_t mem_size = 0;
  uint64_t align = 0;
  uint32_t type = 0;   // PT_LOAD, PT_TLS, ...
  uint32_t flags = 0;  // PF_X | PF_W | PF_R
};

struct ElfSection {
  std::string name;
  size_t index = 0;
  uint32_t type = 0;  // SHT_PROGBITS, SHT_NOBITS, ...
  uint64_t file_offset = 0;
  uint64_t size = 0;
  uint64_t vaddr = 0;   // sh_addr
  uint64_t flags = 0;   // sh_flags: SHF_ALLOC, SHF_EXECINSTR, ...
};

struct ElfSymbol {
  std::string name;
  uint64_t value = 0;
  uint64_t size = 0;
};

class ElfFile {
 public:
  static Result<std::unique_ptr<ElfFile>> open(const std::string& path);
  ~ElfFile();
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;

  const std::string& path() const { return path_; }
  Elf* elf() const { return elf_; }
  bool is_pie() const { return type_ == ET_DYN; }
  const std::vector<ElfSegment>& segments() const { return segments_; }

  std::vector<ElfSection> sections() const;
  // Where the section header table is: e_shoff, e_shentsize.
  uint64_t section_headers_offset() const { return shoff_; }
  uint64_t section_header_size() const { return shentsize_; }
  // The whole file as mapped.
  std::string_view raw() const;

  // Contents of the named section, or nullopt when the file has none.
  std::optional<std::string> section(const std::string& name) const;
  // Bytes at a virtual address, read through the PT_LOAD that holds them.
  std::optional<std::string> read_vaddr(uint64_t vaddr, uint64_t size) const;
  // File offset of a virtual address (what uprobes attach at).
  std::optional<uint64_t> vaddr_to_file_offset(uint64_t vaddr) const;
  // Looks `name` up in .symtab; nullopt when absent or the file is stripped.
  std::optional<ElfSymbol> find_symbol(const std::string& name) const;
  bool has_symtab() const;

 private:
  ElfFile(std::string path, int fd, Elf* elf);
  Status load_segments();

  std::string path_;
  int fd_ = -1;
  Elf* elf_ = nullptr;
  unsigned type_ = ET_NONE;
  uint64_t shoff_ = 0;
  uint64_t shentsize_ = 0;
  std::vector<ElfSegment> segments_;
};

// The bytes of `section` read as ELF notes; returns the descriptor of the
// first note with this owner name and type.
std::optional<std::string> find_note(const std::string& section, const std::string& owner,
                                     uint32_t type);

}  // namespace loophound::recorder

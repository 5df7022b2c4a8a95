#include "analyzer/symbolize/address_space.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace loophound::analyzer {
namespace {

const ProcessMapping* find_mapping(uint64_t addr, std::span<const ProcessMapping> mappings) {
  for (const ProcessMapping& m : mappings) {
    if (m.start <= addr && addr < m.end) return &m;
  }
  return nullptr;
}

}  // namespace

std::optional<uint64_t> to_file_vaddr(uint64_t runtime_addr,
                                      std::span<const ProcessMapping> mappings,
                                      const ElfLoadLayout& layout) {
  const ProcessMapping* mapping = find_mapping(runtime_addr, mappings);
  if (mapping == nullptr) return std::nullopt;

  if (!layout.position_independent) {
    // ET_EXEC is mapped at its link-time addresses; still insist on a
    // PT_LOAD so an address in, say, the heap right after it is refused.
    for (const LoadSegment& s : layout.segments) {
      if (s.vaddr <= runtime_addr && runtime_addr - s.vaddr < s.mem_size) return runtime_addr;
    }
    return std::nullopt;
  }

  // PIE: the mapping tells which file byte the address shows; the segment
  // holding that byte tells its vaddr. Going through the file offset (not
  // "start - first p_vaddr") stays right when the loader maps segments at
  // page-rounded addresses. The values come from untrusted traces, so every
  // step is overflow-checked.
  uint64_t offset = 0;
  if (__builtin_add_overflow(runtime_addr - mapping->start, mapping->file_offset, &offset)) {
    return std::nullopt;
  }
  for (const LoadSegment& s : layout.segments) {
    if (s.file_offset <= offset && offset - s.file_offset < s.file_size) {
      uint64_t vaddr = 0;
      if (__builtin_add_overflow(offset - s.file_offset, s.vaddr, &vaddr)) return std::nullopt;
      return vaddr;
    }
  }
  return std::nullopt;
}

Result<ElfLoadLayout> read_load_layout(const std::string& elf_path) {
  int fd = ::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("'" + elf_path + "': " + std::strerror(errno));
  // Declared before `elf`, so it closes after elf_end().
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } fd_closer{fd};

  elf_version(EV_CURRENT);
  std::unique_ptr<Elf, int (*)(Elf*)> elf(elf_begin(fd, ELF_C_READ_MMAP, nullptr), elf_end);
  GElf_Ehdr ehdr;
  if (elf == nullptr || elf_kind(elf.get()) != ELF_K_ELF || gelf_getehdr(elf.get(), &ehdr) == nullptr) {
    return make_error("'" + elf_path + "': not an ELF file");
  }
  if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN) {
    return make_error("'" + elf_path + "': not an executable or shared object (ELF type " +
                      std::to_string(ehdr.e_type) + ")");
  }

  ElfLoadLayout layout;
  layout.position_independent = ehdr.e_type == ET_DYN;
  size_t count = 0;
  if (elf_getphdrnum(elf.get(), &count) != 0) {
    return make_error("'" + elf_path + "': bad program headers: " + elf_errmsg(-1));
  }
  for (size_t i = 0; i < count; ++i) {
    GElf_Phdr phdr;
    if (gelf_getphdr(elf.get(), static_cast<int>(i), &phdr) == nullptr) {
      return make_error("'" + elf_path + "': program header " + std::to_string(i) + ": " +
                        elf_errmsg(-1));
    }
    if (phdr.p_type != PT_LOAD) continue;
    layout.segments.push_back(LoadSegment{.vaddr = phdr.p_vaddr,
                                          .mem_size = phdr.p_memsz,
                                          .file_offset = phdr.p_offset,
                                          .file_size = phdr.p_filesz});
  }
  return layout;
}

}  // namespace loophound::analyzer

#include "analyzer/symbolize/pclntab_symbolizer.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace loophound::analyzer {
namespace {

// The whole contents of a section, or nullopt when libelf cannot give it.
std::optional<std::string> section_bytes(Elf_Scn* scn, const GElf_Shdr& shdr) {
  std::string bytes;
  bytes.reserve(shdr.sh_size);
  for (Elf_Data* data = nullptr; (data = elf_getdata(scn, data)) != nullptr;) {
    if (data->d_buf == nullptr || data->d_off < 0 ||
        static_cast<uint64_t>(data->d_off) != bytes.size()) {
      return std::nullopt;
    }
    bytes.append(static_cast<const char*>(data->d_buf), data->d_size);
  }
  if (bytes.size() != shdr.sh_size) return std::nullopt;
  return bytes;
}

// runtime.text from .symtab, when the binary still has one: what
// `go tool addr2line` uses too (cmd/internal/objfile).
std::optional<uint64_t> runtime_text_symbol(Elf* elf, Elf_Scn* symtab, const GElf_Shdr& shdr) {
  Elf_Data* data = elf_getdata(symtab, nullptr);
  if (data == nullptr || shdr.sh_entsize == 0) return std::nullopt;
  const size_t count = shdr.sh_size / shdr.sh_entsize;
  for (size_t i = 1; i < count; ++i) {
    GElf_Sym sym;
    if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
    const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name);
    if (name != nullptr && std::strcmp(name, "runtime.text") == 0) return sym.st_value;
  }
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<PclntabSymbolizer>> PclntabSymbolizer::open(const std::string& elf_path) {
  int fd = ::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("'" + elf_path + "': " + std::strerror(errno));
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  auto close_all = [&] {
    if (elf != nullptr) elf_end(elf);
    ::close(fd);
  };
  GElf_Ehdr ehdr{};
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF || gelf_getehdr(elf, &ehdr) == nullptr) {
    close_all();
    return make_error("'" + elf_path + "': not an ELF file");
  }
  if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN) {
    close_all();
    return make_error("'" + elf_path + "': not an executable or shared object (ELF type " +
                      std::to_string(ehdr.e_type) + ")");
  }

  size_t names = 0;
  std::optional<std::string> pclntab;
  uint64_t pclntab_vaddr = 0;
  std::optional<uint64_t> text_section;
  std::optional<uint64_t> text_symbol;
  std::vector<GoDataRegion> regions;
  if (elf_getshdrstrndx(elf, &names) == 0) {
    for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr) continue;
      const char* name = elf_strptr(elf, names, shdr.sh_name);
      if (name == nullptr) continue;
      if (shdr.sh_type == SHT_SYMTAB) {
        text_symbol = runtime_text_symbol(elf, scn, shdr);
        continue;
      }
      if ((shdr.sh_flags & SHF_ALLOC) == 0 || shdr.sh_type != SHT_PROGBITS) continue;
      // PIE builds before Go 1.26 call the table .data.rel.ro.gopclntab
      // (it held relocated pointers: Go 1.16/1.17 funcdata).
      if (!pclntab && (std::strcmp(name, ".gopclntab") == 0 ||
                       std::strcmp(name, ".data.rel.ro.gopclntab") == 0)) {
        pclntab = section_bytes(scn, shdr);
        pclntab_vaddr = shdr.sh_addr;
        if (!pclntab) {
          close_all();
          return make_error("'" + elf_path + "': cannot read section " + name);
        }
        continue;
      }
      if (std::strcmp(name, ".text") == 0) text_section = shdr.sh_addr;
      // Code cannot hold the moduledata or inline trees; everything else
      // allocated might (.rodata, .noptrdata, .data.rel.ro, .go.module).
      if ((shdr.sh_flags & SHF_EXECINSTR) != 0 || shdr.sh_size == 0) continue;
      if (std::optional<std::string> bytes = section_bytes(scn, shdr)) {
        regions.push_back({shdr.sh_addr, std::move(*bytes)});
      }
    }
  }
  close_all();
  if (!pclntab) return make_error("'" + elf_path + "': no .gopclntab section (not a Go binary?)");

  Result<GoPclnTable> table =
      GoPclnTable::parse(std::move(*pclntab), pclntab_vaddr,
                         text_symbol.value_or(text_section.value_or(0)), std::move(regions));
  if (!table) return make_error("'" + elf_path + "': " + table.error().message);
  return std::unique_ptr<PclntabSymbolizer>(
      new PclntabSymbolizer(elf_path, std::move(table).value()));
}

}  // namespace loophound::analyzer

#include "recorder/elf_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace loophound::recorder {

Result<std::unique_ptr<ElfFile>> ElfFile::open(const std::string& path) {
  elf_version(EV_CURRENT);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("'" + path + "': " + std::strerror(errno));
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) {
    if (elf != nullptr) elf_end(elf);
    ::close(fd);
    return make_error("'" + path + "': not an ELF file");
  }
  std::unique_ptr<ElfFile> file(new ElfFile(path, fd, elf));
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf, &ehdr) == nullptr) return make_error("'" + path + "': unreadable ELF header");
  file->type_ = ehdr.e_type;
  file->shoff_ = ehdr.e_shoff;
  file->shentsize_ = ehdr.e_shentsize;
  if (auto status = file->load_segments(); !status) return status.error();
  return file;
}

ElfFile::ElfFile(std::string path, int fd, Elf* elf) : path_(std::move(path)), fd_(fd), elf_(elf) {}

ElfFile::~ElfFile() {
  if (elf_ != nullptr) elf_end(elf_);
  if (fd_ >= 0) ::close(fd_);
}

Status ElfFile::load_segments() {
  size_t count = 0;
  if (elf_getphdrnum(elf_, &count) != 0) return make_error("'" + path_ + "': unreadable program headers");
  for (size_t i = 0; i < count; ++i) {
    GElf_Phdr phdr;
    if (gelf_getphdr(elf_, static_cast<int>(i), &phdr) == nullptr) continue;
    segments_.push_back(ElfSegment{phdr.p_vaddr, phdr.p_offset, phdr.p_filesz, phdr.p_memsz,
                                   phdr.p_align, phdr.p_type, phdr.p_flags});
  }
  return ok_status();
}

std::optional<std::string> ElfFile::section(const std::string& name) const {
  size_t strndx = 0;
  if (elf_getshdrstrndx(elf_, &strndx) != 0) return std::nullopt;
  for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn != nullptr; scn = elf_nextscn(elf_, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    const char* scn_name = elf_strptr(elf_, strndx, shdr.sh_name);
    if (scn_name == nullptr || name != scn_name) continue;
    if (shdr.sh_type == SHT_NOBITS) return std::string();
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data == nullptr || data->d_buf == nullptr) return std::string();
    return std::string(static_cast<const char*>(data->d_buf), data->d_size);
  }
  return std::nullopt;
}

std::vector<ElfSection> ElfFile::sections() const {
  std::vector<ElfSection> out;
  size_t strndx = 0;
  if (elf_getshdrstrndx(elf_, &strndx) != 0) return out;
  for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn != nullptr; scn = elf_nextscn(elf_, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    const char* name = elf_strptr(elf_, strndx, shdr.sh_name);
    out.push_back(ElfSection{name != nullptr ? name : "", elf_ndxscn(scn), shdr.sh_type, shdr.sh_offset, shdr.sh_size,
                             shdr.sh_addr, shdr.sh_flags});
  }
  return out;
}

std::string_view ElfFile::raw() const {
  size_t size = 0;
  const char* data = elf_rawfile(elf_, &size);
  return data != nullptr ? std::string_view(data, size) : std::string_view();
}

std::optional<uint64_t> ElfFile::vaddr_to_file_offset(uint64_t vaddr) const {
  for (const auto& seg : segments_) {
    if (seg.type == PT_LOAD && vaddr >= seg.vaddr && vaddr < seg.vaddr + seg.file_size)
      return vaddr - seg.vaddr + seg.file_offset;
  }
  return std::nullopt;
}

std::optional<std::string> ElfFile::read_vaddr(uint64_t vaddr, uint64_t size) const {
  auto offset = vaddr_to_file_offset(vaddr);
  if (!offset || size > (64u << 20)) return std::nullopt;
  size_t file_size = 0;
  const char* raw = elf_rawfile(elf_, &file_size);
  if (raw == nullptr || *offset > file_size || size > file_size - *offset) return std::nullopt;
  return std::string(raw + *offset, size);
}

namespace {
Elf_Scn* find_symtab(Elf* elf, GElf_Shdr* shdr) {
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    if (gelf_getshdr(scn, shdr) != nullptr && shdr->sh_type == SHT_SYMTAB) return scn;
  }
  return nullptr;
}
}  // namespace

bool ElfFile::has_symtab() const {
  GElf_Shdr shdr;
  return find_symtab(elf_, &shdr) != nullptr;
}

std::optional<ElfSymbol> ElfFile::find_symbol(const std::string& name) const {
  GElf_Shdr shdr;
  Elf_Scn* scn = find_symtab(elf_, &shdr);
  if (scn == nullptr || shdr.sh_entsize == 0) return std::nullopt;
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (data == nullptr) return std::nullopt;
  size_t count = shdr.sh_size / shdr.sh_entsize;
  for (size_t i = 0; i < count; ++i) {
    GElf_Sym sym;
    if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
    const char* sym_name = elf_strptr(elf_, shdr.sh_link, sym.st_name);
    if (sym_name != nullptr && name == sym_name) return ElfSymbol{name, sym.st_value, sym.st_size};
  }
  return std::nullopt;
}

std::optional<std::string> find_note(const std::string& section, const std::string& owner,
                                     uint32_t type) {
  // Note layout: u32 namesz, u32 descsz, u32 type, name (padded to 4), desc (padded to 4).
  auto align4 = [](uint64_t n) { return (n + 3) & ~uint64_t{3}; };
  uint64_t pos = 0;
  while (pos + 12 <= section.size()) {
    uint32_t namesz, descsz, note_type;
    std::memcpy(&namesz, section.data() + pos, 4);
    std::memcpy(&descsz, section.data() + pos + 4, 4);
    std::memcpy(&note_type, section.data() + pos + 8, 4);
    uint64_t name_at = pos + 12;
    uint64_t desc_at = name_at + align4(namesz);
    if (desc_at > section.size() || descsz > section.size() - desc_at) return std::nullopt;
    std::string name(section.data() + name_at, namesz);
    while (!name.empty() && name.back() == '\0') name.pop_back();
    if (name == owner && note_type == type) return section.substr(desc_at, descsz);
    pos = desc_at + align4(descsz);
  }
  return std::nullopt;
}

}  // namespace loophound::recorder

#include "analyzer/symbolize/build_id.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace loophound::analyzer {
namespace {

constexpr uint32_t kNoteGoBuildId = 4;   // cmd/link's ELF_NOTE_GOBUILDID_TAG, owner "Go"
constexpr uint32_t kNoteGnuBuildId = 3;  // NT_GNU_BUILD_ID, owner "GNU"

std::string hex(const unsigned char* bytes, size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

void scan_notes(Elf_Data* data, BuildIds* ids) {
  GElf_Nhdr note;
  size_t offset = 0, name_at = 0, desc_at = 0;
  const auto* base = static_cast<const unsigned char*>(data->d_buf);
  while ((offset = gelf_getnote(data, offset, &note, &name_at, &desc_at)) > 0) {
    std::string owner(reinterpret_cast<const char*>(base + name_at), strnlen(reinterpret_cast<const char*>(base + name_at), note.n_namesz));
    if (owner == "Go" && note.n_type == kNoteGoBuildId)
      ids->go.assign(reinterpret_cast<const char*>(base + desc_at), note.n_descsz);
    else if (owner == "GNU" && note.n_type == kNoteGnuBuildId)
      ids->gnu = hex(base + desc_at, note.n_descsz);
  }
}

}  // namespace

Result<BuildIds> read_build_ids(const std::string& elf_path) {
  elf_version(EV_CURRENT);
  int fd = open(elf_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("'" + elf_path + "': " + std::strerror(errno));
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) {
    if (elf != nullptr) elf_end(elf);
    close(fd);
    return make_error("'" + elf_path + "': not an ELF file");
  }
  BuildIds ids;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != SHT_NOTE) continue;
    if (Elf_Data* data = elf_getdata(scn, nullptr); data != nullptr && data->d_buf != nullptr) scan_notes(data, &ids);
  }
  elf_end(elf);
  close(fd);
  return ids;
}

std::string build_id_mismatch(const BuildIds& recorded, const BuildIds& actual) {
  if (!recorded.go.empty() && !actual.go.empty() && recorded.go != actual.go)
    return "its Go build id is '" + actual.go + "', the trace's is '" + recorded.go + "'";
  if (!recorded.gnu.empty() && !actual.gnu.empty() && recorded.gnu != actual.gnu)
    return "its GNU build id is " + actual.gnu + ", the trace's is " + recorded.gnu;
  return "";
}

}  // namespace loophound::analyzer

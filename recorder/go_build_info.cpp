#include "recorder/go_build_info.h"

#include <cstring>

namespace loophound::recorder {
namespace {

// .go.buildinfo starts with a 32-byte header: the 14-byte magic, the
// pointer size, a flags byte. Since Go 1.18 (flags & 2) the version and the
// module info follow inline as varint-length-prefixed strings; before, two
// pointers at offset 16 lead to Go string headers {ptr, len} in data.
constexpr char kBuildInfoMagic[] = "\xff Go buildinf:";
constexpr size_t kBuildInfoMagicSize = 14;
constexpr size_t kBuildInfoHeaderSize = 32;
constexpr uint8_t kFlagInlineStrings = 0x2;

bool read_uvarint(const std::string& bytes, size_t* pos, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && *pos < bytes.size(); shift += 7) {
    uint8_t b = static_cast<uint8_t>(bytes[(*pos)++]);
    *value |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

std::optional<std::string> read_go_string_at(const ElfFile& elf, uint64_t header_vaddr,
                                             size_t ptr_size) {
  auto header = elf.read_vaddr(header_vaddr, 2 * ptr_size);
  if (!header || ptr_size != 8) return std::nullopt;
  uint64_t data = 0, len = 0;
  std::memcpy(&data, header->data(), 8);
  std::memcpy(&len, header->data() + 8, 8);
  if (len > 4096) return std::nullopt;
  return elf.read_vaddr(data, len);
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// runtime.waitReasonStrings is a [N]string: N Go string headers {ptr, len}.
std::vector<std::string> read_wait_reasons(const ElfFile& elf) {
  std::vector<std::string> names;
  auto symbol = elf.find_symbol("runtime.waitReasonStrings");
  if (!symbol || symbol->size % 16 != 0 || symbol->size > 16 * 256) return names;
  for (uint64_t i = 0; i < symbol->size / 16; ++i) {
    auto name = read_go_string_at(elf, symbol->value + 16 * i, 8);
    names.push_back(name ? *name : "");
  }
  return names;
}

}  // namespace

Result<GoBuildInfo> read_go_build_info(const ElfFile& elf) {
  auto section = elf.section(".go.buildinfo");
  if (!section || section->size() < kBuildInfoHeaderSize ||
      std::memcmp(section->data(), kBuildInfoMagic, kBuildInfoMagicSize) != 0)
    return make_error("'" + elf.path() + "': not a Go binary (no .go.buildinfo)");

  GoBuildInfo info;
  size_t ptr_size = static_cast<uint8_t>((*section)[14]);
  uint8_t flags = static_cast<uint8_t>((*section)[15]);
  if (flags & kFlagInlineStrings) {
    size_t pos = kBuildInfoHeaderSize;
    uint64_t len = 0;
    if (read_uvarint(*section, &pos, &len) && len <= section->size() - pos)
      info.go_version = section->substr(pos, len);
  } else if (ptr_size == 8) {
    uint64_t version_ptr = 0;
    std::memcpy(&version_ptr, section->data() + 16, 8);
    if (auto v = read_go_string_at(elf, version_ptr, ptr_size)) info.go_version = *v;
  }
  if (info.go_version.empty())
    return make_error("'" + elf.path() + "': unreadable Go version in .go.buildinfo");

  constexpr uint32_t kNoteGoBuildId = 4;  // cmd/link: ELF_NOTE_GOBUILDID_TAG
  constexpr uint32_t kNoteGnuBuildId = 3;  // NT_GNU_BUILD_ID
  if (auto notes = elf.section(".note.go.buildid"))
    if (auto id = find_note(*notes, "Go", kNoteGoBuildId)) info.build_id_go = *id;
  if (auto notes = elf.section(".note.gnu.build-id"))
    if (auto id = find_note(*notes, "GNU", kNoteGnuBuildId)) info.build_id_gnu = hex(*id);
  info.wait_reasons = read_wait_reasons(elf);
  return info;
}

bool parse_go_version(const std::string& version, int* major, int* minor) {
  if (version.rfind("go", 0) != 0) return false;
  const char* p = version.c_str() + 2;
  char* end = nullptr;
  long ma = std::strtol(p, &end, 10);
  if (end == p || *end != '.') return false;
  p = end + 1;
  long mi = std::strtol(p, &end, 10);
  if (end == p) return false;
  *major = static_cast<int>(ma);
  *minor = static_cast<int>(mi);
  return true;
}

}  // namespace loophound::recorder

#include "recorder/runtime_layout.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <map>
#include <optional>

namespace loophound::recorder {
namespace {

using MemberOffsets = std::map<std::string, uint32_t>;

std::optional<uint32_t> member_offset(Dwarf_Die* member) {
  Dwarf_Attribute attr;
  Dwarf_Word offset = 0;
  if (dwarf_attr(member, DW_AT_data_member_location, &attr) == nullptr) return std::nullopt;
  if (dwarf_formudata(&attr, &offset) != 0) return std::nullopt;
  return static_cast<uint32_t>(offset);
}

MemberOffsets members_of(Dwarf_Die* type) {
  MemberOffsets out;
  Dwarf_Die child;
  if (dwarf_child(type, &child) != 0) return out;
  do {
    if (dwarf_tag(&child) != DW_TAG_member) continue;
    const char* name = dwarf_diename(&child);
    auto offset = member_offset(&child);
    if (name != nullptr && offset) out[name] = *offset;
  } while (dwarf_siblingof(&child, &child) == 0);
  return out;
}

// Finds the structure types runtime.g and runtime.m among the top-level
// DIEs of every unit (Go puts type DIEs at unit level).
std::map<std::string, MemberOffsets> find_struct_types(Dwarf* dwarf) {
  std::map<std::string, MemberOffsets> found;
  Dwarf_Off offset = 0, next = 0;
  size_t header_size = 0;
  while (found.size() < 2 &&
         dwarf_nextcu(dwarf, offset, &next, &header_size, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu, child;
    if (dwarf_offdie(dwarf, offset + header_size, &cu) != nullptr && dwarf_child(&cu, &child) == 0) {
      do {
        if (dwarf_tag(&child) != DW_TAG_structure_type) continue;
        const char* name = dwarf_diename(&child);
        if (name == nullptr) continue;
        std::string n = name;
        if ((n == "runtime.g" || n == "runtime.m") && !found.count(n)) found[n] = members_of(&child);
      } while (dwarf_siblingof(&child, &child) == 0);
    }
    offset = next;
  }
  return found;
}

// goid offset by Go version on 64-bit targets: a DWARF answer that
// disagrees means we misread something. 1.23 added g.syscallbp (+8); 1.26
// removed gobuf.ret from g.sched (-8), read off go1.26.8's runtime2.go and
// its DWARF. Versions not listed are not checked.
std::optional<uint32_t> expected_goid_offset(const std::string& go_version) {
  int major = 0, minor = 0;
  if (!parse_go_version(go_version, &major, &minor) || major != 1) return std::nullopt;
  if (minor >= 13 && minor <= 22) return 152;
  if (minor >= 23 && minor <= 25) return 160;
  if (minor == 26) return 152;
  return std::nullopt;
}

}  // namespace

int64_t tls_g_offset(const ElfFile& elf) {
  auto tlsg = elf.find_symbol("runtime.tlsg");
  for (const auto& seg : elf.segments()) {
    if (seg.type != PT_TLS || !tlsg) continue;
    uint64_t align = seg.align == 0 ? 1 : seg.align;
    uint64_t block = (seg.mem_size + align - 1) / align * align;
    return static_cast<int64_t>(tlsg->value) - static_cast<int64_t>(block);
  }
  return -8;
}

Result<RuntimeLayout> find_runtime_layout(const ElfFile& elf, const GoBuildInfo& info) {
  const std::string where = "'" + elf.path() + "' (" + info.go_version + ")";
  Dwarf* dwarf = dwarf_begin_elf(elf.elf(), DWARF_C_READ, nullptr);
  if (dwarf == nullptr)
    return make_error("unknown runtime layout: " + where +
                      " has no DWARF (built with -ldflags=-w or stripped); "
                      "binaries without DWARF are not supported yet");
  auto types = find_struct_types(dwarf);
  dwarf_end(dwarf);

  auto field = [&](const char* type, const char* member) -> std::optional<uint32_t> {
    auto t = types.find(type);
    if (t == types.end()) return std::nullopt;
    auto m = t->second.find(member);
    if (m == t->second.end()) return std::nullopt;
    return m->second;
  };
  RuntimeLayout layout;
  layout.source = "dwarf";
  layout.tls_g = tls_g_offset(elf);
  struct Want {
    const char* type;
    const char* member;
    uint32_t* out;
  } wants[] = {{"runtime.g", "goid", &layout.g_goid}, {"runtime.g", "m", &layout.g_m},
               {"runtime.m", "g0", &layout.m_g0},     {"runtime.m", "curg", &layout.m_curg},
               {"runtime.m", "gsignal", &layout.m_gsignal}};
  for (const auto& want : wants) {
    auto offset = field(want.type, want.member);
    if (!offset)
      return make_error("unknown runtime layout: " + where + ": DWARF has no " + want.type + "." +
                        want.member);
    *want.out = *offset;
  }
  if (auto expected = expected_goid_offset(info.go_version); expected && *expected != layout.g_goid)
    return make_error("inconsistent runtime layout: " + where + ": DWARF puts g.goid at " +
                      std::to_string(layout.g_goid) + ", expected " + std::to_string(*expected));
  return layout;
}

}  // namespace loophound::recorder

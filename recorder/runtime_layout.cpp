#include "recorder/runtime_layout.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <cstdlib>
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

const char* const kWantedTypes[] = {"runtime.g", "runtime.m", "runtime.p", "runtime.gobuf"};

// Finds the runtime's structure types among the top-level DIEs of every
// unit (Go puts type DIEs at unit level).
std::map<std::string, MemberOffsets> find_struct_types(Dwarf* dwarf) {
  std::map<std::string, MemberOffsets> found;
  Dwarf_Off offset = 0, next = 0;
  size_t header_size = 0;
  while (found.size() < std::size(kWantedTypes) &&
         dwarf_nextcu(dwarf, offset, &next, &header_size, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu, child;
    if (dwarf_offdie(dwarf, offset + header_size, &cu) != nullptr && dwarf_child(&cu, &child) == 0) {
      do {
        if (dwarf_tag(&child) != DW_TAG_structure_type) continue;
        const char* name = dwarf_diename(&child);
        if (name == nullptr) continue;
        for (const char* wanted : kWantedTypes)
          if (std::string(name) == wanted && !found.count(name)) found[name] = members_of(&child);
      } while (dwarf_siblingof(&child, &child) == 0);
    }
    offset = next;
  }
  return found;
}

int go_minor_of(const std::string& version) {
  int major = 0, minor = 0;
  return parse_go_version(version, &major, &minor) && major == 1 ? minor : -1;
}

const KnownLayout* table_row(int minor) {
  for (const auto& row : known_layouts())
    if (row.go_minor == minor) return &row;
  return nullptr;
}

const KnownLayout* nearest_row(int minor) {
  const KnownLayout* best = nullptr;
  for (const auto& row : known_layouts())
    if (best == nullptr || std::abs(row.go_minor - minor) < std::abs(best->go_minor - minor)) best = &row;
  return best;
}

}  // namespace

const std::vector<KnownLayout>& known_layouts() {
  static const std::vector<KnownLayout> table = {
#include "recorder/runtime_layout_table.inc"
  };
  return table;
}

std::string layout_table_row(int go_minor, const StructOffsets& o) {
  auto n = [](uint32_t v) { return std::to_string(v); };
  return "    {" + std::to_string(go_minor) + ", {" + n(o.g_goid) + ", " + n(o.g_m) + ", " + n(o.g_atomicstatus) + ", " +
         n(o.g_waitreason) + ", " + n(o.g_sched_pc) + ", " + n(o.g_startpc) + ", " + n(o.g_gopc) + ", " +
         n(o.g_parent_goid) + ", " + n(o.m_g0) + ", " + n(o.m_curg) + ", " + n(o.m_gsignal) + ", " + n(o.m_p) +
         ", " + n(o.p_schedtick) + "}},";
}

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

Result<StructOffsets> offsets_from_dwarf(const ElfFile& elf) {
  Dwarf* dwarf = dwarf_begin_elf(elf.elf(), DWARF_C_READ, nullptr);
  if (dwarf == nullptr) return make_error("'" + elf.path() + "' has no DWARF");
  auto types = find_struct_types(dwarf);
  dwarf_end(dwarf);

  auto field = [&](const char* type, const char* member) -> std::optional<uint32_t> {
    auto t = types.find(type);
    if (t == types.end()) return std::nullopt;
    auto m = t->second.find(member);
    if (m == t->second.end()) return std::nullopt;
    return m->second;
  };
  StructOffsets o;
  uint32_t g_sched = 0, gobuf_pc = 0;
  struct Want {
    const char* type;
    const char* member;
    uint32_t* out;
  } wants[] = {{"runtime.g", "goid", &o.g_goid},       {"runtime.g", "m", &o.g_m},
               {"runtime.g", "atomicstatus", &o.g_atomicstatus}, {"runtime.g", "waitreason", &o.g_waitreason},
               {"runtime.g", "sched", &g_sched},       {"runtime.gobuf", "pc", &gobuf_pc},
               {"runtime.g", "startpc", &o.g_startpc}, {"runtime.g", "gopc", &o.g_gopc},
               {"runtime.m", "g0", &o.m_g0},           {"runtime.m", "curg", &o.m_curg},
               {"runtime.m", "gsignal", &o.m_gsignal}, {"runtime.m", "p", &o.m_p},
               {"runtime.p", "schedtick", &o.p_schedtick}};
  for (const auto& want : wants) {
    auto offset = field(want.type, want.member);
    if (!offset)
      return make_error("'" + elf.path() + "': DWARF has no " + want.type + "." + want.member);
    *want.out = *offset;
  }
  o.g_sched_pc = g_sched + gobuf_pc;
  o.g_parent_goid = field("runtime.g", "parentGoid").value_or(0);
  return o;
}

Result<RuntimeLayout> find_runtime_layout(const ElfFile& elf, const GoBuildInfo& info, bool force) {
  const std::string where = "'" + elf.path() + "' (" + info.go_version + ")";
  const int minor = go_minor_of(info.go_version);
  const KnownLayout* known = table_row(minor);
  RuntimeLayout layout;
  layout.tls_g = tls_g_offset(elf);

  auto dwarf = offsets_from_dwarf(elf);
  if (dwarf) {
    layout.offsets = *dwarf;
    layout.source = "dwarf";
    if (known != nullptr && !(known->offsets == *dwarf) && !force)
      return make_error("inconsistent runtime layout: " + where + ": its DWARF disagrees with the table for go1." +
                        std::to_string(minor) + " (g.goid " + std::to_string(dwarf->g_goid) + " vs " +
                        std::to_string(known->offsets.g_goid) + "); --force records with the DWARF offsets");
    return layout;
  }
  if (known != nullptr) {
    layout.offsets = known->offsets;
    layout.source = "table";
    return layout;
  }
  const KnownLayout* nearest = nearest_row(minor);
  if (!force || nearest == nullptr)
    return make_error("unknown runtime layout: " + where + " has no DWARF (" + dwarf.error().message +
                      ") and go1." + std::to_string(minor) +
                      " is not in the layout table; --force tries the nearest known version");
  layout.offsets = nearest->offsets;
  layout.source = "table (forced: go1." + std::to_string(nearest->go_minor) + ")";
  return layout;
}

}  // namespace loophound::recorder

#include "recorder/go_functions.h"

#include "analyzer/symbolize/gopclntab.h"

namespace loophound::recorder {

GoFunctions::GoFunctions(const ElfFile& elf) : elf_(elf) {}
GoFunctions::~GoFunctions() = default;

Result<uint64_t> GoFunctions::entry_vaddr(const std::string& name) {
  if (auto symbol = elf_.find_symbol(name)) return symbol->value;
  if (!pclntab_tried_) {
    pclntab_tried_ = true;
    std::string bytes;
    uint64_t table_vaddr = 0, text_vaddr = 0;
    std::vector<analyzer::GoDataRegion> regions;
    for (const auto& s : elf_.sections()) {
      if (s.type != SHT_PROGBITS || (s.flags & SHF_ALLOC) == 0) continue;
      std::string_view raw = elf_.raw();
      if (s.file_offset > raw.size() || s.size > raw.size() - s.file_offset) continue;
      std::string contents(raw.substr(s.file_offset, s.size));
      if (bytes.empty() && (s.name == ".gopclntab" || s.name == ".data.rel.ro.gopclntab")) {
        bytes = std::move(contents);
        table_vaddr = s.vaddr;
      } else if (s.name == ".text") {
        text_vaddr = s.vaddr;
      } else if ((s.flags & SHF_EXECINSTR) == 0 && s.size > 0) {
        // The moduledata (runtime.text on Go 1.26) lives in allocated data.
        regions.push_back({s.vaddr, std::move(contents)});
      }
    }
    if (bytes.empty()) {
      pclntab_error_ = "no .gopclntab section";
    } else if (auto table = analyzer::GoPclnTable::parse(std::move(bytes), table_vaddr, text_vaddr, std::move(regions));
               !table) {
      pclntab_error_ = table.error().message;
    } else {
      pclntab_ = std::make_unique<analyzer::GoPclnTable>(std::move(table).value());
    }
  }
  if (!pclntab_)
    return make_error("'" + elf_.path() + "': no symbol " + name + " and its .gopclntab is unusable: " + pclntab_error_);
  if (auto entry = pclntab_->function_entry(name)) return *entry;
  return make_error("'" + elf_.path() + "': no function " + name + " in its .symtab or .gopclntab");
}

Result<uint64_t> GoFunctions::entry_file_offset(const std::string& name) {
  auto vaddr = entry_vaddr(name);
  if (!vaddr) return vaddr.error();
  auto offset = elf_.vaddr_to_file_offset(*vaddr);
  if (!offset) return make_error("'" + elf_.path() + "': " + name + " is outside every PT_LOAD segment");
  return *offset;
}

}  // namespace loophound::recorder

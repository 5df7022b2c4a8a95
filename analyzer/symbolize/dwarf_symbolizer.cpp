#include "analyzer/symbolize/dwarf_symbolizer.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace loophound::analyzer {
namespace {

// Inlining nests a few levels in Go; this only bounds the walk on hostile
// DWARF (a DIE tree cannot loop, but it can be absurdly deep).
constexpr int kMaxScopeDepth = 256;

// The DWARF must come from the file itself (Go embeds it). Looking
// elsewhere -- /usr/lib/debug, or debuginfod over the network when
// DEBUGINFOD_URLS is set -- could pair a trace with the analyzing
// machine's unrelated files, and would make results depend on the host.
int no_separate_file(Dwfl_Module*, void**, const char*, Dwarf_Addr, const char*, const char*,
                     GElf_Word, char**) {
  return -1;
}
int no_elf_lookup(Dwfl_Module*, void**, const char*, Dwarf_Addr, char**, Elf**) { return -1; }

const Dwfl_Callbacks kOfflineCallbacks = {
    .find_elf = no_elf_lookup,
    .find_debuginfo = no_separate_file,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = nullptr,
};

std::string die_name(Dwarf_Die* die) {
  // Through DW_AT_abstract_origin / DW_AT_specification: inlined and
  // out-of-line instances of an inlinable Go function carry no name of
  // their own.
  Dwarf_Attribute attr;
  const char* name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
  return name != nullptr ? name : "";
}

bool is_scope_tag(int tag) {
  return tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine ||
         tag == DW_TAG_try_block || tag == DW_TAG_catch_block || tag == DW_TAG_with_stmt;
}

// Containers that can hold function definitions (C++ namespaces and
// classes; Go puts every function straight under its package's CU).
bool may_hold_functions(int tag) {
  return tag == DW_TAG_namespace || tag == DW_TAG_module || tag == DW_TAG_class_type ||
         tag == DW_TAG_structure_type || tag == DW_TAG_union_type;
}

// The child of `parent` among lexical blocks and inlined calls whose
// ranges hold `pc`.
bool find_child_scope(Dwarf_Die* parent, Dwarf_Addr pc, Dwarf_Die* result) {
  Dwarf_Die child;
  if (dwarf_child(parent, &child) != 0) return false;
  do {
    if (is_scope_tag(dwarf_tag(&child)) && dwarf_haspc(&child, pc) == 1) {
      *result = child;
      return true;
    }
  } while (dwarf_siblingof(&child, &child) == 0);
  return false;
}

// file:line where the inlined call `inlined` was made, from the file table
// of the CU that holds it.
void set_call_site(Dwarf_Die* inlined, Dwarf_Die* cu, SourceFrame* frame) {
  Dwarf_Attribute attr;
  Dwarf_Word file_index = 0;
  Dwarf_Word line = 0;
  Dwarf_Files* files = nullptr;
  size_t file_count = 0;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &file_index) == 0 &&
      dwarf_getsrcfiles(cu, &files, &file_count) == 0 && file_index < file_count) {
    const char* file = dwarf_filesrc(files, file_index, nullptr, nullptr);
    if (file != nullptr) frame->file = file;
  }
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &line) == 0 &&
      line <= static_cast<Dwarf_Word>(INT32_MAX)) {
    frame->line = static_cast<int>(line);
  }
}

void set_line_from_table(Dwarf_Die* cu, Dwarf_Addr pc, SourceFrame* frame) {
  Dwarf_Line* row = dwarf_getsrc_die(cu, pc);
  if (row == nullptr) return;
  const char* file = dwarf_linesrc(row, nullptr, nullptr);
  int line = 0;
  if (file != nullptr) frame->file = file;
  if (dwarf_lineno(row, &line) == 0) frame->line = line;
}

}  // namespace

Result<std::unique_ptr<DwarfSymbolizer>> DwarfSymbolizer::open(const std::string& elf_path) {
  int fd = ::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("'" + elf_path + "': " + std::strerror(errno));

  // Check the kind first, so that a wrong file gets a plain message
  // rather than whatever libdwfl says, and an object file or core dump is
  // refused instead of being laid out at made-up addresses.
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  GElf_Ehdr ehdr{};
  bool is_elf = elf != nullptr && elf_kind(elf) == ELF_K_ELF && gelf_getehdr(elf, &ehdr) != nullptr;
  int type = is_elf ? ehdr.e_type : ET_NONE;
  elf_end(elf);
  if (!is_elf || (type != ET_EXEC && type != ET_DYN)) {
    ::close(fd);
    if (!is_elf) return make_error("'" + elf_path + "': not an ELF file");
    return make_error("'" + elf_path + "': not an executable or shared object (ELF type " +
                      std::to_string(type) + ")");
  }

  Dwfl* dwfl = dwfl_begin(&kOfflineCallbacks);
  if (dwfl == nullptr) {
    ::close(fd);
    return make_error("'" + elf_path + "': " + dwfl_errmsg(-1));
  }
  // Base 0 relative to p_vaddr: module addresses are the file's own vaddrs
  // for ET_EXEC and ET_DYN alike (dwfl_report_offline would move a PIE to
  // an arbitrary base).
  Dwfl_Module* module = dwfl_report_elf(dwfl, elf_path.c_str(), elf_path.c_str(), fd, 0, true);
  if (module == nullptr) {
    std::string message = dwfl_errmsg(-1);
    ::close(fd);  // only consumed on success
    dwfl_end(dwfl);
    return make_error("'" + elf_path + "': " + message);
  }
  dwfl_report_end(dwfl, nullptr, nullptr);
  return std::unique_ptr<DwarfSymbolizer>(new DwarfSymbolizer(elf_path, dwfl, module));
}

DwarfSymbolizer::DwarfSymbolizer(std::string path, Dwfl* dwfl, Dwfl_Module* module)
    : path_(std::move(path)), dwfl_(dwfl), module_(module) {
  Dwarf_Addr bias = 0;
  dwarf_ = dwfl_module_getdwarf(module_, &bias);
  bias_ = bias;
}

DwarfSymbolizer::~DwarfSymbolizer() { dwfl_end(dwfl_); }

std::vector<SourceFrame> DwarfSymbolizer::symbolize(uint64_t file_vaddr) {
  auto it = cache_.find(file_vaddr);
  if (it == cache_.end()) it = cache_.emplace(file_vaddr, resolve(file_vaddr)).first;
  return it->second;
}

std::vector<SourceFrame> DwarfSymbolizer::resolve(uint64_t file_vaddr) {
  if (dwarf_ != nullptr) {
    std::vector<SourceFrame> frames = resolve_with_dwarf(file_vaddr);
    if (!frames.empty()) return frames;
  }
  std::optional<SourceFrame> frame = symbol_frame(file_vaddr);
  if (!frame) return {};
  // DWARF without a subprogram here (hand-written assembly in C
  // libraries) may still have line rows for it.
  if (dwarf_ != nullptr) {
    Dwarf_Addr bias = 0;
    if (Dwarf_Die* cu = dwfl_module_addrdie(module_, file_vaddr, &bias)) {
      set_line_from_table(cu, file_vaddr - bias, &*frame);
    }
  }
  return {std::move(*frame)};
}

void DwarfSymbolizer::build_function_index() {
  index_built_ = true;
  // One pass over the top of every CU, so that a lookup is a binary search
  // plus a walk down one function instead of a scan of a whole CU (Go's
  // runtime CU alone has thousands of functions).
  std::vector<Dwarf_Die> pending;
  Dwarf_Off offset = 0;
  Dwarf_Off next = 0;
  size_t header_size = 0;
  while (dwarf_nextcu(dwarf_, offset, &next, &header_size, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu;
    if (dwarf_offdie(dwarf_, offset + header_size, &cu) != nullptr) pending.push_back(cu);
    offset = next;
    while (!pending.empty()) {
      Dwarf_Die parent = pending.back();
      pending.pop_back();
      Dwarf_Die child;
      if (dwarf_child(&parent, &child) != 0) continue;
      do {
        int tag = dwarf_tag(&child);
        if (may_hold_functions(tag)) {
          if (pending.size() < kMaxScopeDepth) pending.push_back(child);
          continue;
        }
        if (tag != DW_TAG_subprogram) continue;
        Dwarf_Addr base = 0;
        Dwarf_Addr low = 0;
        Dwarf_Addr high = 0;
        for (ptrdiff_t r = 0; (r = dwarf_ranges(&child, r, &base, &low, &high)) > 0;) {
          if (low < high) functions_.push_back({low, high, dwarf_dieoffset(&child)});
        }
      } while (dwarf_siblingof(&child, &child) == 0);
    }
  }
  std::sort(functions_.begin(), functions_.end(),
            [](const FunctionRange& a, const FunctionRange& b) { return a.low < b.low; });
}

std::vector<SourceFrame> DwarfSymbolizer::resolve_with_dwarf(uint64_t file_vaddr) {
  if (!index_built_) build_function_index();
  const Dwarf_Addr pc = file_vaddr - bias_;
  auto it = std::upper_bound(functions_.begin(), functions_.end(), pc,
                             [](Dwarf_Addr a, const FunctionRange& f) { return a < f.low; });
  if (it == functions_.begin() || pc >= std::prev(it)->high) return {};
  Dwarf_Die function;
  Dwarf_Die cu;
  if (dwarf_offdie(dwarf_, std::prev(it)->die_offset, &function) == nullptr ||
      dwarf_diecu(&function, &cu, nullptr, nullptr) == nullptr) {
    return {};
  }

  // The chain of inlined calls around pc, outermost (the subprogram) first.
  std::vector<Dwarf_Die> chain = {function};
  Dwarf_Die scope = function;
  for (int depth = 0; depth < kMaxScopeDepth; ++depth) {
    Dwarf_Die inner;
    if (!find_child_scope(&scope, pc, &inner)) break;
    if (dwarf_tag(&inner) == DW_TAG_inlined_subroutine) chain.push_back(inner);
    scope = inner;
  }

  // Innermost frame: where pc itself is, per the line table. Each outer
  // frame: the call site recorded on the inlined call it contains.
  std::vector<SourceFrame> frames(chain.size());
  set_line_from_table(&cu, pc, &frames[0]);
  for (size_t i = 0; i < chain.size(); ++i) {
    Dwarf_Die* die = &chain[chain.size() - 1 - i];
    SourceFrame& frame = frames[i];
    frame.function = die_name(die);
    frame.inlined = i + 1 < chain.size();
    if (frame.inlined) set_call_site(die, &cu, &frames[i + 1]);
  }
  if (frames.back().function.empty()) {
    if (std::optional<SourceFrame> symbol = symbol_frame(file_vaddr)) {
      frames.back().function = symbol->function;
    }
  }
  for (SourceFrame& frame : frames) {
    if (frame.function.empty()) frame.function = "??";
  }
  return frames;
}

std::optional<SourceFrame> DwarfSymbolizer::symbol_frame(uint64_t file_vaddr) {
  GElf_Off offset = 0;
  GElf_Sym sym;
  const char* name =
      dwfl_module_addrinfo(module_, file_vaddr, &offset, &sym, nullptr, nullptr, nullptr);
  // Functions only: an address in .rodata must not borrow a data symbol's
  // name, nor an address past a function's end its name.
  if (name == nullptr || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
      (sym.st_size != 0 && offset >= sym.st_size)) {
    return std::nullopt;
  }
  SourceFrame frame;
  frame.function = name;
  return frame;
}

}  // namespace loophound::analyzer

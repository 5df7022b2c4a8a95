// GoPclnTable: a reader of Go's own line table, `.gopclntab`, for binaries
// without DWARF and without .symtab (`-ldflags="-s -w"`): function names
// and extents, file:line, and inlined calls (the inline tree). The Go
// runtime needs the table for tracebacks, so it is in every Go binary.
//
// Depends on the C++ standard library only: the recorder links it to place
// uprobes in stripped binaries. The caller finds the sections (libelf, or
// its own ELF reader) and passes their bytes.
//
// Every read is bounds-checked: tables come from bug reports' binaries, and
// a corrupt or hostile one gives an Error or empty answers, never a crash.
//
// Supported layouts (the magic at byte 0; see internal/abi/symtab.go):
//   0xfffffffa  Go 1.16, 1.17  _func.entry is an absolute address;
//                              funcdata are absolute pointers
//   0xfffffff0  Go 1.18, 1.19  entries become uint32 offsets from
//                              runtime.text; funcdata become uint32 offsets
//                              from moduledata.gofunc ("go:func.*")
//   0xfffffff1  Go 1.20+       _func gains startLine; the inline tree entry
//                              shrinks from 20 to 16 bytes (call-site
//                              file/line dropped, startLine added)
// Go 1.2–1.15 (0xfffffffb) and older are refused. Little-endian only.
//
// Not thread-safe (the per-address cache): one instance per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "analyzer/symbolize/source_frame.h"
#include "schema/result.h"

namespace loophound::analyzer {

enum class GoPclnVersion {
  kGo116,  // Go 1.16 and 1.17
  kGo118,  // Go 1.18 and 1.19
  kGo120,  // Go 1.20 and later
};

// The bytes of one allocated section of the binary other than .gopclntab
// (.rodata, .noptrdata, .data.rel.ro, Go 1.26's .go.module, ...), as laid
// out at `vaddr`. The table looks in them for two things it does not hold
// itself: runtime.firstmoduledata (the authoritative runtime.text, and
// gofunc), and the inline trees (funcdata live outside .gopclntab before
// Go 1.26).
struct GoDataRegion {
  uint64_t vaddr = 0;
  std::string bytes;
};

struct FunctionInfo {
  std::string name;  // as Go spells it: "main.(*Server).serve"
  uint64_t entry = 0;
  uint64_t end = 0;  // one past the last byte of code, before any padding
                     // (.symtab's st_value + st_size); the next entry for
                     // markers without a line table (go:textfipsstart)
};

class GoPclnTable {
 public:
  // `bytes`: the whole .gopclntab section, whose first byte is at
  // `section_vaddr`. `text_vaddr`: where runtime.text is if nothing better
  // is known -- the .text section's start, or the runtime.text symbol when
  // the caller has a .symtab. Go 1.18+ entries are offsets from
  // runtime.text; the table prefers the moduledata's value (found in
  // `data`), then the header's textStart (Go 1.18–1.25; Go 1.26 writes 0),
  // then `text_vaddr`. Externally linked (cgo) binaries put C code at the
  // start of .text, so runtime.text is not .text's start there.
  //
  // Without `data`, names, entries and file:lines still work, but inlined
  // calls are not expanded: the one frame has the physical function's
  // name and the innermost file:line (what `go tool addr2line` prints).
  // And a Go 1.26 externally linked binary then gets `text_vaddr` as
  // runtime.text: pass the runtime.text symbol, or the data, there.
  static Result<GoPclnTable> parse(std::string bytes, uint64_t section_vaddr, uint64_t text_vaddr,
                                   std::vector<GoDataRegion> data = {});

  // The vaddr of the function's first instruction, by its exact Go name
  // ("runtime.casgstatus"); nullopt when there is no such function. Of an
  // assembly function and its ABI wrapper, which share a name here, the
  // body (see the .cpp).
  std::optional<uint64_t> function_entry(std::string_view name);

  // Frames at `vaddr`, innermost first, inlined calls expanded the way the
  // runtime's inline unwinder does (runtime/symtabinl.go): the innermost
  // frame has the pc's own file:line; each outer frame the file:line of
  // its call site (the inline tree's parentPc, looked up in the same
  // function's tables). The last frame is the physical function. Empty
  // when `vaddr` is in no function, alignment padding between functions
  // included (`go tool addr2line` names the function before the padding,
  // with line -1; DWARF knows nothing there).
  std::vector<SourceFrame> symbolize(uint64_t vaddr);

  // Every function of the table, in address order.
  std::vector<FunctionInfo> functions() const;

  // Addresses in [low, high], ascending, where the source position (the
  // pcfile or pcln table's value) changes, function entries included: the
  // pclntab counterpart of DwarfSymbolizer::line_row_addresses. Go's DWARF
  // starts a row also where only is_stmt changes, so DWARF may list more.
  std::vector<uint64_t> line_row_addresses(uint64_t low, uint64_t high) const;

  GoPclnVersion version() const { return version_; }
  // The base of Go 1.18+ entry offsets (runtime.text); 0 for Go 1.16/1.17.
  uint64_t text_start() const { return text_start_; }
  // Whether runtime.firstmoduledata was found in the data regions.
  bool found_moduledata() const { return found_moduledata_; }
  size_t function_count() const { return entries_.empty() ? 0 : entries_.size() - 1; }

 private:
  // [begin, end) byte offsets into bytes_.
  struct Span {
    uint64_t begin = 0;
    uint64_t end = 0;
  };

  // The fields of one runtime._func that symbolization reads.
  struct Func {
    uint64_t entry = 0;
    uint32_t name_offset = 0;
    uint32_t pcfile = 0;
    uint32_t pcln = 0;
    uint32_t npcdata = 0;
    uint32_t cu_offset = 0;
    uint8_t nfuncdata = 0;
    uint64_t pcdata_at = 0;    // offset in bytes_ of pcdata[0]
    uint64_t funcdata_at = 0;  // offset in bytes_ of funcdata[0]
  };

  // Where the inline tree of one function starts.
  struct InlineTree {
    const std::string* bytes = nullptr;  // bytes_ or one region's bytes
    uint64_t vaddr = 0;                  // of bytes->front()
    uint64_t offset = 0;                 // of entry 0 in *bytes
  };

  GoPclnTable() = default;
  Status parse_header(uint64_t text_vaddr);
  void find_moduledata();
  Status read_function_table();

  std::optional<size_t> function_index(uint64_t vaddr) const;
  std::optional<Func> read_func(size_t index) const;
  std::string name_at(uint32_t offset) const;
  std::string_view name_view(uint32_t offset) const;
  std::string file_name(const Func& f, int32_t file_index) const;
  int32_t pc_value(uint32_t table, uint64_t entry, uint64_t target) const;
  int32_t pcdata_value(const Func& f, uint32_t table_index, uint64_t target) const;
  std::optional<InlineTree> inline_tree(const Func& f) const;
  uint64_t code_end(const Func& f, uint64_t next_entry) const;
  const std::string* region_holding(uint64_t vaddr, uint64_t size, uint64_t* offset) const;
  std::vector<SourceFrame> resolve(uint64_t vaddr) const;

  std::string bytes_;
  uint64_t section_vaddr_ = 0;
  GoPclnVersion version_ = GoPclnVersion::kGo120;
  uint32_t quantum_ = 1;
  uint32_t ptr_size_ = 8;
  uint64_t nfunc_ = 0;
  uint64_t funcname_offset_ = 0;  // header fields, relative to the section
  uint64_t pcln_offset_ = 0;
  Span funcnametab_;
  Span cutab_;
  Span filetab_;
  Span pctab_;
  Span pclntable_;  // functab, then the _func records (and more: Go 1.26
                    // places go:func.* in the same section)
  uint64_t text_start_ = 0;
  bool found_moduledata_ = false;
  std::optional<uint64_t> gofunc_;  // Go 1.18+: base of funcdata offsets
  std::vector<GoDataRegion> data_;

  // functab decoded: entries_[i] is function i's entry vaddr, entries_[n]
  // the end of the last function; func_offsets_[i] its _func's offset
  // into pclntable_.
  std::vector<uint64_t> entries_;
  std::vector<uint64_t> func_offsets_;

  // Function indices sorted by name, and each function's name offset,
  // built on the first function_entry().
  std::vector<uint32_t> by_name_;
  std::vector<uint32_t> name_offsets_;
  // Traces repeat the same few thousand PCs millions of times.
  std::unordered_map<uint64_t, std::vector<SourceFrame>> cache_;
};

}  // namespace loophound::analyzer

#include "analyzer/symbolize/gopclntab.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace loophound::analyzer {
namespace {

// The magic numbers of internal/abi/symtab.go (PCLnTabMagic).
constexpr uint32_t kMagicGo12 = 0xfffffffb;  // Go 1.2–1.15: refused
constexpr uint32_t kMagicGo116 = 0xfffffffa;
constexpr uint32_t kMagicGo118 = 0xfffffff0;
constexpr uint32_t kMagicGo120 = 0xfffffff1;

// Table indices of internal/abi/symtab.go (and runtime/funcdata.h).
constexpr uint32_t kPcdataInlTreeIndex = 2;
constexpr uint32_t kFuncdataInlTree = 3;

// A uint32 varint has at most 5 bytes; more is damage.
constexpr int kMaxVarintBytes = 5;

// Go's inliner nests a handful of levels (more with PGO); this only
// bounds the walk when a damaged tree's parentPc links form a cycle.
constexpr int kMaxInlineDepth = 128;

// runtime.moduledata, in pointer-sized words: the fields read here sit at
// the same place from Go 1.16 to 1.26 (runtime/symtab.go), except gofunc:
//   0 pcHeader, 1-3 funcnametab, 4-6 cutab, 7-9 filetab, 10-12 pctab,
//   13-15 pclntable, 16-18 ftab, 19 findfunctab, 20 minpc, 21 maxpc,
//   22 text, 23 etext, 24-31 noptrdata..enoptrbss,
//   Go 1.20+: 32-33 covctrs, ecovctrs (absent before),
//   then end, gcdata, gcbss, types, etypes, rodata, gofunc.
// gofunc is word 38 in Go 1.18/1.19 and word 40 from Go 1.20 -- the same
// release that changed the magic, so the magic tells which.
constexpr uint64_t kModuleFuncnametab = 1;
constexpr uint64_t kModuleFtab = 16;
constexpr uint64_t kModuleFtabLen = 17;
constexpr uint64_t kModuleText = 22;
constexpr uint64_t kModuleGofuncGo118 = 38;
constexpr uint64_t kModuleGofuncGo120 = 40;

// Little-endian loads at byte `at` of `bytes`; false past the end. All
// offsets are uint64 and checked without overflow: `at <= size` first,
// then `n <= size - at`.
bool fits(const std::string& bytes, uint64_t at, uint64_t n) {
  return at <= bytes.size() && n <= bytes.size() - at;
}

bool load_u8(const std::string& bytes, uint64_t at, uint8_t* out) {
  if (!fits(bytes, at, 1)) return false;
  *out = static_cast<uint8_t>(bytes[at]);
  return true;
}

bool load_u32(const std::string& bytes, uint64_t at, uint32_t* out) {
  if (!fits(bytes, at, 4)) return false;
  unsigned char b[4];
  std::memcpy(b, bytes.data() + at, 4);
  *out = uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
  return true;
}

bool load_u64(const std::string& bytes, uint64_t at, uint64_t* out) {
  uint32_t low = 0;
  uint32_t high = 0;
  if (!load_u32(bytes, at, &low) || !load_u32(bytes, at + 4, &high)) return false;
  *out = uint64_t{low} | uint64_t{high} << 32;
  return true;
}

// A word of `size` bytes (4 or 8): Go's int, uint and uintptr.
bool load_word(const std::string& bytes, uint64_t at, uint32_t size, uint64_t* out) {
  if (size == 8) return load_u64(bytes, at, out);
  uint32_t value = 0;
  if (!load_u32(bytes, at, &value)) return false;
  *out = value;
  return true;
}

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "%#llx", static_cast<unsigned long long>(value));
  return text;
}

// One pc-value table (pcsp, pcfile, pcln, pcdata): a sequence of
// (value delta, pc delta) varint pairs from the function's entry, value
// starting at -1 (runtime/symtab.go: step, pcvalue). Each pair ends one
// range [start, end) that holds `value`. A zero value delta ends the table,
// except in the first pair, whose delta may legitimately be 0 (the runtime
// passes first = pc == entry, so it stays "first" while pc has not moved).
class PcValueWalker {
 public:
  PcValueWalker(std::string_view table, uint64_t entry, uint32_t quantum)
      : table_(table), entry_(entry), end_(entry), quantum_(quantum) {}

  // Steps to the next range; false at the end of the table or on damage.
  bool next() {
    const bool first = end_ == entry_;
    uint32_t value_delta = 0;
    uint32_t pc_delta = 0;
    if (!read_varint(&value_delta) || (value_delta == 0 && !first) || !read_varint(&pc_delta)) {
      return false;
    }
    // Zig-zag: the low bit is the sign. Unsigned arithmetic, so damage
    // wraps instead of overflowing a signed int.
    const uint32_t delta = (value_delta >> 1) ^ (0u - (value_delta & 1));
    value_ = static_cast<int32_t>(static_cast<uint32_t>(value_) + delta);
    const uint64_t next_end = end_ + uint64_t{pc_delta} * quantum_;
    if (next_end < end_) return false;
    start_ = end_;
    end_ = next_end;
    return true;
  }

  uint64_t start() const { return start_; }
  uint64_t end() const { return end_; }
  int32_t value() const { return value_; }

 private:
  bool read_varint(uint32_t* out) {
    uint32_t value = 0;
    for (int i = 0; i < kMaxVarintBytes; ++i) {
      if (position_ >= table_.size()) return false;
      const uint8_t byte = static_cast<uint8_t>(table_[position_++]);
      value |= static_cast<uint32_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) {
        *out = value;
        return true;
      }
    }
    return false;
  }

  std::string_view table_;
  size_t position_ = 0;
  uint64_t entry_ = 0;
  uint64_t start_ = 0;
  uint64_t end_ = 0;
  int32_t value_ = -1;
  uint32_t quantum_ = 1;
};

}  // namespace

Result<GoPclnTable> GoPclnTable::parse(std::string bytes, uint64_t section_vaddr,
                                       uint64_t text_vaddr, std::vector<GoDataRegion> data) {
  GoPclnTable table;
  table.bytes_ = std::move(bytes);
  table.section_vaddr_ = section_vaddr;
  table.data_ = std::move(data);
  if (Status status = table.parse_header(text_vaddr); !status) return status.error();
  if (Status status = table.read_function_table(); !status) return status.error();
  return table;
}

Status GoPclnTable::parse_header(uint64_t text_vaddr) {
  // pcHeader (runtime/symtab.go): magic u32, two zero bytes, minLC (the
  // pc quantum: 1 on x86, 4 on arm64), ptrSize, then pointer-sized words:
  //   Go 1.16/1.17: nfunc, nfiles, funcnameOffset, cuOffset, filetabOffset,
  //                 pctabOffset, pclnOffset
  //   Go 1.18+:     nfunc, nfiles, textStart, then the same five offsets.
  //                 Go 1.26 stopped filling textStart (it needed a
  //                 relocation) and writes 0.
  // The offsets are relative to the header, i.e. to the section start.
  uint32_t magic = 0;
  if (!load_u32(bytes_, 0, &magic) || bytes_.size() < 8) {
    return make_error("truncated pcln table header (" + std::to_string(bytes_.size()) + " bytes)");
  }
  switch (magic) {
    case kMagicGo116:
      version_ = GoPclnVersion::kGo116;
      break;
    case kMagicGo118:
      version_ = GoPclnVersion::kGo118;
      break;
    case kMagicGo120:
      version_ = GoPclnVersion::kGo120;
      break;
    case kMagicGo12:
      return make_error("pcln table of Go 1.2 to 1.15 (magic 0xfffffffb) is not supported; "
                        "Go 1.16 or newer is needed");
    default: {
      const uint32_t swapped = __builtin_bswap32(magic);
      if (swapped == kMagicGo116 || swapped == kMagicGo118 || swapped == kMagicGo120 ||
          swapped == kMagicGo12) {
        return make_error("big-endian pcln table (magic " + hex(swapped) + ") is not supported");
      }
      return make_error("unknown pcln table magic " + hex(magic));
    }
  }
  const uint8_t pad1 = static_cast<uint8_t>(bytes_[4]);
  const uint8_t pad2 = static_cast<uint8_t>(bytes_[5]);
  quantum_ = static_cast<uint8_t>(bytes_[6]);
  ptr_size_ = static_cast<uint8_t>(bytes_[7]);
  if (pad1 != 0 || pad2 != 0 || (quantum_ != 1 && quantum_ != 2 && quantum_ != 4) ||
      (ptr_size_ != 4 && ptr_size_ != 8)) {
    return make_error("bad pcln table header: pad " + std::to_string(pad1) + "," +
                      std::to_string(pad2) + ", pc quantum " + std::to_string(quantum_) +
                      ", pointer size " + std::to_string(ptr_size_));
  }

  const bool has_text_start = version_ != GoPclnVersion::kGo116;
  const uint32_t words = has_text_start ? 8 : 7;
  uint64_t word[8] = {};
  for (uint32_t i = 0; i < words; ++i) {
    if (!load_word(bytes_, 8 + uint64_t{i} * ptr_size_, ptr_size_, &word[i])) {
      return make_error("truncated pcln table header (" + std::to_string(bytes_.size()) +
                        " bytes)");
    }
  }
  nfunc_ = word[0];
  const uint64_t header_text_start = has_text_start ? word[2] : 0;
  const uint64_t* offsets = word + (has_text_start ? 3 : 2);
  funcname_offset_ = offsets[0];
  pcln_offset_ = offsets[4];
  // The linker lays the tables out in this order right after the header
  // (cmd/link/internal/ld/pcln.go); each ends where the next begins.
  const uint64_t header_size = 8 + uint64_t{words} * ptr_size_;
  uint64_t previous = header_size;
  for (int i = 0; i < 5; ++i) {
    if (offsets[i] < previous || offsets[i] > bytes_.size()) {
      return make_error("bad pcln table header: table offset " + hex(offsets[i]) +
                        " out of order or past the end (" + std::to_string(bytes_.size()) +
                        " bytes)");
    }
    previous = offsets[i];
  }
  funcnametab_ = {offsets[0], offsets[1]};
  cutab_ = {offsets[1], offsets[2]};
  filetab_ = {offsets[2], offsets[3]};
  pctab_ = {offsets[3], offsets[4]};
  pclntable_ = {offsets[4], bytes_.size()};

  find_moduledata();
  if (has_text_start && !found_moduledata_) {
    // The header's textStart is runtime.text wherever it was filled in
    // (Go 1.18–1.25); Go 1.26 leaves 0 and only the moduledata knows.
    text_start_ = header_text_start != 0 ? header_text_start : text_vaddr;
  }
  return ok_status();
}

void GoPclnTable::find_moduledata() {
  // runtime.firstmoduledata starts with a pointer to the pcHeader (the
  // section start) and the funcnametab slice; its ftab slice points at the
  // functab and is nfunc+1 long (cmd/link/internal/ld/symtab.go). Checking
  // all four makes a chance match in unrelated data practically
  // impossible. The linker applies these relocations in the file even for
  // PIE (so that tools can read it statically), so the values are the
  // file's vaddrs. Go 1.16/1.17 need nothing from it: their entries and
  // funcdata are absolute.
  if (version_ == GoPclnVersion::kGo116) return;
  const uint64_t gofunc_word =
      version_ == GoPclnVersion::kGo118 ? kModuleGofuncGo118 : kModuleGofuncGo120;
  const uint64_t size = (gofunc_word + 1) * ptr_size_;
  for (const GoDataRegion& region : data_) {
    // moduledata is pointer-aligned in the address space.
    uint64_t start = (ptr_size_ - region.vaddr % ptr_size_) % ptr_size_;
    for (uint64_t at = start; fits(region.bytes, at, size); at += ptr_size_) {
      uint64_t value = 0;
      if (!load_word(region.bytes, at, ptr_size_, &value) || value != section_vaddr_) continue;
      uint64_t funcnametab = 0;
      uint64_t ftab = 0;
      uint64_t ftab_len = 0;
      uint64_t text = 0;
      uint64_t gofunc = 0;
      if (!load_word(region.bytes, at + kModuleFuncnametab * ptr_size_, ptr_size_, &funcnametab) ||
          !load_word(region.bytes, at + kModuleFtab * ptr_size_, ptr_size_, &ftab) ||
          !load_word(region.bytes, at + kModuleFtabLen * ptr_size_, ptr_size_, &ftab_len) ||
          !load_word(region.bytes, at + kModuleText * ptr_size_, ptr_size_, &text) ||
          !load_word(region.bytes, at + gofunc_word * ptr_size_, ptr_size_, &gofunc)) {
        continue;
      }
      if (funcnametab != section_vaddr_ + funcname_offset_ ||
          ftab != section_vaddr_ + pcln_offset_ || ftab_len != nfunc_ + 1) {
        continue;
      }
      found_moduledata_ = true;
      text_start_ = text;
      gofunc_ = gofunc;
      break;
    }
    if (found_moduledata_) break;
  }
  // From Go 1.18 the inline trees all live in go:func.*, one symbol inside
  // one section (.rodata; .gopclntab itself from Go 1.26): keep only the
  // region that holds it, not copies of every section.
  std::vector<GoDataRegion> kept;
  if (gofunc_) {
    for (GoDataRegion& region : data_) {
      if (*gofunc_ >= region.vaddr && *gofunc_ - region.vaddr < region.bytes.size()) {
        kept.push_back(std::move(region));
        break;
      }
    }
  }
  data_ = std::move(kept);
}

Status GoPclnTable::read_function_table() {
  // functab: nfunc (entry, funcoff) pairs and a last entry, the end of the
  // last function. Go 1.16/1.17: pointer-sized absolute entries and
  // offsets; Go 1.18+: uint32 offsets from runtime.text (CL 351463).
  // funcoff is relative to the functab's own start (pclnOffset).
  const uint64_t field = version_ == GoPclnVersion::kGo116 ? ptr_size_ : 4;
  const uint64_t available = pclntable_.end - pclntable_.begin;
  if (nfunc_ == 0) return make_error("pcln table lists no functions");
  if (available / field == 0 || nfunc_ > (available / field - 1) / 2) {
    return make_error("pcln table header claims " + std::to_string(nfunc_) +
                      " functions; the function table has room for at most " +
                      std::to_string(available / field == 0 ? 0 : (available / field - 1) / 2));
  }
  entries_.reserve(nfunc_ + 1);
  func_offsets_.reserve(nfunc_);
  for (uint64_t i = 0; i <= nfunc_; ++i) {
    uint64_t raw = 0;
    load_word(bytes_, pclntable_.begin + 2 * i * field, static_cast<uint32_t>(field), &raw);
    const uint64_t entry = version_ == GoPclnVersion::kGo116 ? raw : text_start_ + raw;
    if (!entries_.empty() && entry < entries_.back()) {
      return make_error("pcln function table is not sorted: entry " + std::to_string(i) + " at " +
                        hex(entry) + " after " + hex(entries_.back()));
    }
    entries_.push_back(entry);
    if (i == nfunc_) break;
    uint64_t offset = 0;
    load_word(bytes_, pclntable_.begin + (2 * i + 1) * field, static_cast<uint32_t>(field), &offset);
    if (offset >= available) {
      return make_error("pcln function " + std::to_string(i) + ": record offset " + hex(offset) +
                        " past the end of the table");
    }
    func_offsets_.push_back(offset);
  }
  return ok_status();
}

std::optional<size_t> GoPclnTable::function_index(uint64_t vaddr) const {
  if (entries_.size() < 2 || vaddr < entries_.front() || vaddr >= entries_.back()) {
    return std::nullopt;
  }
  // The last function whose entry is <= vaddr: with zero-sized functions
  // (several entries at one address) that is the one with bytes, as in the
  // runtime's findfunc.
  auto it = std::upper_bound(entries_.begin(), entries_.end() - 1, vaddr);
  return static_cast<size_t>(it - entries_.begin()) - 1;
}

std::optional<GoPclnTable::Func> GoPclnTable::read_func(size_t index) const {
  if (index >= func_offsets_.size()) return std::nullopt;
  // runtime._func: the entry (Go 1.16/1.17: uintptr address; Go 1.18+:
  // uint32 offset from runtime.text), then uint32s nameOff, args,
  // deferreturn, pcsp, pcfile, pcln, npcdata, cuOffset, Go 1.20+ startLine,
  // then funcID, flag, a pad byte and nfuncdata; then pcdata[npcdata]
  // (uint32 offsets into pctab) and funcdata[nfuncdata].
  const uint64_t at = pclntable_.begin + func_offsets_[index];
  Func f;
  uint64_t fields = 0;
  if (version_ == GoPclnVersion::kGo116) {
    if (!load_word(bytes_, at, ptr_size_, &f.entry)) return std::nullopt;
    fields = at + ptr_size_;
  } else {
    uint32_t entry_offset = 0;
    if (!load_u32(bytes_, at, &entry_offset)) return std::nullopt;
    f.entry = text_start_ + entry_offset;
    fields = at + 4;
  }
  const uint64_t fixed = version_ == GoPclnVersion::kGo120 ? 40 : 36;
  if (!load_u32(bytes_, fields, &f.name_offset) || !load_u32(bytes_, fields + 16, &f.pcfile) ||
      !load_u32(bytes_, fields + 20, &f.pcln) || !load_u32(bytes_, fields + 24, &f.npcdata) ||
      !load_u32(bytes_, fields + 28, &f.cu_offset) ||
      !load_u8(bytes_, fields + fixed - 1, &f.nfuncdata)) {
    return std::nullopt;
  }
  f.pcdata_at = fields + fixed;
  if (!fits(bytes_, f.pcdata_at, uint64_t{f.npcdata} * 4)) return std::nullopt;
  f.funcdata_at = f.pcdata_at + uint64_t{f.npcdata} * 4;
  // Go 1.16/1.17 funcdata are pointers, 8-aligned in memory on 64-bit
  // (runtime/symtab.go: funcdata skips 4 bytes when misaligned).
  if (version_ == GoPclnVersion::kGo116 && ptr_size_ == 8 &&
      ((section_vaddr_ + f.funcdata_at) & 4) != 0) {
    f.funcdata_at += 4;
  }
  return f;
}

std::string_view GoPclnTable::name_view(uint32_t offset) const {
  const uint64_t at = funcnametab_.begin + offset;
  if (at >= funcnametab_.end) return {};
  const char* begin = bytes_.data() + at;
  const void* nul = std::memchr(begin, '\0', funcnametab_.end - at);
  if (nul == nullptr) return {};
  return std::string_view(begin, static_cast<const char*>(nul) - begin);
}

std::string GoPclnTable::name_at(uint32_t offset) const {
  std::string_view name = name_view(offset);
  return name.empty() ? "??" : std::string(name);
}

std::string GoPclnTable::file_name(const Func& f, int32_t file_index) const {
  // pcfile values index the function's compilation unit's slice of cutab,
  // whose uint32s are offsets into filetab (Go 1.16+, CL 241598); ^0 means
  // no file.
  if (file_index < 0) return "";
  const uint64_t at = cutab_.begin + (uint64_t{f.cu_offset} + static_cast<uint32_t>(file_index)) * 4;
  uint32_t offset = 0;
  if (at + 4 > cutab_.end || !load_u32(bytes_, at, &offset) || offset == UINT32_MAX) return "";
  const uint64_t name = filetab_.begin + offset;
  if (name >= filetab_.end) return "";
  const void* nul = std::memchr(bytes_.data() + name, '\0', filetab_.end - name);
  if (nul == nullptr) return "";
  return std::string(bytes_.data() + name, static_cast<const char*>(nul));
}

int32_t GoPclnTable::pc_value(uint32_t table, uint64_t entry, uint64_t target) const {
  // Offset 0 means "no table" (every real table starts after pctab's
  // first byte, which the linker keeps for that purpose).
  if (table == 0 || pctab_.begin + table >= pctab_.end) return -1;
  PcValueWalker walker(std::string_view(bytes_).substr(pctab_.begin + table,
                                                      pctab_.end - pctab_.begin - table),
                       entry, quantum_);
  while (walker.next()) {
    if (target < walker.end()) return walker.value();
  }
  return -1;
}

int32_t GoPclnTable::pcdata_value(const Func& f, uint32_t table_index, uint64_t target) const {
  uint32_t table = 0;
  if (table_index >= f.npcdata || !load_u32(bytes_, f.pcdata_at + 4 * table_index, &table)) {
    return -1;
  }
  return pc_value(table, f.entry, target);
}

uint64_t GoPclnTable::code_end(const Func& f, uint64_t next_entry) const {
  // The pcln table covers exactly the function's bytes (its last pc delta
  // reaches the symbol's size: cmd/internal/obj/pcln.go, funcpctab); the
  // next entry would also count the alignment padding after the code.
  if (f.pcln == 0 || pctab_.begin + f.pcln >= pctab_.end) return next_entry;
  PcValueWalker walker(std::string_view(bytes_).substr(pctab_.begin + f.pcln,
                                                      pctab_.end - pctab_.begin - f.pcln),
                       f.entry, quantum_);
  uint64_t end = f.entry;
  while (walker.next() && end < next_entry) end = walker.end();
  return end > f.entry ? std::min(end, next_entry) : next_entry;
}

const std::string* GoPclnTable::region_holding(uint64_t vaddr, uint64_t size,
                                               uint64_t* offset) const {
  auto holds = [&](uint64_t base, const std::string& bytes) {
    return vaddr >= base && fits(bytes, vaddr - base, size);
  };
  if (holds(section_vaddr_, bytes_)) {
    *offset = vaddr - section_vaddr_;
    return &bytes_;
  }
  for (const GoDataRegion& region : data_) {
    if (holds(region.vaddr, region.bytes)) {
      *offset = vaddr - region.vaddr;
      return &region.bytes;
    }
  }
  return nullptr;
}

std::optional<GoPclnTable::InlineTree> GoPclnTable::inline_tree(const Func& f) const {
  if (f.npcdata <= kPcdataInlTreeIndex || f.nfuncdata <= kFuncdataInlTree) return std::nullopt;
  uint64_t vaddr = 0;
  if (version_ == GoPclnVersion::kGo116) {
    // An absolute pointer; 0 when the function has no inline tree.
    if (!load_word(bytes_, f.funcdata_at + uint64_t{kFuncdataInlTree} * ptr_size_, ptr_size_,
                   &vaddr) ||
        vaddr == 0) {
      return std::nullopt;
    }
  } else {
    // An offset from moduledata.gofunc; ^0 when there is none.
    uint32_t offset = 0;
    if (!gofunc_ || !load_u32(bytes_, f.funcdata_at + 4 * kFuncdataInlTree, &offset) ||
        offset == UINT32_MAX) {
      return std::nullopt;
    }
    vaddr = *gofunc_ + offset;
  }
  InlineTree tree;
  tree.bytes = region_holding(vaddr, 1, &tree.offset);
  if (tree.bytes == nullptr) return std::nullopt;
  tree.vaddr = vaddr - tree.offset;
  return tree;
}

std::vector<SourceFrame> GoPclnTable::symbolize(uint64_t vaddr) {
  auto it = cache_.find(vaddr);
  if (it == cache_.end()) it = cache_.emplace(vaddr, resolve(vaddr)).first;
  return it->second;
}

std::vector<SourceFrame> GoPclnTable::resolve(uint64_t vaddr) const {
  std::optional<size_t> index = function_index(vaddr);
  if (!index) return {};
  std::optional<Func> f = read_func(*index);
  if (!f) return {};
  // Alignment padding after the code is in no function, as in DWARF.
  const uint64_t end = code_end(*f, entries_[*index + 1]);
  if (vaddr >= end) return {};
  std::optional<InlineTree> tree = inline_tree(*f);
  // runtime.inlinedCall. Go 1.16–1.19: parent int16, funcID u8, pad,
  // file, line, func_ (name offset), parentPc: 20 bytes. Go 1.20+: funcID
  // u8, 3 pad bytes, nameOff, parentPc, startLine: 16 bytes. Both name
  // offsets index funcnametab; parentPc is an offset from the entry.
  const bool go120 = version_ == GoPclnVersion::kGo120;
  const uint64_t entry_size = go120 ? 16 : 20;
  const uint64_t name_field = go120 ? 4 : 12;
  const uint64_t parent_pc_field = go120 ? 8 : 16;

  // The runtime's inline unwinder: the inline tree index at pc names the
  // innermost function; file:line come from the physical function's pcfile
  // and pcln at pc, which describe the innermost position. The caller's
  // position is the one at entry+parentPc, whose own index names the next
  // function out; index -1 is the physical function.
  std::vector<SourceFrame> frames;
  uint64_t pc = vaddr;
  for (int depth = 0;; ++depth) {
    SourceFrame frame;
    frame.file = file_name(*f, pc_value(f->pcfile, f->entry, pc));
    frame.line = std::max(pc_value(f->pcln, f->entry, pc), 0);
    const int32_t inline_index =
        tree && depth < kMaxInlineDepth ? pcdata_value(*f, kPcdataInlTreeIndex, pc) : -1;
    uint32_t name_offset = 0;
    uint32_t parent_pc = 0;
    const uint64_t at = tree ? tree->offset + static_cast<uint64_t>(inline_index) * entry_size : 0;
    if (inline_index < 0 || !fits(*tree->bytes, at, entry_size) ||
        !load_u32(*tree->bytes, at + name_field, &name_offset) ||
        !load_u32(*tree->bytes, at + parent_pc_field, &parent_pc) ||
        uint64_t{parent_pc} >= end - f->entry) {
      frame.function = name_at(f->name_offset);
      frames.push_back(std::move(frame));
      break;
    }
    frame.function = name_at(name_offset);
    frame.inlined = true;
    frames.push_back(std::move(frame));
    pc = f->entry + parent_pc;
  }
  return frames;
}

std::optional<uint64_t> GoPclnTable::function_entry(std::string_view name) {
  // Indices, not string_views, so that a moved table stays valid.
  auto name_of = [&](uint32_t i) { return name_view(name_offsets_[i]); };
  if (by_name_.empty()) {
    name_offsets_.assign(func_offsets_.size(), UINT32_MAX);
    for (size_t i = 0; i < func_offsets_.size(); ++i) {
      if (std::optional<Func> f = read_func(i)) name_offsets_[i] = f->name_offset;
      by_name_.push_back(static_cast<uint32_t>(i));
    }
    // Stable: of two functions with one name (damage), the first wins.
    std::stable_sort(by_name_.begin(), by_name_.end(),
                     [&](uint32_t a, uint32_t b) { return name_of(a) < name_of(b); });
  }
  if (name.empty()) return std::nullopt;
  auto it = std::lower_bound(by_name_.begin(), by_name_.end(), name,
                             [&](uint32_t i, std::string_view n) { return name_of(i) < n; });
  if (it == by_name_.end() || name_of(*it) != name) return std::nullopt;
  // Two functions share a name when one is an ABI wrapper (Go 1.17+,
  // regabi): an assembly function called from Go gets an ABIInternal
  // wrapper, a Go function called from assembly an ABI0 one. .symtab
  // tells them apart with a ".abi0" suffix; the table does not. The
  // wrapper is compiler-generated code at "<autogenerated>:1"; the body --
  // which every call reaches, so where a uprobe belongs -- is not.
  for (auto same = it; same != by_name_.end() && name_of(*same) == name; ++same) {
    std::optional<Func> f = read_func(*same);
    if (f && file_name(*f, pc_value(f->pcfile, f->entry, f->entry)) != "<autogenerated>") {
      return entries_[*same];
    }
  }
  return entries_[*it];
}

std::vector<FunctionInfo> GoPclnTable::functions() const {
  std::vector<FunctionInfo> out;
  out.reserve(func_offsets_.size());
  for (size_t i = 0; i < func_offsets_.size(); ++i) {
    std::optional<Func> f = read_func(i);
    out.push_back({f ? name_at(f->name_offset) : "??", entries_[i],
                   f ? code_end(*f, entries_[i + 1]) : entries_[i + 1]});
  }
  return out;
}

std::vector<uint64_t> GoPclnTable::line_row_addresses(uint64_t low, uint64_t high) const {
  std::vector<uint64_t> out;
  if (high < low || entries_.size() < 2) return out;
  size_t first = 0;
  if (std::optional<size_t> index = function_index(low)) {
    first = *index;
  } else {
    first = std::upper_bound(entries_.begin(), entries_.end() - 1, low) - entries_.begin();
  }
  for (size_t i = first; i + 1 < entries_.size() && entries_[i] <= high; ++i) {
    std::optional<Func> f = read_func(i);
    if (!f) continue;
    // A position is file and line: collect where either table's value
    // changes (a line table alone misses a call inlined from another file
    // at the same line number).
    for (uint32_t table : {f->pcfile, f->pcln}) {
      if (table == 0 || pctab_.begin + table >= pctab_.end) continue;
      PcValueWalker walker(std::string_view(bytes_).substr(pctab_.begin + table,
                                                          pctab_.end - pctab_.begin - table),
                           f->entry, quantum_);
      std::optional<int32_t> previous;
      const uint64_t end = code_end(*f, entries_[i + 1]);
      while (walker.next() && walker.start() < end) {
        if (walker.start() == walker.end()) continue;
        if (!previous || walker.value() != *previous) {
          if (walker.start() >= low && walker.start() <= high) out.push_back(walker.start());
        }
        previous = walker.value();
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace loophound::analyzer

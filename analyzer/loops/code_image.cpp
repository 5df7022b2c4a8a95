#include "analyzer/loops/code_image.h"

#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "analyzer/loops/go_noreturn.h"
#include "analyzer/symbolize/pclntab_symbolizer.h"

namespace loophound::analyzer {

CodeImage::~CodeImage() = default;

Result<std::unique_ptr<CodeImage>> CodeImage::open(const std::string& elf_path) {
  std::unique_ptr<CodeImage> image(new CodeImage());
  std::ifstream in(elf_path, std::ios::binary);
  if (!in) return make_error("'" + elf_path + "': cannot read");
  std::ostringstream contents;
  contents << in.rdbuf();
  image->file_ = contents.str();

  elf_version(EV_CURRENT);
  Elf* elf = elf_memory(image->file_.data(), image->file_.size());
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) {
    if (elf != nullptr) elf_end(elf);
    return make_error("'" + elf_path + "': not an ELF file");
  }
  size_t count = 0;
  if (elf_getphdrnum(elf, &count) == 0) {
    for (size_t i = 0; i < count; ++i) {
      GElf_Phdr phdr;
      if (gelf_getphdr(elf, static_cast<int>(i), &phdr) != nullptr && phdr.p_type == PT_LOAD)
        image->segments_.push_back({phdr.p_vaddr, phdr.p_offset, phdr.p_filesz});
    }
  }
  elf_end(elf);

  auto pclntab = PclntabSymbolizer::open(elf_path);
  if (!pclntab) return pclntab.error();
  for (const auto& f : (*pclntab)->table().functions()) {
    image->functions_.push_back(CodeFunction{f.name, f.entry, f.end});
    if (is_go_noreturn_function(f.name)) image->noreturn_.insert(f.entry);
  }
  std::sort(image->functions_.begin(), image->functions_.end(),
            [](const CodeFunction& a, const CodeFunction& b) { return a.entry < b.entry; });
  auto disassembler = Disassembler::create();
  if (!disassembler) return disassembler.error();
  image->disassembler_ = std::move(disassembler.value());
  return image;
}

const CodeFunction* CodeImage::function_at(uint64_t vaddr) const {
  auto it = std::upper_bound(functions_.begin(), functions_.end(), vaddr,
                             [](uint64_t v, const CodeFunction& f) { return v < f.entry; });
  if (it == functions_.begin()) return nullptr;
  --it;
  return vaddr < it->end ? &*it : nullptr;
}

const CodeFunction* CodeImage::function_named(const std::string& name) const {
  for (const auto& f : functions_)
    if (f.name == name) return &f;
  return nullptr;
}

std::optional<std::string> CodeImage::bytes(uint64_t vaddr, uint64_t size) const {
  for (const auto& s : segments_) {
    if (vaddr < s.vaddr || vaddr - s.vaddr >= s.file_size || size > s.file_size - (vaddr - s.vaddr)) continue;
    uint64_t offset = s.file_offset + (vaddr - s.vaddr);
    if (offset > file_.size() || size > file_.size() - offset) return std::nullopt;
    return file_.substr(offset, size);
  }
  return std::nullopt;
}

const FunctionLoops* CodeImage::loops_of(const CodeFunction& function) {
  auto found = analyzed_.find(function.entry);
  if (found != analyzed_.end()) return found->second.get();
  std::unique_ptr<FunctionLoops> result;
  // Bounded: a damaged table must not make us decode megabytes as one function.
  constexpr uint64_t kMaxFunctionBytes = 4u << 20;
  if (function.end > function.entry && function.end - function.entry <= kMaxFunctionBytes) {
    if (auto code = bytes(function.entry, function.end - function.entry)) {
      auto loops = analyze_function(*disassembler_, reinterpret_cast<const uint8_t*>(code->data()), code->size(),
                                    function.entry, noreturn_);
      if (loops) result = std::make_unique<FunctionLoops>(std::move(loops.value()));
    }
  }
  return analyzed_.emplace(function.entry, std::move(result)).first->second.get();
}

const CodeFunction* CodeImage::sole_callee(const CodeFunction& function) {
  const FunctionLoops* code = loops_of(function);
  if (code == nullptr) return nullptr;
  const CodeFunction* callee = nullptr;
  for (const auto& ins : code->instructions) {
    if (ins.kind != Instruction::kCall || ins.target == 0) continue;
    const CodeFunction* target = function_at(ins.target);
    // The stack-growth path and runtime helpers (a closure `func() { done
    // <- f() }` also calls runtime.chansend1) are not what the goroutine is.
    if (target == nullptr || target->name.rfind("runtime.", 0) == 0) continue;
    if (callee != nullptr && callee != target) return nullptr;
    callee = target;
  }
  return callee;
}

}  // namespace loophound::analyzer

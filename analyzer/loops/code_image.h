// CodeImage: the machine code and function list of one Go executable, for
// loop analysis and for seeing through compiler wrappers. Functions come
// from .gopclntab (present in every Go binary, stripped or not), code bytes
// from the PT_LOAD segments. Each function is disassembled and its loops
// found once, on first use.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/loops/function_loops.h"
#include "schema/result.h"

namespace loophound::analyzer {

class PclntabSymbolizer;

struct CodeFunction {
  std::string name;
  uint64_t entry = 0;  // file vaddr
  uint64_t end = 0;
};

class CodeImage {
 public:
  static Result<std::unique_ptr<CodeImage>> open(const std::string& elf_path);
  ~CodeImage();

  // The function whose code holds `vaddr`, or nullptr.
  const CodeFunction* function_at(uint64_t vaddr) const;
  // The function that starts at `entry`, or nullptr.
  const CodeFunction* function_named(const std::string& name) const;
  // Loops of the function (analyzed once); nullptr when it cannot be
  // decoded.
  const FunctionLoops* loops_of(const CodeFunction& function);
  // For a compiler-made wrapper (`go f(x)` starts `caller.gowrapN`, older
  // Go `caller.funcN`; method value and ABI wrappers alike): the one
  // function it calls directly, other than the stack-growth path. nullptr
  // when there is not exactly one.
  const CodeFunction* sole_callee(const CodeFunction& function);

 private:
  CodeImage() = default;
  std::optional<std::string> bytes(uint64_t vaddr, uint64_t size) const;

  std::vector<CodeFunction> functions_;  // sorted by entry
  struct Segment {
    uint64_t vaddr, file_offset, file_size;
  };
  std::vector<Segment> segments_;
  std::string file_;  // the whole ELF file
  NoReturnSet noreturn_;
  std::unique_ptr<Disassembler> disassembler_;
  std::map<uint64_t, std::unique_ptr<FunctionLoops>> analyzed_;  // by entry; null: undecodable
};

}  // namespace loophound::analyzer

// One decoded machine instruction, reduced to what loop analysis needs:
// where it is, how control leaves it, and whether it may write memory.
// Architecture-neutral: the disassembler fills it for any LLVM triple.
#pragma once

#include <cstdint>

namespace loophound::analyzer {

struct Instruction {
  enum Kind : uint8_t {
    kOther,          // falls through to the next instruction
    kJump,           // unconditional direct jump to `target`
    kCondJump,       // to `target` or falls through
    kCall,           // direct (`target` set) or indirect (`target` 0); returns here
    kReturn,
    kIndirectJump,   // jump through a register or memory (Go: switch jump tables)
    kTrap,           // ud2, int3 (Go's padding and "unreachable" marker), brk
    kInvalid,        // bytes the disassembler could not decode
  };

  uint64_t address = 0;
  uint32_t size = 0;
  Kind kind = kOther;
  // Destination of a direct jump, conditional jump or call; 0 when unknown.
  uint64_t target = 0;
  // LLVM's MCInstrDesc::mayStore: an explicit memory operand written, or an
  // implicit write such as push or rep stos. Calls are not counted here
  // (they are kCall); stack spills are.
  bool writes_memory = false;

  uint64_t end() const { return address + size; }
};

}  // namespace loophound::analyzer

// One decoded machine instruction, reduced to what loop analysis needs:
// where it is, how control leaves it, and whether it may write memory.
// Architecture-neutral: the disassembler fills it for any LLVM triple.
#pragma once

#include <cstdint>

namespace loophound::analyzer {

// Where a value an instruction reads or writes lives, for the exit-test
// analysis (see exit_conditions.h).
struct Operand {
  enum Kind : uint8_t {
    kNone,       // something else (heap memory, an indexed address, ...)
    kRegister,   // `number`: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 = 0-15 (the sample's register order)
    kStackSlot,  // memory at the stack pointer + `value`
    kImmediate,  // the constant `value`
  };
  Kind kind = kNone;
  uint8_t number = 0;
  int64_t value = 0;
};

// The data flow of the few x86-64 instruction forms that carry a loop's
// index and bound: compares, loads from stack slots, register copies and
// constant adds. Empty (kNone) for every other instruction and on other
// architectures; `writes` is filled for all.
struct DataFlow {
  enum Op : uint8_t {
    kNone,
    kCompare,   // flags from `a - b`, `width` bytes each
    kLoad,      // register `a` = stack slot `b` (`width` bytes, zero-extended)
    kCopy,      // register `a` = register `b`
    kAddConst,  // register `a` = register `b` + `add` (inc, dec, add/sub of a constant, lea)
  };
  Op op = kNone;
  uint8_t width = 0;
  // kCondJump: the x86 condition code (0 o, 1 no, 2 b, 3 ae, 4 e, 5 ne, 6 be,
  // 7 a, 8 s, 9 ns, 10 p, 11 np, 12 l, 13 ge, 14 le, 15 g); 0xff otherwise.
  uint8_t condition = 0xff;
  bool writes_flags = false;
  Operand a, b;
  int64_t add = 0;
  // Registers written, one bit per Operand number; a call clobbers all.
  uint16_t writes = 0;
};

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
  DataFlow flow;

  uint64_t end() const { return address + size; }
};

}  // namespace loophound::analyzer

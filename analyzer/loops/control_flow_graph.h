// Basic blocks of one function and the edges between them, built from the
// linear list of its decoded instructions.
//
// Block boundaries are chosen for loop finding, not for a compiler:
//  - A call does not end a block. It returns to the next instruction, so
//    for the question "which instructions repeat" it is straight-line code;
//    splitting would only add blocks. (Calls that never return are the
//    exception: see NoReturnSet.)
//  - Returns, traps, invalid bytes and calls to no-return functions end a
//    block with no successor.
//  - Indirect jumps (Go: jump tables of large switches) end a block whose
//    successors are unknown; the graph has none for it. Cycles that only
//    close through a jump table are therefore not found.
//  - A direct jump whose target lies outside the function (Go: the tail
//    calls of ABI wrappers and method-value trampolines) has no successor
//    here either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <unordered_set>
#include <vector>

#include "analyzer/loops/instruction.h"

namespace loophound::analyzer {

inline constexpr size_t kNoBlock = std::numeric_limits<size_t>::max();

// Entry addresses of functions that never return (see go_noreturn.h); a
// direct call to one ends its block with no successor.
using NoReturnSet = std::unordered_set<uint64_t>;

struct BasicBlock {
  uint64_t start = 0;  // address of the first instruction
  uint64_t end = 0;    // one past the last byte of the last instruction
  // Instructions [first_instruction, first_instruction + instruction_count)
  // of the vector the graph was built from.
  size_t first_instruction = 0;
  size_t instruction_count = 0;
  std::vector<size_t> successors;    // block indices, no duplicates
  std::vector<size_t> predecessors;  // block indices, no duplicates
  // Control may continue outside this function from here: a return, an
  // indirect jump, or a direct jump to an address outside the function.
  bool leaves_function = false;
};

class ControlFlowGraph {
 public:
  // `function_code` must be sorted by address and contiguous, as
  // Disassembler::decode returns it. `entry` is normally its first
  // address; when it is not an instruction start the graph has no entry
  // (entry() == kNoBlock) and no loops will be found.
  static ControlFlowGraph build(const std::vector<Instruction>& function_code, uint64_t entry,
                                const NoReturnSet& noreturn = {});

  const std::vector<BasicBlock>& blocks() const { return blocks_; }
  size_t entry() const { return entry_; }
  // Index of the block containing `address`, or kNoBlock.
  size_t block_at(uint64_t address) const;

 private:
  std::vector<BasicBlock> blocks_;  // sorted by address
  size_t entry_ = kNoBlock;
};

}  // namespace loophound::analyzer

// One call from a function's bytes to its loops: decode, build the
// control-flow graph, find natural loops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "analyzer/loops/control_flow_graph.h"
#include "analyzer/loops/disassembler.h"
#include "analyzer/loops/instruction.h"
#include "analyzer/loops/natural_loops.h"
#include "schema/result.h"

namespace loophound::analyzer {

struct FunctionLoops {
  uint64_t entry = 0;
  std::vector<Instruction> instructions;
  ControlFlowGraph graph;
  std::vector<Loop> loops;  // see find_loops
};

// `code` holds the function's `size` bytes, the first of which lives at
// `entry_address` (the symbol's value). Fails when nothing decodes at the
// entry. `noreturn` holds entry addresses of functions that never return
// (build it with is_go_noreturn_function over the binary's symbols);
// without it, panic calls fall through and may invent loops.
Result<FunctionLoops> analyze_function(const Disassembler& disassembler, const uint8_t* code,
                                       size_t size, uint64_t entry_address,
                                       const NoReturnSet& noreturn = {});

// Same with a per-thread Disassembler for kDefaultTriple (created on first use).
Result<FunctionLoops> analyze_function(const uint8_t* code, size_t size, uint64_t entry_address,
                                       const NoReturnSet& noreturn = {});

}  // namespace loophound::analyzer

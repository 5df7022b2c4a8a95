// The tests by which a loop can end, read from its machine code: for each
// conditional branch out of the loop, the compare before it as "the loop
// leaves when a REL b", with a and b traced back to where their values
// live across the loop (a register, a stack slot of the loop's frame, a
// constant). Samples then give those values over time: an index that
// advances toward its bound is a loop that will end (see
// detect/exit_progress.h); one that stands still or has no such test
// gives no such evidence.
//
// Left out on purpose: equality tests (`for x != 1` cannot be judged by
// distance), branches to panic paths (bounds checks: leaving through a
// panic is not the loop finishing), and compares whose operands come from
// the heap or from a call's result.
#pragma once

#include <cstdint>
#include <vector>

#include "analyzer/loops/function_loops.h"

namespace loophound::analyzer {

// A value as read at a sample: the register or stack slot (or constant),
// plus `add` (the compare may test i+1 where i is what is stored).
struct ValueSource {
  Operand place;
  int64_t add = 0;
};

struct ExitCondition {
  enum Relation : uint8_t { kLess, kLessEqual, kGreater, kGreaterEqual };
  uint64_t branch = 0;  // address of the conditional branch
  Relation relation = kLess;
  bool is_signed = false;
  uint8_t width = 8;  // bytes compared
  ValueSource a, b;   // the loop leaves when `a relation b`
};

const char* relation_name(ExitCondition::Relation relation);

// The exit tests of `code.loops[loop_index]` (x86-64 data flow; none on
// other architectures).
std::vector<ExitCondition> exit_conditions(const FunctionLoops& code, size_t loop_index);

}  // namespace loophound::analyzer

// Natural loops of a function: for every back edge t -> h (h dominates t)
// the loop is h plus every block that reaches t without passing h. Back
// edges to the same header are one loop (a Go `continue` or an if/else at
// the end of the body gives a header several latches; the source has one
// loop). Different headers are nested or disjoint.
//
// Irreducible cycles (entered at two places, so no block dominates the
// rest) have no back edge by this definition and are not reported. Go's
// structured control flow only produces them through goto, which is rare;
// a pc in such a cycle maps to its enclosing natural loop, or to none.
//
// What Go's compiler emits, and how it shows up here:
//  - Loop rotation: the condition is placed at the bottom (or, as in the
//    spin_compute sample, the loop is entered by a jump to the condition),
//    so the header block is often the condition, not the first body line.
//  - No preemption-check calls in loops: since Go 1.14 goroutines are
//    preempted asynchronously by signal, so a tight loop contains no call
//    at all (has_call false is normal for a spin).
//  - Every function with a stack check has a small cycle: the prologue's
//    `cmp sp, g.stackguard; jbe more` (two checks for big frames) and, at
//    the end of the function, `more: call runtime.morestack; jmp entry`.
//    It is a loop of the graph but not of the source (it runs once per
//    stack growth): Loop::stack_check_retry marks it.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "analyzer/loops/control_flow_graph.h"
#include "analyzer/loops/instruction.h"

namespace loophound::analyzer {

struct Loop {
  uint64_t header = 0;  // address of the header block
  // Address ranges [start, end) of the loop's blocks, nested loops
  // included; sorted, adjacent blocks merged.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  std::vector<size_t> blocks;  // block indices into the graph, sorted
  int depth = 1;    // 1 for an outermost loop
  int parent = -1;  // index of the enclosing loop in the same vector, or -1
  bool has_call = false;   // some body instruction is a call that returns
  bool has_store = false;  // some body instruction may write memory
  // An edge leaves the loop: a body block with a successor outside the
  // body, or one that returns, jumps indirectly or jumps out of the
  // function. false means the machine code cannot leave the loop except
  // by a panic, a signal or a trap.
  bool has_exit = false;
  // The prologue's stack-growth retry (see above). Not a source loop.
  bool stack_check_retry = false;

  bool contains(uint64_t address) const;
};

// Loops sorted by header address; parent indices refer to this order.
std::vector<Loop> find_loops(const ControlFlowGraph& graph,
                             const std::vector<Instruction>& function_code);

// Index of the innermost loop containing `address`, or -1. Skips
// stack_check_retry loops: a pc in the prologue is not inside a loop.
int innermost_loop_at(const std::vector<Loop>& loops, uint64_t address);

}  // namespace loophound::analyzer

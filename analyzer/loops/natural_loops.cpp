#include "analyzer/loops/natural_loops.h"

#include <algorithm>
#include <map>

#include "analyzer/loops/dominators.h"

namespace loophound::analyzer {
namespace {

const Instruction& last_instruction(const BasicBlock& block, const std::vector<Instruction>& code) {
  return code[block.first_instruction + block.instruction_count - 1];
}

// Blocks that reach one of `latches` without passing `header`, plus the
// header. Only reachable predecessors count: an unreachable block that
// jumps into the body is not dominated by the header.
std::vector<bool> loop_body(const ControlFlowGraph& graph, const DominatorTree& dom, size_t header,
                            const std::vector<size_t>& latches) {
  std::vector<bool> in_body(graph.blocks().size(), false);
  in_body[header] = true;
  std::vector<size_t> work(latches.begin(), latches.end());
  while (!work.empty()) {
    size_t block = work.back();
    work.pop_back();
    if (in_body[block]) continue;
    in_body[block] = true;
    for (size_t p : graph.blocks()[block].predecessors) {
      if (!in_body[p] && dom.reachable(p)) work.push_back(p);
    }
  }
  return in_body;
}

// Go's prologue: entry `cmp sp, stackguard; jbe more`, and `more:` (after
// the body) spills the register arguments, calls runtime.morestack and
// jumps back to the entry. Functions with frames larger than StackBig
// check twice (`mov r12, sp; sub r12, $frame; jb more; cmp r12,
// stackguard; jbe more`), so the cycle is the chain of checks plus `more`.
// Recognised by shape alone (no symbol names), which also fits arm64
// (`bls more` ... `bl runtime.morestack; b entry`): exactly one block
// jumps back to the entry and calls something, and every other block of
// the cycle is a check that branches forward to it.
bool is_stack_check_retry(const ControlFlowGraph& graph, const std::vector<Instruction>& code,
                          const Loop& loop, size_t header) {
  if (header != graph.entry() || !loop.has_call) return false;
  const std::vector<BasicBlock>& blocks = graph.blocks();
  // Body blocks are sorted by address and `more` comes after the checks.
  const BasicBlock& more = blocks[loop.blocks.back()];
  const Instruction& back = last_instruction(more, code);
  if (loop.blocks.back() == header || back.kind != Instruction::kJump || back.target != blocks[header].start) {
    return false;
  }
  for (size_t i = 0; i + 1 < loop.blocks.size(); ++i) {
    const Instruction& check = last_instruction(blocks[loop.blocks[i]], code);
    if (check.kind != Instruction::kCondJump || check.target != more.start) return false;
  }
  // The checks hold no calls: the one call is morestack's, in `more`.
  for (size_t i = 0; i + 1 < loop.blocks.size(); ++i) {
    const BasicBlock& b = blocks[loop.blocks[i]];
    for (size_t k = b.first_instruction; k < b.first_instruction + b.instruction_count; ++k) {
      if (code[k].kind == Instruction::kCall) return false;
    }
  }
  return true;
}

Loop describe_loop(const ControlFlowGraph& graph, const std::vector<Instruction>& code,
                   size_t header, const std::vector<bool>& in_body) {
  const std::vector<BasicBlock>& blocks = graph.blocks();
  Loop loop;
  loop.header = blocks[header].start;
  for (size_t b = 0; b < blocks.size(); ++b) {
    if (!in_body[b]) continue;
    const BasicBlock& block = blocks[b];
    loop.blocks.push_back(b);
    if (!loop.ranges.empty() && loop.ranges.back().second == block.start) {
      loop.ranges.back().second = block.end;
    } else {
      loop.ranges.emplace_back(block.start, block.end);
    }
    for (size_t i = block.first_instruction; i < block.first_instruction + block.instruction_count; ++i) {
      loop.has_call |= code[i].kind == Instruction::kCall;
      loop.has_store |= code[i].writes_memory;
    }
    loop.has_exit |= block.leaves_function;
    for (size_t s : block.successors) loop.has_exit |= !in_body[s];
  }
  loop.stack_check_retry = is_stack_check_retry(graph, code, loop, header);
  return loop;
}

}  // namespace

bool Loop::contains(uint64_t address) const {
  for (const auto& [start, end] : ranges) {
    if (address >= start && address < end) return true;
  }
  return false;
}

std::vector<Loop> find_loops(const ControlFlowGraph& graph, const std::vector<Instruction>& code) {
  if (graph.entry() == kNoBlock) return {};
  DominatorTree dom(graph);

  // Back edges grouped by header (std::map: headers in block order, which
  // is address order, so the result needs no sort).
  std::map<size_t, std::vector<size_t>> latches;
  for (size_t b : dom.reverse_postorder()) {
    for (size_t s : graph.blocks()[b].successors) {
      if (dom.dominates(s, b)) latches[s].push_back(b);
    }
  }

  std::vector<Loop> loops;
  std::vector<std::vector<bool>> bodies;
  for (const auto& [header, tails] : latches) {
    bodies.push_back(loop_body(graph, dom, header, tails));
    loops.push_back(describe_loop(graph, code, header, bodies.back()));
  }

  // Natural loops with different headers are disjoint or nested, so the
  // parent is the smallest other loop whose body holds this header.
  for (size_t i = 0; i < loops.size(); ++i) {
    size_t header_block = graph.block_at(loops[i].header);
    for (size_t j = 0; j < loops.size(); ++j) {
      if (j == i || !bodies[j][header_block]) continue;
      int& parent = loops[i].parent;
      if (parent < 0 || loops[j].blocks.size() < loops[static_cast<size_t>(parent)].blocks.size()) {
        parent = static_cast<int>(j);
      }
    }
  }
  for (Loop& loop : loops) {
    loop.depth = 1;
    for (int p = loop.parent; p >= 0; p = loops[static_cast<size_t>(p)].parent) ++loop.depth;
  }
  return loops;
}

int innermost_loop_at(const std::vector<Loop>& loops, uint64_t address) {
  int best = -1;
  for (size_t i = 0; i < loops.size(); ++i) {
    const Loop& loop = loops[i];
    if (loop.stack_check_retry || !loop.contains(address)) continue;
    if (best < 0 || loop.depth > loops[static_cast<size_t>(best)].depth) best = static_cast<int>(i);
  }
  return best;
}

}  // namespace loophound::analyzer

#include "analyzer/loops/control_flow_graph.h"

#include <algorithm>

namespace loophound::analyzer {
namespace {

// Index of the instruction starting exactly at `address`, or nullopt (also
// for an address inside an instruction: Go never jumps there, and
// following such a jump would mean a second, overlapping decoding).
std::optional<size_t> instruction_at(const std::vector<Instruction>& code, uint64_t address) {
  auto it = std::lower_bound(code.begin(), code.end(), address,
                             [](const Instruction& i, uint64_t a) { return i.address < a; });
  if (it == code.end() || it->address != address) return std::nullopt;
  return static_cast<size_t>(it - code.begin());
}

bool is_noreturn_call(const Instruction& i, const NoReturnSet& noreturn) {
  return i.kind == Instruction::kCall && i.target != 0 && noreturn.contains(i.target);
}

// Does control never fall through to the next instruction?
bool ends_block(const Instruction& i, const NoReturnSet& noreturn) {
  switch (i.kind) {
    case Instruction::kOther:
      return false;
    case Instruction::kCall:
      return is_noreturn_call(i, noreturn);
    default:
      return true;
  }
}

void add_edge(std::vector<BasicBlock>& blocks, size_t from, size_t to) {
  std::vector<size_t>& out = blocks[from].successors;
  if (std::find(out.begin(), out.end(), to) != out.end()) return;
  out.push_back(to);
  blocks[to].predecessors.push_back(from);
}

}  // namespace

size_t ControlFlowGraph::block_at(uint64_t address) const {
  auto it = std::upper_bound(blocks_.begin(), blocks_.end(), address,
                             [](uint64_t a, const BasicBlock& b) { return a < b.start; });
  if (it == blocks_.begin()) return kNoBlock;
  --it;
  return address < it->end ? static_cast<size_t>(it - blocks_.begin()) : kNoBlock;
}

ControlFlowGraph ControlFlowGraph::build(const std::vector<Instruction>& code, uint64_t entry,
                                         const NoReturnSet& noreturn) {
  ControlFlowGraph graph;
  if (code.empty()) return graph;

  // Leaders: the first instruction, the entry, every in-function target of
  // a direct jump, and every instruction after one that ends a block.
  std::vector<bool> leader(code.size(), false);
  leader[0] = true;
  if (std::optional<size_t> e = instruction_at(code, entry)) leader[*e] = true;
  for (size_t i = 0; i < code.size(); ++i) {
    const Instruction& inst = code[i];
    if (inst.kind == Instruction::kJump || inst.kind == Instruction::kCondJump) {
      if (std::optional<size_t> t = instruction_at(code, inst.target)) leader[*t] = true;
    }
    if (ends_block(inst, noreturn) && i + 1 < code.size()) leader[i + 1] = true;
  }

  for (size_t i = 0; i < code.size(); ++i) {
    if (leader[i]) {
      BasicBlock block;
      block.start = code[i].address;
      block.first_instruction = i;
      graph.blocks_.push_back(block);
    }
    BasicBlock& block = graph.blocks_.back();
    block.end = code[i].end();
    ++block.instruction_count;
  }

  std::vector<BasicBlock>& blocks = graph.blocks_;
  for (size_t b = 0; b < blocks.size(); ++b) {
    const Instruction& last = code[blocks[b].first_instruction + blocks[b].instruction_count - 1];
    bool falls_through = !ends_block(last, noreturn) || last.kind == Instruction::kCondJump;
    if (last.kind == Instruction::kJump || last.kind == Instruction::kCondJump) {
      std::optional<size_t> t = instruction_at(code, last.target);
      size_t target_block = t ? graph.block_at(code[*t].address) : kNoBlock;
      if (target_block != kNoBlock) {
        add_edge(blocks, b, target_block);
      } else {
        blocks[b].leaves_function = true;
      }
    }
    if (last.kind == Instruction::kReturn || last.kind == Instruction::kIndirectJump) {
      blocks[b].leaves_function = true;
    }
    if (falls_through) {
      if (b + 1 < blocks.size()) {
        add_edge(blocks, b, b + 1);
      } else {
        // Falls off the end of the decoded bytes: into the next function.
        blocks[b].leaves_function = true;
      }
    }
  }

  if (std::optional<size_t> e = instruction_at(code, entry)) graph.entry_ = graph.block_at(code[*e].address);
  return graph;
}

}  // namespace loophound::analyzer

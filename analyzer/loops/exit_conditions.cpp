#include "analyzer/loops/exit_conditions.h"

#include <optional>
#include <set>

namespace loophound::analyzer {
namespace {

// How far back a value is traced (instructions over all blocks walked):
// the loop's own code, not the whole function.
constexpr int kMaxTraceSteps = 400;

struct Context {
  const FunctionLoops& code;
  std::vector<bool> in_loop;  // by block index
};

bool same(const ValueSource& x, const ValueSource& y) {
  return x.place.kind == y.place.kind && x.place.number == y.place.number && x.place.value == y.place.value &&
         x.add == y.add;
}

// Where the value of register `reg` (+ add) at instruction `end` of
// `block` comes from, following the loop's own path backward: a load from
// a stack slot, a constant add or copy on the way, and -- when the walk
// comes around the loop to a block it passed -- the register itself,
// which then carries the value through the loop (an induction register).
std::optional<ValueSource> trace_register(const Context& c, int reg, int64_t add, size_t block, size_t end,
                                          std::set<size_t> path, int* steps, int original_reg) {
  const auto& blocks = c.code.graph.blocks();
  const auto& code = c.code.instructions;
  for (size_t i = end; i > blocks[block].first_instruction;) {
    --i;
    if (++*steps > kMaxTraceSteps) return std::nullopt;
    const DataFlow& f = code[i].flow;
    if (!(f.writes & (1u << reg))) continue;
    if (f.a.kind != Operand::kRegister || f.a.number != reg) return std::nullopt;
    switch (f.op) {
      case DataFlow::kLoad:
        return ValueSource{f.b, add};
      case DataFlow::kCopy:
        reg = f.b.number;
        continue;
      case DataFlow::kAddConst:
        add += f.add;
        reg = f.b.number;
        continue;
      default:
        return std::nullopt;  // computed here (arithmetic, a call's result)
    }
  }
  path.insert(block);
  std::optional<ValueSource> result;
  bool any = false;
  for (size_t p : blocks[block].predecessors) {
    if (!c.in_loop[p]) continue;
    std::optional<ValueSource> from;
    if (path.count(p)) {
      // Around the loop back to the same register, through nothing but
      // copies and constant adds (Go 1.19: `lea si, [dx+1]; mov dx, si`):
      // an induction register.
      if (reg != original_reg) return std::nullopt;
      Operand r;
      r.kind = Operand::kRegister;
      r.number = static_cast<uint8_t>(reg);
      from = ValueSource{r, 0};
    } else {
      const BasicBlock& pb = blocks[p];
      from = trace_register(c, reg, add, p, pb.first_instruction + pb.instruction_count, path, steps, original_reg);
    }
    if (!from) return std::nullopt;
    if (any && !same(*from, *result)) {
      // An induction register reached with different adds on different
      // paths is still that register.
      if (from->place.kind == Operand::kRegister && result->place.kind == Operand::kRegister &&
          from->place.number == result->place.number)
        result->add = 0;
      else
        return std::nullopt;
    }
    if (!any) result = from;
    any = true;
  }
  return result;
}

std::optional<ValueSource> trace(const Context& c, const Operand& op, size_t block, size_t at) {
  if (op.kind == Operand::kImmediate || op.kind == Operand::kStackSlot) return ValueSource{op, 0};
  if (op.kind != Operand::kRegister) return std::nullopt;
  int steps = 0;
  return trace_register(c, op.number, 0, block, at, {}, &steps, op.number);
}

// A block that leads only to a panic: no successors, does not return (a
// call to a no-return function or a trap ends it), possibly after a few
// unconditional hops.
bool is_panic_path(const ControlFlowGraph& graph, size_t block) {
  for (int hops = 0; hops < 4 && block != kNoBlock; ++hops) {
    const BasicBlock& b = graph.blocks()[block];
    if (b.leaves_function) return false;
    if (b.successors.empty()) return true;
    if (b.successors.size() != 1) return false;
    block = b.successors[0];
  }
  return false;
}

std::optional<ExitCondition::Relation> relation_of(uint8_t condition, bool* is_signed) {
  switch (condition) {
    case 2: *is_signed = false; return ExitCondition::kLess;          // b
    case 3: *is_signed = false; return ExitCondition::kGreaterEqual;  // ae
    case 6: *is_signed = false; return ExitCondition::kLessEqual;     // be
    case 7: *is_signed = false; return ExitCondition::kGreater;       // a
    case 12: *is_signed = true; return ExitCondition::kLess;          // l
    case 13: *is_signed = true; return ExitCondition::kGreaterEqual;  // ge
    case 14: *is_signed = true; return ExitCondition::kLessEqual;     // le
    case 15: *is_signed = true; return ExitCondition::kGreater;       // g
    default: return std::nullopt;  // equality, sign, overflow, parity
  }
}

ExitCondition::Relation negate(ExitCondition::Relation r) {
  switch (r) {
    case ExitCondition::kLess: return ExitCondition::kGreaterEqual;
    case ExitCondition::kLessEqual: return ExitCondition::kGreater;
    case ExitCondition::kGreater: return ExitCondition::kLessEqual;
    case ExitCondition::kGreaterEqual: return ExitCondition::kLess;
  }
  return r;
}

}  // namespace

const char* relation_name(ExitCondition::Relation relation) {
  switch (relation) {
    case ExitCondition::kLess: return "<";
    case ExitCondition::kLessEqual: return "<=";
    case ExitCondition::kGreater: return ">";
    case ExitCondition::kGreaterEqual: return ">=";
  }
  return "?";
}

std::vector<ExitCondition> exit_conditions(const FunctionLoops& code, size_t loop_index) {
  std::vector<ExitCondition> out;
  if (loop_index >= code.loops.size()) return out;
  const Loop& loop = code.loops[loop_index];
  const ControlFlowGraph& graph = code.graph;
  Context c{code, std::vector<bool>(graph.blocks().size(), false)};
  for (size_t b : loop.blocks) c.in_loop[b] = true;
  for (size_t b : loop.blocks) {
    const BasicBlock& block = graph.blocks()[b];
    if (block.instruction_count == 0) continue;
    const size_t last = block.first_instruction + block.instruction_count - 1;
    const Instruction& jump = code.instructions[last];
    if (jump.kind != Instruction::kCondJump) continue;
    const size_t taken = graph.block_at(jump.target), fallthrough = graph.block_at(jump.end());
    const bool taken_out = taken == kNoBlock || !c.in_loop[taken];
    const bool fall_out = fallthrough == kNoBlock || !c.in_loop[fallthrough];
    if (taken_out == fall_out) continue;
    const size_t exit_block = taken_out ? taken : fallthrough;
    if (exit_block == kNoBlock || is_panic_path(graph, exit_block)) continue;
    // The compare that set the flags: the nearest flag writer before the
    // branch, in the same block.
    size_t compare = last;
    while (compare > block.first_instruction && !code.instructions[compare - 1].flow.writes_flags) --compare;
    if (compare == block.first_instruction) continue;
    --compare;
    const DataFlow& f = code.instructions[compare].flow;
    if (f.op != DataFlow::kCompare) continue;
    bool is_signed = false;
    auto relation = relation_of(jump.flow.condition, &is_signed);
    if (!relation) continue;
    if (!taken_out) relation = negate(*relation);
    auto a = trace(c, f.a, b, compare), bb = trace(c, f.b, b, compare);
    if (!a || !bb) continue;
    if (a->place.kind == Operand::kImmediate && bb->place.kind == Operand::kImmediate) continue;
    out.push_back(ExitCondition{jump.address, *relation, is_signed, f.width, *a, *bb});
  }
  return out;
}

}  // namespace loophound::analyzer

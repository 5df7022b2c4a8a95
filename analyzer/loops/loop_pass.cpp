#include "analyzer/loops/loop_pass.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "analyzer/loops/code_image.h"
#include "analyzer/loops/exit_conditions.h"

namespace loophound::analyzer {
namespace {

// Source of a loop. Its code can mix inline levels (a loop whose
// condition calls an inlined helper, a loop inlined from a callee), so the
// loop belongs to the deepest source function that every row of its code
// is inside: frames are compared from the outermost in, and the last level
// they all share names the function; that level's lines are the loop's
// (for inlined calls, the line of the call in that function).
struct LoopLines {
  std::string function, file;
  int header = 0, first = 0, last = 0;
};

// Addresses of the jumps that close the loop: the last instruction of
// each body block with an edge back to the header.
std::vector<uint64_t> latch_jumps(const Loop& loop, const FunctionLoops& code) {
  std::vector<uint64_t> out;
  const auto& blocks = code.graph.blocks();
  const size_t header = code.graph.block_at(loop.header);
  for (size_t b : loop.blocks) {
    const BasicBlock& block = blocks[b];
    if (block.instruction_count == 0) continue;
    if (std::find(block.successors.begin(), block.successors.end(), header) != block.successors.end())
      out.push_back(code.instructions[block.first_instruction + block.instruction_count - 1].address);
  }
  return out;
}

LoopLines loop_lines(const Loop& loop, const FunctionLoops& code, ExecutableView& exe) {
  LoopLines out;
  std::vector<std::vector<SourceFrame>> rows;  // outermost first
  auto frames_at = [&](uint64_t vaddr) {
    auto frames = exe.symbolize_vaddr(vaddr);
    std::reverse(frames.begin(), frames.end());
    return frames;
  };
  auto add = [&](uint64_t vaddr) {
    auto frames = frames_at(vaddr);
    if (!frames.empty()) rows.push_back(std::move(frames));
  };
  add(loop.header);
  for (const auto& [start, end] : loop.ranges) {
    if (end <= start) continue;
    add(start);
    for (uint64_t vaddr : exe.line_rows(start, end - 1)) add(vaddr);
  }
  if (rows.empty()) return out;
  size_t common = rows.front().size();
  for (const auto& r : rows) {
    size_t k = 0;
    while (k < common && k < r.size() && r[k].function == rows.front()[k].function) ++k;
    common = k;
  }
  if (common == 0) return out;
  // An inlined callee's code may carry the position of its call in the
  // caller (Go 1.19 gives the load of an inlined `for !*p {}` the line of
  // the call): when the jumps that close the loop are in the callee, rows
  // one level short that sit on the call's line are part of the call.
  const std::vector<uint64_t> latches = latch_jumps(loop, code);
  while (!latches.empty()) {
    const std::vector<SourceFrame>* inlined = nullptr;
    bool fits = true;
    for (const auto& r : rows) {
      if (r.size() <= common) continue;
      if (inlined == nullptr) inlined = &r;
      else if (r[common].function != (*inlined)[common].function || r[common - 1].line != (*inlined)[common - 1].line)
        fits = false;
    }
    if (inlined == nullptr || !fits) break;
    for (const auto& r : rows)
      if (r.size() == common && (r[common - 1].line != (*inlined)[common - 1].line ||
                                 r[common - 1].file != (*inlined)[common - 1].file))
        fits = false;
    for (uint64_t latch : latches) {
      auto f = frames_at(latch);
      fits = fits && f.size() > common && f[common].function == (*inlined)[common].function;
    }
    if (!fits) break;
    ++common;
  }
  const size_t level = common - 1;
  const SourceFrame* header = nullptr;
  for (const auto& r : rows)
    if (r.size() > level) {
      header = &r[level];
      break;
    }
  out.function = header->function;
  out.file = header->file;
  out.header = out.first = out.last = header->line;
  for (const auto& r : rows) {
    if (r.size() <= level) continue;  // the call's own rows (see above)
    const SourceFrame& f = r[level];
    // Line 1 is never a loop's (it is the package clause); Go's compiler
    // gives it to some jumps it makes (an endless loop's `jmp`).
    if (f.file != out.file || f.line <= 1) continue;
    out.first = out.first <= 0 ? f.line : std::min(out.first, f.line);
    out.last = std::max(out.last, f.line);
  }
  return out;
}

// `for {` (no condition) and `for range ch` lines often hold no machine
// code, so the line table never names them and the loop's lines start
// below its `for`. When the source file is readable (analysis next to the
// source tree), the `for` statement just above the first line is taken in.
int for_statement_above(const std::string& file, int first_line) {
  if (first_line <= 1) return first_line;
  std::ifstream in(file);
  if (!in) return first_line;
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l) && static_cast<int>(lines.size()) < first_line;) lines.push_back(l);
  if (static_cast<int>(lines.size()) < first_line) return first_line;
  for (int n = first_line - 1; n >= 1 && n >= first_line - 3; --n) {
    std::string text = lines[static_cast<size_t>(n - 1)];
    text.erase(0, text.find_first_not_of(" \t"));
    if (text.empty() || text.rfind("//", 0) == 0) continue;
    if (text.rfind("for ", 0) == 0 || text.rfind("for{", 0) == 0) return n;
    break;  // other code: the loop starts where the line table says
  }
  return first_line;
}

bool is_wrapper_name(const std::string& name) {
  // caller.gowrapN (Go >= 1.22) or caller.funcN (closures; the wrappers of
  // older Go). A closure that calls exactly one function is named by it
  // too: what the goroutine really runs.
  auto dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string last = name.substr(dot + 1);
  for (const char* prefix : {"gowrap", "func"}) {
    std::string p = prefix;
    if (last.size() > p.size() && last.compare(0, p.size(), p) == 0 &&
        last.find_first_not_of("0123456789", p.size()) == std::string::npos)
      return true;
  }
  return false;
}

Status name_wrapped_starts(Database& db, ExecutableView& exe, CodeImage& image) {
  auto st = db.prepare("SELECT goid, start_pc FROM goroutine WHERE start_pc > 0");
  if (!st) return st.error();
  std::vector<std::pair<int64_t, uint64_t>> starts;
  Status st_read = st->each_row([&] {
    starts.emplace_back(st->int64(0), static_cast<uint64_t>(st->int64(1)));
  });
  if (!st_read) return st_read.error();
  auto update = db.prepare("UPDATE goroutine SET start_function = ? WHERE goid = ?");
  if (!update) return update.error();
  for (auto [goid, pc] : starts) {
    auto vaddr = exe.to_file_vaddr(pc);
    if (!vaddr) continue;
    const CodeFunction* f = image.function_at(*vaddr);
    std::string name;
    // Wrappers may wrap wrappers (a method value inside `go`): follow a few.
    for (int hops = 0; f != nullptr && is_wrapper_name(f->name) && hops < 3; ++hops) {
      // A gowrap wrapper may have inlined the function it starts: then that
      // is the function inlined directly into it (a call inside it would be
      // the started function's own callee). Not for closures (funcN): their
      // body is the user's own code, whose inlined calls are not what runs.
      if (const FunctionLoops* code = f->name.find(".gowrap") != std::string::npos ? image.loops_of(*f) : nullptr)
        for (const auto& ins : code->instructions) {
          auto frames = exe.symbolize_vaddr(ins.address);
          if (frames.size() >= 2 && frames[frames.size() - 2].function != f->name) {
            name = frames[frames.size() - 2].function;
            break;
          }
        }
      if (!name.empty()) break;
      const CodeFunction* callee = image.sole_callee(*f);
      if (callee == nullptr) break;
      f = callee;
    }
    if (name.empty() && f != nullptr && !is_wrapper_name(f->name)) name = f->name;
    if (!name.empty())
      if (auto s = update->bind(1, name).bind(2, goid).run(); !s) return s;
  }
  return ok_status();
}

}  // namespace

Result<LoopPassSummary> find_sampled_loops(Database& db, ExecutableView& exe) {
  LoopPassSummary summary;
  auto image = CodeImage::open(exe.binary_path());
  if (!image) return image.error();

  // Stack pcs, and for samples taken on g0 for a goroutine (the scheduler
  // running on its behalf: Gosched, a park) the place it left its own code.
  auto pcs = db.prepare(
      "SELECT DISTINCT p.pc FROM (SELECT pc FROM stack_frame UNION SELECT sched_pc - 1 FROM sample "
      "WHERE on_system_stack = 1 AND sched_pc > 0 AND goid != 0) p "
      "JOIN frame f ON f.pc = p.pc AND f.inline_depth = 0 WHERE f.module = ? ORDER BY p.pc");
  if (!pcs) return pcs.error();
  pcs->bind(1, exe.module());
  std::vector<uint64_t> sampled;
  Status pcs_read = pcs->each_row([&] {
    sampled.push_back(static_cast<uint64_t>(pcs->int64(0)));
  });
  if (!pcs_read) return pcs_read.error();

  auto insert_loop = db.prepare(
      "INSERT INTO loop (id, function, file, header_line, first_line, last_line, header_pc, machine_function, depth, "
      "parent_id, has_call, has_store, has_exit, callees) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  auto insert_pc = db.prepare("INSERT INTO loop_pc (pc, loop_id) VALUES (?, ?)");
  auto insert_exit = db.prepare(
      "INSERT INTO loop_exit (loop_id, branch_pc, relation, signed, width, lhs_kind, lhs_value, lhs_add, rhs_kind, "
      "rhs_value, rhs_add) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!insert_loop) return insert_loop.error();
  if (!insert_pc) return insert_pc.error();
  if (!insert_exit) return insert_exit.error();
  auto kind_name = [](const Operand& o) {
    return o.kind == Operand::kRegister ? "register" : o.kind == Operand::kStackSlot ? "stack" : "constant";
  };
  auto value_of = [](const Operand& o) {
    return o.kind == Operand::kRegister ? static_cast<int64_t>(o.number) : o.value;
  };

  // (function entry, loop index) -> loop.id; parents get ids too so the
  // nesting survives into the table.
  std::map<std::pair<uint64_t, int>, int64_t> ids;
  std::set<uint64_t> analyzed;
  std::function<Result<int64_t>(const CodeFunction&, const FunctionLoops&, int, int64_t)> loop_id;
  loop_id = [&](const CodeFunction& function, const FunctionLoops& code, int index, int64_t bias) -> Result<int64_t> {
    auto key = std::make_pair(function.entry, index);
    if (auto it = ids.find(key); it != ids.end()) return it->second;
    const Loop& loop = code.loops[static_cast<size_t>(index)];
    std::optional<int64_t> parent;
    if (loop.parent >= 0) {
      auto p = loop_id(function, code, loop.parent, bias);
      if (!p) return p.error();
      parent = *p;
    }
    int64_t id = static_cast<int64_t>(ids.size()) + 1;
    ids[key] = id;
    LoopLines lines = loop_lines(loop, code, exe);
    lines.first = for_statement_above(lines.file, lines.first);
    auto& st = insert_loop->bind(1, id).bind(2, lines.function.empty() ? function.name : lines.function)
                   .bind(3, lines.file).bind(4, lines.header).bind(5, lines.first).bind(6, lines.last)
                   .bind(7, static_cast<int64_t>(loop.header) + bias).bind(8, function.name).bind(9, loop.depth);
    if (parent) st.bind(10, *parent);
    // Direct callees of the body: ",time.Sleep,runtime.chansend1,"
    std::set<std::string> called;
    for (const auto& ins : code.instructions)
      if (ins.kind == Instruction::kCall && ins.target != 0 && loop.contains(ins.address))
        if (const CodeFunction* callee = (*image)->function_at(ins.target)) called.insert(callee->name);
    std::string callees = ",";
    for (const auto& c : called) callees += c + ",";
    if (auto s = st.bind(11, loop.has_call ? 1 : 0).bind(12, loop.has_store ? 1 : 0).bind(13, loop.has_exit ? 1 : 0)
                     .bind(14, callees).run();
        !s)
      return s.error();
    for (const ExitCondition& e : exit_conditions(code, static_cast<size_t>(index))) {
      auto& x = insert_exit->bind(1, id).bind(2, static_cast<int64_t>(e.branch) + bias)
                    .bind(3, std::string(relation_name(e.relation))).bind(4, e.is_signed ? 1 : 0)
                    .bind(5, static_cast<int>(e.width)).bind(6, std::string(kind_name(e.a.place)))
                    .bind(7, value_of(e.a.place)).bind(8, e.a.add).bind(9, std::string(kind_name(e.b.place)))
                    .bind(10, value_of(e.b.place)).bind(11, e.b.add);
      if (auto s = x.run(); !s) return s.error();
    }
    ++summary.loops;
    return id;
  };

  for (uint64_t pc : sampled) {
    auto vaddr = exe.to_file_vaddr(pc);
    if (!vaddr) continue;
    const CodeFunction* function = (*image)->function_at(*vaddr);
    if (function == nullptr) continue;
    const FunctionLoops* code = (*image)->loops_of(*function);
    if (code == nullptr) continue;
    if (analyzed.insert(function->entry).second) ++summary.functions;
    int index = innermost_loop_at(code->loops, *vaddr);
    if (index < 0) continue;
    auto id = loop_id(*function, *code, index, static_cast<int64_t>(pc) - static_cast<int64_t>(*vaddr));
    if (!id) return id.error();
    if (auto s = insert_pc->bind(1, pc).bind(2, *id).run(); !s) return s.error();
  }
  if (auto s = db.exec(
          "INSERT INTO loop_sample (sample_id, position, loop_id, address) "
          "SELECT s.id, sf.position, lp.loop_id, sf.address FROM sample s "
          "JOIN stack_frame sf ON sf.stack_id = s.stack_id JOIN loop_pc lp ON lp.pc = sf.pc");
      !s)
    return s.error();
  // A g0 sample's own stack is the scheduler's; the goroutine it ran for is
  // in the loop it left from, one position past the recorded stack.
  if (auto s = db.exec(
          "INSERT INTO loop_sample (sample_id, position, loop_id, address) "
          "SELECT s.id, st.depth, lp.loop_id, s.sched_pc FROM sample s JOIN stack st ON st.id = s.stack_id "
          "JOIN loop_pc lp ON lp.pc = s.sched_pc - 1 WHERE s.on_system_stack = 1 AND s.goid != 0");
      !s)
    return s.error();
  // Frameless leaves: Go gives small leaf functions no frame pointer, so
  // the frame-pointer unwind skips their caller (a loop calling a closure
  // through a func value looks as if it were in the caller's caller). The
  // word at the stack pointer is that caller's return address when the
  // leaf is frameless or in its prologue; it is taken only where it is a
  // return site (right after a call) and not already the next frame.
  auto words = db.prepare(
      "SELECT s.id, s.sp_word FROM sample s JOIN stack_frame next ON next.stack_id = s.stack_id "
      "AND next.position = 1 WHERE s.sp_word > 0 AND s.sp_word != next.address AND s.on_system_stack = 0");
  auto add_word = db.prepare("INSERT INTO loop_sample (sample_id, position, loop_id, address) VALUES (?, 1, ?, ?)");
  if (!words) return words.error();
  if (!add_word) return add_word.error();
  std::map<uint64_t, int64_t> word_loop;  // return address -> loop id (0: none)
  std::vector<std::pair<int64_t, uint64_t>> rows;
  Status words_read = words->each_row([&] {
    rows.emplace_back(words->int64(0), static_cast<uint64_t>(words->int64(1)));
  });
  if (!words_read) return words_read.error();
  for (auto [sample_id, word] : rows) {
    auto cached = word_loop.find(word);
    if (cached == word_loop.end()) {
      int64_t id = 0;
      auto vaddr = exe.to_file_vaddr(word);
      const CodeFunction* function = vaddr ? (*image)->function_at(*vaddr - 1) : nullptr;
      const FunctionLoops* code = function != nullptr ? (*image)->loops_of(*function) : nullptr;
      bool return_site = false;
      if (code != nullptr)
        for (const auto& ins : code->instructions)
          if (ins.end() == *vaddr) {
            return_site = ins.kind == Instruction::kCall;
            break;
          }
      if (return_site) {
        int index = innermost_loop_at(code->loops, *vaddr - 1);
        if (index >= 0) {
          auto loop = loop_id(*function, *code, index, static_cast<int64_t>(word) - static_cast<int64_t>(*vaddr));
          if (!loop) return loop.error();
          id = *loop;
        }
      }
      cached = word_loop.emplace(word, id).first;
    }
    if (cached->second != 0)
      if (auto s = add_word->bind(1, sample_id).bind(2, cached->second).bind(3, word).run(); !s) return s.error();
  }
  if (auto s = name_wrapped_starts(db, exe, **image); !s) return s.error();
  return summary;
}

}  // namespace loophound::analyzer

#include "analyzer/detect/stuck_detector.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "analyzer/detect/exit_progress.h"

namespace loophound::analyzer {
namespace {

// Calls that mark a loop as polling rather than computing: non-blocking
// channel operations (select with default compiles to selectnbrecv /
// selectnbsend, or selectgo with block=false), yielding, lock attempts,
// sleeps (zero or tiny ones return at once or after a timer).
const std::set<std::string> kPollFunctions = {
    "runtime.selectnbrecv", "runtime.selectnbsend", "runtime.selectgo",    "runtime.Gosched",
    "runtime.goschedImpl",  "runtime.gosched_m",    "sync.(*Mutex).TryLock", "sync.(*RWMutex).TryLock",
    "sync.(*RWMutex).TryRLock", "time.Sleep",       "runtime.timeSleep",   "runtime.netpoll",
    "runtime.netpollblock", "internal/poll.(*pollDesc).wait",
};

// Yielding: the scheduler runs on g0 right after, on the goroutine's behalf.
const std::set<std::string> kYieldFunctions = {"runtime.Gosched", "runtime.goschedImpl", "runtime.gosched_m",
                                               "runtime.goyield"};

// Standard-library and runtime code: the first element of its import path
// has no dot ("crypto/sha256", "runtime"), unlike module paths
// ("github.com/..."); "main" is the program's own.
bool is_standard_library(const std::string& function) {
  if (function.rfind("main.", 0) == 0) return false;
  size_t end = function.find_first_of("/.");
  if (end == std::string::npos) return false;
  if (function[end] == '.') return true;  // "runtime.x", "sort.y": one-element path
  return function.substr(0, end).find('.') == std::string::npos;
}

struct LoopRow {
  int64_t id = 0;
  std::string function, file;
  int header_line = 0, first_line = 0, last_line = 0;
  int depth = 0;
  int64_t parent = 0;  // 0: none
  bool has_call = false, has_store = false, has_exit = false;
  std::string callees;  // ",f,g,"
  bool calls_any(const std::set<std::string>& names) const {
    for (const auto& n : names)
      if (callees.find("," + n + ",") != std::string::npos) return true;
    return false;
  }
};

struct SampleView {
  uint64_t ts = 0;
  uint64_t schedtick = 0;
  std::string switched_out_in;           // function of g.sched.pc: where it last left the CPU
  std::string switched_out_inner;        // ... its innermost inline level (runtime.Gosched inlined)
  std::vector<std::string> functions;    // by position: the physical function
  std::vector<std::string> leaves;       // by position: innermost inline function
  std::vector<uint64_t> addresses;       // by position: the stack's address (a return address past the leaf)
  // position -> innermost loop; a frameless leaf's caller (recovered from
  // the stack-pointer word) shares position 1 with the unwound frame.
  std::multimap<int, int64_t> loop_at;
  std::map<std::pair<int, int64_t>, uint64_t> loop_address;  // (position, loop) -> loop_sample.address
  std::string registers;                 // --regs blob, "" without
};

// --regs: sample id -> (frame_memory.pc -> bytes). Read only for a loop
// with exit tests to judge: 2 KB a sample, most goroutines never need it.
using FrameMemory = std::map<int64_t, std::map<uint64_t, std::string>>;

Result<std::map<int64_t, LoopRow>> load_loops(Database& db) {
  std::map<int64_t, LoopRow> loops;
  auto st = db.prepare(
      "SELECT id, function, file, header_line, first_line, last_line, depth, coalesce(parent_id, 0), has_call, "
      "has_store, has_exit, callees FROM loop");
  if (!st) return st.error();
  Status st_read = st->each_row([&] {
    LoopRow l{st->int64(0), st->text(1), st->text(2), static_cast<int>(st->int64(3)), static_cast<int>(st->int64(4)),
              static_cast<int>(st->int64(5)), static_cast<int>(st->int64(6)), st->int64(7), st->int64(8) != 0,
              st->int64(9) != 0, st->int64(10) != 0, st->text(11)};
    loops[l.id] = l;
  });
  if (!st_read) return st_read.error();
  return loops;
}

Result<std::map<int64_t, SampleView>> load_samples(Database& db, uint64_t goid) {
  std::map<int64_t, SampleView> samples;
  auto frames = db.prepare(R"SQL(
    SELECT s.id, sf.position, sf.address,
           (SELECT function FROM frame f WHERE f.pc = sf.pc ORDER BY inline_depth DESC LIMIT 1),
           (SELECT function FROM frame f WHERE f.pc = sf.pc AND inline_depth = 0),
           s.registers, s.ts, s.schedtick,
           (SELECT function FROM frame f WHERE f.pc = s.sched_pc - 1 ORDER BY inline_depth DESC LIMIT 1),
           (SELECT function FROM frame f WHERE f.pc = s.sched_pc - 1 AND inline_depth = 0)
    FROM sample s JOIN stack_frame sf ON sf.stack_id = s.stack_id
    WHERE s.goid = ? ORDER BY s.id, sf.position)SQL");
  if (!frames) return frames.error();
  frames->bind(1, goid);
  Status frames_read = frames->each_row([&] {
    auto& v = samples[frames->int64(0)];
    v.addresses.push_back(static_cast<uint64_t>(frames->int64(2)));
    v.functions.push_back(frames->text(3));
    v.leaves.push_back(frames->text(4));
    if (!frames->is_null(5)) v.registers = frames->blob(5);
    v.ts = static_cast<uint64_t>(frames->int64(6));
    v.schedtick = static_cast<uint64_t>(frames->int64(7));
    v.switched_out_in = frames->text(8);
    v.switched_out_inner = frames->text(9);
  });
  if (!frames_read) return frames_read.error();
  auto loops = db.prepare(
      "SELECT ls.sample_id, ls.position, ls.loop_id, ls.address FROM loop_sample ls JOIN sample s ON s.id = ls.sample_id "
      "WHERE s.goid = ?");
  if (!loops) return loops.error();
  loops->bind(1, goid);
  Status loops_read = loops->each_row([&] {
    auto& v = samples[loops->int64(0)];
    v.loop_at.emplace(static_cast<int>(loops->int64(1)), loops->int64(2));
    v.loop_address[{static_cast<int>(loops->int64(1)), loops->int64(2)}] = static_cast<uint64_t>(loops->int64(3));
  });
  if (!loops_read) return loops_read.error();
  return samples;
}

struct LoopHold {
  int64_t loop_id = 0;
  uint64_t samples = 0;
  double position = 0;  // mean frame position the loop was found at
  std::set<int64_t> sample_ids;
};

// The loop that holds the goroutine: among loops present (at any frame, with
// their enclosing loops) in at least min_share of samples, the one nearest
// the leaf; on a tie the innermost.
std::optional<LoopHold> holding_loop(const std::map<int64_t, SampleView>& samples,
                                     const std::map<int64_t, LoopRow>& loops, double min_share) {
  std::map<int64_t, LoopHold> holds;
  for (const auto& [id, view] : samples) {
    std::map<int64_t, int> seen;  // loop -> nearest position in this sample
    for (const auto& [position, loop] : view.loop_at) {
      for (int64_t l = loop; l != 0;) {
        if (!seen.count(l)) seen[l] = position;
        auto it = loops.find(l);
        l = it == loops.end() ? 0 : it->second.parent;
      }
    }
    for (const auto& [loop, position] : seen) {
      auto& h = holds[loop];
      h.loop_id = loop;
      ++h.samples;
      h.position += position;
      h.sample_ids.insert(id);
    }
  }
  // Nearest the leaf first; on a tie the innermost.
  std::vector<LoopHold*> held;
  for (auto& [loop, h] : holds) {
    if (static_cast<double>(h.samples) < min_share * static_cast<double>(samples.size())) continue;
    h.position /= static_cast<double>(h.samples);
    held.push_back(&h);
  }
  std::sort(held.begin(), held.end(), [&](const LoopHold* a, const LoopHold* b) {
    if (a->position != b->position) return a->position < b->position;
    return loops.at(a->loop_id).depth > loops.at(b->loop_id).depth;
  });
  if (held.empty()) return std::nullopt;
  // The program's own loop when one holds it: a library loop that holds a
  // goroutine is nearly always driven by the caller's loop (a retry around
  // os.Open, a dial in a loop), and the caller's loop is what to fix.
  const LoopHold* best = held.front();
  for (const LoopHold* h : held)
    if (!is_standard_library(loops.at(h->loop_id).function)) {
      best = h;
      break;
    }
  // A nest of loops in one function is reported whole: the samples cannot
  // tell which level never ends (an inner loop that ends every time inside
  // an outer one that never does looks like a busy inner loop).
  for (bool extended = true; extended;) {
    extended = false;
    const LoopRow& row = loops.at(best->loop_id);
    for (const LoopHold* h : held)
      if (h->loop_id == row.parent && loops.at(h->loop_id).function == row.function &&
          loops.at(h->loop_id).file == row.file) {
        best = h;
        extended = true;
        break;
      }
  }
  return *best;
}

// Loops below the holding loop's frame (in the functions it calls) that
// each hold at least `min_share` of its samples: work that moves from one
// inner loop to another (hash, then sort, then compress) is progressing,
// not stuck.
int busy_inner_loops(const std::map<int64_t, SampleView>& samples, const std::map<int64_t, LoopRow>& loops,
                     const LoopHold& hold, double min_share) {
  auto inside_hold = [&](int64_t loop) {
    for (int64_t l = loop; l != 0;) {
      if (l == hold.loop_id) return true;
      auto it = loops.find(l);
      l = it == loops.end() ? 0 : it->second.parent;
    }
    return false;
  };
  std::map<int64_t, uint64_t> inner;
  for (int64_t id : hold.sample_ids) {
    const auto& v = samples.at(id);
    int at = INT32_MAX;
    for (const auto& [position, loop] : v.loop_at)
      if (inside_hold(loop)) at = std::min(at, position);
    std::set<int64_t> seen;
    for (const auto& [position, loop] : v.loop_at)
      if (loop != hold.loop_id && (position < at || (position == at && inside_hold(loop))) &&
          seen.insert(loop).second)
        ++inner[loop];
  }
  int busy = 0;
  for (const auto& [loop, n] : inner)
    if (static_cast<double>(n) >= min_share * static_cast<double>(hold.samples)) ++busy;
  return busy;
}

// Samples taken on g0 with no goroutine, on a thread whose previous
// goroutine was this one: scheduler time spent on its behalf (a Gosched
// loop spends most of its CPU there), which m.curg cannot name. Used only
// for loops that yield, where it is what the scheduler does for them.
Result<uint64_t> scheduler_samples_after(Database& db, uint64_t goid) {
  auto st = db.prepare(R"SQL(
    SELECT count(*) FROM sample z
    WHERE z.goid = 0 AND (
      SELECT p.goid FROM sample p WHERE p.tid = z.tid AND p.ts < z.ts AND p.goid != 0
      ORDER BY p.ts DESC LIMIT 1) = ?1)SQL");
  if (!st) return st.error();
  st->bind(1, goid);
  auto row = st->step();
  if (!row) return row.error();
  return *row ? static_cast<uint64_t>(st->int64(0)) : 0;
}

// Share of the loop's samples with a poll call below the loop's frame, and
// the most common such call.
std::pair<double, std::string> poll_share(const std::map<int64_t, SampleView>& samples, const LoopHold& hold) {
  uint64_t polling = 0;
  std::map<std::string, uint64_t> calls;
  for (int64_t id : hold.sample_ids) {
    const auto& v = samples.at(id);
    int loop_position = static_cast<int>(v.functions.size());
    for (const auto& [position, loop] : v.loop_at) loop_position = std::min(loop_position, position);
    for (int p = 0; p < loop_position && p < static_cast<int>(v.functions.size()); ++p) {
      const std::string* hit = kPollFunctions.count(v.functions[p]) ? &v.functions[p]
                               : kPollFunctions.count(v.leaves[p]) ? &v.leaves[p] : nullptr;
      if (hit) {
        ++polling;
        ++calls[*hit];
        break;
      }
    }
  }
  std::string top;
  uint64_t top_count = 0;
  for (const auto& [name, n] : calls)
    if (n > top_count) top = name, top_count = n;
  return {hold.samples ? static_cast<double>(polling) / static_cast<double>(hold.samples) : 0.0, top};
}

// Functions a goroutine leaves the CPU through when it waits or yields
// (g.sched.pc points into them); a preempted one leaves through
// asyncPreempt2 or newstack instead.
const std::set<std::string> kParkFunctions = {"runtime.gopark", "runtime.goparkunlock", "runtime.Gosched",
                                              "runtime.goschedIfBusy", "runtime.goyield", "runtime.park_m"};

// A system call wrapper (syscall.Syscall6, internal/runtime/syscall...):
// entersyscall records where the goroutine left, as a park does.
bool is_syscall_function(const std::string& f) {
  return f.find("Syscall") != std::string::npos || f.rfind("syscall.", 0) == 0;
}

// Share of consecutive sample pairs between which the goroutine went
// through the scheduler (its P's schedtick moved) by waiting, yielding or
// entering a system call -- not by preemption (asyncPreempt2), which a
// plain spin does every 10-20 ms: a loop that leaves the CPU every round.
// Measured on the corpus: spins 0%, retries of failing calls 72-99%, a
// retried rendezvous 93%.
double parking_share(const std::map<int64_t, SampleView>& samples) {
  uint64_t pairs = 0, parked = 0;
  const SampleView* previous = nullptr;
  for (const auto& [id, v] : samples) {
    if (previous != nullptr && v.schedtick != 0) {
      ++pairs;
      bool waits = kParkFunctions.count(v.switched_out_in) || kParkFunctions.count(v.switched_out_inner) ||
                   is_syscall_function(v.switched_out_in) || is_syscall_function(v.switched_out_inner);
      if (v.schedtick != previous->schedtick && waits) ++parked;
    }
    previous = &v;
  }
  return pairs ? static_cast<double>(parked) / static_cast<double>(pairs) : 0.0;
}

// Share of samples with a poll call anywhere in the stack: what tells a
// retry protocol (TryLock, back-off sleeps, Gosched) from goroutines that
// hand work to each other over channels, which also park every round.
double any_poll_share(const std::map<int64_t, SampleView>& samples) {
  uint64_t n = 0;
  for (const auto& [id, v] : samples) {
    for (size_t p = 0; p < v.functions.size(); ++p)
      if (kPollFunctions.count(v.functions[p]) || kPollFunctions.count(v.leaves[p])) {
        ++n;
        break;
      }
  }
  return samples.empty() ? 0.0 : static_cast<double>(n) / static_cast<double>(samples.size());
}

// --regs: register states (pc included) that recur at samples whose leaf is
// in the loop itself, after the goroutine was seen in another state in
// between. Back-to-back equal samples prove nothing: a sample taken while
// the thread is in the kernel (preempted on an interrupt's way out, under
// load) reports the registers of its last entry, the same as the sample
// before it.
uint64_t repeated_states(const std::map<int64_t, SampleView>& samples, const LoopHold& hold) {
  std::vector<const SampleView*> in_loop;
  for (int64_t id : hold.sample_ids) {
    const auto& v = samples.at(id);
    auto leaf = v.loop_at.find(0);
    if (!v.registers.empty() && leaf != v.loop_at.end() && leaf->second == hold.loop_id) in_loop.push_back(&v);
  }
  std::sort(in_loop.begin(), in_loop.end(), [](const SampleView* a, const SampleView* b) { return a->ts < b->ts; });
  std::set<std::string> seen, recurred;
  const std::string* previous = nullptr;
  for (const SampleView* v : in_loop) {
    if (previous == nullptr || *previous != v->registers) {
      if (!seen.insert(v->registers).second) recurred.insert(v->registers);
    }
    previous = &v->registers;
  }
  return recurred.size();
}

// The function repeated most in one stack, if it is recursion.
std::optional<std::pair<std::string, int>> recursion(const std::map<int64_t, SampleView>& samples,
                                                     const StuckThresholds& t) {
  std::map<std::string, uint64_t> deep;  // function -> samples where it repeats enough
  int max_depth = 0;
  for (const auto& [id, v] : samples) {
    std::map<std::string, int> counts;
    for (const auto& f : v.functions) ++counts[f];
    for (const auto& [f, n] : counts)
      if (n >= t.min_recursion_frames && f != "??") {
        ++deep[f];
        max_depth = std::max(max_depth, n);
      }
  }
  for (const auto& [f, n] : deep)
    if (static_cast<double>(n) >= t.min_recursion_share * static_cast<double>(samples.size()))
      return std::make_pair(f, max_depth);
  return std::nullopt;
}

// Line of the recursive call: the most common line of `function`'s
// caller-position frames.
Result<std::pair<std::string, int>> recursive_call_site(Database& db, uint64_t goid, const std::string& function) {
  auto st = db.prepare(R"SQL(
    SELECT f.file, f.line, count(*) FROM sample s
    JOIN stack_frame sf ON sf.stack_id = s.stack_id AND sf.position > 0
    JOIN frame f ON f.pc = sf.pc AND f.inline_depth = 0
    WHERE s.goid = ? AND f.function = ?
    GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1)SQL");
  if (!st) return st.error();
  st->bind(1, goid).bind(2, function);
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return std::make_pair(std::string(), 0);
  return std::make_pair(st->text(0), static_cast<int>(st->int64(1)));
}

// When --events states was recorded: goroutines left runnable for long
// while this one ran, during its window.
Result<std::string> starvation_note(Database& db, const GoroutineWindow& w) {
  auto st = db.prepare(
      "SELECT count(*), coalesce(max(latency_us), 0) FROM runnable_latency "
      "WHERE goid != ? AND runnable_ns >= ? AND running_ns <= ? AND latency_us > 10000");
  if (!st) return st.error();
  st->bind(1, w.goid).bind(2, w.first_ns).bind(3, w.last_ns);
  auto row = st->step();
  if (!row) return row.error();
  if (!*row || st->int64(0) == 0) return std::string();
  return fmt::format("; meanwhile {} times another goroutine waited over 10 ms for a P (longest {:.1f} ms)",
                     st->int64(0), st->real(1) / 1000.0);
}

Result<std::vector<ExitTest>> load_exit_tests(Database& db, int64_t loop_id) {
  auto st = db.prepare(
      "SELECT relation, signed, width, lhs_kind, lhs_value, lhs_add, rhs_kind, rhs_value, rhs_add FROM loop_exit "
      "WHERE loop_id = ? ORDER BY branch_pc");
  if (!st) return st.error();
  st->bind(1, loop_id);
  auto side = [&](int col) {
    ExitTest::Side s;
    const std::string kind = st->text(col);
    s.kind = kind == "register" ? ExitTest::Side::kRegister
             : kind == "stack"  ? ExitTest::Side::kStack
                                : ExitTest::Side::kConstant;
    s.value = st->int64(col + 1);
    s.add = st->int64(col + 2);
    return s;
  };
  std::vector<ExitTest> tests;
  Status st_read = st->each_row([&] {
    tests.push_back(ExitTest{st->text(0), st->int64(1) != 0, static_cast<int>(st->int64(2)), side(3), side(6)});
  });
  if (!st_read) return st_read.error();
  return tests;
}

// The holding loop's frame at each of its samples (time order): the frame
// nearest the leaf whose innermost loop is the holding loop or nested in
// it; its registers when that is the leaf, its memory window when the
// recorder sent one for it.
Result<FrameMemory> load_frame_memory(Database& db, uint64_t goid) {
  FrameMemory memory;
  auto st = db.prepare(
      "SELECT m.sample_id, m.pc, m.bytes FROM frame_memory m JOIN sample s ON s.id = m.sample_id WHERE s.goid = ?");
  if (!st) return st.error();
  st->bind(1, goid);
  Status st_read = st->each_row(
      [&] { memory[st->int64(0)][static_cast<uint64_t>(st->int64(1))] = st->blob(2); });
  if (!st_read) return st_read.error();
  return memory;
}

std::vector<FrameState> loop_frame_states(const std::map<int64_t, SampleView>& samples, const FrameMemory& memory,
                                          const std::map<int64_t, LoopRow>& loops, const LoopHold& hold) {
  std::vector<FrameState> states;
  static const std::map<uint64_t, std::string> kNone;
  for (int64_t id : hold.sample_ids) {
    const auto& v = samples.at(id);
    auto windows = memory.find(id);
    const auto& frame_memory = windows == memory.end() ? kNone : windows->second;
    int at = -1;
    uint64_t address = 0;
    for (const auto& [position, loop] : v.loop_at) {
      for (int64_t l = loop; l != 0 && at < 0;) {
        if (l == hold.loop_id) at = position, address = v.loop_address.at({position, loop});
        auto it = loops.find(l);
        l = it == loops.end() ? 0 : it->second.parent;
      }
      if (at >= 0) break;
    }
    if (at < 0 || at >= static_cast<int>(v.addresses.size())) continue;
    FrameState s;
    s.ts = v.ts;
    if (at == 0) s.registers = v.registers;
    if (at == 0 || address == v.addresses[static_cast<size_t>(at)]) {
      // The leaf's window (pc 0), or the one the frame-pointer chain
      // labelled with this frame's return address.
      auto m = frame_memory.find(at == 0 ? 0 : address);
      if (m != frame_memory.end()) s.memory = m->second;
    } else if (at == 1) {
      // A frameless leaf's caller (its return address is the word at the
      // stack pointer): its frame starts 8 bytes above the leaf's.
      auto m = frame_memory.find(0);
      if (m != frame_memory.end() && m->second.size() > 8) s.memory = m->second.substr(8);
    }
    if (!s.registers.empty() || !s.memory.empty()) states.push_back(std::move(s));
  }
  std::sort(states.begin(), states.end(), [](const FrameState& a, const FrameState& b) { return a.ts < b.ts; });
  return states;
}

Finding loop_finding(const std::string& kind, const GoroutineWindow& w, double cpu_share, const LoopRow& loop,
                     const LoopHold& hold, uint64_t total) {
  Finding f;
  f.kind = kind;
  f.goid = w.goid;
  f.start_function = w.start_function;
  f.function = loop.function;
  f.file = loop.file;
  f.line = std::min(loop.first_line, loop.header_line);
  f.end_line = std::max(loop.last_line, loop.header_line);
  f.duration_s = w.seconds();
  f.cpu_share = cpu_share;
  f.samples = w.samples;
  double share = static_cast<double>(hold.samples) / static_cast<double>(total);
  f.confidence = std::clamp(std::min(1.0, cpu_share / 0.9) * share, 0.0, 1.0);
  f.evidence = fmt::format("{} of its {} samples ({:.0f}%) inside the loop at {}:{} (frame {:.0f} from the leaf)",
                           hold.samples, total, share * 100, loop.file, loop.header_line, hold.position);
  return f;
}

}  // namespace

Result<std::vector<Finding>> detect_stuck_goroutines(Database& db, const SpinThresholds& t, const StuckThresholds& s,
                                                     std::vector<BusyGoroutine>* busy) {
  auto note_busy = [&](const GoroutineWindow& w, double share, std::string why) {
    if (busy != nullptr && share >= t.min_cpu_share) busy->push_back({w.goid, w.start_function, share, std::move(why)});
  };
  auto hz = sample_frequency(db);
  if (!hz) return hz.error();
  auto windows = goroutine_windows(db);
  if (!windows) return windows.error();
  auto loops = load_loops(db);
  if (!loops) return loops.error();

  std::vector<Finding> findings;
  struct Candidate {
    GoroutineWindow window;
    double cpu_share;
    LoopRow loop;
    LoopHold hold;
    uint64_t total;
    std::string poll_call;
  };
  std::vector<Candidate> livelock_candidates;

  for (const auto& w : *windows) {
    if (w.seconds() < t.min_window_s) continue;
    double cpu_share = w.cpu_share(*hz);
    if (cpu_share < s.min_livelock_share) continue;
    auto samples = load_samples(db, w.goid);
    if (!samples) return samples.error();
    const uint64_t total = samples->size();

    if (auto r = recursion(*samples, s); r && cpu_share >= t.min_cpu_share) {
      auto site = recursive_call_site(db, w.goid, r->first);
      if (!site) return site.error();
      Finding f;
      f.kind = "recursion";
      f.goid = w.goid;
      f.start_function = w.start_function;
      f.function = r->first;
      f.file = site->first;
      f.line = f.end_line = site->second;
      f.duration_s = w.seconds();
      f.cpu_share = cpu_share;
      f.samples = w.samples;
      f.confidence = 0.9;
      f.evidence = fmt::format("{} repeats up to {} times in each stack (stacks are recorded to 127 frames): it "
                               "calls itself at {}:{} without reaching its base case",
                               r->first, r->second, site->first, site->second);
      findings.push_back(std::move(f));
      continue;
    }

    auto hold = holding_loop(*samples, *loops, s.min_loop_share);
    if (!hold && !loops->empty()) note_busy(w, cpu_share, "no one loop holds its samples");
    if (!hold) {
      // No decodable loop holds it: the simple leaf-function rule, for
      // goroutines at a whole CPU only.
      if (cpu_share < t.min_cpu_share || !loops->empty()) continue;
      auto f = spin_by_leaf_function(db, w, cpu_share, t);
      if (!f) return f.error();
      if (*f) findings.push_back(std::move(**f));
      continue;
    }
    const LoopRow& loop = loops->at(hold->loop_id);
    auto [polls, poll_call] = poll_share(*samples, *hold);
    const double parks = parking_share(*samples);
    if (polls < s.min_poll_share && parks >= s.min_parking_share) poll_call = "the scheduler (it parks every round)";
    bool polling = polls >= s.min_poll_share || parks >= s.min_parking_share;
    // Busy, but moving through several inner loops: progressing work.
    if (int inner = busy_inner_loops(*samples, *loops, *hold, s.min_inner_loop_share);
        inner >= s.progressing_inner_loops) {
      note_busy(w, cpu_share, fmt::format("its loop at {}:{} moves through {} inner loops", loop.file,
                                          loop.header_line, inner));
      continue;
    }

    std::string scheduler_note;
    if (cpu_share < t.min_cpu_share && kYieldFunctions.count(poll_call)) {
      // A poller that yields spends much of its CPU in the scheduler on g0.
      auto extra = scheduler_samples_after(db, w.goid);
      if (!extra) return extra.error();
      GoroutineWindow with_scheduler = w;
      with_scheduler.samples += *extra;
      double share = with_scheduler.cpu_share(*hz);
      if (share >= t.min_cpu_share) {
        scheduler_note = fmt::format("; {} more samples were in the scheduler on its thread right after it ran "
                                     "(counted in its CPU share)",
                                     *extra);
        cpu_share = share;
      }
    }
    if (cpu_share < t.min_cpu_share) {
      if (polling && cpu_share <= s.max_livelock_share) {
        // The retry loop is the outermost loop of the program's own code
        // around where it spends its time (the work it retries may be an
        // inner loop shared by both sides).
        const LoopRow* retry = &loop;
        for (auto p = loops->find(retry->parent); p != loops->end() && !is_standard_library(p->second.function);
             p = loops->find(retry->parent))
          retry = &p->second;
        // A retry protocol calls something that retries (TryLock, a
        // back-off sleep, Gosched), in its samples or in the loop's code;
        // goroutines handing work over channels park every round too.
        bool retries = any_poll_share(*samples) >= s.min_livelock_poll_share ||
                       retry->calls_any(kPollFunctions) || loop.calls_any(kPollFunctions);
        if (retries) livelock_candidates.push_back({w, cpu_share, *retry, *hold, total, poll_call});
      }
      continue;
    }
    std::string kind = polling ? "busy_poll" : "spin";
    // Cannot terminate: the same state came back in a loop that changes
    // nothing outside its registers, or the loop's code has no way out at
    // all and changes nothing (`nop; jmp`).
    const bool self_contained = !loop.has_call && !loop.has_store;
    uint64_t repeats = self_contained ? repeated_states(*samples, *hold) : 0;
    const bool no_way_out = self_contained && !loop.has_exit;
    if (repeats > 0 || no_way_out) kind = "no_progress";
    // A loop whose exit test is seen to advance will end: busy, not stuck.
    std::optional<ExitVerdict> exit_verdict;
    if (kind != "no_progress") {
      auto tests = load_exit_tests(db, hold->loop_id);
      if (!tests) return tests.error();
      if (!tests->empty()) {
        auto memory = load_frame_memory(db, w.goid);
        if (!memory) return memory.error();
        exit_verdict = judge_exit_progress(*tests, loop_frame_states(*samples, *memory, *loops, *hold));
      }
      if (exit_verdict && exit_verdict->advancing) {
        note_busy(w, cpu_share, fmt::format("its loop at {}:{} advances toward its end: {}", loop.file,
                                            loop.header_line, exit_verdict->why));
        continue;
      }
    }
    Finding f = loop_finding(kind, w, cpu_share, loop, *hold, total);
    f.evidence = fmt::format("on CPU in {:.0f}% of sample ticks over {:.1f} s; ", cpu_share * 100, w.seconds()) +
                 f.evidence;
    if (polls >= s.min_poll_share)
      f.evidence += fmt::format("; it polls: {:.0f}% of those samples are in {} (and the like)", polls * 100,
                                poll_call);
    if (parks >= s.min_parking_share)
      f.evidence += fmt::format("; between {:.0f}% of its samples it left the CPU (parked, yielded or entered a "
                                "system call) and was run again at once",
                                parks * 100);
    f.evidence += scheduler_note;
    if (kind == "no_progress" && repeats > 0) {
      f.evidence += fmt::format("; {} register states (pc and all registers) came back at later samples, and "
                                "the loop neither stores nor calls: it cannot terminate (only another goroutine "
                                "writing the memory it reads could end it)",
                                repeats);
      f.confidence = 1.0;
    } else if (kind == "no_progress") {
      f.evidence += "; the loop's machine code has no way out (no branch leaves it) and it neither stores nor "
                    "calls: it cannot terminate";
      f.confidence = 1.0;
    } else if (!loop.has_exit) {
      f.evidence += "; the loop has no exit edge at all";
    } else if (exit_verdict) {
      f.evidence += "; " + exit_verdict->why;
    }
    auto note = starvation_note(db, w);
    if (!note) return note.error();
    f.evidence += *note;
    findings.push_back(std::move(f));
  }

  // Livelock: goroutines that each take part of a CPU, each held in a
  // polling loop, that together keep a CPU busy.
  double total_share = 0;
  for (const auto& c : livelock_candidates) total_share += c.cpu_share;
  if (livelock_candidates.size() >= 2 && total_share >= s.min_livelock_total) {
    for (const auto& c : livelock_candidates) {
      Finding f = loop_finding("livelock", c.window, c.cpu_share, c.loop, c.hold, c.total);
      std::string others;
      for (const auto& o : livelock_candidates)
        if (o.window.goid != c.window.goid)
          others += fmt::format("{}goroutine {} ({:.0f}%)", others.empty() ? "" : ", ", o.window.goid,
                                o.cpu_share * 100);
      f.evidence = fmt::format("{:.0f}% of a CPU over {:.1f} s, retrying through {} alongside {}: together {:.0f}% "
                               "of a CPU and none of them gets anywhere; ",
                               c.cpu_share * 100, c.window.seconds(), c.poll_call, others, total_share * 100) +
                   f.evidence;
      f.confidence = std::min(0.8, f.confidence);
      findings.push_back(std::move(f));
    }
  }
  return findings;
}

}  // namespace loophound::analyzer

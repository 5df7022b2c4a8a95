// The detectors that use loop structure. For each goroutine with seconds of
// samples, in this order:
//   recursion  - one function repeats dozens of times in nearly every stack;
//   spin / busy_poll / no_progress - nearly every sample lies in one
//                natural loop (at some frame: the stuck loop is often a
//                caller of the varying leaf); busy_poll when the loop polls
//                (select with default, Gosched, TryLock, zero sleeps),
//                no_progress when --regs shows the same pc and registers
//                twice in a loop that stores and calls nothing; none when
//                the loop's exit test is seen to advance toward its end
//                (exit_progress.h): busy, but progressing;
//   livelock   - two or more goroutines, each at a part of a CPU, each held
//                in one polling/retrying loop.
// Goroutines without decodable code fall back to spin_by_leaf_function.
#pragma once

#include <vector>

#include "analyzer/db/database.h"
#include "analyzer/detect/finding.h"
#include "analyzer/detect/spin_detector.h"
#include "schema/result.h"

namespace loophound::analyzer {

struct StuckThresholds {
  // Share of a goroutine's samples that must lie in one loop. A stuck loop
  // holds all of them but those in preemption and scheduler code, and
  // those whose stack lost the loop's frame (a leaf without a frame
  // pointer yet: measured 12% for a select-with-default poller); work that
  // progresses moves between loops and functions.
  double min_loop_share = 0.8;
  // A poll call (select with default, Gosched, ...) in this share of the
  // loop's samples makes it a busy poll rather than a plain spin.
  double min_poll_share = 0.05;
  // ... or it leaves the CPU between this share of consecutive samples
  // (the P's schedtick moved and g.sched.pc is in gopark, Gosched or a
  // system call, not in the preemption path): a loop that waits a moment
  // or enters the kernel every round (a failing call retried at once, a
  // dial that parks in the netpoller, a rendezvous retried at once).
  double min_parking_share = 0.5;
  // Recursion: a function this many times in one stack (of at most 127
  // recorded frames), in this share of samples. Sorting and tree walks
  // recurse about log2(n) deep (< 40 for any slice in memory); runaway
  // recursion fills the recorded stack.
  int min_recursion_frames = 48;
  double min_recursion_share = 0.8;
  // Livelock: each goroutine between these shares of a CPU (a spinner
  // would be near 1), in a polling loop, together at least kMinLivelockTotal.
  double min_livelock_share = 0.15;
  double max_livelock_share = 0.9;
  double min_livelock_total = 0.6;
  // ... and each retries through a poll call (TryLock, a back-off sleep,
  // Gosched) in this share of its samples: two goroutines that hand work
  // over channels also park every round, but call none of these.
  double min_livelock_poll_share = 0.02;
  // Progress: this many loops inside the holding loop (in its callees or
  // nested in it), each holding this share of its samples, mean the work
  // moves on (hash, then sort, then compress); a stuck loop repeats one
  // path. From the decoys in samples/: 3+ loops of >= 10% each there, at
  // most 2 in the stuck programs (a map lookup's bucket loop, a lock).
  int progressing_inner_loops = 3;
  double min_inner_loop_share = 0.10;
};

// A goroutine that kept a CPU busy without being stuck (for --all).
struct BusyGoroutine {
  uint64_t goid = 0;
  std::string start_function;
  double cpu_share = 0;
  std::string why;  // "moves through 4 inner loops", "no loop holds its samples"
};

// `busy`, when given, receives the goroutines at a whole CPU that were
// judged to be progressing.
Result<std::vector<Finding>> detect_stuck_goroutines(Database& db, const SpinThresholds& spin = {},
                                                     const StuckThresholds& stuck = {},
                                                     std::vector<BusyGoroutine>* busy = nullptr);

}  // namespace loophound::analyzer

// Spin detector: a goroutine that is on a CPU in nearly every sample tick
// of a window of seconds, with its samples concentrated in one function,
// is spinning there; the lines its hot PCs map to are the loop.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/db/database.h"
#include "analyzer/detect/finding.h"
#include "schema/result.h"

namespace loophound::analyzer {

// Thresholds, with where they come from.
struct SpinThresholds {
  // A loop reported after less than 2 s of evidence would flag ordinary
  // bursts of work (a GC cycle, a big sort); people run the recorder for
  // seconds while the CPU is pegged, so 2 s loses nothing real.
  double min_window_s = 2.0;
  // "Nearly every sample", loosened for contention: a spinner that never
  // blocks still loses ticks when its thread waits for a CPU (async
  // preemption every 10-20 ms, other busy processes). Measured on this
  // 2-CPU VM: 99% alone, 85% beside another busy process and two
  // recorders. 70% still rejects goroutines that block or sleep often; the
  // function concentration below is what tells progress from a spin.
  double min_cpu_share = 0.7;
  // Share of the goroutine's samples whose leaf is one function. A stuck
  // loop keeps nearly all of them in its function (preemption and the
  // occasional runtime call take the rest); progressing work moves on.
  double min_function_share = 0.8;
  // The reported lines are those of the contiguous code around the hottest
  // pc, where sampled pcs follow each other with gaps of at most this many
  // bytes. 64 bytes is about 15 x86-64 instructions: more than the
  // unsampled stretches inside the tight loops measured here (a fused
  // compare-and-branch, a few moves), less than the distance to unrelated
  // code of the same function.
  uint64_t max_pc_gap = 64;
};

// One goroutine's stretch of samples.
struct GoroutineWindow {
  uint64_t goid = 0;
  uint64_t samples = 0;
  uint64_t first_ns = 0;
  uint64_t last_ns = 0;
  std::string start_function;
  double seconds() const { return static_cast<double>(last_ns - first_ns) / 1e9; }
  // Samples per sample tick in the window (one tick per 1/hz, fence-post
  // included), capped at 1: the share of a CPU it had.
  double cpu_share(double hz) const {
    return std::min(1.0, static_cast<double>(samples) / (seconds() * hz + 1));
  }
};

Result<double> sample_frequency(Database& db);
// Every goroutine with samples (goid 0 left out), most sampled first.
Result<std::vector<GoroutineWindow>> goroutine_windows(Database& db);

// The simple form of the spin rule, for goroutines whose code could not be
// decoded: nearly all samples' leaf in one function; the lines are those of
// the contiguous hot code around the hottest pc.
Result<std::optional<Finding>> spin_by_leaf_function(Database& db, const GoroutineWindow& window, double cpu_share,
                                                    const SpinThresholds& thresholds);

// spin_by_leaf_function over every goroutine that passes the window and
// CPU share rules.
Result<std::vector<Finding>> detect_spins(Database& db, const SpinThresholds& thresholds = {});

}  // namespace loophound::analyzer

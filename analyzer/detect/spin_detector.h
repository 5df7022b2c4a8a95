// Spin detector: a goroutine that is on a CPU in nearly every sample tick
// of a window of seconds, with its samples concentrated in one function,
// is spinning there; the lines its hot PCs map to are the loop.
#pragma once

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
  // "Nearly every sample": async preemption takes a spinner off its CPU for
  // a few microseconds every 10-20 ms, and a busy machine delays it more;
  // 90% of the ticks leaves room for that and still rejects goroutines
  // that block or sleep in between.
  double min_cpu_share = 0.9;
  // Share of the goroutine's samples whose leaf is one function. A stuck
  // loop keeps nearly all of them in its function (preemption and the
  // occasional runtime call take the rest); progressing work moves on.
  double min_function_share = 0.8;
  // The reported line range covers the lines that hold this share of the
  // function's samples, so a stray sample does not widen it to the whole
  // function.
  double line_coverage = 0.95;
};

Result<std::vector<Finding>> detect_spins(Database& db, const SpinThresholds& thresholds = {});

}  // namespace loophound::analyzer

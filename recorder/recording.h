// record(): one recording from start to finish. Checks privileges, reads
// the target, writes the header, runs the BPF session until the duration
// ends, a signal arrives or the target exits, then writes the footer.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <string>

#include "schema/result.h"

namespace loophound::recorder {

struct RecordConfig {
  pid_t pid = 0;
  double duration_s = 0;  // 0: until a signal or the target exits
  int frequency_hz = 99;
  bool execute_events = false;
  std::string output_path;
  bool quiet = false;
};

struct RecordSummary {
  uint64_t samples = 0;
  uint64_t execute_events = 0;
  uint64_t lost_events = 0;
  uint64_t stacks = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  std::string stop_reason;
};

// `stop` is set from a signal handler to end the recording cleanly.
Result<RecordSummary> record(const RecordConfig& config, const std::atomic<bool>& stop);

}  // namespace loophound::recorder

// ThreadTracker: turns sched_switch records into on-CPU / off-CPU
// intervals of the target's threads (table thread_state).
#pragma once

#include <vector>

#include "analyzer/db/database.h"
#include "schema/result.h"
#include "schema/trace_format.h"

namespace loophound::analyzer {

class ThreadTracker {
 public:
  void add_switch(const trace::ThreadSwitch& change) { switches_.push_back(change); }
  Status write(Database& db);
  uint64_t switches() const { return switches_.size(); }

 private:
  std::vector<trace::ThreadSwitch> switches_;
};

}  // namespace loophound::analyzer

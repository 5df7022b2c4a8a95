// find_sampled_loops: fills loop, loop_pc and loop_sample for an imported,
// symbolized trace, and names goroutines started through compiler-made
// wrappers (`go f(x)` starts `caller.gowrapN`, before Go 1.22
// `caller.funcN`) by the function the wrapper calls.
#pragma once

#include "analyzer/db/database.h"
#include "analyzer/symbolize/executable_view.h"
#include "schema/result.h"

namespace loophound::analyzer {

struct LoopPassSummary {
  uint64_t functions = 0;  // functions disassembled
  uint64_t loops = 0;      // loops holding a sampled pc
};

Result<LoopPassSummary> find_sampled_loops(Database& db, ExecutableView& executable);

}  // namespace loophound::analyzer

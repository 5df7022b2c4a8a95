// Finding: one stuck loop (or other problem) a detector reports, with the
// evidence a person needs to trust it.
#pragma once

#include <cstdint>
#include <string>

namespace loophound::analyzer {

struct Finding {
  std::string kind;  // "spin"
  uint64_t goid = 0;
  std::string start_function;  // what `go f()` started, when known
  std::string function;        // function that holds the loop
  std::string file;
  int line = 0;      // first line of the hot range
  int end_line = 0;  // last line of the hot range
  double duration_s = 0;
  double cpu_share = 0;  // 1.0 = a whole CPU for the whole window
  uint64_t samples = 0;
  double confidence = 0;  // 0..1
  std::string evidence;   // why, in words
};

}  // namespace loophound::analyzer

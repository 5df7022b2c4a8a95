// Reports: the same findings for people (text) and for programs (JSON).
// Formatting lives here, apart from detection.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "analyzer/detect/finding.h"
#include "analyzer/detect/stuck_detector.h"

namespace loophound::analyzer {

// What the report says about the trace besides the findings.
struct ReportContext {
  std::string trace_path;
  std::string command;
  std::string pid;
  std::string go_version;
  double recorded_s = 0;
  uint64_t samples = 0;
  uint64_t lost_events = 0;
  std::vector<std::string> warnings;
  std::string busiest;  // "goroutine 7 (main.work): 54% of a CPU", for "nothing found"
  double min_window_s = 0;  // shortest recording a finding can come from
  std::string symbols_from;  // "the bundle in the trace", "/path/x (recorded path)"
  // --all: goroutines that kept a CPU busy but were judged progressing.
  std::vector<std::string> progressing;
};

void write_text_report(std::ostream& out, const ReportContext& context, const std::vector<Finding>& findings);

// {"findings":[{kind, goroutine, function, file, line, end_line,
// duration_s, cpu_share, samples, confidence}, ...]}: exactly these keys,
// a stable interface for scripts and tests. With `progressing` (--all)
// also "progressing":[{goroutine, start_function, cpu_share, why}, ...].
void write_json_report(std::ostream& out, const std::vector<Finding>& findings,
                       const std::vector<BusyGoroutine>* progressing = nullptr);

}  // namespace loophound::analyzer

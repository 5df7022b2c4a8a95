#include <fmt/format.h>

#include "analyzer/report/report.h"

namespace loophound::analyzer {
namespace {
std::string line_span(const Finding& f) {
  return f.line == f.end_line ? fmt::format("{}", f.line) : fmt::format("{}-{}", f.line, f.end_line);
}
}  // namespace

void write_text_report(std::ostream& out, const ReportContext& c, const std::vector<Finding>& findings) {
  out << fmt::format("{}: {} (PID {}, {}), {:.1f} s, {} samples of all goroutines", c.trace_path, c.command, c.pid,
                     c.go_version, c.recorded_s, c.samples);
  if (c.lost_events > 0) out << fmt::format(", {} events LOST", c.lost_events);
  out << "\n";
  if (!c.symbols_from.empty()) out << "symbols: " << c.symbols_from << "\n";
  for (const auto& w : c.warnings) out << "warning: " << w << "\n";
  out << "\n";
  for (const auto& p : c.progressing) out << "busy but progressing: " << p << "\n";
  if (!c.progressing.empty()) out << "\n";
  if (findings.empty()) {
    out << "no stuck loop found";
    if (!c.busiest.empty()) out << "; busiest: " << c.busiest;
    out << "\n";
    if (c.recorded_s < c.min_window_s)
      out << fmt::format("note: the recording holds {:.2f} s of samples; a loop is reported after {:.1f} s of "
                         "evidence: record longer (-d 5)\n",
                         c.recorded_s, c.min_window_s);
    return;
  }
  for (const auto& f : findings) {
    std::string who = fmt::format("goroutine {}", f.goid);
    if (!f.start_function.empty()) who += fmt::format(" (started as {})", f.start_function);
    std::string lines = line_span(f);
    out << fmt::format("{}: {}\n", f.kind, who);
    if (f.kind == "recursion") {
      out << fmt::format("  has recursed for {:.1f} s at {:.0f}% of a CPU,\n", f.duration_s, f.cpu_share * 100);
      out << fmt::format("  calling itself at {}:{} in {}\n", f.file, lines, f.function);
    } else {
      const char* verb = f.kind == "busy_poll" ? "has polled" : f.kind == "livelock" ? "has retried" : "has spun";
      const char* how = f.kind == "busy_poll"  ? "without ever waiting"
                        : f.kind == "livelock" ? "against other goroutines"
                                               : "without blocking";
      out << fmt::format("  {} for {:.1f} s at {:.0f}% of a CPU {},\n", verb, f.duration_s, f.cpu_share * 100, how);
      out << fmt::format("  inside the loop at {}:{} in {}\n", f.file, lines, f.function);
    }
    out << fmt::format("  evidence: {}\n", f.evidence);
    out << fmt::format("  confidence: {:.2f}\n\n", f.confidence);
  }
}

}  // namespace loophound::analyzer

#include <iostream>

#include <boost/program_options.hpp>

#include "analyzer/commands/analysis.h"
#include "analyzer/commands/commands.h"
#include "analyzer/detect/spin_detector.h"
#include "analyzer/report/report.h"

namespace po = boost::program_options;

namespace loophound::analyzer {
namespace {

constexpr const char* kUsage =
    "usage: loophound analyze FILE [--db OUT.db] [--binary PATH] [--format text|json] [--all]\n";

// The busiest goroutine, for the "nothing found" line.
std::string busiest_goroutine(Database& db) {
  auto st = db.prepare("SELECT goid, coalesce(start_function, ''), cpu_share FROM goroutine_cpu WHERE goid != 0 LIMIT 1");
  if (!st) return "";
  auto row = st->step();
  if (!row || !*row) return "";
  std::string who = "goroutine " + std::to_string(st->int64(0));
  if (!st->text(1).empty()) who += " (" + st->text(1) + ")";
  return who + " at " + std::to_string(static_cast<int>(st->real(2) * 100 + 0.5)) + "% of a CPU";
}

}  // namespace

int analyze_command(int argc, char** argv) {
  AnalysisOptions options;
  std::string format = "text";
  bool show_all = false;
  po::options_description desc("analyze options");
  desc.add_options()
      ("help,h", "show this help")
      ("db", po::value<std::string>(&options.db_path), "also keep the SQLite database in this file (replaced)")
      ("binary", po::value<std::string>(&options.binary), "executable to symbolize with (default: the recorded path)")
      ("format", po::value<std::string>(&format)->default_value("text"), "text or json")
      ("all", "also list goroutines that kept a CPU busy but were judged to be progressing, and why\n"
              "(JSON: a \"progressing\" list)");
  po::options_description hidden;
  hidden.add_options()("trace", po::value<std::string>(&options.trace_path));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("trace", 1);
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << kUsage << "\nImports a trace into SQLite, symbolizes it and reports goroutines stuck in loops.\n\n"
                << desc << "\n";
      return 0;
    }
    po::notify(vm);
    show_all = vm.count("all") > 0;
  } catch (const po::error& e) {
    std::cerr << "ERROR: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (options.trace_path.empty()) {
    std::cerr << "ERROR: no trace file given\n" << kUsage;
    return 2;
  }
  if (format != "text" && format != "json") {
    std::cerr << "ERROR: unknown --format '" << format << "' (text or json)\n";
    return 2;
  }

  auto analysis = run_analysis(options);
  if (!analysis) {
    std::cerr << "ERROR: " << analysis.error().message << "\n";
    return 1;
  }
  for (const auto& w : analysis->warnings) std::cerr << "WARNING: " << w << "\n";
  // Cut before its first sample, a trace says nothing about loops; "no
  // stuck loop found" would read as a clean bill of health.
  if (analysis->import.truncated && analysis->import.samples == 0) {
    std::cerr << "ERROR: '" << options.trace_path
              << "': the trace is truncated before its first sample (see the warning above): nothing to analyze\n";
    return 1;
  }
  // Without symbols no loop can be named: saying "nothing found" would be
  // a confident wrong answer.
  if (analysis->symbols.binary_used.empty()) {
    std::cerr << "ERROR: '" << options.trace_path
              << "': no usable executable to symbolize with, so no loop can be named (see the warning above)\n";
    return 1;
  }

  if (format == "json") {
    write_json_report(std::cout, analysis->findings, show_all ? &analysis->busy : nullptr);
    return 0;
  }
  const auto& header = analysis->import.header;
  ReportContext context;
  context.trace_path = options.trace_path;
  context.command = header.get("command");
  context.pid = header.get("pid");
  context.go_version = header.get("go_version");
  context.samples = analysis->import.samples;
  context.lost_events = analysis->import.lost_events;
  if (auto st = analysis->db->prepare("SELECT (max(ts) - min(ts)) / 1e9 FROM sample")) {
    if (auto row = st->step(); row && row.value()) context.recorded_s = st->real(0);
  }
  context.busiest = busiest_goroutine(*analysis->db);
  if (show_all)
    for (const auto& b : analysis->busy)
      context.progressing.push_back("goroutine " + std::to_string(b.goid) +
                                    (b.start_function.empty() ? "" : " (" + b.start_function + ")") + " at " +
                                    std::to_string(static_cast<int>(b.cpu_share * 100 + 0.5)) + "% of a CPU: " + b.why);
  context.min_window_s = SpinThresholds{}.min_window_s;
  const auto& symbols = analysis->symbols;
  context.symbols_from = (symbols.binary_source == "bundle" ? "the executable bundled in the trace"
                                                            : symbols.binary_used + " (" + symbols.binary_source + ")") +
                         ", lines from " + symbols.line_table;
  write_text_report(std::cout, context, analysis->findings);
  return 0;
}

}  // namespace loophound::analyzer

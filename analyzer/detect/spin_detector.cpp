#include "analyzer/detect/spin_detector.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include <fmt/format.h>

namespace loophound::analyzer {
namespace {

// Samples at one pc.
struct PcCount {
  uint64_t pc = 0;
  int line = 0;
  uint64_t samples = 0;
};

struct FunctionSamples {
  std::string function;
  std::string file;
  uint64_t samples = 0;
  std::vector<PcCount> pcs;
};

// Leaf functions (innermost inline level) of one goroutine's samples, most
// sampled first, each with its per-pc counts.
Result<std::vector<FunctionSamples>> leaf_functions(Database& db, uint64_t goid) {
  auto st = db.prepare(
      "SELECT coalesce(function, ''), coalesce(file, ''), coalesce(line, 0), pc, count(*) "
      "FROM sample_leaf WHERE goid = ? GROUP BY pc");
  if (!st) return st.error();
  st->bind(1, goid);
  std::map<std::pair<std::string, std::string>, FunctionSamples> by_function;
  Status st_read = st->each_row([&] {
    auto& f = by_function[{st->text(0), st->text(1)}];
    f.function = st->text(0);
    f.file = st->text(1);
    uint64_t n = static_cast<uint64_t>(st->int64(4));
    f.samples += n;
    f.pcs.push_back(PcCount{static_cast<uint64_t>(st->int64(3)), static_cast<int>(st->int64(2)), n});
  });
  if (!st_read) return st_read.error();
  std::vector<FunctionSamples> out;
  for (auto& [key, f] : by_function) out.push_back(std::move(f));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.samples > b.samples; });
  return out;
}

// The contiguous hot region around the hottest pc: sampled pcs sorted by
// address, grown from the hottest one while the next sampled pc is within
// `max_gap` bytes. A loop's code is laid out together, so its pcs chain up
// however the samples fall on them (a 95%-of-samples cut flickered: a pc
// with 3% of the samples sat at the loop's edge); a stray sample elsewhere
// in the function is too far away to join.
std::pair<uint64_t, uint64_t> hot_pc_span(std::vector<PcCount> pcs, uint64_t max_gap) {
  std::sort(pcs.begin(), pcs.end(), [](const auto& a, const auto& b) { return a.pc < b.pc; });
  size_t hottest = 0;
  for (size_t i = 1; i < pcs.size(); ++i)
    if (pcs[i].samples > pcs[hottest].samples) hottest = i;
  size_t lo = hottest, hi = hottest;
  while (lo > 0 && pcs[lo].pc - pcs[lo - 1].pc <= max_gap) --lo;
  while (hi + 1 < pcs.size() && pcs[hi + 1].pc - pcs[hi].pc <= max_gap) ++hi;
  return {pcs[lo].pc, pcs[hi].pc};
}

// Lines of `function` (innermost inline level) anywhere in the pc span,
// sampled or not: samples rarely land on a loop header's compare-and-
// branch, yet its line is the loop's `for`.
Result<std::pair<int, int>> line_range(Database& db, const FunctionSamples& f, uint64_t low, uint64_t high) {
  auto st = db.prepare(
      "SELECT min(line), max(line) FROM frame WHERE pc BETWEEN ? AND ? AND inline_depth = 0 "
      "AND function = ? AND file = ? AND line > 0");
  if (!st) return st.error();
  st->bind(1, low).bind(2, high).bind(3, f.function).bind(4, f.file);
  auto row = st->step();
  if (!row) return row.error();
  if (!*row || st->is_null(0)) return std::pair<int, int>{0, 0};
  return std::pair<int, int>{static_cast<int>(st->int64(0)), static_cast<int>(st->int64(1))};
}

}  // namespace

Result<double> sample_frequency(Database& db) {
  auto st = db.prepare("SELECT value FROM metadata WHERE key = 'sample_frequency_hz'");
  if (!st) return st.error();
  auto row = st->step();
  if (!row) return row.error();
  double hz = *row ? std::atof(st->text(0).c_str()) : 0;
  if (hz <= 0) return make_error("trace has no valid sample_frequency_hz in its header");
  return hz;
}

Result<std::vector<GoroutineWindow>> goroutine_windows(Database& db) {
  auto st = db.prepare(
      "SELECT s.goid, count(*), min(s.ts), max(s.ts), coalesce(g.start_function, '') "
      "FROM sample s LEFT JOIN goroutine g ON g.goid = s.goid "
      "WHERE s.goid != 0 GROUP BY s.goid ORDER BY count(*) DESC");
  if (!st) return st.error();
  std::vector<GoroutineWindow> out;
  Status st_read = st->each_row([&] {
    out.push_back(GoroutineWindow{static_cast<uint64_t>(st->int64(0)), static_cast<uint64_t>(st->int64(1)),
                                  static_cast<uint64_t>(st->int64(2)), static_cast<uint64_t>(st->int64(3)),
                                  st->text(4)});
  });
  if (!st_read) return st_read.error();
  return out;
}

Result<std::optional<Finding>> spin_by_leaf_function(Database& db, const GoroutineWindow& w, double cpu_share,
                                                    const SpinThresholds& t) {
  auto functions = leaf_functions(db, w.goid);
  if (!functions) return functions.error();
  if (functions->empty()) return std::optional<Finding>();
  const FunctionSamples& top = functions->front();
  double function_share = static_cast<double>(top.samples) / static_cast<double>(w.samples);
  if (function_share < t.min_function_share || top.function.empty() || top.function == "??")
    return std::optional<Finding>();
  auto [low, high] = hot_pc_span(top.pcs, t.max_pc_gap);
  auto lines = line_range(db, top, low, high);
  if (!lines) return lines.error();
  Finding f;
  f.kind = "spin";
  f.goid = w.goid;
  f.start_function = w.start_function;
  f.function = top.function;
  f.file = top.file;
  f.line = lines->first;
  f.end_line = lines->second;
  f.duration_s = w.seconds();
  f.cpu_share = cpu_share;
  f.samples = w.samples;
  f.confidence = std::clamp(cpu_share * function_share, 0.0, 1.0);
  f.evidence = fmt::format("on CPU in {:.0f}% of sample ticks over {:.1f} s; {} of its {} samples ({:.0f}%) in {}",
                           cpu_share * 100, w.seconds(), top.samples, w.samples, function_share * 100, top.function);
  return std::optional<Finding>(std::move(f));
}

Result<std::vector<Finding>> detect_spins(Database& db, const SpinThresholds& t) {
  auto hz = sample_frequency(db);
  if (!hz) return hz.error();
  auto windows = goroutine_windows(db);
  if (!windows) return windows.error();

  std::vector<Finding> findings;
  for (const auto& w : *windows) {
    if (w.seconds() < t.min_window_s) continue;
    double cpu_share = w.cpu_share(*hz);
    if (cpu_share < t.min_cpu_share) continue;
    auto f = spin_by_leaf_function(db, w, cpu_share, t);
    if (!f) return f.error();
    if (*f) findings.push_back(std::move(**f));
  }
  return findings;
}

}  // namespace loophound::analyzer

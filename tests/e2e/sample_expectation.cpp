#include "tests/e2e/sample_expectation.h"

#include <fstream>
#include <sstream>

namespace loophound::testing {
namespace {
// "key=value" pairs after a marker word, in order.
std::vector<std::pair<std::string, std::string>> pairs_after(const std::string& line, const std::string& marker) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream words(line.substr(line.find(marker) + marker.size()));
  for (std::string word; words >> word;) {
    auto eq = word.find('=');
    if (eq != std::string::npos) out.emplace_back(word.substr(0, eq), word.substr(eq + 1));
    else out.emplace_back(word, "");
  }
  return out;
}
}  // namespace

Result<SampleExpectation> read_expectation(const std::string& source_path) {
  std::ifstream in(source_path);
  if (!in) return make_error("'" + source_path + "': cannot read");
  SampleExpectation e;
  std::vector<std::pair<std::string, int>> loop_lines;  // marker's function (or ""), line
  bool has_expect = false;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find("loophound:expect") != std::string::npos) {
      has_expect = true;
      ExpectedLoop loop;
      for (const auto& [key, value] : pairs_after(line, "loophound:expect")) {
        if (key == "none") e.expect_none = true;
        else if (key == "kind") loop.kind = value;
        else if (key == "function") loop.function = value;
      }
      if (!loop.function.empty()) e.loops.push_back(loop);
    } else if (line.find("loophound:decoy") != std::string::npos) {
      for (const auto& [key, value] : pairs_after(line, "loophound:decoy"))
        if (key == "function") e.decoy_functions.push_back(value);
    } else if (line.find("loophound:loop") != std::string::npos) {
      std::string function;
      for (const auto& [key, value] : pairs_after(line, "loophound:loop"))
        if (key == "function") function = value;
      loop_lines.emplace_back(function, number);
    }
  }
  // Each marker belongs to the expected loop it names, or to the only one.
  for (const auto& [function, number] : loop_lines)
    for (auto& loop : e.loops)
      if (function.empty() || function == loop.function) loop.loop_line = number;
  if (!e.loops.empty()) {
    e.kind = e.loops.front().kind;
    e.function = e.loops.front().function;
    e.loop_line = e.loops.front().loop_line;
  }
  for (const auto& loop : e.loops)
    if (loop.loop_line == 0)
      return make_error("'" + source_path + "': no loophound:loop line for " + loop.function);
  if (!has_expect) return make_error("'" + source_path + "': no loophound:expect line");
  if (!e.expect_none && (e.function.empty() || e.loop_line == 0))
    return make_error("'" + source_path + "': loophound:expect needs function= and a loophound:loop line");
  return e;
}

bool ExpectedLoop::allows(const std::string& reported_kind) const {
  for (size_t start = 0;;) {
    size_t bar = kind.find('|', start);
    if (kind.substr(start, bar == std::string::npos ? std::string::npos : bar - start) == reported_kind) return true;
    if (bar == std::string::npos) return false;
    start = bar + 1;
  }
}

}  // namespace loophound::testing

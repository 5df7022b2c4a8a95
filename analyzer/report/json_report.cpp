#include <nlohmann/json.hpp>

#include "analyzer/report/report.h"

namespace loophound::analyzer {

void write_json_report(std::ostream& out, const std::vector<Finding>& findings,
                       const std::vector<BusyGoroutine>* progressing) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : findings) {
    list.push_back({{"kind", f.kind},
                    {"goroutine", f.goid},
                    {"function", f.function},
                    {"file", f.file},
                    {"line", f.line},
                    {"end_line", f.end_line},
                    {"duration_s", f.duration_s},
                    {"cpu_share", f.cpu_share},
                    {"samples", f.samples},
                    {"confidence", f.confidence}});
  }
  nlohmann::json report{{"findings", list}};
  if (progressing != nullptr) {
    nlohmann::json busy = nlohmann::json::array();
    for (const auto& b : *progressing)
      busy.push_back({{"goroutine", b.goid}, {"start_function", b.start_function}, {"cpu_share", b.cpu_share},
                      {"why", b.why}});
    report["progressing"] = busy;
  }
  out << report.dump(2) << "\n";
}

}  // namespace loophound::analyzer

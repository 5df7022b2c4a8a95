#include <nlohmann/json.hpp>

#include "analyzer/report/report.h"

namespace loophound::analyzer {

void write_json_report(std::ostream& out, const std::vector<Finding>& findings) {
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
  out << nlohmann::json{{"findings", list}}.dump(2) << "\n";
}

}  // namespace loophound::analyzer

#include "schema/trace_format.h"

namespace loophound::trace {

std::string Header::get(const std::string& key) const {
  // Linear: a header holds a few dozen keys and is read once per trace.
  for (const auto& [k, v] : metadata) {
    if (k == key) return v;
  }
  return "";
}

}  // namespace loophound::trace

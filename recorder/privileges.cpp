#include "recorder/privileges.h"

#include <cstdint>
#include <fstream>
#include <string>

namespace loophound::recorder {
namespace {
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

uint64_t effective_capabilities() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("CapEff:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  }
  return 0;
}
}  // namespace

Status check_privileges() {
  uint64_t caps = effective_capabilities();
  auto has = [caps](int cap) { return (caps >> cap) & 1; };
  if (has(kCapSysAdmin) || (has(kCapBpf) && has(kCapPerfmon))) return ok_status();
  std::string missing;
  if (!has(kCapBpf)) missing += " CAP_BPF";
  if (!has(kCapPerfmon)) missing += " CAP_PERFMON";
  return make_error("missing capability:" + missing +
                    " (or CAP_SYS_ADMIN) is needed to load BPF programs and sample CPUs; run as root");
}

}  // namespace loophound::recorder

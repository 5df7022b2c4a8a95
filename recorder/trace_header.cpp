#include "recorder/trace_header.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>

#include "recorder/version.h"

namespace loophound::recorder {
namespace {
uint64_t clock_ns(clockid_t clock) {
  timespec ts = {};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

std::string redacted_path(const std::string& path, bool redact) {
  if (!redact || path.empty() || path[0] != '/') return path;  // "[vdso]", "[heap]", anonymous stay
  return path.substr(path.rfind('/') + 1);
}

Result<trace::Header> make_trace_header(const TargetProcess& target, const GoBuildInfo& build,
                                        const RuntimeLayout& layout, const RecordingOptions& options) {
  trace::Header header;
  auto put = [&header](std::string key, std::string value) {
    header.metadata.emplace_back(std::move(key), std::move(value));
  };
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  utsname uts = {};
  uname(&uts);

  put("recorder_version", kRecorderVersion);
  put("hostname", options.redact ? "redacted" : host);
  put("kernel_release", uts.release);
  // Both clocks read back to back: samples carry CLOCK_MONOTONIC, and this
  // pair converts them to wall time.
  put("start_wall_time_ns", std::to_string(clock_ns(CLOCK_REALTIME)));
  put("start_monotonic_ns", std::to_string(clock_ns(CLOCK_MONOTONIC)));
  put("sample_frequency_hz", std::to_string(options.frequency_hz));
  put("events", options.events);
  put("registers", options.registers ? "1" : "0");
  put("pid", std::to_string(target.pid()));
  put("command", target.command_name());
  put("executable", redacted_path(target.executable_path(), options.redact));
  put("redacted", options.redact ? "1" : "0");
  put("go_version", build.go_version);
  put("build_id.go", build.build_id_go);
  put("build_id.gnu", build.build_id_gnu);
  put("layout_source", layout.source);
  const StructOffsets& o = layout.offsets;
  put("offset.tls_g", std::to_string(layout.tls_g));
  for (const auto& [key, value] : {std::pair<const char*, uint32_t>{"offset.g.goid", o.g_goid},
                                   {"offset.g.m", o.g_m},
                                   {"offset.g.atomicstatus", o.g_atomicstatus},
                                   {"offset.g.waitreason", o.g_waitreason},
                                   {"offset.g.sched.pc", o.g_sched_pc},
                                   {"offset.g.startpc", o.g_startpc},
                                   {"offset.g.gopc", o.g_gopc},
                                   {"offset.g.parentGoid", o.g_parent_goid},
                                   {"offset.m.g0", o.m_g0},
                                   {"offset.m.curg", o.m_curg},
                                   {"offset.m.gsignal", o.m_gsignal},
                                   {"offset.m.p", o.m_p},
                                   {"offset.p.schedtick", o.p_schedtick}})
    put(key, std::to_string(value));
  // Wait reasons are numbered differently in each Go version; the names
  // come from the target itself so the analyzer can print them.
  for (size_t i = 0; i < build.wait_reasons.size(); ++i)
    if (!build.wait_reasons[i].empty()) put("wait_reason." + std::to_string(i), build.wait_reasons[i]);

  auto mappings = target.read_mappings();
  if (!mappings) return mappings.error();
  header.mappings = std::move(mappings.value());
  for (auto& m : header.mappings) m.path = redacted_path(m.path, options.redact);
  return header;
}

}  // namespace loophound::recorder

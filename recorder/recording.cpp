#include "recorder/recording.h"

#include <chrono>
#include <cstdio>

#include "recorder/binary_bundle.h"
#include "recorder/bpf_session.h"
#include "recorder/elf_file.h"
#include "recorder/go_build_info.h"
#include "recorder/go_functions.h"
#include "recorder/privileges.h"
#include "recorder/runtime_layout.h"
#include "recorder/target_process.h"
#include "recorder/trace_header.h"
#include "recorder/trace_sink.h"
#include "schema/trace_writer.h"

namespace loophound::recorder {
namespace {

using Clock = std::chrono::steady_clock;

// How often the loop wakes to check the clock, the target and the signal
// flag; also the longest a Ctrl-C waits.
constexpr int kPollTimeoutMs = 100;
// Events are flushed to disk at least this often, so a recorder that is
// killed (not stopped) loses at most about this much.
constexpr auto kFlushInterval = std::chrono::seconds(1);

Status add_probes(const ElfFile& elf, const EventSelection& events, BpfConfig* config) {
  std::vector<GoProbe> probes;
  if (events.execute) probes.push_back(GoProbe::kExecute);
  if (events.states) probes.push_back(GoProbe::kCasgstatus);
  if (events.goroutines) {
    probes.push_back(GoProbe::kNewproc1);
    probes.push_back(GoProbe::kGoexit1);
  }
  GoFunctions functions(elf);
  for (GoProbe probe : probes) {
    auto offset = functions.entry_file_offset(go_probe_symbol(probe));
    if (!offset) return offset.error();
    config->uprobes.emplace_back(probe, *offset);
  }
  return ok_status();
}

}  // namespace

Result<EventSelection> EventSelection::parse(const std::string& list) {
  EventSelection e;
  e.samples = false;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string word = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (word == "samples") e.samples = true;
    else if (word == "execute") e.execute = true;
    else if (word == "states") e.states = true;
    else if (word == "goroutines") e.goroutines = true;
    else if (word == "sched") e.sched = true;
    else if (word == "all") e.samples = e.execute = e.states = e.goroutines = e.sched = true;
    else
      return make_error("unknown event kind '" + word +
                        "' in --events (known: samples, execute, states, goroutines, sched, all)");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return e;
}

std::string EventSelection::to_string() const {
  std::string out;
  auto add = [&out](bool on, const char* name) {
    if (on) out += (out.empty() ? "" : ",") + std::string(name);
  };
  add(samples, "samples");
  add(execute, "execute");
  add(states, "states");
  add(goroutines, "goroutines");
  add(sched, "sched");
  return out;
}

Result<std::string> describe_layout(const std::string& binary) {
  auto elf = ElfFile::open(binary);
  if (!elf) return elf.error();
  auto build = read_go_build_info(**elf);
  if (!build) return build.error();
  auto offsets = offsets_from_dwarf(**elf);
  if (!offsets) return offsets.error();
  int major = 0, minor = 0;
  if (!parse_go_version(build->go_version, &major, &minor))
    return make_error("'" + binary + "': unparsable Go version '" + build->go_version + "'");
  return build->go_version + " tls_g=" + std::to_string(tls_g_offset(**elf)) + "\n" + layout_table_row(minor, *offsets);
}

Result<RecordSummary> record(const RecordConfig& config, const std::atomic<bool>& stop) {
  if (auto status = check_privileges(); !status) return status.error();
  auto target = TargetProcess::open(config.pid);
  if (!target) return target.error();
  auto elf = ElfFile::open(target->exe_link());
  if (!elf) return elf.error();
  auto build = read_go_build_info(**elf);
  if (!build) return make_error("PID " + std::to_string(config.pid) + " (" + target->executable_path() +
                                ") is not a Go program: " + build.error().message);
  auto layout = find_runtime_layout(**elf, *build, config.force);
  if (!layout) return layout.error();

  BpfConfig bpf_config;
  bpf_config.pid = config.pid;
  bpf_config.layout = *layout;
  bpf_config.samples = config.events.samples;
  bpf_config.registers = config.registers;
  bpf_config.frequency_hz = config.frequency_hz;
  bpf_config.sched = config.events.sched;
  bpf_config.uprobe_binary = target->exe_link();
  if (auto status = add_probes(**elf, config.events, &bpf_config); !status) return status.error();

  RecordingOptions options{config.frequency_hz, config.events.to_string(), config.redact, config.registers};
  auto header = make_trace_header(*target, *build, *layout, options);
  if (!header) return header.error();
  auto writer = trace::TraceWriter::create(config.output_path);
  if (!writer) return writer.error();
  if (auto status = (*writer)->write_header(*header); !status) return status.error();
  if (config.bundle) {
    auto parts = make_binary_bundle(**elf, *build, redacted_path(target->executable_path(), config.redact),
                                    BundleOptions{config.bundle_dwarf});
    if (!parts) return parts.error();
    for (const auto& part : *parts)
      if (auto status = (*writer)->add_binary_bundle(part); !status) return status.error();
    if (auto status = (*writer)->flush(); !status) return status.error();
  }

  TraceSink sink(writer->get());
  auto session = BpfSession::start(bpf_config, &sink);
  if (!session) return session.error();

  if (!config.quiet) {
    std::fprintf(stderr, "loophound-record: recording %s of PID %d (%s, %s, layout from %s)",
                 options.events.c_str(), config.pid, target->command_name().c_str(), build->go_version.c_str(),
                 layout->source.c_str());
    if (config.events.samples)
      std::fprintf(stderr, " at %d Hz on %d CPUs", config.frequency_hz, (*session)->attached_cpus());
    if (config.duration_s > 0) std::fprintf(stderr, " for %g s", config.duration_s);
    std::fprintf(stderr, "; Ctrl-C to stop\n");
  }

  const auto start = Clock::now();
  auto last_flush = start;
  std::string stop_reason;
  while (stop_reason.empty()) {
    if (auto status = (*session)->poll(kPollTimeoutMs); !status) return status.error();
    if (!sink.status()) return sink.status().error();
    const auto now = Clock::now();
    if (stop.load()) stop_reason = "signal";
    else if (target->has_exited()) stop_reason = "target exited";
    else if (config.duration_s > 0 && now - start >= std::chrono::duration<double>(config.duration_s))
      stop_reason = "duration";
    if (now - last_flush >= kFlushInterval) {
      if (auto status = (*writer)->flush(); !status) return status.error();
      last_flush = now;
    }
  }
  if (auto status = (*session)->drain(); !status) return status.error();
  if (!sink.status()) return sink.status().error();

  const lh_counters counters = (*session)->counters();
  trace::Footer footer;
  footer.end_timestamp_ns = sink.last_timestamp_ns();
  footer.samples = sink.samples();
  footer.execute_events = sink.execute_events();
  footer.lost_events = counters.ringbuf_full;
  footer.stacks = sink.stacks();
  footer.stop_reason = stop_reason;
  if (counters.ringbuf_full > 0) {
    auto status = (*writer)->add_lost(trace::LostEvents{footer.end_timestamp_ns, counters.ringbuf_full,
                                                        "ringbuf_reserve"});
    if (!status) return status.error();
  }
  if (auto status = (*writer)->finish(footer); !status) return status.error();

  RecordSummary summary;
  summary.samples = footer.samples;
  summary.execute_events = footer.execute_events;
  summary.lost_events = footer.lost_events;
  summary.stacks = footer.stacks;
  summary.bytes = (*writer)->bytes_written();
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  summary.stop_reason = stop_reason;
  return summary;
}

}  // namespace loophound::recorder

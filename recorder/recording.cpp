#include "recorder/recording.h"

#include <chrono>
#include <cstdio>

#include "recorder/bpf_session.h"
#include "recorder/elf_file.h"
#include "recorder/go_build_info.h"
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

Result<uint64_t> execute_probe_offset(const ElfFile& elf) {
  auto symbol = elf.find_symbol("runtime.execute");
  if (!symbol)
    return make_error("'" + elf.path() + "': no symbol runtime.execute (stripped binary); " +
                      "switch events need a symbol table for now: record without --events execute");
  auto offset = elf.vaddr_to_file_offset(symbol->value);
  if (!offset) return make_error("'" + elf.path() + "': runtime.execute is outside every PT_LOAD segment");
  return *offset;
}

}  // namespace

Result<RecordSummary> record(const RecordConfig& config, const std::atomic<bool>& stop) {
  if (auto status = check_privileges(); !status) return status.error();
  auto target = TargetProcess::open(config.pid);
  if (!target) return target.error();
  auto elf = ElfFile::open(target->exe_link());
  if (!elf) return elf.error();
  auto build = read_go_build_info(**elf);
  if (!build) return make_error("PID " + std::to_string(config.pid) + " (" + target->executable_path() +
                                ") is not a Go program: " + build.error().message);
  auto layout = find_runtime_layout(**elf, *build);
  if (!layout) return layout.error();

  BpfConfig bpf_config;
  bpf_config.pid = config.pid;
  bpf_config.layout = *layout;
  bpf_config.frequency_hz = config.frequency_hz;
  if (config.execute_events) {
    auto offset = execute_probe_offset(**elf);
    if (!offset) return offset.error();
    bpf_config.execute_file_offset = *offset;
    bpf_config.uprobe_binary = target->exe_link();
  }

  RecordingOptions options{config.frequency_hz, config.execute_events ? "samples,execute" : "samples"};
  auto header = make_trace_header(*target, *build, *layout, options);
  if (!header) return header.error();
  auto writer = trace::TraceWriter::create(config.output_path);
  if (!writer) return writer.error();
  if (auto status = (*writer)->write_header(*header); !status) return status.error();

  TraceSink sink(writer->get());
  auto session = BpfSession::start(bpf_config, &sink);
  if (!session) return session.error();

  if (!config.quiet) {
    std::fprintf(stderr, "loophound-record: recording PID %d (%s, %s) at %d Hz on %d CPUs", config.pid,
                 target->command_name().c_str(), build->go_version.c_str(), config.frequency_hz,
                 (*session)->attached_cpus());
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

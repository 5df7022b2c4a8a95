#include "recorder/bpf_session.h"

#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "loophound_probes.skel.h"

namespace loophound::recorder {
namespace {

std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

int perf_event_open(perf_event_attr* attr, pid_t pid, int cpu) {
  return static_cast<int>(syscall(SYS_perf_event_open, attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC));
}

}  // namespace

const char* go_probe_symbol(GoProbe probe) {
  switch (probe) {
    case GoProbe::kExecute: return "runtime.execute";
    case GoProbe::kCasgstatus: return "runtime.casgstatus";
    case GoProbe::kNewproc1: return "runtime.newproc1";
    case GoProbe::kGoexit1: return "runtime.goexit1";
  }
  return "?";
}

std::vector<int> online_cpus() {
  std::ifstream in("/sys/devices/system/cpu/online");
  std::string list;
  std::getline(in, list);
  std::vector<int> cpus;
  std::stringstream ranges(list);
  std::string range;
  while (std::getline(ranges, range, ',')) {
    int first = 0, last = 0;
    if (std::sscanf(range.c_str(), "%d-%d", &first, &last) == 2) {
      for (int c = first; c <= last; ++c) cpus.push_back(c);
    } else if (std::sscanf(range.c_str(), "%d", &first) == 1) {
      cpus.push_back(first);
    }
  }
  return cpus;
}

Result<std::unique_ptr<BpfSession>> BpfSession::start(const BpfConfig& config, BpfEventSink* sink) {
  std::unique_ptr<BpfSession> session(new BpfSession());
  session->sink_ = sink;
  session->skel_ = loophound_probes__open();
  if (session->skel_ == nullptr) return make_error("cannot open the BPF object: " + errno_text(errno));

  auto* ro = session->skel_->rodata;
  const StructOffsets& o = config.layout.offsets;
  ro->target_tgid = static_cast<__u32>(config.pid);
  ro->capture_regs = config.registers ? 1 : 0;
  ro->tls_g_offset = config.layout.tls_g;
  ro->g_goid_offset = o.g_goid;
  ro->g_m_offset = o.g_m;
  ro->m_g0_offset = o.m_g0;
  ro->m_curg_offset = o.m_curg;
  ro->m_gsignal_offset = o.m_gsignal;
  ro->g_atomicstatus_offset = o.g_atomicstatus;
  ro->g_waitreason_offset = o.g_waitreason;
  ro->g_sched_pc_offset = o.g_sched_pc;
  ro->g_startpc_offset = o.g_startpc;
  ro->g_gopc_offset = o.g_gopc;
  ro->g_parent_goid_offset = o.g_parent_goid;
  ro->m_p_offset = o.m_p;
  ro->p_schedtick_offset = o.p_schedtick;

  auto& progs = session->skel_->progs;
  auto program_of = [&progs](GoProbe probe) {
    switch (probe) {
      case GoProbe::kExecute: return progs.on_execute;
      case GoProbe::kCasgstatus: return progs.on_casgstatus;
      case GoProbe::kNewproc1: return progs.on_newproc1;
      case GoProbe::kGoexit1: return progs.on_goexit1;
    }
    return progs.on_execute;
  };
  // Load only what is attached: fewer programs, less verifier time.
  for (GoProbe probe : {GoProbe::kExecute, GoProbe::kCasgstatus, GoProbe::kNewproc1, GoProbe::kGoexit1}) {
    bool used = false;
    for (const auto& [p, offset] : config.uprobes) used |= p == probe;
    if (!used) bpf_program__set_autoload(program_of(probe), false);
  }
  if (!config.samples) bpf_program__set_autoload(progs.on_cpu_sample, false);
  if (!config.sched) bpf_program__set_autoload(progs.on_sched_switch, false);

  if (int err = loophound_probes__load(session->skel_); err != 0)
    return make_error("cannot load the BPF programs: " + errno_text(err) +
                      " (is BTF available at /sys/kernel/btf/vmlinux?)");

  if (config.samples)
    if (auto status = session->attach_perf_events(config.frequency_hz); !status) return status.error();

  for (const auto& [probe, offset] : config.uprobes) {
    bpf_link* link = bpf_program__attach_uprobe(program_of(probe), false, config.pid, config.uprobe_binary.c_str(),
                                                static_cast<size_t>(offset));
    if (link == nullptr)
      return make_error(std::string("cannot attach the uprobe to ") + go_probe_symbol(probe) + " in '" +
                        config.uprobe_binary + "': " + errno_text(errno));
    session->links_.push_back(link);
  }
  if (config.sched) {
    bpf_link* link = bpf_program__attach(progs.on_sched_switch);
    if (link == nullptr) return make_error("cannot attach to sched_switch (tp_btf): " + errno_text(errno));
    session->links_.push_back(link);
  }

  session->ring_ = ring_buffer__new(bpf_map__fd(session->skel_->maps.events), &BpfSession::on_ring_event,
                                    session.get(), nullptr);
  if (session->ring_ == nullptr) return make_error("cannot create the ring buffer: " + errno_text(errno));
  return session;
}

Status BpfSession::attach_perf_events(int frequency_hz) {
  for (int cpu : online_cpus()) {
    perf_event_attr attr = {};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    // cpu-clock, not cycles: it works in VMs without a PMU, and its rate is
    // wall-clock, so samples per second mean CPU share directly.
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.freq = 1;
    attr.sample_freq = static_cast<__u64>(frequency_hz);
    int fd = perf_event_open(&attr, -1, cpu);
    if (fd < 0) {
      if (errno == ENODEV) continue;  // CPU went offline meanwhile
      return make_error("cannot open a cpu-clock perf event on CPU " + std::to_string(cpu) + ": " +
                        errno_text(errno));
    }
    perf_fds_.push_back(fd);
    bpf_link* link = bpf_program__attach_perf_event(skel_->progs.on_cpu_sample, fd);
    if (link == nullptr)
      return make_error("cannot attach the sampler to CPU " + std::to_string(cpu) + ": " + errno_text(errno));
    links_.push_back(link);
  }
  if (perf_fds_.empty()) return make_error("no online CPU could be sampled");
  return ok_status();
}

int BpfSession::on_ring_event(void* ctx, void* data, size_t size) {
  auto* self = static_cast<BpfSession*>(ctx);
  if (size < sizeof(lh_event_header)) return 0;
  const auto* header = static_cast<const lh_event_header*>(data);
  switch (header->kind) {
    case LH_EVENT_SAMPLE:
      if (size >= sizeof(lh_sample_event)) self->sink_->on_sample(*static_cast<const lh_sample_event*>(data));
      break;
    case LH_EVENT_EXECUTE:
      if (size >= sizeof(lh_execute_event)) self->sink_->on_execute(*static_cast<const lh_execute_event*>(data));
      break;
    case LH_EVENT_STATE:
      if (size >= sizeof(lh_state_event)) self->sink_->on_state(*static_cast<const lh_state_event*>(data));
      break;
    case LH_EVENT_CREATE:
      if (size >= sizeof(lh_create_event)) self->sink_->on_create(*static_cast<const lh_create_event*>(data));
      break;
    case LH_EVENT_EXIT:
      if (size >= sizeof(lh_execute_event)) self->sink_->on_exit(*static_cast<const lh_execute_event*>(data));
      break;
    case LH_EVENT_SCHED:
      if (size >= sizeof(lh_sched_event)) self->sink_->on_sched(*static_cast<const lh_sched_event*>(data));
      break;
  }
  return 0;
}

Status BpfSession::poll(int timeout_ms) {
  int n = ring_buffer__poll(ring_, timeout_ms);
  if (n < 0 && n != -EINTR) return make_error("ring buffer poll failed: " + errno_text(n));
  return ok_status();
}

Status BpfSession::drain() {
  int n = ring_buffer__consume(ring_);
  if (n < 0 && n != -EINTR) return make_error("ring buffer drain failed: " + errno_text(n));
  return ok_status();
}

lh_counters BpfSession::counters() const {
  lh_counters c = {};
  if (skel_ != nullptr && skel_->bss != nullptr) {
    c.ringbuf_full = __atomic_load_n(&skel_->bss->counters.ringbuf_full, __ATOMIC_RELAXED);
    c.goid_read_failed = __atomic_load_n(&skel_->bss->counters.goid_read_failed, __ATOMIC_RELAXED);
  }
  return c;
}

BpfSession::~BpfSession() {
  if (ring_ != nullptr) ring_buffer__free(ring_);
  for (bpf_link* link : links_) bpf_link__destroy(link);
  for (int fd : perf_fds_) close(fd);
  if (skel_ != nullptr) loophound_probes__destroy(skel_);
}

}  // namespace loophound::recorder

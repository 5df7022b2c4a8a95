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
  ro->target_tgid = static_cast<__u32>(config.pid);
  ro->tls_g_offset = config.layout.tls_g;
  ro->g_goid_offset = config.layout.g_goid;
  ro->g_m_offset = config.layout.g_m;
  ro->m_g0_offset = config.layout.m_g0;
  ro->m_curg_offset = config.layout.m_curg;
  ro->m_gsignal_offset = config.layout.m_gsignal;
  if (!config.execute_file_offset) bpf_program__set_autoload(session->skel_->progs.on_execute, false);

  if (int err = loophound_probes__load(session->skel_); err != 0)
    return make_error("cannot load the BPF programs: " + errno_text(err) +
                      " (is BTF available at /sys/kernel/btf/vmlinux?)");

  if (auto status = session->attach_perf_events(config.frequency_hz); !status) return status.error();

  if (config.execute_file_offset) {
    bpf_link* link = bpf_program__attach_uprobe(session->skel_->progs.on_execute, false, config.pid,
                                                config.uprobe_binary.c_str(),
                                                static_cast<size_t>(*config.execute_file_offset));
    if (link == nullptr)
      return make_error("cannot attach the uprobe to runtime.execute in '" + config.uprobe_binary +
                        "': " + errno_text(errno));
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
  if (header->kind == LH_EVENT_SAMPLE && size >= sizeof(lh_sample_event))
    self->sink_->on_sample(*static_cast<const lh_sample_event*>(data));
  else if (header->kind == LH_EVENT_EXECUTE && size >= sizeof(lh_execute_event))
    self->sink_->on_execute(*static_cast<const lh_execute_event*>(data));
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

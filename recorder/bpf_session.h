// BpfSession: the kernel side of one recording. Owns the libbpf skeleton
// through its whole lifecycle, libbpf-bootstrap style:
//   open -> set read-only globals (target, runtime layout) -> load ->
//   attach (one cpu-clock perf event per online CPU, optional uprobe) ->
//   poll the ring buffer -> destroy (one cleanup path, the destructor).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpf/loophound_events.h"
#include "recorder/runtime_layout.h"
#include "schema/result.h"

struct loophound_probes;  // the generated skeleton (bpf/loophound_probes.bpf.c)
struct ring_buffer;
struct bpf_link;

namespace loophound::recorder {

class BpfEventSink {
 public:
  virtual ~BpfEventSink() = default;
  virtual void on_sample(const lh_sample_event& event) = 0;
  virtual void on_execute(const lh_execute_event& event) = 0;
  virtual void on_state(const lh_state_event& event) = 0;
  virtual void on_create(const lh_create_event& event) = 0;
  virtual void on_exit(const lh_execute_event& event) = 0;
  virtual void on_sched(const lh_sched_event& event) = 0;
};

// Runtime functions the uprobes attach to (entry only: uretprobes corrupt
// Go's movable stacks).
enum class GoProbe { kExecute, kCasgstatus, kNewproc1, kGoexit1 };
const char* go_probe_symbol(GoProbe probe);

struct BpfConfig {
  pid_t pid = 0;
  RuntimeLayout layout;
  bool samples = true;  // cpu-clock perf events
  bool registers = false;  // --regs: user registers with each sample
  int frequency_hz = 99;
  bool sched = false;   // tp_btf/sched_switch
  // Uprobes, each at a file offset of `uprobe_binary`.
  std::vector<std::pair<GoProbe, uint64_t>> uprobes;
  std::string uprobe_binary;
};

class BpfSession {
 public:
  static Result<std::unique_ptr<BpfSession>> start(const BpfConfig& config, BpfEventSink* sink);
  ~BpfSession();
  BpfSession(const BpfSession&) = delete;
  BpfSession& operator=(const BpfSession&) = delete;

  // Delivers pending events to the sink, waiting up to timeout_ms for some.
  Status poll(int timeout_ms);
  // Delivers whatever is still in the ring buffer without waiting.
  Status drain();
  lh_counters counters() const;
  int attached_cpus() const { return static_cast<int>(perf_fds_.size()); }

 private:
  BpfSession() = default;
  Status attach_perf_events(int frequency_hz);
  static int on_ring_event(void* ctx, void* data, size_t size);

  ::loophound_probes* skel_ = nullptr;
  ring_buffer* ring_ = nullptr;
  BpfEventSink* sink_ = nullptr;
  std::vector<int> perf_fds_;
  std::vector<bpf_link*> links_;
};

// CPUs listed in /sys/devices/system/cpu/online ("0-3,6").
std::vector<int> online_cpus();

}  // namespace loophound::recorder

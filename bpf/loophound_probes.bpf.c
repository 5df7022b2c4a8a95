// SPDX-License-Identifier: GPL-2.0
/* loophound's kernel side: CPU samples and goroutine switch events of one
 * Go process, sent to user space through one ring buffer.
 *
 * The goroutine of a sample is read from the thread's TLS: on linux/amd64 a
 * pure-Go binary keeps the current g at fsbase + tls_g_offset (-8). When the
 * thread is on g0 (scheduler) or gsignal (signal handler) we follow g.m.curg
 * so the sample is charged to the goroutine the thread is running for. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "loophound_events.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the recorder before load (read-only after it). */
const volatile __u32 target_tgid = 0;
const volatile __s64 tls_g_offset = -8;
const volatile __u32 g_goid_offset = 0;
const volatile __u32 g_m_offset = 0;
const volatile __u32 m_g0_offset = 0;
const volatile __u32 m_curg_offset = 0;
const volatile __u32 m_gsignal_offset = 0;

struct lh_counters counters = {};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 8 << 20); /* 8 MiB: ~7000 full-stack samples of slack */
} events SEC(".maps");

static __always_inline __u64 read_user_u64(__u64 address) {
  __u64 value = 0;
  if (bpf_probe_read_user(&value, sizeof(value), (void *)address) != 0) {
    __sync_fetch_and_add(&counters.goid_read_failed, 1);
    return 0;
  }
  return value;
}

/* Returns the goid of g, following m.curg when g is g0 or gsignal. */
static __always_inline __u64 goid_of(__u64 g, __u32 *flags) {
  if (g == 0)
    return 0;
  __u64 m = read_user_u64(g + g_m_offset);
  if (m != 0) {
    __u64 g0 = read_user_u64(m + m_g0_offset);
    __u64 gsignal = read_user_u64(m + m_gsignal_offset);
    if (g == g0 || g == gsignal) {
      *flags |= LH_FLAG_SYSTEM_STACK;
      g = read_user_u64(m + m_curg_offset);
      if (g == 0)
        return 0;
    }
  }
  return read_user_u64(g + g_goid_offset);
}

static __always_inline __u64 current_g(void) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  __u64 fsbase = BPF_CORE_READ(task, thread.fsbase);
  if (fsbase == 0)
    return 0;
  return read_user_u64(fsbase + tls_g_offset);
}

static __always_inline int fill_header(struct lh_event_header *h, __u32 kind) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  h->kind = kind;
  h->cpu = bpf_get_smp_processor_id();
  h->timestamp_ns = bpf_ktime_get_ns();
  h->tid = (__u32)pid_tgid;
  h->flags = 0;
  h->goid = 0;
  return 0;
}

static __always_inline int is_target(void) {
  return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx) {
  if (!is_target())
    return 0;
  struct lh_sample_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    __sync_fetch_and_add(&counters.ringbuf_full, 1);
    return 0;
  }
  fill_header(&e->header, LH_EVENT_SAMPLE);
  e->header.goid = goid_of(current_g(), &e->header.flags);
  /* User stack by frame pointers (Go keeps them on amd64); when the thread
   * was interrupted in the kernel, the kernel starts from its user regs. */
  e->stack_bytes = bpf_get_stack(ctx, e->stack, sizeof(e->stack), BPF_F_USER_STACK);
  bpf_ringbuf_submit(e, 0);
  return 0;
}

/* runtime.execute(gp *g, inheritTime bool) runs on g0; with the register
 * ABI (Go >= 1.17) gp arrives in RAX. Entry probe only: uretprobes corrupt
 * Go's movable stacks. */
SEC("uprobe")
int on_execute(struct pt_regs *ctx) {
  if (!is_target())
    return 0;
  struct lh_execute_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    __sync_fetch_and_add(&counters.ringbuf_full, 1);
    return 0;
  }
  fill_header(&e->header, LH_EVENT_EXECUTE);
  __u64 gp = ctx->ax;
  if (gp != 0)
    e->header.goid = read_user_u64(gp + g_goid_offset);
  bpf_ringbuf_submit(e, 0);
  return 0;
}

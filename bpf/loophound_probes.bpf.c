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
#include <bpf/bpf_tracing.h>

#include "loophound_events.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the recorder before load (read-only after it). */
const volatile __u32 target_tgid = 0;
const volatile __u32 capture_regs = 0; /* --regs */
const volatile __s64 tls_g_offset = -8;
const volatile __u32 g_goid_offset = 0;
const volatile __u32 g_m_offset = 0;
const volatile __u32 m_g0_offset = 0;
const volatile __u32 m_curg_offset = 0;
const volatile __u32 m_gsignal_offset = 0;
const volatile __u32 g_atomicstatus_offset = 0;
const volatile __u32 g_waitreason_offset = 0;
const volatile __u32 g_sched_pc_offset = 0;    /* g.sched + gobuf.pc */
const volatile __u32 g_startpc_offset = 0;
const volatile __u32 g_gopc_offset = 0;
const volatile __u32 g_parent_goid_offset = 0; /* 0: the field does not exist (Go < 1.21) */
const volatile __u32 m_p_offset = 0;
const volatile __u32 p_schedtick_offset = 0;

struct lh_counters counters = {};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 8 << 20); /* 8 MiB: ~7000 full-stack samples of slack */
} events SEC(".maps");

/* Submits without waking the recorder until a good amount is pending: a
 * wakeup per event makes the recorder's thread run per event, which
 * preempts target threads, which makes more sched_switch events (a
 * feedback loop measured at 23k events/s). The recorder polls every
 * 100 ms anyway; 1 MiB of the 8 MiB buffer is drained well before it fills. */
#define LH_WAKEUP_BYTES (1 << 20)
static __always_inline void submit(void *event) {
  __u64 pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
  bpf_ringbuf_submit(event, pending > LH_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline __u64 read_user_u64(__u64 address) {
  __u64 value = 0;
  if (bpf_probe_read_user(&value, sizeof(value), (void *)address) != 0) {
    __sync_fetch_and_add(&counters.goid_read_failed, 1);
    return 0;
  }
  return value;
}

static __always_inline __u32 read_user_u32(__u64 address) {
  __u32 value = 0;
  bpf_probe_read_user(&value, sizeof(value), (void *)address);
  return value;
}

static __always_inline __u8 read_user_u8(__u64 address) {
  __u8 value = 0;
  bpf_probe_read_user(&value, sizeof(value), (void *)address);
  return value;
}

/* The user goroutine a thread runs for: g itself, or m.curg when g is g0
 * or gsignal (then *flags gets LH_FLAG_SYSTEM_STACK). *m_out is g's m. */
static __always_inline __u64 user_goroutine(__u64 g, __u32 *flags, __u64 *m_out) {
  *m_out = 0;
  if (g == 0)
    return 0;
  __u64 m = read_user_u64(g + g_m_offset);
  *m_out = m;
  if (m != 0) {
    __u64 g0 = read_user_u64(m + m_g0_offset);
    __u64 gsignal = read_user_u64(m + m_gsignal_offset);
    if (g == g0 || g == gsignal) {
      *flags |= LH_FLAG_SYSTEM_STACK;
      return read_user_u64(m + m_curg_offset);
    }
  }
  return g;
}

static __always_inline __u64 goid_of(__u64 g) {
  return g != 0 ? read_user_u64(g + g_goid_offset) : 0;
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

/* Reserves an event of `size` bytes with its header filled in; NULL (and
 * one more ringbuf_full) when the ring buffer has no room. */
static __always_inline void *reserve_event(__u64 size, __u32 kind) {
  struct lh_event_header *h = bpf_ringbuf_reserve(&events, size, 0);
  if (!h) {
    __sync_fetch_and_add(&counters.ringbuf_full, 1);
    return NULL;
  }
  fill_header(h, kind);
  return h;
}

/* The frame windows (see lh_frame_window): the leaf's from `sp`, then one
 * per saved frame pointer, following the chain up from `fp`. A window
 * that cannot be read (unmapped) ends the walk. */
static __always_inline void read_frame_windows(struct lh_sample_event *e, __u64 sp, __u64 fp) {
  e->windows[0].pc = 0;
  e->windows[0].sp = sp;
  if (bpf_probe_read_user(e->windows[0].words, LH_FRAME_WINDOW_BYTES, (void *)sp) != 0)
    return;
  e->window_count = 1;
  for (int i = 1; i < LH_FRAME_WINDOWS; i++) {
    __u64 link[2]; /* saved frame pointer, return address */
    if (fp == 0 || bpf_probe_read_user(link, sizeof(link), (void *)fp) != 0)
      return;
    e->windows[i].pc = link[1];
    e->windows[i].sp = fp + 16;
    if (bpf_probe_read_user(e->windows[i].words, LH_FRAME_WINDOW_BYTES, (void *)(fp + 16)) != 0)
      return;
    e->window_count = i + 1;
    if (link[0] <= fp) /* stacks grow down: a caller's frame is above */
      return;
    fp = link[0];
  }
}

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx) {
  if (!is_target())
    return 0;
  struct lh_sample_event *e = reserve_event(sizeof(*e), LH_EVENT_SAMPLE);
  if (!e)
    return 0;
  __u64 m = 0;
  __u64 g = user_goroutine(current_g(), &e->header.flags, &m);
  e->header.goid = goid_of(g);
  __builtin_memset(&e->view, 0, sizeof(e->view));
  if (g != 0) {
    if (g_parent_goid_offset != 0)
      e->view.parent_goid = read_user_u64(g + g_parent_goid_offset);
    e->view.start_pc = read_user_u64(g + g_startpc_offset);
    e->view.creation_pc = read_user_u64(g + g_gopc_offset);
    e->view.sched_pc = read_user_u64(g + g_sched_pc_offset);
  }
  if (m != 0) {
    __u64 p = read_user_u64(m + m_p_offset);
    if (p != 0)
      e->view.schedtick = read_user_u32(p + p_schedtick_offset);
  }
  /* User stack by frame pointers (Go keeps them on amd64); when the thread
   * was interrupted in the kernel, the kernel starts from its user regs. */
  e->stack_bytes = bpf_get_stack(ctx, e->stack, sizeof(e->stack), BPF_F_USER_STACK);
  e->has_regs = 0;
  e->window_count = 0;
  /* The user registers saved at kernel entry (the timer interrupt, or the
   * syscall the thread is in): user space's view, whichever mode the
   * sample interrupted. */
  struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
  e->sp_word = 0;
  bpf_probe_read_user(&e->sp_word, sizeof(e->sp_word), (void *)BPF_CORE_READ(r, sp));
  if (capture_regs) {
    e->regs[0] = BPF_CORE_READ(r, ax);
    e->regs[1] = BPF_CORE_READ(r, bx);
    e->regs[2] = BPF_CORE_READ(r, cx);
    e->regs[3] = BPF_CORE_READ(r, dx);
    e->regs[4] = BPF_CORE_READ(r, si);
    e->regs[5] = BPF_CORE_READ(r, di);
    e->regs[6] = BPF_CORE_READ(r, bp);
    e->regs[7] = BPF_CORE_READ(r, sp);
    e->regs[8] = BPF_CORE_READ(r, r8);
    e->regs[9] = BPF_CORE_READ(r, r9);
    e->regs[10] = BPF_CORE_READ(r, r10);
    e->regs[11] = BPF_CORE_READ(r, r11);
    e->regs[12] = BPF_CORE_READ(r, r12);
    e->regs[13] = BPF_CORE_READ(r, r13);
    e->regs[14] = BPF_CORE_READ(r, r14);
    e->regs[15] = BPF_CORE_READ(r, r15);
    e->regs[16] = BPF_CORE_READ(r, ip);
    e->regs[17] = BPF_CORE_READ(r, flags);
    e->has_regs = 1;
    read_frame_windows(e, e->regs[7], e->regs[6]);
  }
  submit(e);
  return 0;
}

/* runtime.execute(gp *g, inheritTime bool) runs on g0; with the register
 * ABI (Go >= 1.17) gp arrives in RAX. Entry probe only: uretprobes corrupt
 * Go's movable stacks. */
SEC("uprobe")
int on_execute(struct pt_regs *ctx) {
  if (!is_target())
    return 0;
  struct lh_execute_event *e = reserve_event(sizeof(*e), LH_EVENT_EXECUTE);
  if (!e)
    return 0;
  e->header.goid = goid_of(ctx->ax);
  submit(e);
  return 0;
}

#define LH_GWAITING 4

/* runtime.casgstatus(gp *g, oldval, newval uint32): every goroutine state
 * change. gp in RAX, oldval in RBX, newval in RCX (register ABI). */
SEC("uprobe")
int on_casgstatus(struct pt_regs *ctx) {
  if (!is_target())
    return 0;
  struct lh_state_event *e = reserve_event(sizeof(*e), LH_EVENT_STATE);
  if (!e)
    return 0;
  __u64 gp = ctx->ax;
  e->header.goid = goid_of(gp);
  e->g_addr = gp;
  e->old_status = (__u32)ctx->bx;
  e->new_status = (__u32)ctx->cx;
  /* gopark stores the reason in g (or m, then park_m copies it to g)
   * before the transition to _Gwaiting. */
  e->wait_reason = (e->new_status & 0xfff) == LH_GWAITING && gp != 0
                       ? read_user_u8(gp + g_waitreason_offset) : 0;
  e->pad = 0;
  submit(e);
  return 0;
}

/* runtime.newproc1(fn *funcval, callergp *g, callerpc uintptr, ...): fn in
 * RAX (fn->fn is the start pc), callergp in RBX, callerpc in RCX. */
SEC("uprobe")
int on_newproc1(struct pt_regs *ctx) {
  if (!is_target())
    return 0;
  struct lh_create_event *e = reserve_event(sizeof(*e), LH_EVENT_CREATE);
  if (!e)
    return 0;
  e->start_pc = ctx->ax != 0 ? read_user_u64(ctx->ax) : 0;
  e->parent_goid = goid_of(ctx->bx);
  e->creation_pc = ctx->cx;
  submit(e);
  return 0;
}

/* runtime.goexit1 runs on the exiting goroutine's own stack, so the g in
 * TLS is the goroutine itself. */
SEC("uprobe")
int on_goexit1(struct pt_regs *ctx) {
  if (!is_target())
    return 0;
  struct lh_execute_event *e = reserve_event(sizeof(*e), LH_EVENT_EXIT);
  if (!e)
    return 0;
  __u64 m = 0;
  e->header.goid = goid_of(user_goroutine(current_g(), &e->header.flags, &m));
  submit(e);
  return 0;
}

/* Every context switch on the machine passes here; only those that take a
 * target thread off or put one on a CPU are sent. BTF-typed (tp_btf), so
 * it needs no tracefs. prev_state is an argument since Linux 5.18. */
SEC("tp_btf/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
             unsigned int prev_state) {
  __u32 flags = 0;
  if ((__u32)prev->tgid == target_tgid)
    flags |= LH_FLAG_PREV_IS_TARGET;
  if ((__u32)next->tgid == target_tgid)
    flags |= LH_FLAG_NEXT_IS_TARGET;
  if (flags == 0)
    return 0;
  struct lh_sched_event *e = reserve_event(sizeof(*e), LH_EVENT_SCHED);
  if (!e)
    return 0;
  e->header.flags = flags;
  e->header.tid = (__u32)prev->pid;
  e->prev_tid = (__u32)prev->pid;
  e->next_tid = (__u32)next->pid;
  /* A preempted task is still runnable, whatever its state word says (it
   * may have been preempted on its way to sleep). */
  e->prev_state = preempt ? 0 : prev_state;
  submit(e);
  return 0;
}

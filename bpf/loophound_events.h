/* Records that the BPF programs send to the recorder through the ring
 * buffer, and the constants both sides need. Plain C with fixed-width
 * types: included by loophound_probes.bpf.c (after vmlinux.h) and by C++. */
#ifndef LOOPHOUND_EVENTS_H
#define LOOPHOUND_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Deep stacks: the stuck loop is often a caller frame, not the leaf. */
#define LH_MAX_STACK_DEPTH 127

enum lh_event_kind {
  LH_EVENT_SAMPLE = 1,  /* perf_event cpu-clock sample of a target thread */
  LH_EVENT_EXECUTE = 2, /* uprobe runtime.execute: a goroutine starts running */
  LH_EVENT_STATE = 3,   /* uprobe runtime.casgstatus: a goroutine changes state */
  LH_EVENT_CREATE = 4,  /* uprobe runtime.newproc1: a `go` statement runs */
  LH_EVENT_EXIT = 5,    /* uprobe runtime.goexit1: a goroutine returns */
  LH_EVENT_SCHED = 6,   /* tp_btf/sched_switch involving a target thread */
};

/* lh_event_header.flags */
#define LH_FLAG_SYSTEM_STACK (1u << 0) /* TLS held g0/gsignal; goid is m.curg's */
#define LH_FLAG_PREV_IS_TARGET (1u << 1) /* sched: prev task is a target thread */
#define LH_FLAG_NEXT_IS_TARGET (1u << 2) /* sched: next task is a target thread */

struct lh_event_header {
  __u32 kind;
  __u32 cpu;
  __u64 timestamp_ns; /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
  __u32 tid;
  __u32 flags;
  __u64 goid;         /* 0 when no goroutine could be named */
};

/* What the sampled goroutine is and where the scheduler last left it;
 * read at each sample, so switch information costs no per-switch probe. */
struct lh_goroutine_view {
  __u64 parent_goid; /* g.parentGoid (Go >= 1.21), else 0 */
  __u64 start_pc;    /* g.startpc */
  __u64 creation_pc; /* g.gopc */
  __u64 sched_pc;    /* g.sched.pc: where it was last switched out */
  __u64 schedtick;   /* m.p.schedtick of the sampled thread */
};

/* --regs: the user registers at the sample, in this order: rax rbx rcx rdx
 * rsi rdi rbp rsp r8-r15 rip rflags. The same pc with the same registers
 * twice, in a loop that stores nothing, proves the loop cannot end. */
#define LH_NUM_REGS 18

/* --regs also sends the first bytes of the innermost frames: the stack
 * slots where Go keeps a loop's variables across calls (it has no
 * callee-saved registers), so the analyzer can read a loop's index and
 * bound and tell a loop that advances toward its exit from one that does
 * not. Window 0 starts at the user stack pointer (the leaf's frame);
 * window i >= 1 at the stack pointer of the frame that the i-th saved
 * frame pointer returns into (fp + 16), labelled with that return address. */
#define LH_FRAME_WINDOWS 8
#define LH_FRAME_WINDOW_BYTES 256

struct lh_frame_window {
  __u64 pc; /* return address into the frame (0 for window 0: the leaf) */
  __u64 sp; /* the frame's stack pointer: where words[] starts */
  __u64 words[LH_FRAME_WINDOW_BYTES / 8];
};

struct lh_sample_event {
  struct lh_event_header header;
  struct lh_goroutine_view view;
  __u64 sp_word; /* the word at the user stack pointer: the return address
                    a frameless leaf's frame-pointer unwind skips */
  __u32 has_regs;
  __u32 window_count; /* frame windows filled (--regs), 0..LH_FRAME_WINDOWS */
  __u64 regs[LH_NUM_REGS];
  struct lh_frame_window windows[LH_FRAME_WINDOWS];
  __s64 stack_bytes; /* bpf_get_stack result: bytes of stack[], or -errno */
  __u64 stack[LH_MAX_STACK_DEPTH];
};

struct lh_execute_event {
  struct lh_event_header header;
};

struct lh_state_event {
  struct lh_event_header header; /* goid as read at the call (stale for a new g in Go <= 1.22) */
  __u64 g_addr;
  __u32 old_status;
  __u32 new_status;
  __u32 wait_reason;
  __u32 pad;
};

struct lh_create_event {
  struct lh_event_header header; /* goid: 0, the new id is not known at entry */
  __u64 parent_goid;
  __u64 start_pc;
  __u64 creation_pc;
};

struct lh_sched_event {
  struct lh_event_header header; /* tid = prev tid */
  __u64 prev_state;
  __u32 prev_tid;
  __u32 next_tid;
};

/* Counters the BPF side keeps in .bss; the recorder reads them at the end. */
struct lh_counters {
  __u64 ringbuf_full;      /* events dropped: bpf_ringbuf_reserve failed */
  __u64 goid_read_failed;  /* a g/m pointer could not be read */
};

#endif

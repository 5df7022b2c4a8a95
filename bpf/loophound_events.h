/* Records that the BPF programs send to the recorder through the ring
 * buffer, and the constants both sides need. Plain C with fixed-width
 * types: included by loophound.bpf.c (after vmlinux.h) and by C++. */
#ifndef LOOPHOUND_EVENTS_H
#define LOOPHOUND_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Deep stacks: the stuck loop is often a caller frame, not the leaf. */
#define LH_MAX_STACK_DEPTH 127

enum lh_event_kind {
  LH_EVENT_SAMPLE = 1,  /* perf_event cpu-clock sample of a target thread */
  LH_EVENT_EXECUTE = 2, /* uprobe at runtime.execute: a goroutine starts running */
};

/* lh_event_header.flags */
#define LH_FLAG_SYSTEM_STACK (1u << 0) /* TLS held g0/gsignal; goid is m.curg's */

struct lh_event_header {
  __u32 kind;
  __u32 cpu;
  __u64 timestamp_ns; /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
  __u32 tid;
  __u32 flags;
  __u64 goid;         /* 0 when no goroutine could be named */
};

struct lh_sample_event {
  struct lh_event_header header;
  __s64 stack_bytes; /* bpf_get_stack result: bytes of stack[], or -errno */
  __u64 stack[LH_MAX_STACK_DEPTH];
};

struct lh_execute_event {
  struct lh_event_header header;
};

/* Counters the BPF side keeps in .bss; the recorder reads them at the end. */
struct lh_counters {
  __u64 ringbuf_full;      /* events dropped: bpf_ringbuf_reserve failed */
  __u64 goid_read_failed;  /* a g/m pointer could not be read */
};

#endif

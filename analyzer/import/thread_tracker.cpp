#include "analyzer/import/thread_tracker.h"

#include <algorithm>
#include <map>
#include <string>

namespace loophound::analyzer {
namespace {

// Linux task states as sched_switch reports prev_state (TASK_RUNNING = 0
// also stands for "preempted": the recorder clears it when preempt is set).
std::string off_cpu_state(uint64_t prev_state) {
  if (prev_state == 0) return "preempted";
  if (prev_state & 0x1) return "sleeping";  // TASK_INTERRUPTIBLE
  if (prev_state & 0x2) return "blocked";   // TASK_UNINTERRUPTIBLE (disk, page fault, ...)
  return "other";
}

struct Edge {
  uint64_t ts;
  uint32_t cpu;
  bool on;  // true: switched in
  uint64_t prev_state;
};

}  // namespace

Status ThreadTracker::write(Database& db) {
  std::map<uint32_t, std::vector<Edge>> by_tid;
  for (const auto& s : switches_) {
    if (s.flags & trace::kSwitchPrevIsTarget) by_tid[s.prev_tid].push_back({s.timestamp_ns, s.cpu, false, s.prev_state});
    if (s.flags & trace::kSwitchNextIsTarget) by_tid[s.next_tid].push_back({s.timestamp_ns, s.cpu, true, 0});
  }
  auto insert = db.prepare("INSERT INTO thread_state (tid, state, start_ns, end_ns, cpu) VALUES (?, ?, ?, ?, ?)");
  if (!insert) return insert.error();
  for (auto& [tid, edges] : by_tid) {
    std::stable_sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) { return a.ts < b.ts; });
    for (size_t i = 0; i < edges.size(); ++i) {
      const Edge& e = edges[i];
      auto& st = insert->bind(1, tid).bind(2, e.on ? std::string("running") : off_cpu_state(e.prev_state)).bind(3, e.ts);
      if (i + 1 < edges.size()) st.bind(4, edges[i + 1].ts);
      if (auto r = st.bind(5, e.cpu).run(); !r) return r;
    }
  }
  return ok_status();
}

}  // namespace loophound::analyzer

#include "analyzer/import/goroutine_tracker.h"

#include <algorithm>
#include <set>

namespace loophound::analyzer {
namespace {

constexpr uint32_t kScanBit = 0x1000;  // _Gscan: set while the GC scans the stack

bool by_time(const trace::GoroutineState& a, const trace::GoroutineState& b) {
  return a.timestamp_ns < b.timestamp_ns;
}

bool is_creation(const trace::GoroutineState& s) {
  uint32_t to = s.new_status & ~kScanBit;
  return (s.old_status & ~kScanBit) == trace::kGdead && (to == trace::kGrunnable || to == trace::kGwaiting);
}

}  // namespace

std::string goroutine_state_name(uint32_t status) {
  switch (status & ~kScanBit) {
    case trace::kGidle: return "idle";
    case trace::kGrunnable: return "runnable";
    case trace::kGrunning: return "running";
    case trace::kGsyscall: return "syscall";
    case trace::kGwaiting: return "waiting";
    case trace::kGdead: return "dead";
    case trace::kGcopystack: return "copystack";
    case trace::kGpreempted: return "preempted";
  }
  return "status " + std::to_string(status & ~kScanBit);
}

void GoroutineTracker::resolve_new_goids() {
  std::stable_sort(states_.begin(), states_.end(), by_time);
  // Per g address, the index of its events in time order.
  std::map<uint64_t, std::vector<size_t>> by_g;
  for (size_t i = 0; i < states_.size(); ++i) by_g[states_[i].g_addr].push_back(i);
  for (auto& [g_addr, events] : by_g) {
    for (size_t k = 0; k < events.size(); ++k) {
      auto& s = states_[events[k]];
      if (!is_creation(s)) continue;
      // The next event on this g (it is picked up and run) has its real id.
      if (k + 1 < events.size() && !is_creation(states_[events[k + 1]])) {
        s.goid = states_[events[k + 1]].goid;
      } else {
        s.goid = 0;
        ++unresolved_creations_;
        continue;
      }
      created_ns_.emplace(s.goid, s.timestamp_ns);
    }
  }
  for (const auto& s : states_)
    if ((s.new_status & ~kScanBit) == trace::kGdead && s.goid != 0) exited_ns_[s.goid] = s.timestamp_ns;
  for (const auto& e : exits_)
    if (e.goid != 0) exited_ns_.emplace(e.goid, e.timestamp_ns);

  // A `go` statement (newproc1) is followed on the same thread by the new
  // goroutine's creation transition: that names the created goroutine.
  std::sort(creates_.begin(), creates_.end(),
            [](const auto& a, const auto& b) { return a.timestamp_ns < b.timestamp_ns; });
  std::map<uint32_t, std::vector<const trace::GoroutineState*>> creations_by_tid;
  for (const auto& s : states_)
    if (is_creation(s) && s.goid != 0) creations_by_tid[s.tid].push_back(&s);
  for (auto& c : creates_) {
    auto it = creations_by_tid.find(c.tid);
    if (it == creations_by_tid.end()) continue;
    auto next = std::lower_bound(it->second.begin(), it->second.end(), c.timestamp_ns,
                                 [](const trace::GoroutineState* s, uint64_t ts) { return s->timestamp_ns < ts; });
    if (next != it->second.end()) c.goid = (*next)->goid;
  }
}

Status GoroutineTracker::write_states(Database& db) {
  auto insert = db.prepare(
      "INSERT INTO goroutine_state (goid, state, status, start_ns, end_ns, next_state, tid, wait_reason) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!insert) return insert.error();
  std::map<uint64_t, std::vector<const trace::GoroutineState*>> by_goid;
  for (const auto& s : states_)
    if (s.goid != 0) by_goid[s.goid].push_back(&s);
  for (const auto& [goid, events] : by_goid) {
    for (size_t i = 0; i < events.size(); ++i) {
      const auto& s = *events[i];
      uint32_t status = s.new_status & ~kScanBit;
      auto& st = insert->bind(1, goid).bind(2, goroutine_state_name(status)).bind(3, status).bind(4, s.timestamp_ns);
      if (i + 1 < events.size()) {
        st.bind(5, events[i + 1]->timestamp_ns).bind(6, goroutine_state_name(events[i + 1]->new_status));
      }
      st.bind(7, s.tid);
      if (status == trace::kGwaiting) {
        auto name = wait_reason_names_.find(s.wait_reason);
        st.bind(8, name != wait_reason_names_.end() ? name->second : "reason " + std::to_string(s.wait_reason));
      }
      if (auto r = st.run(); !r) return r;
    }
  }
  return ok_status();
}

Status GoroutineTracker::write_creates(Database& db) {
  auto insert = db.prepare(
      "INSERT INTO goroutine_create (ts, tid, goid, parent_goid, start_pc, creation_pc) VALUES (?, ?, ?, ?, ?, ?)");
  if (!insert) return insert.error();
  for (const auto& c : creates_) {
    auto& st = insert->bind(1, c.timestamp_ns).bind(2, c.tid);
    if (c.goid != 0) st.bind(3, c.goid);
    if (auto r = st.bind(4, c.parent_goid).bind(5, c.start_pc).bind(6, c.creation_pc).run(); !r) return r;
  }
  return ok_status();
}

Status GoroutineTracker::write_lifecycle(Database& db) {
  // Every goroutine that any event names gets a row.
  std::set<uint64_t> goids;
  for (const auto& [goid, info] : infos_) goids.insert(goid);
  for (const auto& s : states_) goids.insert(s.goid);
  for (const auto& e : exits_) goids.insert(e.goid);
  for (const auto& c : creates_) goids.insert(c.goid);
  goids.erase(0);
  auto add = db.prepare("INSERT OR IGNORE INTO goroutine (goid, samples, switches) VALUES (?, 0, 0)");
  auto seen = db.prepare(
      "UPDATE goroutine SET first_ns = min(coalesce(first_ns, ?1), ?1), last_ns = max(coalesce(last_ns, ?1), ?1) "
      "WHERE goid = ?2");
  auto info = db.prepare("UPDATE goroutine SET parent_goid = ?, start_pc = ?, creation_pc = ? WHERE goid = ?");
  auto created = db.prepare("UPDATE goroutine SET created_ns = ? WHERE goid = ?");
  auto exited = db.prepare("UPDATE goroutine SET exited_ns = ? WHERE goid = ?");
  for (auto* st : {&add, &seen, &info, &created, &exited})
    if (!*st) return st->error();
  for (uint64_t goid : goids)
    if (auto r = add->bind(1, goid).run(); !r) return r;
  // First and last state event per goroutine, folded in memory: one
  // UPDATE per goroutine, not per event (-e states gives millions).
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> span;
  for (const auto& s : states_) {
    if (s.goid == 0) continue;
    auto [it, added] = span.try_emplace(s.goid, s.timestamp_ns, s.timestamp_ns);
    if (!added) {
      it->second.first = std::min(it->second.first, s.timestamp_ns);
      it->second.second = std::max(it->second.second, s.timestamp_ns);
    }
  }
  for (const auto& [goid, first_last] : span) {
    if (auto r = seen->bind(1, first_last.first).bind(2, goid).run(); !r) return r;
    if (auto r = seen->bind(1, first_last.second).bind(2, goid).run(); !r) return r;
  }
  for (const auto& [goid, i] : infos_) {
    auto& st = info->bind(2, i.start_pc).bind(3, i.creation_pc).bind(4, goid);
    if (i.parent_goid != 0) st.bind(1, i.parent_goid);
    if (auto r = st.run(); !r) return r;
  }
  // newproc1 knows the parent on every Go version; fill what g.parentGoid could not.
  auto parent = db.prepare(
      "UPDATE goroutine SET parent_goid = coalesce(parent_goid, ?), start_pc = coalesce(start_pc, ?), "
      "creation_pc = coalesce(creation_pc, ?) WHERE goid = ?");
  if (!parent) return parent.error();
  for (const auto& c : creates_)
    if (c.goid != 0)
      if (auto r = parent->bind(1, c.parent_goid).bind(2, c.start_pc).bind(3, c.creation_pc).bind(4, c.goid).run(); !r)
        return r;
  for (const auto& [goid, ts] : created_ns_)
    if (auto r = created->bind(1, ts).bind(2, goid).run(); !r) return r;
  for (const auto& [goid, ts] : exited_ns_)
    if (auto r = exited->bind(1, ts).bind(2, goid).run(); !r) return r;
  return ok_status();
}

Status GoroutineTracker::write(Database& db) {
  resolve_new_goids();
  if (auto s = write_states(db); !s) return s;
  if (auto s = write_creates(db); !s) return s;
  return write_lifecycle(db);
}

}  // namespace loophound::analyzer

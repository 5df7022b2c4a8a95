// GoroutineTracker: builds goroutine lifecycles and state intervals from
// the goroutine events of a trace (Perfetto's *Tracker idea: importers feed
// it records in any order, it writes tables at the end).
//
// The one subtle part is naming a new goroutine: Go <= 1.22 assigns the
// goid after the _Gdead -> _Grunnable transition that creates it, so that
// state event carries a stale id. Each event also carries the g's address;
// a creation takes the goid of the next event on the same g.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "analyzer/db/database.h"
#include "schema/result.h"
#include "schema/trace_format.h"

namespace loophound::analyzer {

class GoroutineTracker {
 public:
  void add_info(const trace::GoroutineInfo& info) { infos_[info.goid] = info; }
  void add_state(const trace::GoroutineState& state) { states_.push_back(state); }
  void add_create(const trace::GoroutineCreate& create) { creates_.push_back(create); }
  void add_exit(const trace::GoroutineExit& exit) { exits_.push_back(exit); }
  void set_wait_reasons(std::map<uint32_t, std::string> names) { wait_reason_names_ = std::move(names); }

  // Writes goroutine_state and goroutine_create, and fills the lifecycle
  // columns of goroutine (rows missing there are added).
  Status write(Database& db);

  uint64_t unresolved_creations() const { return unresolved_creations_; }

 private:
  void resolve_new_goids();
  Status write_states(Database& db);
  Status write_creates(Database& db);
  Status write_lifecycle(Database& db);

  std::map<uint64_t, trace::GoroutineInfo> infos_;
  std::vector<trace::GoroutineState> states_;
  std::vector<trace::GoroutineCreate> creates_;
  std::vector<trace::GoroutineExit> exits_;
  std::map<uint32_t, std::string> wait_reason_names_;
  std::map<uint64_t, uint64_t> created_ns_;  // goid -> creation time
  std::map<uint64_t, uint64_t> exited_ns_;   // goid -> exit time
  uint64_t unresolved_creations_ = 0;
};

// Go's name for a status ("running"), _Gscan bit ignored.
std::string goroutine_state_name(uint32_t status);

}  // namespace loophound::analyzer

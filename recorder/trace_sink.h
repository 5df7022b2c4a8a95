// TraceSink: turns the raw events of the BPF side into trace records.
// Stacks are interned here: each distinct stack is written once, the first
// time it is seen, and samples carry its id (a spinning goroutine repeats
// the same few stacks thousands of times).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "recorder/bpf_session.h"
#include "schema/trace_writer.h"

namespace loophound::recorder {

class TraceSink : public BpfEventSink {
 public:
  explicit TraceSink(trace::TraceWriter* writer) : writer_(writer) {}

  void on_sample(const lh_sample_event& event) override;
  void on_execute(const lh_execute_event& event) override;
  void on_state(const lh_state_event& event) override;
  void on_create(const lh_create_event& event) override;
  void on_exit(const lh_execute_event& event) override;
  void on_sched(const lh_sched_event& event) override;

  uint64_t samples() const { return samples_; }
  // Goroutine and thread events of every kind (switch, state, create, exit, sched).
  uint64_t execute_events() const { return events_; }
  uint64_t stacks() const { return stacks_.size(); }
  uint64_t last_timestamp_ns() const { return last_timestamp_ns_; }
  // The first write error, if any (later events are dropped after one).
  const Status& status() const { return status_; }

 private:
  uint32_t intern_stack(std::vector<uint64_t> frames);
  void keep(Status status);
  void saw_event(uint64_t timestamp_ns);

  trace::TraceWriter* writer_;
  std::map<std::vector<uint64_t>, uint32_t> stacks_;
  uint64_t samples_ = 0;
  uint64_t events_ = 0;
  std::set<uint64_t> described_goroutines_;  // goids whose GoroutineInfo is written
  uint64_t last_timestamp_ns_ = 0;
  Status status_ = ok_status();
};

}  // namespace loophound::recorder

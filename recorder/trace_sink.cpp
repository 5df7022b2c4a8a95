#include "recorder/trace_sink.h"

#include <algorithm>

namespace loophound::recorder {

void TraceSink::keep(Status status) {
  if (status_ && !status) status_ = std::move(status);
}

uint32_t TraceSink::intern_stack(std::vector<uint64_t> frames) {
  auto it = stacks_.find(frames);
  if (it != stacks_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(stacks_.size() + 1);  // 0 is never a stack
  keep(writer_->add_stack(trace::Stack{id, frames}));
  stacks_.emplace(std::move(frames), id);
  return id;
}

void TraceSink::on_sample(const lh_sample_event& event) {
  if (!status_) return;
  trace::Sample sample;
  sample.timestamp_ns = event.header.timestamp_ns;
  sample.cpu = event.header.cpu;
  sample.tid = event.header.tid;
  sample.goid = event.header.goid;
  if (event.header.flags & LH_FLAG_SYSTEM_STACK) sample.flags |= trace::kSampleOnSystemStack;
  std::vector<uint64_t> frames;
  if (event.stack_bytes > 0) {
    size_t count = std::min<size_t>(static_cast<size_t>(event.stack_bytes) / sizeof(uint64_t),
                                    LH_MAX_STACK_DEPTH);
    frames.assign(event.stack, event.stack + count);
  } else {
    sample.flags |= trace::kSampleStackError;
  }
  sample.stack_id = intern_stack(std::move(frames));
  keep(writer_->add_sample(sample));
  ++samples_;
  last_timestamp_ns_ = std::max(last_timestamp_ns_, sample.timestamp_ns);
}

void TraceSink::on_execute(const lh_execute_event& event) {
  if (!status_) return;
  keep(writer_->add_execute(trace::ExecuteEvent{event.header.timestamp_ns, event.header.cpu,
                                                event.header.tid, event.header.goid}));
  ++execute_events_;
  last_timestamp_ns_ = std::max<uint64_t>(last_timestamp_ns_, event.header.timestamp_ns);
}

}  // namespace loophound::recorder

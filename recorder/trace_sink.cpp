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
  sample.sched_pc = event.view.sched_pc;
  sample.schedtick = event.view.schedtick;
  if (event.has_regs) sample.registers.assign(event.regs, event.regs + LH_NUM_REGS);
  sample.sp_word = event.sp_word;
  for (uint32_t i = 0; i < event.window_count && i < LH_FRAME_WINDOWS; ++i) {
    const lh_frame_window& w = event.windows[i];
    sample.frame_windows.push_back(
        trace::FrameWindow{w.pc, w.sp, std::string(reinterpret_cast<const char*>(w.words), sizeof(w.words))});
  }
  // What the goroutine is never changes: written once, at first sight.
  if (sample.goid != 0 && described_goroutines_.insert(sample.goid).second)
    keep(writer_->add_goroutine_info(
        trace::GoroutineInfo{sample.goid, event.view.parent_goid, event.view.start_pc, event.view.creation_pc}));
  keep(writer_->add_sample(sample));
  ++samples_;
  last_timestamp_ns_ = std::max(last_timestamp_ns_, sample.timestamp_ns);
}

void TraceSink::saw_event(uint64_t timestamp_ns) {
  ++events_;
  last_timestamp_ns_ = std::max(last_timestamp_ns_, timestamp_ns);
}

void TraceSink::on_execute(const lh_execute_event& event) {
  if (!status_) return;
  const auto& h = event.header;
  keep(writer_->add_execute(trace::ExecuteEvent{h.timestamp_ns, h.cpu, h.tid, h.goid}));
  saw_event(h.timestamp_ns);
}

void TraceSink::on_state(const lh_state_event& event) {
  if (!status_) return;
  const auto& h = event.header;
  keep(writer_->add_goroutine_state(trace::GoroutineState{h.timestamp_ns, h.cpu, h.tid, h.goid, event.g_addr,
                                                          event.old_status, event.new_status, event.wait_reason}));
  saw_event(h.timestamp_ns);
}

void TraceSink::on_create(const lh_create_event& event) {
  if (!status_) return;
  const auto& h = event.header;
  keep(writer_->add_goroutine_create(trace::GoroutineCreate{h.timestamp_ns, h.cpu, h.tid, h.goid, event.parent_goid,
                                                            event.start_pc, event.creation_pc}));
  saw_event(h.timestamp_ns);
}

void TraceSink::on_exit(const lh_execute_event& event) {
  if (!status_) return;
  const auto& h = event.header;
  keep(writer_->add_goroutine_exit(trace::GoroutineExit{h.timestamp_ns, h.cpu, h.tid, h.goid}));
  saw_event(h.timestamp_ns);
}

void TraceSink::on_sched(const lh_sched_event& event) {
  if (!status_) return;
  const auto& h = event.header;
  uint32_t flags = 0;
  if (h.flags & LH_FLAG_PREV_IS_TARGET) flags |= trace::kSwitchPrevIsTarget;
  if (h.flags & LH_FLAG_NEXT_IS_TARGET) flags |= trace::kSwitchNextIsTarget;
  keep(writer_->add_thread_switch(
      trace::ThreadSwitch{h.timestamp_ns, h.cpu, event.prev_tid, event.prev_state, event.next_tid, flags}));
  saw_event(h.timestamp_ns);
}

}  // namespace loophound::recorder

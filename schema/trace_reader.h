// read_trace: replays a trace file into a TraceVisitor. Every trace is
// untrusted input (traces come from bug reports): nothing in the file can
// make the reader crash or allocate without bound.
//   - not a trace / newer format / corrupt chunk (bad CRC, malformed
//     record)  -> Error naming the file, the chunk and its byte offset;
//   - truncated tail (killed recorder, partial copy) -> every complete
//     chunk is delivered, then a warning in the summary, not an error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schema/result.h"
#include "schema/trace_format.h"

namespace loophound::trace {

class TraceVisitor {
 public:
  virtual ~TraceVisitor() = default;
  virtual void on_header(const Header&) {}
  virtual void on_stack(const Stack&) {}
  virtual void on_sample(const Sample&) {}
  virtual void on_execute(const ExecuteEvent&) {}
  virtual void on_lost(const LostEvents&) {}
  virtual void on_goroutine_info(const GoroutineInfo&) {}
  virtual void on_goroutine_state(const GoroutineState&) {}
  virtual void on_goroutine_create(const GoroutineCreate&) {}
  virtual void on_goroutine_exit(const GoroutineExit&) {}
  virtual void on_thread_switch(const ThreadSwitch&) {}
  virtual void on_binary_bundle(const BinaryBundle&) {}
  virtual void on_footer(const Footer&) {}
};

struct ReadSummary {
  uint32_t format_version = 0;
  uint64_t chunks = 0;
  uint64_t records = 0;
  uint64_t unknown_records = 0;  // skipped by length: written by a newer minor writer
  // Known records (also counted in `records`) with bytes after the last
  // field this reader knows: fields a newer writer appended, ignored.
  uint64_t records_with_extra_fields = 0;
  bool has_footer = false;       // false: the recorder did not close the file
  bool truncated = false;        // bytes after the last complete chunk
  uint64_t truncated_bytes = 0;
  std::vector<std::string> warnings;  // each names the file
};

// Records reach the visitor as they are decoded (header and footer once
// their chunk is complete). On Error the visitor may already have seen
// records of the failing chunk: discard everything it collected.
Result<ReadSummary> read_trace(const std::string& path, TraceVisitor& visitor);

}  // namespace loophound::trace

// The header chunk of a trace: what the analyzer needs to know about the
// recording and the target (keys documented in schema/TRACE_FORMAT.md).
#pragma once

#include <string>

#include "recorder/go_build_info.h"
#include "recorder/runtime_layout.h"
#include "recorder/target_process.h"
#include "schema/trace_format.h"

namespace loophound::recorder {

struct RecordingOptions {
  int frequency_hz = 99;
  std::string events;  // "samples" or "samples,execute"
  // --redact: the hostname becomes "redacted" and every file path keeps
  // only its last component (the executable's name, "libc.so.6"): what a
  // trace attached to a public bug report should not reveal. The recorder
  // never records command lines or environments.
  bool redact = false;
  // --regs (the default): samples carry registers and frame bytes.
  bool registers = true;
};

// The path as the trace shows it under `redact`.
std::string redacted_path(const std::string& path, bool redact);

Result<trace::Header> make_trace_header(const TargetProcess& target, const GoBuildInfo& build,
                                        const RuntimeLayout& layout, const RecordingOptions& options);

}  // namespace loophound::recorder

// record(): one recording from start to finish. Checks privileges, reads
// the target, writes the header, runs the BPF session until the duration
// ends, a signal arrives or the target exits, then writes the footer.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <string>

#include "schema/result.h"

namespace loophound::recorder {

// What to record (--events). Each switch-path probe costs a uprobe hit
// per event, so only samples are on by default.
struct EventSelection {
  bool samples = true;      // cpu-clock samples with goroutine id, stack, scheduler view
  bool execute = false;     // uprobe runtime.execute: every goroutine switch
  bool states = false;      // uprobe runtime.casgstatus: every state change (incl. wait reason)
  bool goroutines = false;  // uprobes runtime.newproc1 + runtime.goexit1: creation and exit
  bool sched = false;       // tp_btf/sched_switch of the target's threads

  // Parses "samples,execute,..." ("all" for everything); Error names the
  // unknown word.
  static Result<EventSelection> parse(const std::string& list);
  std::string to_string() const;
};

struct RecordConfig {
  pid_t pid = 0;
  double duration_s = 0;  // 0: until a signal or the target exits
  int frequency_hz = 99;
  EventSelection events;
  bool force = false;  // record even with an unverified runtime layout
  bool bundle = true;         // embed the executable (zstd) for off-host analysis
  bool bundle_dwarf = true;   // ... with its DWARF (--no-dwarf-bundle clears it)
  bool redact = false;        // leave out hostname and file-system paths
  bool registers = false;     // --regs: user registers with each sample
  std::string output_path;
  bool quiet = false;
};

struct RecordSummary {
  uint64_t samples = 0;
  uint64_t execute_events = 0;
  uint64_t lost_events = 0;
  uint64_t stacks = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  std::string stop_reason;
};

// `stop` is set from a signal handler to end the recording cleanly.
Result<RecordSummary> record(const RecordConfig& config, const std::atomic<bool>& stop);

// For scripts/gen-runtime-layouts.sh: "go1.N <table row>" of a binary's
// DWARF layout.
Result<std::string> describe_layout(const std::string& binary);

}  // namespace loophound::recorder

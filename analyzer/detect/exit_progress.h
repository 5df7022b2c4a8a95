// Does a busy loop advance toward its exit? A long loop that is bounded
// (integrate over a billion steps, hash a 20 GB stream) looks exactly like
// a stuck one by where its samples land; what tells them apart is its
// exit test. The loop pass records each test as "leaves when a REL b"
// (table loop_exit); --regs samples carry the registers and the bytes of
// the innermost frames, so a and b can be read at every sample. When
// a - b moves toward the exit side at nearly every sample interval, the
// loop ends: either it gets there at the measured pace within a time a
// person would wait for (kMaxEtaSeconds), or it is seen to get there and
// start over (the loop ends and is entered anew).
//
// What this cannot see: a loop whose exit depends on memory outside its
// frame (a flag, a field of a struct it points to) or on a call's result
// (`for time.Now().Before(deadline)`), and loops whose index moves too fast
// to look steady at the sampling rate. Those give no verdict, and the
// detectors decide as before.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loophound::analyzer {

// One row of loop_exit.
struct ExitTest {
  struct Side {
    enum Kind { kRegister, kStack, kConstant } kind = kConstant;
    int64_t value = 0;  // register number, stack offset, or the constant
    int64_t add = 0;
  };
  std::string relation;  // "<", "<=", ">", ">="
  bool is_signed = false;
  int width = 8;
  Side lhs, rhs;
};

// The loop's frame at one sample. `registers` only when the loop's frame
// is the leaf (Go keeps no register across a call); `memory` is the
// frame's window from its stack pointer up. Either may be empty.
struct FrameState {
  uint64_t ts = 0;
  std::string registers;  // 8 bytes little-endian each, rax first
  std::string memory;
};

// Pace past which a loop that would still end is treated as stuck: an
// hour at the rate seen is longer than anyone waits on a pegged CPU.
inline constexpr double kMaxEtaSeconds = 3600;

struct ExitVerdict {
  bool advancing = false;  // the loop will end
  std::string why;         // in words, for the report
};

// A verdict from the first test whose values can be read at enough
// samples (states in time order), or nullopt when none can.
std::optional<ExitVerdict> judge_exit_progress(const std::vector<ExitTest>& tests,
                                               const std::vector<FrameState>& states);

}  // namespace loophound::analyzer

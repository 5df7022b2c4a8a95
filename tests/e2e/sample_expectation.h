// What a sample program promises, read from its own source: a line
// "loophound:expect kind=K function=F" (or "loophound:expect none"), an
// optional "loophound:decoy function=F ..." line, and the marker
// "loophound:loop" on the line of the loop's `for` statement. Keeping the
// expectation in the source keeps the line number true when code moves.
#pragma once

#include <string>
#include <vector>

#include "schema/result.h"

namespace loophound::testing {

// One expected finding: its kind, function and the line of its loop.
// `kind` may list alternatives, "no_progress|spin": what the compiler
// emits (whether it drops an endless loop's dead stores) decides which.
struct ExpectedLoop {
  std::string kind;
  std::string function;
  int loop_line = 0;
  bool allows(const std::string& reported_kind) const;
};

// Several `loophound:expect` lines mean several findings (a livelock has
// one per goroutine); their `loophound:loop` markers then name the
// function (`loophound:loop function=F`).
struct SampleExpectation {
  bool expect_none = false;
  std::string kind;       // of the first expected finding
  std::string function;   // of the first expected finding
  int loop_line = 0;      // of the first expected finding
  std::vector<ExpectedLoop> loops;
  std::vector<std::string> decoy_functions;
};

Result<SampleExpectation> read_expectation(const std::string& source_path);

}  // namespace loophound::testing

// Shared pieces of the end-to-end tests: where the built tools are, the
// skip rule, a sample process that lives as long as a test, and a one-value
// query over a trace.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/go_samples.h"

namespace loophound::testing {

std::string recorder_path();
std::string analyzer_path();

// Why eBPF recording cannot run here ("" when it can): not root, no BTF.
std::string bpf_unavailable_reason();

#define REQUIRE_BPF_AND_GO()                                                            \
  do {                                                                                  \
    std::string reason = ::loophound::testing::bpf_unavailable_reason();                \
    if (reason.empty() && !::loophound::testing::find_go()) reason = "no Go toolchain"; \
    if (!reason.empty()) {                                                              \
      std::printf("SKIPPED: %s\n", reason.c_str());                                     \
      GTEST_SKIP() << reason;                                                           \
    }                                                                                   \
  } while (0)

// A sample program running for the duration of a test; killed at the end.
// `exit_after` is its watchdog, so it ends even if the test dies first.
class RunningSample {
 public:
  explicit RunningSample(const std::string& binary, const std::string& exit_after = "60s");
  ~RunningSample();
  RunningSample(const RunningSample&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// `loophound query TRACE SQL`, first column of the first row ("" if none).
std::string query_one(const std::string& trace, const std::string& sql);

}  // namespace loophound::testing

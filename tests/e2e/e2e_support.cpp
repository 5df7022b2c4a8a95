#include "tests/e2e/e2e_support.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace loophound::testing {

std::string recorder_path() { return LOOPHOUND_BINARY_DIR "/bin/loophound-record"; }
std::string analyzer_path() { return LOOPHOUND_BINARY_DIR "/bin/loophound"; }

std::string bpf_unavailable_reason() {
  if (geteuid() != 0) return "not root: recording with eBPF needs root (CAP_BPF + CAP_PERFMON)";
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) return "no kernel BTF at /sys/kernel/btf/vmlinux";
  return "";
}

RunningSample::RunningSample(const std::string& binary, const std::string& exit_after) {
  pid_ = fork();
  if (pid_ == 0) {
    if (!freopen("/dev/null", "w", stdout)) _exit(126);
    execl(binary.c_str(), binary.c_str(), "-exit-after", exit_after.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Let the runtime start its goroutines before the recorder attaches.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
}

RunningSample::~RunningSample() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string query_one(const std::string& trace, const std::string& sql) {
  auto out = run_command(shell_quote(analyzer_path()) + " query " + shell_quote(trace) + " " + shell_quote(sql) +
                         " 2>/dev/null");
  if (!out) return "";
  // Header line, then the first row.
  size_t first = out->find('\n');
  if (first == std::string::npos) return "";
  std::string row = out->substr(first + 1);
  return row.substr(0, row.find_first_of("\t\n"));
}

}  // namespace loophound::testing

// TargetProcess: the running process being recorded, as /proc shows it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "schema/result.h"
#include "schema/trace_format.h"

namespace loophound::recorder {

class TargetProcess {
 public:
  // Error "no such process: PID 123" when it does not exist.
  static Result<TargetProcess> open(pid_t pid);
  ~TargetProcess();
  TargetProcess(TargetProcess&& other) noexcept;
  TargetProcess(const TargetProcess&) = delete;

  pid_t pid() const { return pid_; }
  // /proc/PID/exe: opens the executable even if it was deleted or replaced.
  std::string exe_link() const { return "/proc/" + std::to_string(pid_) + "/exe"; }
  const std::string& executable_path() const { return executable_path_; }
  const std::string& command_name() const { return comm_; }
  // True once the process has exited (a zombie counts as exited).
  bool has_exited() const;
  Result<std::vector<trace::Mapping>> read_mappings() const;

 private:
  explicit TargetProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = 0;
  int pidfd_ = -1;  // becomes readable when the process exits
  std::string executable_path_;
  std::string comm_;
};

// Parses one /proc/PID/maps line; false when it is malformed.
bool parse_maps_line(const std::string& line, trace::Mapping* out);

}  // namespace loophound::recorder

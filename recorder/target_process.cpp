#include "recorder/target_process.h"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace loophound::recorder {

Result<TargetProcess> TargetProcess::open(pid_t pid) {
  TargetProcess target(pid);
  target.pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (target.pidfd_ < 0) {
    if (errno == ESRCH || errno == EINVAL) return make_error("no such process: PID " + std::to_string(pid));
    return make_error("cannot open PID " + std::to_string(pid) + ": " + std::strerror(errno));
  }
  char buf[PATH_MAX];
  ssize_t n = readlink(target.exe_link().c_str(), buf, sizeof(buf) - 1);
  if (n < 0 && errno == ENOENT && target.has_exited())
    return make_error("no such process: PID " + std::to_string(pid) + " (it is exiting)");
  if (n < 0)
    return make_error("cannot read '" + target.exe_link() + "': " + std::strerror(errno) +
                      " (a kernel thread, or not permitted)");
  target.executable_path_.assign(buf, static_cast<size_t>(n));
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::getline(comm, target.comm_);
  return target;
}

TargetProcess::TargetProcess(TargetProcess&& other) noexcept
    : pid_(other.pid_),
      pidfd_(other.pidfd_),
      executable_path_(std::move(other.executable_path_)),
      comm_(std::move(other.comm_)) {
  other.pidfd_ = -1;
}

TargetProcess::~TargetProcess() {
  if (pidfd_ >= 0) close(pidfd_);
}

bool TargetProcess::has_exited() const {
  struct pollfd p = {pidfd_, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

bool parse_maps_line(const std::string& line, trace::Mapping* out) {
  // "start-end perms offset dev inode [path]"
  unsigned long long start = 0, end = 0, offset = 0, inode = 0;
  char perms[8] = {0}, dev[32] = {0};
  int consumed = 0;
  if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %31s %llu %n", &start, &end, perms, &offset,
                  dev, &inode, &consumed) < 6)
    return false;
  out->start = start;
  out->end = end;
  out->file_offset = offset;
  out->permissions = perms;
  out->path = consumed > 0 && static_cast<size_t>(consumed) <= line.size() ? line.substr(consumed) : "";
  return true;
}

Result<std::vector<trace::Mapping>> TargetProcess::read_mappings() const {
  std::string path = "/proc/" + std::to_string(pid_) + "/maps";
  std::ifstream in(path);
  if (!in) return make_error("cannot read '" + path + "': " + std::strerror(errno));
  std::vector<trace::Mapping> mappings;
  std::string line;
  while (std::getline(in, line)) {
    trace::Mapping m;
    if (parse_maps_line(line, &m)) mappings.push_back(std::move(m));
  }
  return mappings;
}

}  // namespace loophound::recorder

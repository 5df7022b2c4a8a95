// Version matrix: samples/goroutine_ids built with each Go toolchain (and
// as a cgo and a PIE binary), recorded with `-e all`, and the goroutine
// ids, creation sites and states of the database checked against what the
// program printed about itself. Runtime layouts move between Go versions
// (g.goid was at 152, then 160, then 152 again); a wrong offset shows up
// here as goroutine ids the program never had.
//
// Only the smoke set is registered unless LOOPHOUND_GO_MATRIX=full, which
// scripts/matrix.sh sets when it runs the test binary directly.
#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/e2e_support.h"
#include "tests/support/go_samples.h"

namespace loophound::testing {
namespace {

constexpr const char* kSamplesDir = LOOPHOUND_SOURCE_DIR "/samples";
constexpr const char* kSampleSource = LOOPHOUND_SOURCE_DIR "/samples/goroutine_ids/main.go";
constexpr const char* kRecordSeconds = "3";
// A 3 s recording sees ~60 children (one per 50 ms); 20 leaves room for
// those cut by the start and end of the window and a slow machine.
constexpr int kMinChildren = 20;

struct GoBuild {
  std::string version;  // e.g. "go1.22.12"; "" when the machine has no Go
  std::string flags;    // extra `go build` flags
  bool cgo = false;     // CGO_ENABLED=1 (the others are pure Go)
  std::string label;    // "default", "cgo" or "pie"
  bool smoke = false;   // in the default (CI) set
};

void PrintTo(const GoBuild& b, std::ostream* os) { *os << b.version << " " << b.label; }

std::string trim(const std::string& s) {
  size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

std::string last_line(const std::string& text) {
  std::string t = trim(text);
  size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// The version `go env GOVERSION` of the machine's Go prints, "" without Go.
const std::string& machine_go_version() {
  static const std::string version = [] {
    auto go = find_go();
    if (!go) return std::string();
    auto out = run_command("GOTOOLCHAIN=local " + shell_quote(*go) + " env GOVERSION");
    return out ? last_line(*out) : std::string();
  }();
  return version;
}

// The LOOPHOUND_GO_VERSIONS=(...) list of scripts/go-versions.sh, the one
// place the supported versions are written down.
std::vector<std::string> listed_go_versions() {
  std::ifstream in(LOOPHOUND_SOURCE_DIR "/scripts/go-versions.sh");
  const std::string key = "LOOPHOUND_GO_VERSIONS=(";
  std::vector<std::string> versions;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    std::istringstream words(line.substr(key.size(), line.find(')') - key.size()));
    for (std::string v; words >> v;) versions.push_back(v);
  }
  return versions;
}

std::vector<GoBuild> builds_of(const std::string& version, bool smoke_all) {
  return {{version, "", false, "default", smoke_all},
          {version, "-tags cgo_probe", true, "cgo", smoke_all},
          {version, "-buildmode=pie", false, "pie", smoke_all}};
}

std::vector<GoBuild> all_builds() {
  const std::string machine = machine_go_version();
  // The smoke set: the machine's Go in all three shapes, the oldest
  // supported version (goid assigned late in newproc1, no g.parentGoid),
  // and the last version before g.goid moved to 160.
  const std::set<std::string> smoke_versions = {"go1.19.13", "go1.22.12"};
  const char* matrix = std::getenv("LOOPHOUND_GO_MATRIX");
  const bool full = matrix != nullptr && std::string(matrix) == "full";
  std::vector<GoBuild> builds = builds_of(machine, true);
  for (const std::string& v : listed_go_versions()) {
    if (v == machine) continue;
    for (GoBuild b : builds_of(v, false)) {
      b.smoke = b.label == "default" && smoke_versions.count(v) > 0;
      if (b.smoke || full) builds.push_back(b);
    }
  }
  return builds;
}

std::string build_name(const ::testing::TestParamInfo<GoBuild>& info) {
  std::string name = info.param.version.empty() ? "no_go" : info.param.version;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name + "_" + info.param.label;
}

int go_minor(const std::string& version) {
  int major = 0, minor = 0;
  return std::sscanf(version.c_str(), "go%d.%d", &major, &minor) == 2 && major == 1 ? minor : -1;
}

// Line of each `go` statement marked "// loophound:go role=NAME", by role.
std::map<std::string, int> go_statement_lines() {
  std::ifstream in(kSampleSource);
  const std::string marker = "// loophound:go role=";
  std::map<std::string, int> lines;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    size_t at = line.find(marker);
    if (at == std::string::npos || trim(line).rfind("go ", 0) != 0) continue;
    lines[trim(line.substr(at + marker.size()))] = number;
  }
  return lines;
}

struct Announcement {
  std::string role;
  uint64_t goid = 0;
  uint64_t parent = 0;
};

// The "role=NAME goid=N parent=P" lines the sample printed.
std::vector<Announcement> read_announcements(const std::string& path) {
  std::ifstream in(path);
  std::vector<Announcement> out;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("role=", 0) != 0) continue;
    char role[64] = {};
    unsigned long long goid = 0, parent = 0;
    if (std::sscanf(line.c_str(), "role=%63s goid=%llu parent=%llu", role, &goid, &parent) == 3)
      out.push_back({role, goid, parent});
  }
  return out;
}

// The sample process with stdout in a file (RunningSample discards it, and
// here it is the evidence). Killed when the test ends, passed or failed.
class AnnouncingSample {
 public:
  AnnouncingSample(const std::string& binary, const std::string& output) {
    pid_ = fork();
    if (pid_ == 0) {
      int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      int err = ::open((output + ".stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0 || err < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0) _exit(126);
      execl(binary.c_str(), binary.c_str(), "-exit-after", "60s", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~AnnouncingSample() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  AnnouncingSample(const AnnouncingSample&) = delete;
  AnnouncingSample& operator=(const AnnouncingSample&) = delete;
  pid_t pid() const { return pid_; }
  // Whether it is still running (it must be, for the whole recording).
  bool alive() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

using Rows = std::vector<std::vector<std::string>>;

// `loophound query DB SQL`: every row after the header, split at tabs
// (NULL reads "NULL").
Rows query_rows(const std::string& db, const std::string& sql) {
  auto out = run_command(shell_quote(analyzer_path()) + " query " + shell_quote(db) + " " + shell_quote(sql));
  EXPECT_TRUE(out.ok()) << (out ? "" : out.error().message);
  Rows rows;
  if (!out) return rows;
  std::istringstream lines(*out);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::vector<std::string> row;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, '\t');) row.push_back(cell);
    rows.push_back(row);
  }
  return rows;
}

std::string query_value(const std::string& db, const std::string& sql) {
  Rows rows = query_rows(db, sql);
  return rows.empty() || rows[0].empty() ? "" : rows[0][0];
}

int64_t query_count(const std::string& db, const std::string& sql) {
  std::string v = query_value(db, sql);
  return v.empty() || v == "NULL" ? -1 : std::stoll(v);
}

// ELF e_type of the file: 2 ET_EXEC, 3 ET_DYN (PIE).
int elf_type(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[18] = {};
  if (!in.read(reinterpret_cast<char*>(header), sizeof header)) return -1;
  return header[16] | (header[17] << 8);
}

Result<std::string> build_with(const std::string& go, const GoBuild& b, const std::string& out) {
  // GOTOOLCHAIN=local: build with exactly this toolchain, never the one
  // go.mod might ask for. A cache under the temp dir when the environment
  // names none (ctest may run without HOME).
  std::string env = std::string("GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=") + (b.cgo ? "1" : "0") + " ";
  if (!std::getenv("GOCACHE") && !std::getenv("HOME") && !std::getenv("XDG_CACHE_HOME"))
    env += "GOCACHE=" + shell_quote(temp_dir() + "/gocache") + " ";
  auto built = run_command("cd " + shell_quote(kSamplesDir) + " && " + env + shell_quote(go) + " build " + b.flags +
                           " -o " + shell_quote(out) + " ./goroutine_ids");
  if (!built) return built.error();
  return out;
}

// On failure, copies the binary, its output, the trace and the database
// out of the temp dir (removed at exit) into build/Testing/version_matrix,
// so a failure that does not repeat can still be looked into.
class KeepOnFailure {
 public:
  explicit KeepOnFailure(std::string prefix) : prefix_(std::move(prefix)) {}
  ~KeepOnFailure() {
    if (!::testing::Test::HasFailure()) return;
    namespace fs = std::filesystem;
    const fs::path keep = fs::path(LOOPHOUND_BINARY_DIR) / "Testing" / "version_matrix";
    std::error_code ignored;
    fs::create_directories(keep, ignored);
    const fs::path prefix(prefix_);
    for (const auto& entry : fs::directory_iterator(prefix.parent_path(), ignored))
      if (entry.path().filename().string().starts_with(prefix.filename().string()))
        fs::copy(entry.path(), keep / entry.path().filename(), fs::copy_options::overwrite_existing, ignored);
    std::printf("VersionMatrix: kept %s* in %s\n", prefix.filename().c_str(), keep.c_str());
  }
  KeepOnFailure(const KeepOnFailure&) = delete;
  KeepOnFailure& operator=(const KeepOnFailure&) = delete;

 private:
  std::string prefix_;
};

class VersionMatrix : public ::testing::TestWithParam<GoBuild> {};

TEST_P(VersionMatrix, GoroutineIdsSitesAndStatesMatchTheProgram) {
  REQUIRE_BPF_AND_GO();
  const GoBuild& build = GetParam();
  ASSERT_FALSE(build.version.empty()) << "`go env GOVERSION` printed nothing";
  auto go = go_toolchain(build.version);
  if (!go) {
    std::printf("SKIPPED: %s cannot be had: %s\n", build.version.c_str(), go.error().message.c_str());
    GTEST_SKIP() << build.version << " cannot be had";
  }
  const std::string name = temp_dir() + "/goroutine_ids_" + build.version + "_" + build.label;
  KeepOnFailure keep(name);
  auto binary = build_with(*go, build, name);
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  // The build must really have the shape its label claims, or the row
  // proves nothing about cgo or PIE.
  if (build.label == "pie") {
    EXPECT_EQ(elf_type(*binary), 3) << *binary << " is not ET_DYN";
  }
  if (build.cgo) {
    // cgo's stub for the C function, and an interpreter: linked by the
    // system linker, not Go's internal one.
    bool has_c = false;
    for (const auto& f : function_symbols(*binary)) has_c |= f.name.ends_with("_Cfunc_loophound_cgo_probe");
    EXPECT_TRUE(has_c) << *binary << " calls no C function: not a cgo build";
    EXPECT_TRUE(section_file_range(*binary, ".interp").has_value()) << *binary << " is not externally linked";
  }

  const std::map<std::string, int> go_lines = go_statement_lines();
  ASSERT_TRUE(go_lines.count("spinner") && go_lines.count("child")) << "markers missing in " << kSampleSource;

  const std::string output = name + ".out";
  const std::string trace = name + ".lhtrace";
  const std::string db = name + ".db";
  AnnouncingSample sample(*binary, output);
  ASSERT_GT(sample.pid(), 0);
  // Let the goroutines start (and print) before the recorder attaches.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_TRUE(sample.alive()) << "the sample exited early; stderr in " << output << ".stderr";

  // a. The recording succeeds and loses nothing.
  auto recorded = run_command(shell_quote(recorder_path()) + " -q -p " + std::to_string(sample.pid()) + " -d " +
                              kRecordSeconds + " -e all -o " + shell_quote(trace));
  ASSERT_TRUE(recorded.ok()) << recorded.error().message;
  auto analyzed = run_command(shell_quote(analyzer_path()) + " analyze " + shell_quote(trace) + " --db " +
                              shell_quote(db));
  ASSERT_TRUE(analyzed.ok()) << analyzed.error().message;
  EXPECT_EQ(query_value(db, "SELECT value FROM import_stats WHERE name = 'lost_events'"), "0");

  // Read what the program said after the recording: every goroutine the
  // trace can name was created by then and has printed its line.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::vector<Announcement> said = read_announcements(output);
  std::map<std::string, Announcement> by_role;
  std::map<uint64_t, Announcement> by_goid;
  uint64_t max_printed = 0;
  for (const auto& a : said) {
    if (a.role != "child") by_role[a.role] = a;
    by_goid[a.goid] = a;
    max_printed = std::max(max_printed, a.goid);
  }
  for (const char* role : {"main", "spinner", "sleeper", "receiver", "sender", "spawner"})
    ASSERT_TRUE(by_role.count(role)) << "no 'role=" << role << "' line in " << output;
  const Announcement spinner = by_role["spinner"];
  const Announcement spawner = by_role["spawner"];

  // The children the database names, with what it says of them.
  std::set<uint64_t> db_goids;
  for (const auto& row : query_rows(db, "SELECT goid FROM goroutine WHERE goid != 0")) db_goids.insert(std::stoull(row[0]));
  struct ChildRow {
    std::string created, exited, parent, function, line;
  };
  std::map<uint64_t, ChildRow> child_rows;
  for (const auto& row : query_rows(db, "SELECT goid, created_ns, exited_ns, parent_goid, start_function, "
                                        "creation_line FROM goroutine WHERE goid != 0")) {
    if (row.size() == 6) child_rows[std::stoull(row[0])] = {row[1], row[2], row[3], row[4], row[5]};
  }
  const std::string spawner_goid = std::to_string(spawner.goid);
  const std::string child_line = std::to_string(go_lines.at("child"));
  // children_lived: created and exited by the spawner, whatever start_function says.
  int children_seen = 0, children_matched = 0, children_lived = 0;
  std::string child_problems;  // the first few, for the failure message
  for (const auto& a : said) {
    if (a.role != "child" || !db_goids.count(a.goid)) continue;
    ++children_seen;
    const ChildRow& c = child_rows[a.goid];
    bool lived = c.created != "NULL" && c.exited != "NULL" && c.parent == spawner_goid;
    bool ok = lived && c.function == "main.child";
    children_lived += lived;
    children_matched += ok;
    if (!ok && children_seen - children_matched <= 5)
      child_problems += "  goid " + std::to_string(a.goid) + ": created_ns " + c.created + ", exited_ns " + c.exited +
                        ", parent_goid " + c.parent + ", start_function " + c.function + "\n";
  }

  const std::string samples = query_value(db, "SELECT count(*) FROM sample");
  const std::string spinner_samples =
      query_value(db, "SELECT samples FROM goroutine WHERE goid = " + std::to_string(spinner.goid));
  const std::string states = query_value(db, "SELECT count(*) FROM goroutine_state");
  std::printf("VersionMatrix: %s %s: %s samples (spinner %s), %s state rows, %d/%d children matched "
              "(%d created+exited by the spawner)\n",
              build.version.c_str(), build.label.c_str(), samples.c_str(), spinner_samples.c_str(), states.c_str(),
              children_matched, children_seen, children_lived);

  // b. The spinner is the hottest goroutine, created by its `go` statement.
  EXPECT_EQ(query_value(db, "SELECT goid FROM goroutine WHERE goid != 0 ORDER BY samples DESC LIMIT 1"),
            std::to_string(spinner.goid));
  Rows spin = query_rows(db, "SELECT start_function, creation_file, creation_line, parent_goid FROM goroutine "
                             "WHERE goid = " + std::to_string(spinner.goid));
  ASSERT_EQ(spin.size(), 1u) << "spinner goid " << spinner.goid << " is not in table goroutine";
  ASSERT_EQ(spin[0].size(), 4u);
  EXPECT_EQ(spin[0][0], "main.spinner");
  EXPECT_TRUE(spin[0][1].ends_with("samples/goroutine_ids/main.go")) << spin[0][1];
  EXPECT_EQ(spin[0][2], std::to_string(go_lines.at("spinner")));
  if (go_minor(build.version) >= 21) {
    EXPECT_EQ(spin[0][3], std::to_string(spinner.parent));
  } else {
    // No g.parentGoid before Go 1.21, and the spinner's `go` ran before
    // the recording: the parent cannot be known, but must not be wrong.
    EXPECT_TRUE(spin[0][3] == "NULL" || spin[0][3] == std::to_string(spinner.parent)) << spin[0][3];
  }

  // c. States and wait reasons from runtime.casgstatus.
  const std::string sleeper = std::to_string(by_role["sleeper"].goid);
  const std::string receiver = std::to_string(by_role["receiver"].goid);
  EXPECT_GT(query_count(db, "SELECT count(*) FROM goroutine_state WHERE goid = " + sleeper +
                                " AND state = 'waiting' AND wait_reason = 'sleep'"),
            0)
      << "sleeper " << sleeper;
  EXPECT_GT(query_count(db, "SELECT count(*) FROM goroutine_state WHERE goid = " + sleeper + " AND state = 'running'"),
            0)
      << "sleeper " << sleeper;
  EXPECT_GT(query_count(db, "SELECT count(*) FROM goroutine_state WHERE goid = " + receiver +
                                " AND state = 'waiting' AND wait_reason = 'chan receive'"),
            0)
      << "receiver " << receiver;

  // d. Short-lived children: created and exited inside the recording, by
  // the spawner, at the `go child(self)` line.
  EXPECT_GE(children_matched, kMinChildren) << children_seen << " children in the database; first problems:\n"
                                            << child_problems;
  EXPECT_EQ(query_count(db, "SELECT count(*) FROM goroutine WHERE parent_goid = " + spawner_goid +
                                " AND created_ns IS NOT NULL AND coalesce(creation_line, 0) != " + child_line),
            0)
      << "children whose creation_line is not " << child_line;
  // No garbage ids: every goroutine that runs the program's code is one the
  // program printed, and no id at all is far above the highest it printed
  // (a wrong g.goid offset reads some other field: pointers, counters).
  // "Far": each P takes ids in batches of 16 (runtime _GoidCacheBatch), so
  // a goroutine made on another P may be ahead of the last child by that.
  for (const auto& row : query_rows(db, "SELECT goid, start_function FROM goroutine WHERE start_function GLOB 'main.*'"))
    EXPECT_TRUE(by_goid.count(std::stoull(row[0]))) << "goid " << row[0] << " (" << row[1] << ") never printed";
  EXPECT_LE(std::stoull(query_value(db, "SELECT max(goid) FROM (SELECT goid FROM goroutine "
                                        "UNION ALL SELECT goid FROM goroutine_state UNION ALL SELECT goid FROM sample)")),
            max_printed + 16 * (std::thread::hardware_concurrency() + 1));

  // e. The spinner's thread was seen on a CPU by sched_switch.
  const std::string spinner_tid = query_value(db, "SELECT tid FROM sample WHERE goid = " + std::to_string(spinner.goid) +
                                                      " GROUP BY tid ORDER BY count(*) DESC LIMIT 1");
  ASSERT_FALSE(spinner_tid.empty()) << "no samples of the spinner";
  EXPECT_GT(query_count(db, "SELECT count(*) FROM thread_state WHERE tid = " + spinner_tid + " AND state = 'running'"),
            0)
      << "spinner thread " << spinner_tid;
}

INSTANTIATE_TEST_SUITE_P(Go, VersionMatrix, ::testing::ValuesIn(all_builds()), build_name);

}  // namespace
}  // namespace loophound::testing

// symbolizer_bench BINARY [--distinct N] [--samples N] [--seed N]
//
// How fast addresses of a Go binary resolve to source frames, in one run
// and on one address list: our DwarfSymbolizer and PclntabSymbolizer (cold:
// open plus a first pass with empty caches; warm: a second pass), then
// llvm-symbolizer and `go tool addr2line` (one process each, addresses on
// stdin, start-up included). Prints a Markdown table of addresses/second;
// each figure is the median of several runs.
//
// The list looks like a trace's: N distinct addresses drawn uniformly from
// the bytes of all functions, then sampled with Zipf weights (rank r drawn
// in proportion to 1/r), since a few hot PCs dominate real samples.
// Not a unit test: numbers depend on the machine (see BENCHMARKS.md).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "analyzer/symbolize/dwarf_symbolizer.h"
#include "analyzer/symbolize/pclntab_symbolizer.h"

namespace {

using loophound::Result;
using loophound::analyzer::DwarfSymbolizer;
using loophound::analyzer::FunctionInfo;
using loophound::analyzer::PclntabSymbolizer;
using Clock = std::chrono::steady_clock;

struct Row {
  std::string resolver;
  std::string pass;
  size_t addresses = 0;
  double seconds = 0;  // < 0: not measured
  std::string note;
};

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string shell_quote(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// The first of `names` found in PATH, or "".
std::string find_program(std::initializer_list<const char*> names) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  for (const char* name : names) {
    size_t start = 0;
    while (start <= dirs.size()) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::string candidate = dirs.substr(start, end - start) + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
  }
  return "";
}

std::string first_line_of(const std::string& command) {
  std::string line;
  if (FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r")) {
    char buffer[256];
    if (std::fgets(buffer, sizeof buffer, pipe) != nullptr) line = buffer;
    ::pclose(pipe);
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

// Wall time of `command`, or -1 when it fails.
double time_command(const std::string& command) {
  auto start = Clock::now();
  int status = std::system(command.c_str());
  double seconds = since(start);
  return status == 0 ? seconds : -1;
}

constexpr int kRepetitions = 5;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Three passes per repetition, each figure the median of kRepetitions:
// cold (a fresh instance: open, then the whole list, caches filling as it
// goes), warm (the same list again), and cold over the distinct addresses
// only (what each first lookup costs, without the repeats).
template <typename Symbolizer>
void measure(const std::string& name, const std::vector<uint64_t>& addresses,
             const std::vector<uint64_t>& distinct,
             Result<std::unique_ptr<Symbolizer>> (*open)(const std::string&),
             const std::string& binary, std::vector<Row>* rows, size_t* frames) {
  std::vector<double> cold, warm, first;
  for (int rep = 0; rep < kRepetitions; ++rep) {
    auto start = Clock::now();
    auto symbolizer = open(binary);
    if (!symbolizer.ok()) {
      rows->push_back({name, "cold", addresses.size(), -1, symbolizer.error().message});
      return;
    }
    size_t n = 0;
    for (uint64_t a : addresses) n += (*symbolizer)->symbolize(a).size();
    cold.push_back(since(start));
    *frames = n;
    start = Clock::now();
    for (uint64_t a : addresses) n += (*symbolizer)->symbolize(a).size();
    warm.push_back(since(start));

    start = Clock::now();
    auto fresh = open(binary);
    for (uint64_t a : distinct) n += (*fresh)->symbolize(a).size();
    first.push_back(since(start));
    if (n == 0) std::fprintf(stderr, "%s resolved nothing\n", name.c_str());
  }
  rows->push_back({name, "cold: open + the list", addresses.size(), median(cold), ""});
  rows->push_back({name, "warm: the list again (cached)", addresses.size(), median(warm), ""});
  rows->push_back({name, "cold: open + distinct addresses only", distinct.size(), median(first), ""});
}

// Wall time of one process on the whole list (start-up included), median
// of three runs; -1 when it fails.
double time_tool(const std::string& command) {
  std::vector<double> runs;
  for (int rep = 0; rep < 3; ++rep) {
    double seconds = time_command(command);
    if (seconds < 0) return -1;
    runs.push_back(seconds);
  }
  return median(runs);
}

int usage() {
  std::fprintf(stderr,
               "usage: symbolizer_bench BINARY [--distinct N] [--samples N] [--seed N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string binary = argv[1];
  size_t distinct = 5000;
  size_t samples = 100000;
  uint64_t seed = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string option = argv[i];
    uint64_t value = std::strtoull(argv[i + 1], nullptr, 10);
    if (option == "--distinct") {
      distinct = value;
    } else if (option == "--samples") {
      samples = value;
    } else if (option == "--seed") {
      seed = value;
    } else {
      std::fprintf(stderr, "ERROR: unknown option '%s'\n", option.c_str());
      return usage();
    }
  }
  if (distinct == 0 || samples == 0) return usage();

  // The address list, from the line table's function extents (outside
  // any timing).
  std::vector<FunctionInfo> functions;
  {
    auto table = PclntabSymbolizer::open(binary);
    if (!table.ok()) {
      std::fprintf(stderr, "ERROR: %s\n", table.error().message.c_str());
      return 1;
    }
    functions = (*table)->table().functions();
  }
  std::vector<uint64_t> cumulative;  // bytes of functions [0, i]
  uint64_t total = 0;
  for (const FunctionInfo& f : functions) cumulative.push_back(total += f.end - f.entry);
  std::mt19937_64 random(seed);
  std::vector<uint64_t> pool;
  for (size_t i = 0; i < distinct; ++i) {
    uint64_t byte = random() % total;
    size_t index = std::upper_bound(cumulative.begin(), cumulative.end(), byte) - cumulative.begin();
    uint64_t before = index == 0 ? 0 : cumulative[index - 1];
    pool.push_back(functions[index].entry + (byte - before));
  }
  std::vector<double> zipf;  // cumulative 1/rank weights
  double weight = 0;
  for (size_t r = 1; r <= pool.size(); ++r) zipf.push_back(weight += 1.0 / static_cast<double>(r));
  std::vector<uint64_t> addresses;
  std::uniform_real_distribution<double> uniform(0, weight);
  for (size_t i = 0; i < samples; ++i) {
    size_t rank = std::lower_bound(zipf.begin(), zipf.end(), uniform(random)) - zipf.begin();
    addresses.push_back(pool[std::min(rank, pool.size() - 1)]);
  }
  std::vector<uint64_t> unique = addresses;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());

  char input_path[] = "/tmp/symbolizer_bench_XXXXXX";
  int fd = ::mkstemp(input_path);
  if (fd < 0) {
    std::perror("mkstemp");
    return 1;
  }
  ::close(fd);
  {
    std::ofstream input(input_path);
    char hex[32];
    for (uint64_t a : addresses) {
      std::snprintf(hex, sizeof hex, "0x%llx\n", static_cast<unsigned long long>(a));
      input << hex;
    }
  }

  std::vector<Row> rows;
  size_t dwarf_frames = 0;
  size_t pcln_frames = 0;
  measure<DwarfSymbolizer>("loophound DwarfSymbolizer (libdw)", addresses, unique,
                           &DwarfSymbolizer::open, binary, &rows, &dwarf_frames);
  measure<PclntabSymbolizer>("loophound PclntabSymbolizer", addresses, unique,
                             &PclntabSymbolizer::open, binary, &rows, &pcln_frames);

  const std::string llvm = find_program({"llvm-symbolizer", "llvm-symbolizer-18", "llvm-symbolizer-17",
                                         "llvm-symbolizer-16", "llvm-symbolizer-15",
                                         "llvm-symbolizer-14"});
  if (llvm.empty()) {
    rows.push_back({"llvm-symbolizer", "one process", addresses.size(), -1, "not installed"});
  } else {
    std::string version = first_line_of(shell_quote(llvm) + " --version | grep -i version");
    rows.push_back({"llvm-symbolizer", "one process on the list", addresses.size(),
                    time_tool(shell_quote(llvm) + " --obj=" + shell_quote(binary) + " < " +
                                 input_path + " > /dev/null"),
                    version});
  }
  std::string go = find_program({"go"});
  if (go.empty() && ::access("/usr/local/go/bin/go", X_OK) == 0) go = "/usr/local/go/bin/go";
  if (go.empty()) {
    rows.push_back({"go tool addr2line", "one process", addresses.size(), -1, "no Go toolchain"});
  } else {
    const std::string go_command = "GOTOOLCHAIN=local " + shell_quote(go);
    // Once before timing: the first `go tool` may have to find or build it.
    time_command(go_command + " tool addr2line " + shell_quote(binary) +
                 " < /dev/null > /dev/null 2>&1");
    rows.push_back({"go tool addr2line", "one process on the list", addresses.size(),
                    time_tool(go_command + " tool addr2line " + shell_quote(binary) + " < " +
                                 input_path + " > /dev/null"),
                    first_line_of(go_command + " env GOVERSION")});
  }
  ::unlink(input_path);

  std::printf("Binary: %s (%zu functions, %llu bytes of code)\n", binary.c_str(), functions.size(),
              static_cast<unsigned long long>(total));
  std::printf("Addresses: %zu samples of %zu distinct addresses (Zipf 1/rank), seed %llu\n",
              addresses.size(), unique.size(), static_cast<unsigned long long>(seed));
  std::printf("Frames per sample: DWARF %.2f, pclntab %.2f\n\n",
              static_cast<double>(dwarf_frames) / addresses.size(),
              static_cast<double>(pcln_frames) / addresses.size());
  std::printf("| resolver | pass | addresses | seconds | addresses/s | note |\n");
  std::printf("|---|---|---:|---:|---:|---|\n");
  for (const Row& row : rows) {
    if (row.seconds < 0) {
      std::printf("| %s | %s | %zu | - | - | %s |\n", row.resolver.c_str(), row.pass.c_str(),
                  row.addresses, row.note.empty() ? "failed" : row.note.c_str());
      continue;
    }
    std::printf("| %s | %s | %zu | %.3f | %.0f | %s |\n", row.resolver.c_str(), row.pass.c_str(),
                row.addresses, row.seconds, static_cast<double>(row.addresses) / row.seconds,
                row.note.c_str());
  }
  return 0;
}

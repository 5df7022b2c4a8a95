// loophound info FILE: what a person checks before attaching a trace to a
// bug report: the header, the target, what is bundled and how big, event
// counts, lost events and truncation. Reads the trace directly (no SQLite).
#include <iostream>
#include <map>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "analyzer/commands/analysis.h"
#include "analyzer/commands/commands.h"
#include "schema/trace_reader.h"

namespace po = boost::program_options;

namespace loophound::analyzer {
namespace {

struct BundleSummary {
  std::string path;
  uint64_t compressed = 0;
  uint64_t original = 0;
  uint32_t parts_seen = 0;
  uint32_t parts = 0;
  bool has_dwarf = false;
};

class InfoVisitor : public trace::TraceVisitor {
 public:
  void on_header(const trace::Header& h) override { header = h; }
  void on_stack(const trace::Stack&) override { ++counts["stacks"]; }
  void on_sample(const trace::Sample&) override { ++counts["samples"]; }
  void on_execute(const trace::ExecuteEvent&) override { ++counts["switch events (execute)"]; }
  void on_lost(const trace::LostEvents& l) override { lost += l.count; }
  void on_goroutine_info(const trace::GoroutineInfo&) override { ++counts["goroutines described"]; }
  void on_goroutine_state(const trace::GoroutineState&) override { ++counts["goroutine state changes"]; }
  void on_goroutine_create(const trace::GoroutineCreate&) override { ++counts["goroutine creations"]; }
  void on_goroutine_exit(const trace::GoroutineExit&) override { ++counts["goroutine exits"]; }
  void on_thread_switch(const trace::ThreadSwitch&) override { ++counts["thread switches (sched)"]; }
  void on_binary_bundle(const trace::BinaryBundle& b) override {
    auto& s = bundles[b.build_id_go + " " + b.build_id_gnu];
    s.path = b.path;
    s.compressed += b.data.size();
    s.original = b.original_size;
    s.parts = b.parts;
    ++s.parts_seen;
    s.has_dwarf = (b.contents & trace::kBundleHasDwarf) != 0;
  }
  void on_footer(const trace::Footer& f) override {
    footer = f;
    has_footer = true;
  }

  trace::Header header;
  std::map<std::string, uint64_t> counts;
  std::map<std::string, BundleSummary> bundles;
  uint64_t lost = 0;
  trace::Footer footer;
  bool has_footer = false;
};

std::string mib(uint64_t bytes) { return fmt::format("{:.2f} MiB", bytes / 1048576.0); }

}  // namespace

int info_command(int argc, char** argv) {
  std::string path;
  po::options_description desc("info options");
  desc.add_options()("help,h", "show this help");
  po::options_description all;
  all.add(desc).add_options()("trace", po::value<std::string>(&path));
  po::positional_options_description positional;
  positional.add("trace", 1);
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: loophound info FILE\n\nSummarizes a trace without analyzing it.\n\n" << desc << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "ERROR: " << e.what() << "\nusage: loophound info FILE\n";
    return 2;
  }
  if (path.empty()) {
    std::cerr << "ERROR: no trace file given\nusage: loophound info FILE\n";
    return 2;
  }
  if (is_sqlite_file(path)) {
    std::cerr << "ERROR: '" << path << "' is an SQLite database (written by analyze --db?), not a trace; run SQL "
              << "over it with `loophound query`\n";
    return 1;
  }
  InfoVisitor v;
  auto read = trace::read_trace(path, v);
  if (!read) {
    std::cerr << "ERROR: " << read.error().message << "\n";
    return 1;
  }
  std::cout << fmt::format("{}: loophound trace, format {}, {} chunks\n", path, read->format_version, read->chunks);
  std::cout << "\nheader:\n";
  for (const auto& [key, value] : v.header.metadata)
    if (key.rfind("offset.", 0) != 0 && key.rfind("wait_reason.", 0) != 0)
      std::cout << fmt::format("  {:<22} {}\n", key, value);
  std::cout << fmt::format("  {:<22} {} lines of /proc/PID/maps\n", "mappings", v.header.mappings.size());

  std::cout << "\nbundled executables:\n";
  if (v.bundles.empty())
    std::cout << (read->truncated ? "  none survived: the trace is truncated (recorded with --no-bundle, or cut off "
                                    "before the copy was complete): analysis needs the binary\n"
                                  : "  none (recorded with --no-bundle): analysis needs the binary\n");
  for (const auto& [ids, b] : v.bundles)
    std::cout << fmt::format("  {}  build id {}\n    {} compressed, {} unpacked, {}, {} of {} parts{}\n", b.path, ids,
                             mib(b.compressed), mib(b.original), b.has_dwarf ? "with DWARF" : "without DWARF",
                             b.parts_seen, b.parts, b.parts_seen < b.parts ? " (INCOMPLETE)" : "");

  std::cout << "\nevents:\n";
  for (const auto& [name, count] : v.counts) std::cout << fmt::format("  {:<26} {}\n", name, count);
  uint64_t lost = std::max(v.lost, v.has_footer ? v.footer.lost_events : 0);
  std::cout << fmt::format("  {:<26} {}{}\n", "lost events", lost, lost > 0 ? "  (DATA LOSS)" : "");

  std::cout << "\nend:\n";
  if (v.has_footer)
    std::cout << fmt::format("  closed cleanly ({})\n", v.footer.stop_reason);
  else
    std::cout << "  NOT closed cleanly: the recorder was killed or the file was cut\n";
  if (read->truncated) std::cout << fmt::format("  truncated: {} bytes of an incomplete chunk\n", read->truncated_bytes);
  if (read->unknown_records > 0)
    std::cout << fmt::format("  {} records of unknown kind skipped (written by a newer loophound)\n",
                             read->unknown_records);
  for (const auto& w : read->warnings) std::cerr << "WARNING: " << w << "\n";
  return 0;
}

}  // namespace loophound::analyzer

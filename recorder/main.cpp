// loophound-record: attach to a running Go process with eBPF and write a
// trace. perf-like: `loophound-record -p PID -d 5 -o out.lhtrace`.
#include <csignal>
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>

#include "recorder/recording.h"
#include "recorder/version.h"

namespace po = boost::program_options;
using loophound::recorder::RecordConfig;

namespace {
std::atomic<bool> g_stop{false};
void on_stop_signal(int) { g_stop.store(true); }

// The --events table, printed after the options so it keeps its layout.
constexpr const char* kEventsHelp =
    "events (-e), cheapest first; BENCHMARKS.md has measured costs:\n"
    "  samples     CPU samples: goroutine id, user stack, where the goroutine was last\n"
    "              switched out, its P's schedtick (perf_event; no probe on any switch\n"
    "              path: within noise at 99 Hz). The default.\n"
    "  sched       OS thread switches of the target's threads (tp_btf/sched_switch).\n"
    "  goroutines  goroutine creation and exit (uprobes on runtime.newproc1 and\n"
    "              runtime.goexit1: one uprobe hit per goroutine started or ended).\n"
    "  execute     every goroutine switch (uprobe on runtime.execute).\n"
    "  states      every goroutine state change, with wait reasons (uprobe on\n"
    "              runtime.casgstatus: about 3 per park/unpark).\n"
    "  all         everything above.\n"
    "A uprobe hit costs about 0.3-1 us on bare metal and about 30 us in nested VMs, so\n"
    "execute and states slow scheduler-heavy programs a lot: opt in only when\n"
    "per-switch timing is needed. Events not listed are not recorded (-e execute\n"
    "records no CPU samples).\n";

constexpr const char* kUsage =
    "usage: loophound-record -p PID [-d SECONDS] [-F HZ] [--events LIST] [--no-regs] [--redact] [--no-bundle]\n"
    "                        -o FILE\n";
}  // namespace

int main(int argc, char** argv) {
  RecordConfig config;
  std::string events = "samples";
  // Wide enough that the --events table is not re-wrapped mid-phrase.
  po::options_description desc("options", 100, 40);
  desc.add_options()
      ("help,h", "show this help")
      ("version", "print the version")
      ("pid,p", po::value<int>(&config.pid)->required(), "PID of the Go process to record")
      ("duration,d", po::value<double>(&config.duration_s)->default_value(0),
       "seconds to record (default: until Ctrl-C or the target exits)")
      ("freq,F", po::value<int>(&config.frequency_hz)->default_value(99), "CPU samples per second per CPU")
      ("events,e", po::value<std::string>(&events)->default_value("samples"),
       "what to record, comma-separated: samples, sched, goroutines, execute, states, all (see below)")
      ("regs", "with each CPU sample, the user registers and the first 256 bytes of the 8 innermost "
               "stack frames (the default): the analyzer reads a loop's index and bound from them, to tell "
               "a long loop that advances toward its exit from a stuck one, and to prove a loop cannot "
               "terminate")
      ("no-regs", "leave the registers and frame bytes out (samples 2 KB smaller before compression; long "
                  "bounded loops may then be reported as spins)")
      ("no-bundle", "do not embed the executable in the trace (then the analyzer needs the binary)")
      ("no-dwarf-bundle", "embed the executable without its DWARF (smaller; line tables come from .gopclntab)")
      ("redact", "leave out the hostname and directories of file paths (no command line or environment is "
                 "ever recorded)")
      ("force", "record even when the runtime layout cannot be verified (DWARF\n"
                "disagrees with the table, or an unknown Go version without DWARF)")
      ("print-layout", po::value<std::string>(), "print the runtime layout of a Go binary's DWARF and exit\n"
                                                 "(used by scripts/gen-runtime-layouts.sh)")
      ("output,o", po::value<std::string>(&config.output_path)->required(), "trace file to write")
      ("quiet,q", "no progress messages");
  po::variables_map vm;
  try {
    // No positional arguments: a stray word is an error, not ignored.
    po::store(po::command_line_parser(argc, argv).options(desc).positional(po::positional_options_description()).run(),
              vm);
    if (vm.count("help")) {
      std::cout << kUsage << "\nRecords CPU samples (and optionally goroutine switches) of a running Go\n"
                << "process into a trace for `loophound analyze`.\n\n" << desc << "\n" << kEventsHelp;
      return 0;
    }
    if (vm.count("version")) {
      std::cout << "loophound-record " << loophound::recorder::kRecorderVersion << "\n";
      return 0;
    }
    if (vm.count("print-layout")) {
      auto layout = loophound::recorder::describe_layout(vm["print-layout"].as<std::string>());
      if (!layout) {
        std::cerr << "ERROR: " << layout.error().message << "\n";
        return 1;
      }
      std::cout << *layout << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "ERROR: " << e.what() << "\n" << kUsage;
    return 2;
  }
  config.quiet = vm.count("quiet") > 0;
  config.force = vm.count("force") > 0;
  config.bundle = vm.count("no-bundle") == 0;
  config.bundle_dwarf = vm.count("no-dwarf-bundle") == 0;
  config.redact = vm.count("redact") > 0;
  if (vm.count("regs") && vm.count("no-regs")) {
    std::cerr << "ERROR: --regs and --no-regs contradict each other\n" << kUsage;
    return 2;
  }
  config.registers = vm.count("no-regs") == 0;
  auto selection = loophound::recorder::EventSelection::parse(events);
  if (!selection) {
    std::cerr << "ERROR: " << selection.error().message << "\n";
    return 2;
  }
  config.events = *selection;
  if (config.pid <= 0) {
    std::cerr << "ERROR: --pid " << config.pid << " is not a process id\n" << kUsage;
    return 2;
  }
  if (config.duration_s < 0) {
    std::cerr << "ERROR: --duration " << config.duration_s << " is negative (0 records until Ctrl-C)\n" << kUsage;
    return 2;
  }
  if (config.frequency_hz < 1 || config.frequency_hz > 10000) {
    std::cerr << "ERROR: --freq " << config.frequency_hz << " is out of range (1-10000)\n";
    return 2;
  }

  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  auto summary = loophound::recorder::record(config, g_stop);
  if (!summary) {
    std::cerr << "ERROR: " << summary.error().message << "\n";
    return 1;
  }
  if (!config.quiet) {
    std::fprintf(stderr,
                 "loophound-record: %llu samples, %llu goroutine/thread events, %llu lost, %llu stacks, %.1f KiB "
                 "in %.1f s (%s) -> %s\n",
                 (unsigned long long)summary->samples, (unsigned long long)summary->execute_events,
                 (unsigned long long)summary->lost_events, (unsigned long long)summary->stacks,
                 summary->bytes / 1024.0, summary->seconds, summary->stop_reason.c_str(),
                 config.output_path.c_str());
    if (summary->lost_events > 0)
      std::fprintf(stderr, "WARNING: %llu events were lost (ring buffer full)\n",
                   (unsigned long long)summary->lost_events);
  }
  return 0;
}

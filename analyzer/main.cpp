// loophound: the analyzer. `loophound analyze TRACE` reports goroutines
// stuck in loops; `loophound query TRACE_OR_DB "SQL"` runs any SQL.
#include <cstring>
#include <iostream>
#include <string>

#include "analyzer/commands/commands.h"

namespace {
constexpr const char* kUsage =
    "usage: loophound COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  analyze FILE   import a trace, symbolize it, report stuck loops\n"
    "  query FILE SQL run SQL over a trace or a database from analyze --db\n"
    "  info FILE      summarize a trace: header, bundled binaries, events, losses\n"
    "\n"
    "`loophound COMMAND --help` describes a command's options.\n";
constexpr const char* kVersion = "0.1.0";
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "ERROR: no command given\n" << kUsage;
    return 2;
  }
  std::string command = argv[1];
  if (command == "-h" || command == "--help" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "--version") {
    std::cout << "loophound " << kVersion << "\n";
    return 0;
  }
  // Subcommands see argv[0] = the command, like git's.
  if (command == "analyze") return loophound::analyzer::analyze_command(argc - 1, argv + 1);
  if (command == "query") return loophound::analyzer::query_command(argc - 1, argv + 1);
  if (command == "info") return loophound::analyzer::info_command(argc - 1, argv + 1);
  std::cerr << "ERROR: unknown command '" << command << "'\n" << kUsage;
  return 2;
}

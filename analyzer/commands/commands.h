// The analyzer's subcommands. Each parses its own options and returns the
// process exit code: 0 success (also "no loop found"), 1 error, 2 usage.
#pragma once

namespace loophound::analyzer {

int analyze_command(int argc, char** argv);
int query_command(int argc, char** argv);
int info_command(int argc, char** argv);

}  // namespace loophound::analyzer

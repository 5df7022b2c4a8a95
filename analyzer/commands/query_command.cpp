#include <iostream>

#include <boost/program_options.hpp>

#include "analyzer/commands/analysis.h"
#include "analyzer/commands/commands.h"

namespace po = boost::program_options;

namespace loophound::analyzer {
namespace {

constexpr const char* kUsage = "usage: loophound query FILE_OR_DB \"SQL\" [--binary PATH]\n";

// A column as text; BLOBs (registers, frame bytes) as SQL hex literals,
// x'0a1b...', which the terminal can show and SQL can read back.
std::string cell(const Statement& st, int i) {
  if (st.is_null(i)) return "NULL";
  if (!st.is_blob(i)) return st.text(i);
  static const char* const kHex = "0123456789abcdef";
  const std::string bytes = st.blob(i);
  std::string out = "x'";
  for (unsigned char c : bytes) out += {kHex[c >> 4], kHex[c & 15]};
  return out + "'";
}

// Tab-separated, with a header line: what `sqlite3 -header -separator
// $'\t'` prints, easy to read and to pipe into cut/awk. Every statement of
// the script runs; each one that returns rows prints its own header.
Status print_rows(Statement& st) {
  bool header_done = false;
  while (true) {
    auto row = st.step();
    if (!row) return row.error();
    if (!header_done) {
      for (int i = 0; i < st.columns(); ++i) std::cout << (i ? "\t" : "") << st.column_name(i);
      if (st.columns() > 0) std::cout << "\n";
      header_done = true;
    }
    if (!*row) break;
    for (int i = 0; i < st.columns(); ++i) std::cout << (i ? "\t" : "") << cell(st, i);
    std::cout << "\n";
  }
  return ok_status();
}

Status run_script(Database& db, std::string sql) {
  while (!sql.empty()) {
    size_t used = 0;
    auto st = db.prepare_first(sql, &used);
    if (!st) return st.error();
    if (auto s = print_rows(*st); !s) return s;
    if (used == 0) break;
    sql.erase(0, used);
  }
  return ok_status();
}

}  // namespace

int query_command(int argc, char** argv) {
  AnalysisOptions options;
  std::string sql;
  po::options_description desc("query options");
  desc.add_options()("help,h", "show this help")(
      "binary", po::value<std::string>(&options.binary), "executable to symbolize with (traces only)");
  po::options_description hidden;
  hidden.add_options()("input", po::value<std::string>(&options.trace_path))("sql", po::value<std::string>(&sql));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("input", 1).add("sql", 1);
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << kUsage << "\nRuns SQL over a trace (imported in memory first) or over a database\n"
                << "written by `loophound analyze --db`. Tables and views: schema/schema.sql.\n\n"
                << desc << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "ERROR: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (options.trace_path.empty() || sql.empty()) {
    std::cerr << "ERROR: need a file and an SQL statement\n" << kUsage;
    return 2;
  }

  std::unique_ptr<Database> db;
  if (is_sqlite_file(options.trace_path)) {
    // Read-only: a query must not change the database it inspects.
    auto opened = Database::open_read_only(options.trace_path);
    if (!opened) {
      std::cerr << "ERROR: " << opened.error().message << "\n";
      return 1;
    }
    db = std::move(opened.value());
  } else {
    auto analysis = run_analysis(options);
    if (!analysis) {
      std::cerr << "ERROR: " << analysis.error().message << "\n";
      return 1;
    }
    for (const auto& w : analysis->warnings) std::cerr << "WARNING: " << w << "\n";
    db = std::move(analysis->db);
    // The trace's database is only in memory, but a query changes nothing
    // here either: writes fail as on a database file.
    if (auto s = db->exec("PRAGMA query_only = ON"); !s) {
      std::cerr << "ERROR: " << s.error().message << "\n";
      return 1;
    }
  }
  if (auto s = run_script(*db, sql); !s) {
    std::cerr << "ERROR: '" << options.trace_path << "': " << s.error().message << "\n";
    return 1;
  }
  return 0;
}

}  // namespace loophound::analyzer

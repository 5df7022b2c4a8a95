#include "analyzer/commands/analysis.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "analyzer/detect/stuck_detector.h"

namespace loophound::analyzer {
namespace {

Status store_findings(Database& db, const std::vector<Finding>& findings) {
  auto st = db.prepare(
      "INSERT INTO finding (kind, goid, function, file, line, end_line, duration_s, cpu_share, samples, "
      "confidence, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st) return st.error();
  for (const auto& f : findings) {
    auto s = st->bind(1, f.kind).bind(2, f.goid).bind(3, f.function).bind(4, f.file).bind(5, f.line)
                 .bind(6, f.end_line).bind(7, f.duration_s).bind(8, f.cpu_share).bind(9, f.samples)
                 .bind(10, f.confidence).bind(11, f.evidence).run();
    if (!s) return s;
  }
  return ok_status();
}

}  // namespace

bool is_sqlite_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[16] = {0};
  in.read(magic, sizeof(magic));
  return in.gcount() == 16 && std::memcmp(magic, "SQLite format 3\0", 16) == 0;
}

// --db replaces an earlier database, never anything else: not the trace
// itself (`analyze t --db t`), not some other file given by mistake.
Status prepare_db_path(const std::string& db_path, const std::string& trace_path) {
  struct stat db_stat, trace_stat;
  if (stat(db_path.c_str(), &db_stat) != 0) return ok_status();  // new file
  if (stat(trace_path.c_str(), &trace_stat) == 0 && db_stat.st_dev == trace_stat.st_dev &&
      db_stat.st_ino == trace_stat.st_ino)
    return make_error("'" + db_path + "': --db names the trace itself; choose another file");
  if (!is_sqlite_file(db_path))
    return make_error("'" + db_path + "': exists and is not an SQLite database; not replacing it");
  if (unlink(db_path.c_str()) != 0)
    return make_error("'" + db_path + "': cannot replace: " + std::strerror(errno));
  return ok_status();
}

Result<Analysis> run_analysis(const AnalysisOptions& options) {
  if (is_sqlite_file(options.trace_path))
    return make_error("'" + options.trace_path +
                      "' is an SQLite database (written by analyze --db?), not a trace; run SQL over it with "
                      "`loophound query`");
  if (options.db_path != ":memory:")
    if (auto s = prepare_db_path(options.db_path, options.trace_path); !s) return s.error();
  auto db = Database::open(options.db_path);
  if (!db) return db.error();
  Analysis analysis;
  analysis.db = std::move(db.value());

  auto imported = import_trace(options.trace_path, *analysis.db);
  if (!imported) return imported.error();
  analysis.import = std::move(imported.value());
  analysis.warnings = analysis.import.warnings;

  auto symbols = symbolize_trace(*analysis.db, SymbolizeOptions{options.binary});
  if (!symbols) return symbols.error();
  analysis.symbols = std::move(symbols.value());
  analysis.warnings.insert(analysis.warnings.end(), analysis.symbols.warnings.begin(),
                           analysis.symbols.warnings.end());

  auto spins = detect_stuck_goroutines(*analysis.db, {}, {}, &analysis.busy);
  if (!spins) return spins.error();
  analysis.findings = std::move(spins.value());
  if (auto s = store_findings(*analysis.db, analysis.findings); !s) return s.error();
  return analysis;
}

}  // namespace loophound::analyzer

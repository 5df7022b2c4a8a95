// run_analysis: the analyzer's pipeline, shared by every command:
// import (trace -> SQLite) -> symbolize -> detect -> findings stored in
// the finding table.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "analyzer/db/database.h"
#include "analyzer/detect/finding.h"
#include "analyzer/detect/stuck_detector.h"
#include "analyzer/import/trace_importer.h"
#include "analyzer/symbolize/symbolize_pass.h"
#include "schema/result.h"

namespace loophound::analyzer {

struct AnalysisOptions {
  std::string trace_path;
  std::string db_path = ":memory:";  // --db: keep the database in this file (replaced)
  std::string binary;                // --binary
};

struct Analysis {
  std::unique_ptr<Database> db;
  ImportSummary import;
  SymbolizeSummary symbols;
  std::vector<Finding> findings;
  std::vector<BusyGoroutine> busy;  // at a whole CPU, judged progressing
  std::vector<std::string> warnings;  // import and symbolization, in order
};

Result<Analysis> run_analysis(const AnalysisOptions& options);

// True when `path` starts with SQLite's file magic.
bool is_sqlite_file(const std::string& path);

}  // namespace loophound::analyzer

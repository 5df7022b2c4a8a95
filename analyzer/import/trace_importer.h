// import_trace: replays a trace file into a fresh SQLite database laid out
// by schema/schema.sql. Problems the reader reports (truncation, a missing
// footer, unknown records) and the recorder's lost-event counts become
// rows of import_stats rather than failures, so a damaged trace still
// yields what it holds.
#pragma once

#include <string>
#include <vector>

#include "analyzer/db/database.h"
#include "schema/result.h"
#include "schema/trace_format.h"

namespace loophound::analyzer {

struct ImportSummary {
  trace::Header header;
  uint64_t samples = 0;
  uint64_t switches = 0;
  uint64_t lost_events = 0;
  bool has_footer = false;
  bool truncated = false;  // an incomplete last chunk was left out
  std::vector<std::string> warnings;  // for stderr and the report
};

// Creates the schema in `db` (which must be empty) and imports the trace.
Result<ImportSummary> import_trace(const std::string& trace_path, Database& db);

// Creates the tables and views of schema/schema.sql.
Status create_schema(Database& db);

// Adds or replaces one import_stats row.
Status put_stat(Database& db, const std::string& name, const std::string& severity, int64_t value,
                const std::string& description);

}  // namespace loophound::analyzer

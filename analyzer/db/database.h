// Database / Statement: a thin RAII layer over the SQLite C API. Errors
// come back as Result values that quote the SQL's purpose and SQLite's
// message; nothing here throws.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "schema/result.h"

namespace loophound::analyzer {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, uint64_t value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, uint32_t value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, const std::string& value);
  Statement& bind_blob(int index, const std::string& bytes);

  // One step: true while a row is available, false when done; an error
  // from SQLite becomes an Error.
  Result<bool> step();
  // step() for statements that return no rows, then reset for reuse.
  Status run();
  // Steps through every row, calling on_row at each (read the columns
  // from this statement); stops at the first SQLite error.
  template <typename OnRow>
  Status each_row(OnRow&& on_row) {
    while (true) {
      auto row = step();
      if (!row) return row.error();
      if (!*row) return ok_status();
      on_row();
    }
  }
  void reset();

  int columns() const;
  std::string column_name(int i) const;
  bool is_null(int i) const;
  bool is_blob(int i) const;
  int64_t int64(int i) const;
  double real(int i) const;
  std::string text(int i) const;
  std::string blob(int i) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  // ":memory:" or a file path; an existing file is opened as is.
  static Result<std::unique_ptr<Database>> open(const std::string& path);
  // An existing database file, read-only (queries cannot change it).
  static Result<std::unique_ptr<Database>> open_read_only(const std::string& path);
  ~Database();
  Database(const Database&) = delete;

  Status exec(const std::string& sql);
  Result<Statement> prepare(const std::string& sql);
  // Prepares the first statement of `sql`; *used is how many bytes it
  // took, so a caller can walk a script statement by statement. An empty
  // Statement (only whitespace/comments left) has columns() == 0 and no
  // rows.
  Result<Statement> prepare_first(const std::string& sql, size_t* used);
  const std::string& path() const { return path_; }
  // Row id of the last row inserted through this connection.
  int64_t last_insert_rowid() const;

 private:
  Database(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace loophound::analyzer

#include "analyzer/db/database.h"

namespace loophound::analyzer {

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, const std::string& value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_blob(int index, const std::string& bytes) {
  sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return *this;
}

std::string Statement::blob(int i) const {
  const void* data = sqlite3_column_blob(stmt_, i);
  int size = sqlite3_column_bytes(stmt_, i);
  return data != nullptr && size > 0 ? std::string(static_cast<const char*>(data), static_cast<size_t>(size))
                                     : std::string();
}

Result<bool> Statement::step() {
  if (stmt_ == nullptr) return false;  // an empty statement has no rows
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return make_error(std::string("SQL error: ") + sqlite3_errmsg(db_));
}

Status Statement::run() {
  auto r = step();
  reset();
  if (!r) return r.error();
  return ok_status();
}

void Statement::reset() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int Statement::columns() const { return stmt_ != nullptr ? sqlite3_column_count(stmt_) : 0; }
std::string Statement::column_name(int i) const {
  const char* name = sqlite3_column_name(stmt_, i);
  return name != nullptr ? name : "";
}
bool Statement::is_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
bool Statement::is_blob(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_BLOB; }
int64_t Statement::int64(int i) const { return sqlite3_column_int64(stmt_, i); }
double Statement::real(int i) const { return sqlite3_column_double(stmt_, i); }
std::string Statement::text(int i) const {
  const unsigned char* t = sqlite3_column_text(stmt_, i);
  return t != nullptr ? reinterpret_cast<const char*>(t) : "";
}

namespace {
Result<sqlite3*> open_sqlite(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (db != nullptr) sqlite3_close(db);
    return make_error("'" + path + "': cannot open database: " + message);
  }
  return db;
}
}  // namespace

Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
  auto db = open_sqlite(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!db) return db.error();
  return std::unique_ptr<Database>(new Database(path, *db));
}

Result<std::unique_ptr<Database>> Database::open_read_only(const std::string& path) {
  auto db = open_sqlite(path, SQLITE_OPEN_READONLY);
  if (!db) return db.error();
  return std::unique_ptr<Database>(new Database(path, *db));
}

Database::~Database() {
  if (db_ != nullptr) sqlite3_close(db_);
}

Status Database::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return make_error("SQL error: " + text);
  }
  return ok_status();
}

Result<Statement> Database::prepare_first(const std::string& sql, size_t* used) {
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, &tail) != SQLITE_OK)
    return make_error(std::string("SQL error: ") + sqlite3_errmsg(db_));
  *used = tail != nullptr ? static_cast<size_t>(tail - sql.c_str()) : sql.size();
  return Statement(db_, stmt);
}

Result<Statement> Database::prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    return make_error(std::string("SQL error: ") + sqlite3_errmsg(db_));
  return Statement(db_, stmt);
}

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

}  // namespace loophound::analyzer

#include "analyzer/import/trace_importer.h"

#include <unistd.h>

#include <cstdio>
#include <map>
#include <unordered_set>

#include "analyzer/import/goroutine_tracker.h"
#include "analyzer/import/schema_sql.h"
#include "analyzer/import/thread_tracker.h"
#include "schema/trace_reader.h"

namespace loophound::analyzer {
namespace {

// First and last time something was seen, and how often.
struct Activity {
  uint64_t first_ns = UINT64_MAX;
  uint64_t last_ns = 0;
  uint64_t samples = 0;
  uint64_t switches = 0;
  void saw(uint64_t ts) {
    first_ns = std::min(first_ns, ts);
    last_ns = std::max(last_ns, ts);
  }
};

// 8 bytes little-endian per register.
std::string registers_blob(const std::vector<uint64_t>& registers) {
  std::string out;
  for (uint64_t r : registers)
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((r >> (8 * i)) & 0xff));
  return out;
}

// Streams records into prepared INSERTs inside one transaction; thread and
// goroutine rows are accumulated in memory and written at the end.
class ImportVisitor : public trace::TraceVisitor {
 public:
  explicit ImportVisitor(Database& db) : db_(db) {}

  Status prepare() {
    auto prep = [this](Statement& out, const char* sql) -> Status {
      auto st = db_.prepare(sql);
      if (!st) return st.error();
      out = std::move(st.value());
      return ok_status();
    };
    for (auto [stmt, sql] : std::initializer_list<std::pair<Statement*, const char*>>{
             {&insert_stack_, "INSERT OR IGNORE INTO stack (id, depth) VALUES (?, ?)"},
             {&insert_frame_, "INSERT OR IGNORE INTO stack_frame (stack_id, position, address, pc) VALUES (?, ?, ?, ?)"},
             {&insert_sample_,
              "INSERT INTO sample (ts, cpu, tid, goid, stack_id, on_system_stack, stack_error, sched_pc, schedtick, "
              "registers, sp_word) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
             {&insert_window_, "INSERT INTO frame_memory (sample_id, pc, sp, bytes) VALUES (?, ?, ?, ?)"},
             {&insert_switch_, "INSERT INTO switch_event (ts, cpu, tid, goid, kind) VALUES (?, ?, ?, ?, 'execute')"}}) {
      if (auto s = prep(*stmt, sql); !s) return s;
    }
    return ok_status();
  }

  void on_header(const trace::Header& header) override {
    summary_.header = header;
  }

  void on_stack(const trace::Stack& stack) override {
    if (!known_stacks_.insert(stack.id).second) {
      ++duplicate_stacks_;
      return;
    }
    keep(insert_stack_.bind(1, stack.id).bind(2, static_cast<int64_t>(stack.frames.size())).run());
    for (size_t i = 0; i < stack.frames.size(); ++i) {
      // A caller's frame holds a return address, which points after the
      // call: one byte back lands inside the call, on the call's line.
      uint64_t pc = i == 0 ? stack.frames[i] : stack.frames[i] - 1;
      keep(insert_frame_.bind(1, stack.id).bind(2, static_cast<int64_t>(i)).bind(3, stack.frames[i]).bind(4, pc).run());
    }
  }

  void on_sample(const trace::Sample& s) override {
    if (!known_stacks_.count(s.stack_id)) ++unknown_stack_refs_;
    // Registers stay NULL (unbound) without --regs.
    if (!s.registers.empty()) insert_sample_.bind_blob(10, registers_blob(s.registers));
    keep(insert_sample_.bind(1, s.timestamp_ns).bind(2, s.cpu).bind(3, s.tid).bind(4, s.goid).bind(5, s.stack_id)
             .bind(6, (s.flags & trace::kSampleOnSystemStack) ? 1 : 0)
             .bind(7, (s.flags & trace::kSampleStackError) ? 1 : 0)
             .bind(8, s.sched_pc).bind(9, s.schedtick).bind(11, s.sp_word)
             .run());
    const int64_t sample_id = db_.last_insert_rowid();
    for (const auto& w : s.frame_windows) {
      insert_window_.bind_blob(4, w.bytes);
      keep(insert_window_.bind(1, sample_id).bind(2, w.pc).bind(3, w.sp).run());
    }
    if (s.flags & trace::kSampleStackError) ++stack_errors_;
    auto& g = goroutines_[s.goid];
    g.saw(s.timestamp_ns);
    ++g.samples;
    auto& t = threads_[s.tid];
    t.saw(s.timestamp_ns);
    ++t.samples;
    ++summary_.samples;
    report_progress();
  }

  void on_execute(const trace::ExecuteEvent& e) override {
    keep(insert_switch_.bind(1, e.timestamp_ns).bind(2, e.cpu).bind(3, e.tid).bind(4, e.goid).run());
    auto& g = goroutines_[e.goid];
    g.saw(e.timestamp_ns);
    ++g.switches;
    threads_[e.tid].saw(e.timestamp_ns);
    ++summary_.switches;
  }

  void on_lost(const trace::LostEvents& lost) override { lost_by_source_[lost.source] += lost.count; }

  void on_goroutine_info(const trace::GoroutineInfo& info) override { goroutines_tracker_.add_info(info); }
  void on_goroutine_state(const trace::GoroutineState& state) override {
    goroutines_tracker_.add_state(state);
    threads_[state.tid].saw(state.timestamp_ns);
    ++goroutine_events_;
  }
  void on_goroutine_create(const trace::GoroutineCreate& create) override {
    goroutines_tracker_.add_create(create);
    ++goroutine_events_;
  }
  void on_goroutine_exit(const trace::GoroutineExit& exit) override {
    goroutines_tracker_.add_exit(exit);
    ++goroutine_events_;
  }
  void on_thread_switch(const trace::ThreadSwitch& change) override { thread_tracker_.add_switch(change); }

  void on_binary_bundle(const trace::BinaryBundle& b) override {
    auto st = db_.prepare(
        "INSERT OR IGNORE INTO bundle_part (build_id_go, build_id_gnu, path, compression, original_size, has_dwarf, "
        "part, parts, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st) return keep(st.error());
    st->bind(1, b.build_id_go).bind(2, b.build_id_gnu).bind(3, b.path).bind(4, b.compression).bind(5, b.original_size)
        .bind(6, (b.contents & trace::kBundleHasDwarf) ? 1 : 0).bind(7, b.part).bind(8, b.parts);
    st->bind_blob(9, b.data);
    keep(st->run());
  }

  void on_footer(const trace::Footer& footer) override {
    footer_ = footer;
    summary_.has_footer = true;
  }

  Status finish(const trace::ReadSummary& read) {
    if (!status_) return status_;
    if (auto s = write_process(); !s) return s;
    if (auto s = write_activity(); !s) return s;
    goroutines_tracker_.set_wait_reasons(wait_reason_names());
    if (auto s = goroutines_tracker_.write(db_); !s) return s;
    if (auto s = thread_tracker_.write(db_); !s) return s;
    return write_stats(read);
  }

  ImportSummary& summary() { return summary_; }

 private:
  void keep(Status s) {
    if (status_ && !s) status_ = std::move(s);
  }

  // "wait_reason.N" header keys: the target's own names of its wait reasons.
  std::map<uint32_t, std::string> wait_reason_names() const {
    std::map<uint32_t, std::string> names;
    const std::string prefix = "wait_reason.";
    for (const auto& [key, value] : summary_.header.metadata)
      if (key.rfind(prefix, 0) == 0) names[static_cast<uint32_t>(std::atoi(key.c_str() + prefix.size()))] = value;
    return names;
  }

  void report_progress() {
    // Large traces take a while; show a counter on a terminal only.
    if (summary_.samples % 200000 == 0 && isatty(STDERR_FILENO))
      std::fprintf(stderr, "\rimporting: %llu samples", (unsigned long long)summary_.samples);
  }

  Status write_process() {
    const auto& h = summary_.header;
    for (const auto& [key, value] : h.metadata) {
      auto st = db_.prepare("INSERT OR REPLACE INTO metadata (key, value) VALUES (?, ?)");
      if (!st) return st.error();
      if (auto s = st->bind(1, key).bind(2, value).run(); !s) return s;
    }
    int64_t pid = std::atoll(h.get("pid").c_str());
    auto st = db_.prepare(
        "INSERT INTO process (pid, command, executable, go_version, build_id_go, build_id_gnu) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    if (!st) return st.error();
    if (auto s = st->bind(1, pid).bind(2, h.get("command")).bind(3, h.get("executable")).bind(4, h.get("go_version"))
                     .bind(5, h.get("build_id.go")).bind(6, h.get("build_id.gnu")).run();
        !s)
      return s;
    auto map = db_.prepare(
        "INSERT INTO mapping (pid, start, end, file_offset, permissions, path) VALUES (?, ?, ?, ?, ?, ?)");
    if (!map) return map.error();
    for (const auto& m : h.mappings) {
      if (auto s = map->bind(1, pid).bind(2, m.start).bind(3, m.end).bind(4, m.file_offset).bind(5, m.permissions)
                       .bind(6, m.path).run();
          !s)
        return s;
    }
    return ok_status();
  }

  Status write_activity() {
    int64_t pid = std::atoll(summary_.header.get("pid").c_str());
    auto th = db_.prepare("INSERT INTO thread (tid, pid, first_ns, last_ns, samples) VALUES (?, ?, ?, ?, ?)");
    if (!th) return th.error();
    for (const auto& [tid, a] : threads_)
      if (auto s = th->bind(1, tid).bind(2, pid).bind(3, a.first_ns).bind(4, a.last_ns).bind(5, a.samples).run(); !s)
        return s;
    auto go = db_.prepare(
        "INSERT INTO goroutine (goid, first_ns, last_ns, samples, switches) VALUES (?, ?, ?, ?, ?)");
    if (!go) return go.error();
    for (const auto& [goid, a] : goroutines_)
      if (auto s = go->bind(1, goid).bind(2, a.first_ns).bind(3, a.last_ns).bind(4, a.samples).bind(5, a.switches).run();
          !s)
        return s;
    return ok_status();
  }

  Status write_stats(const trace::ReadSummary& read) {
    auto& warnings = summary_.warnings;
    warnings.insert(warnings.end(), read.warnings.begin(), read.warnings.end());
    uint64_t lost = 0;
    for (const auto& [source, count] : lost_by_source_) {
      lost += count;
      if (auto s = put_stat(db_, "lost_events." + source, "data_loss", static_cast<int64_t>(count),
                            "events the kernel side dropped (" + source + ")");
          !s)
        return s;
    }
    // The footer repeats the total; trust the larger if a lost record was cut off.
    if (summary_.has_footer) lost = std::max(lost, footer_.lost_events);
    summary_.lost_events = lost;
    summary_.truncated = read.truncated;
    if (lost > 0)
      warnings.push_back(std::to_string(lost) + " events were lost while recording (ring buffer full)");
    if (unknown_stack_refs_ > 0)
      warnings.push_back(std::to_string(unknown_stack_refs_) + " samples refer to a stack the trace never defined");
    struct Row {
      const char* name;
      const char* severity;
      uint64_t value;
      const char* description;
    } rows[] = {
        {"lost_events", "data_loss", lost, "events lost while recording, all sources"},
        {"samples", "info", summary_.samples, "CPU samples imported"},
        {"switch_events", "info", summary_.switches, "goroutine switch events imported"},
        {"goroutine_events", "info", goroutine_events_, "goroutine state, creation and exit events imported"},
        {"thread_switches", "info", thread_tracker_.switches(), "OS thread switches (sched_switch) imported"},
        {"unresolved_creations", "warning", goroutines_tracker_.unresolved_creations(),
         "goroutines created during the recording whose id no later event revealed"},
        {"chunks", "info", read.chunks, "trace chunks read"},
        {"unknown_records", "warning", read.unknown_records, "records of unknown kind, skipped (newer writer)"},
        {"truncated_bytes", "data_loss", read.truncated_bytes, "bytes of an incomplete last chunk, not imported"},
        {"missing_footer", "warning", read.has_footer ? 0u : 1u, "1: the recorder did not close the trace cleanly"},
        {"unknown_stack_refs", "error", unknown_stack_refs_, "samples whose stack id was never defined"},
        {"duplicate_stacks", "warning", duplicate_stacks_, "stack ids defined twice (first kept)"},
        {"stack_errors", "info", stack_errors_, "samples whose user stack could not be read"},
    };
    for (const auto& r : rows)
      if (auto s = put_stat(db_, r.name, r.severity, static_cast<int64_t>(r.value), r.description); !s) return s;
    return ok_status();
  }

  Database& db_;
  Status status_ = ok_status();
  ImportSummary summary_;
  trace::Footer footer_;
  Statement insert_stack_, insert_frame_, insert_sample_, insert_window_, insert_switch_;
  std::unordered_set<uint32_t> known_stacks_;
  std::map<uint64_t, Activity> goroutines_;
  std::map<uint32_t, Activity> threads_;
  std::map<std::string, uint64_t> lost_by_source_;
  uint64_t unknown_stack_refs_ = 0, duplicate_stacks_ = 0, stack_errors_ = 0, goroutine_events_ = 0;
  GoroutineTracker goroutines_tracker_;
  ThreadTracker thread_tracker_;
};

}  // namespace

Status create_schema(Database& db) { return db.exec(kSchemaSql); }

Status put_stat(Database& db, const std::string& name, const std::string& severity, int64_t value,
                const std::string& description) {
  auto st = db.prepare(
      "INSERT OR REPLACE INTO import_stats (name, severity, value, description) VALUES (?, ?, ?, ?)");
  if (!st) return st.error();
  return st->bind(1, name).bind(2, severity).bind(3, value).bind(4, description).run();
}

Result<ImportSummary> import_trace(const std::string& trace_path, Database& db) {
  if (auto s = create_schema(db); !s) return s.error();
  if (auto s = db.exec("BEGIN"); !s) return s.error();
  ImportVisitor visitor(db);
  if (auto s = visitor.prepare(); !s) return s.error();
  auto read = trace::read_trace(trace_path, visitor);
  if (isatty(STDERR_FILENO) && visitor.summary().samples >= 200000) std::fprintf(stderr, "\n");
  if (!read) return read.error();
  if (auto s = visitor.finish(*read); !s) return make_error("'" + trace_path + "': import failed: " + s.error().message);
  if (auto s = db.exec("COMMIT"); !s) return s.error();
  return std::move(visitor.summary());
}

}  // namespace loophound::analyzer

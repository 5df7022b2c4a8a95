#include "analyzer/symbolize/symbolize_pass.h"


#include <algorithm>
#include <memory>

#include "analyzer/import/trace_importer.h"
#include "analyzer/loops/loop_pass.h"
#include "analyzer/symbolize/address_space.h"
#include "analyzer/symbolize/dwarf_symbolizer.h"
#include "analyzer/symbolize/executable_view.h"
#include "analyzer/symbolize/pclntab_symbolizer.h"

namespace loophound::analyzer {
namespace {

Result<std::string> metadata(Database& db, const std::string& key) {
  auto st = db.prepare("SELECT value FROM metadata WHERE key = ?");
  if (!st) return st.error();
  st->bind(1, key);
  auto row = st->step();
  if (!row) return row.error();
  return *row ? st->text(0) : std::string();
}

Result<std::vector<ProcessMapping>> read_mappings(Database& db) {
  auto st = db.prepare("SELECT start, end, file_offset, path FROM mapping ORDER BY start");
  if (!st) return st.error();
  std::vector<ProcessMapping> out;
  Status st_read = st->each_row([&] {
    out.push_back(ProcessMapping{static_cast<uint64_t>(st->int64(0)), static_cast<uint64_t>(st->int64(1)),
                                 static_cast<uint64_t>(st->int64(2)), st->text(3)});
  });
  if (!st_read) return st_read.error();
  return out;
}

// Names each goroutine's start function (from g.startpc) and creation
// site. The creation site is the `go` statement: g.gopc is the return
// address of its call, so one byte back.
Status name_goroutine_sites(Database& db) {
  return db.exec(R"SQL(
    UPDATE goroutine SET start_function = (
      SELECT function FROM frame WHERE pc = goroutine.start_pc ORDER BY inline_depth DESC LIMIT 1)
    WHERE start_pc IS NOT NULL;
    UPDATE goroutine SET
      creation_function = (SELECT function FROM frame WHERE pc = goroutine.creation_pc - 1 AND inline_depth = 0),
      creation_file = (SELECT file FROM frame WHERE pc = goroutine.creation_pc - 1 AND inline_depth = 0),
      creation_line = (SELECT line FROM frame WHERE pc = goroutine.creation_pc - 1 AND inline_depth = 0)
    WHERE creation_pc > 0;
  )SQL");
}

// For goroutines whose start is still unknown or a compiler wrapper (the
// loop pass names most wrappers by what they call), the stacks say more:
// the outermost frame is runtime.goexit (the return address `go` plants),
// the frame above it the start function, or the wrapper whose next frame
// or inline level is it. Samples on g0/gsignal are left out: their frame
// chain can run into another goroutine's stack (mcall keeps the frame
// pointer). The most common answer wins, not the deepest.
Status name_starts_from_stacks(Database& db) {
  return db.exec(R"SQL(
    UPDATE goroutine SET start_function = coalesce((
      SELECT f.function
      FROM sample s
      JOIN stack st ON st.id = s.stack_id
      JOIN stack_frame bottom ON bottom.stack_id = s.stack_id AND bottom.position = st.depth - 1
      JOIN frame fb ON fb.pc = bottom.pc AND fb.function = 'runtime.goexit'
      JOIN stack_frame sf ON sf.stack_id = s.stack_id AND sf.position IN (st.depth - 2, st.depth - 3)
      JOIN frame f ON f.pc = sf.pc
      WHERE s.goid = goroutine.goid AND s.on_system_stack = 0
        AND f.function NOT GLOB '*.gowrap[0-9]*' AND f.function NOT GLOB '*.func[0-9]*'
      GROUP BY f.function
      ORDER BY count(*) DESC
      LIMIT 1), start_function)
    WHERE goid != 0 AND (start_function IS NULL OR start_function = '??' OR start_function GLOB '*.gowrap[0-9]*'
                         OR start_function GLOB '*.func[0-9]*');
  )SQL");
}

// Resolves runtime pcs of the traced process into frame rows.
class PcResolver : public ExecutableView {
 public:
  PcResolver(Database& db, std::vector<ProcessMapping> mappings, std::string executable)
      : db_(db), mappings_(std::move(mappings)), executable_(std::move(executable)) {
    for (const auto& m : mappings_)
      if (m.path == executable_) exe_mappings_.push_back(m);
  }

  // Opens the chosen copy of the executable for its addresses.
  Status open_binary(const std::string& binary, SymbolizeSummary& summary) {
    auto symbolizer = DwarfSymbolizer::open(binary);
    if (!symbolizer) return symbolizer.error();
    auto layout = read_load_layout(binary);
    if (!layout) return layout.error();
    layout_ = std::move(layout.value());
    summary.binary_used = binary;
    binary_ = binary;
    if (symbolizer.value()->has_dwarf()) {
      dwarf_ = std::move(symbolizer.value());
      summary.line_table = "DWARF";
      return ok_status();
    }
    // Production builds (-ldflags=-s -w) have no DWARF; Go's own line
    // table, always present, gives the same functions, lines and inlining.
    auto pclntab = PclntabSymbolizer::open(binary);
    if (!pclntab) {
      dwarf_ = std::move(symbolizer.value());  // symbol names at least
      summary.warnings.push_back("'" + binary + "' has no DWARF and " + pclntab.error().message +
                                 ": only function names are known");
      summary.line_table = "ELF symbols";
      return ok_status();
    }
    pclntab_ = std::move(pclntab.value());
    summary.line_table = ".gopclntab";
    return ok_status();
  }

  Status prepare() {
    auto insert = db_.prepare(
        "INSERT OR IGNORE INTO frame (pc, inline_depth, function, file, line, inlined, module, sampled) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!insert) return insert.error();
    insert_ = std::move(insert.value());
    return ok_status();
  }

  std::optional<uint64_t> to_file_vaddr(uint64_t runtime_pc) const override {
    return analyzer::to_file_vaddr(runtime_pc, exe_mappings_, layout_);
  }
  std::vector<SourceFrame> symbolize_vaddr(uint64_t vaddr) override {
    return dwarf_ ? dwarf_->symbolize(vaddr) : pclntab_ ? pclntab_->symbolize(vaddr) : std::vector<SourceFrame>{};
  }
  std::vector<uint64_t> line_rows(uint64_t low, uint64_t high) override {
    return dwarf_ ? dwarf_->line_row_addresses(low, high)
                  : pclntab_ ? pclntab_->line_row_addresses(low, high) : std::vector<uint64_t>{};
  }
  const std::string& binary_path() const override { return binary_; }
  const std::string& module() const override { return executable_; }
  bool usable() const { return dwarf_ || pclntab_; }

  // Inserts the frames of `pc`; returns whether its function is known.
  Result<bool> resolve(uint64_t pc, bool sampled) {
    std::string module;
    for (const auto& m : mappings_)
      if (pc >= m.start && pc < m.end) module = m.path;
    std::vector<SourceFrame> frames;
    if (usable() && module == executable_) {
      if (auto vaddr = to_file_vaddr(pc)) frames = symbolize_vaddr(*vaddr);
    }
    bool known = !frames.empty();
    if (!known) frames.push_back(SourceFrame{"??", "", 0, false});
    for (size_t depth = 0; depth < frames.size(); ++depth) {
      const auto& f = frames[depth];
      auto s = insert_.bind(1, pc).bind(2, static_cast<int64_t>(depth)).bind(3, f.function).bind(4, f.file)
                   .bind(5, f.line).bind(6, f.inlined ? 1 : 0).bind(7, module).bind(8, sampled ? 1 : 0).run();
      if (!s) return s.error();
    }
    return known;
  }

  // Adds the line-table rows between the lowest and highest sampled leaf
  // pc of each function, so a detector can see every line of a hot span.
  Status fill_hot_spans() {
    if (!usable()) return ok_status();
    auto spans = db_.prepare(R"SQL(
      SELECT min(sf.pc), max(sf.pc)
      FROM stack_frame sf
      JOIN frame f ON f.pc = sf.pc
      WHERE sf.position = 0 AND f.module = ?
        AND f.inline_depth = (SELECT max(inline_depth) FROM frame o WHERE o.pc = sf.pc)
      GROUP BY f.function)SQL");
    if (!spans) return spans.error();
    spans->bind(1, executable_);
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    Status spans_read = spans->each_row([&] {
      ranges.emplace_back(static_cast<uint64_t>(spans->int64(0)), static_cast<uint64_t>(spans->int64(1)));
    });
    if (!spans_read) return spans_read.error();
    for (auto [low, high] : ranges) {
      auto low_vaddr = to_file_vaddr(low);
      auto high_vaddr = to_file_vaddr(high);
      if (!low_vaddr || !high_vaddr) continue;
      const uint64_t load_bias = low - *low_vaddr;  // the same mapping holds the whole function
      for (uint64_t vaddr : line_rows(*low_vaddr, *high_vaddr))
        if (auto r = resolve(vaddr + load_bias, false); !r) return r.error();
    }
    return ok_status();
  }

 private:
  Database& db_;
  std::vector<ProcessMapping> mappings_;
  std::vector<ProcessMapping> exe_mappings_;  // selected by the path recorded for the executable
  std::string executable_;
  // One of the two: DWARF when the binary has it, else .gopclntab.
  std::unique_ptr<DwarfSymbolizer> dwarf_;
  std::unique_ptr<PclntabSymbolizer> pclntab_;
  std::string binary_;
  ElfLoadLayout layout_;
  Statement insert_;
};

}  // namespace

Result<SymbolizeSummary> symbolize_trace(Database& db, const SymbolizeOptions& options) {
  SymbolizeSummary summary;
  auto executable = metadata(db, "executable");
  if (!executable) return executable.error();
  auto mappings = read_mappings(db);
  if (!mappings) return mappings.error();

  auto go_id = metadata(db, "build_id.go");
  auto gnu_id = metadata(db, "build_id.gnu");
  if (!go_id || !gnu_id) return make_error("cannot read the build ids from the metadata table");
  PcResolver resolver(db, std::move(mappings.value()), *executable);
  std::vector<std::string> passed_over;
  auto choice = choose_binary(db, BinaryRequest{options.binary, *executable, BuildIds{*go_id, *gnu_id}}, passed_over);
  if (!choice) return choice.error();
  if (choice->path.empty()) {
    std::string why;
    for (const auto& note : passed_over) why += (why.empty() ? "" : "; ") + note;
    summary.warnings.push_back("cannot symbolize: " + why + "; pass --binary PATH with the traced build");
  } else if (auto s = resolver.open_binary(choice->path, summary); !s) {
    summary.warnings.push_back("cannot symbolize with the " + choice->source + ": " + s.error().message);
  } else {
    summary.binary_source = choice->source;
    summary.binary = *choice;
  }
  if (auto s = resolver.prepare(); !s) return s.error();

  // Stack pcs, the start and creation pcs of goroutines, and where sampled
  // goroutines were last switched out (one byte back from a return
  // address, as for callers).
  auto pcs = db.prepare(R"SQL(
    SELECT pc, max(sampled) FROM (
      SELECT pc, 1 AS sampled FROM stack_frame
      UNION ALL SELECT start_pc, 0 FROM goroutine WHERE start_pc > 0
      UNION ALL SELECT creation_pc - 1, 0 FROM goroutine WHERE creation_pc > 0
      UNION ALL SELECT start_pc, 0 FROM goroutine_create WHERE start_pc > 0
      UNION ALL SELECT creation_pc - 1, 0 FROM goroutine_create WHERE creation_pc > 0
      UNION ALL SELECT DISTINCT sched_pc - 1, 0 FROM sample WHERE sched_pc > 0)
    GROUP BY pc ORDER BY pc)SQL");
  if (!pcs) return pcs.error();
  if (auto s = db.exec("BEGIN"); !s) return s.error();
  while (true) {
    auto row = pcs->step();
    if (!row) return row.error();
    if (!*row) break;
    ++summary.pcs;
    auto known = resolver.resolve(static_cast<uint64_t>(pcs->int64(0)), pcs->int64(1) != 0);
    if (!known) return known.error();
    if (*known) ++summary.resolved;
  }
  if (auto s = resolver.fill_hot_spans(); !s) return s.error();
  if (auto s = name_goroutine_sites(db); !s) return s.error();
  if (resolver.usable()) {
    auto loops = find_sampled_loops(db, resolver);
    if (!loops) summary.warnings.push_back("no loop structure: " + loops.error().message);
    else summary.loops = loops->loops;
  }
  if (auto s = name_starts_from_stacks(db); !s) return s.error();
  if (auto s = put_stat(db, "unresolved_pcs", "warning", static_cast<int64_t>(summary.pcs - summary.resolved),
                        "distinct pcs with no known function");
      !s)
    return s.error();
  if (auto s = db.exec("COMMIT"); !s) return s.error();
  return summary;
}

}  // namespace loophound::analyzer

#include "analyzer/detect/exit_progress.h"

#include <fmt/format.h>

namespace loophound::analyzer {
namespace {

using Wide = __int128;

// Values seen at fewer samples than this give no verdict.
constexpr size_t kMinPoints = 8;
// Share of sample intervals over which a - b must move toward the exit. A
// goroutine that was descheduled between two samples did not move; one
// that is stuck never moves forward at all.
constexpr double kMinForwardShare = 0.6;
// Starting over (a - b jumps back, away from the exit) at most this often
// per forward move: a loop re-entered after each run.
constexpr double kMaxRestartShare = 0.25;
// Samples on the exit side of the test (the value was read between the
// update and the test) tolerated before the reading is not trusted.
constexpr double kMaxExitSideShare = 0.02;

const char* kRegisterNames[16] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                                  "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

Wide truncate(uint64_t raw, int width, bool is_signed) {
  if (width >= 8) return is_signed ? static_cast<Wide>(static_cast<int64_t>(raw)) : static_cast<Wide>(raw);
  const int bits = width * 8;
  uint64_t v = raw & ((uint64_t{1} << bits) - 1);
  if (is_signed && (v >> (bits - 1)) != 0) return static_cast<Wide>(v) - (static_cast<Wide>(1) << bits);
  return static_cast<Wide>(v);
}

Wide type_min(int width, bool is_signed) { return is_signed ? -(static_cast<Wide>(1) << (width * 8 - 1)) : 0; }
Wide type_max(int width, bool is_signed) {
  return is_signed ? (static_cast<Wide>(1) << (width * 8 - 1)) - 1 : (static_cast<Wide>(1) << (width * 8)) - 1;
}

std::optional<Wide> read(const ExitTest::Side& side, const ExitTest& t, const FrameState& s) {
  uint64_t raw = 0;
  switch (side.kind) {
    case ExitTest::Side::kConstant:
      raw = static_cast<uint64_t>(side.value);
      break;
    case ExitTest::Side::kRegister: {
      if (side.value < 0 || side.value >= 16 || s.registers.size() < static_cast<size_t>(side.value + 1) * 8)
        return std::nullopt;
      for (int i = 7; i >= 0; --i)
        raw = raw << 8 | static_cast<unsigned char>(s.registers[static_cast<size_t>(side.value * 8 + i)]);
      break;
    }
    case ExitTest::Side::kStack: {
      if (side.value < 0 || static_cast<uint64_t>(side.value) + static_cast<uint64_t>(t.width) > s.memory.size())
        return std::nullopt;
      for (int i = t.width - 1; i >= 0; --i)
        raw = raw << 8 | static_cast<unsigned char>(s.memory[static_cast<size_t>(side.value + i)]);
      break;
    }
  }
  return truncate(raw + static_cast<uint64_t>(side.add), t.width, t.is_signed);
}

std::string describe(const ExitTest::Side& side) {
  std::string place;
  switch (side.kind) {
    case ExitTest::Side::kConstant: return fmt::format("{}", side.value + side.add);
    case ExitTest::Side::kRegister:
      place = side.value >= 0 && side.value < 16 ? kRegisterNames[side.value] : "?";
      break;
    // A stack slot of the loop's frame, addressed from its stack pointer.
    case ExitTest::Side::kStack: place = fmt::format("[sp+{:#x}]", side.value); break;
  }
  if (side.add > 0) return fmt::format("{}+{}", place, side.add);
  if (side.add < 0) return fmt::format("{}-{}", place, -side.add);
  return place;
}

std::string number(Wide v) {
  if (v < 0) return "-" + number(-v);
  if (v <= static_cast<Wide>(UINT64_MAX)) return fmt::format("{}", static_cast<uint64_t>(v));
  return "a 128-bit value";
}

std::string seconds(double s) {
  if (s < 1) return "under a second";
  if (s < 120) return fmt::format("about {:.0f} s", s);
  return fmt::format("about {:.0f} min", s / 60);
}

// Can `relation` ever hold when one side is a constant at the end of its
// type's range (`b <= 255` for a byte can never fail, `u < 0` never hold)?
bool can_ever_leave(const ExitTest& t) {
  const bool less = t.relation == "<", greater = t.relation == ">";
  const Wide lo = type_min(t.width, t.is_signed), hi = type_max(t.width, t.is_signed);
  if (t.rhs.kind == ExitTest::Side::kConstant) {
    Wide c = truncate(static_cast<uint64_t>(t.rhs.value + t.rhs.add), t.width, t.is_signed);
    if ((less && c == lo) || (greater && c == hi)) return false;
  }
  if (t.lhs.kind == ExitTest::Side::kConstant) {
    Wide c = truncate(static_cast<uint64_t>(t.lhs.value + t.lhs.add), t.width, t.is_signed);
    if ((less && c == hi) || (greater && c == lo)) return false;
  }
  return true;
}

bool leaves(const std::string& relation, Wide diff) {
  if (relation == "<") return diff < 0;
  if (relation == "<=") return diff <= 0;
  if (relation == ">") return diff > 0;
  return diff >= 0;
}

std::optional<ExitVerdict> judge(const ExitTest& t, const std::vector<FrameState>& states) {
  if (t.width < 1 || t.width > 8 || !can_ever_leave(t)) return std::nullopt;
  struct Point {
    uint64_t ts;
    Wide a, b;
  };
  std::vector<Point> points;
  for (const auto& s : states) {
    auto a = read(t.lhs, t, s), b = read(t.rhs, t, s);
    if (a && b) points.push_back({s.ts, *a, *b});
  }
  if (points.size() < kMinPoints) return std::nullopt;
  size_t exit_side = 0;
  for (const auto& p : points) exit_side += leaves(t.relation, p.a - p.b);
  if (static_cast<double>(exit_side) > kMaxExitSideShare * static_cast<double>(points.size())) return std::nullopt;
  // Toward the exit: a - b grows for > and >=, shrinks for < and <=.
  const int toward = (t.relation == ">" || t.relation == ">=") ? 1 : -1;
  size_t forward = 0, restarts = 0;
  for (size_t i = 1; i < points.size(); ++i) {
    Wide step = (points[i].a - points[i].b) - (points[i - 1].a - points[i - 1].b);
    if (step * toward > 0) ++forward;
    else if (step * toward < 0) ++restarts;
  }
  const size_t intervals = points.size() - 1;
  const std::string test = fmt::format("the loop leaves when {} {} {}", describe(t.lhs), t.relation, describe(t.rhs));
  const Point &first = points.front(), &last = points.back();
  // "the bound stays 451017 while the index went from 19192 to 109589"
  bool lhs_fixed = true, rhs_fixed = true;
  for (const auto& p : points) lhs_fixed &= p.a == first.a, rhs_fixed &= p.b == first.b;
  auto movement = [&](const Point& from, const Point& to) {
    if (rhs_fixed && !lhs_fixed)
      return fmt::format("the bound {} stays {} while {} went from {} to {}", describe(t.rhs), number(from.b),
                         describe(t.lhs), number(from.a), number(to.a));
    if (lhs_fixed && !rhs_fixed)
      return fmt::format("the bound {} stays {} while {} went from {} to {}", describe(t.lhs), number(from.a),
                         describe(t.rhs), number(from.b), number(to.b));
    return fmt::format("{} - {} went from {} to {}", describe(t.lhs), describe(t.rhs), number(from.a - from.b),
                       number(to.a - to.b));
  };
  ExitVerdict v;
  if (static_cast<double>(forward) < kMinForwardShare * static_cast<double>(intervals)) {
    v.why = fmt::format("{}, but that came closer over only {} of {} sample intervals ({})", test, forward, intervals,
                        movement(first, last));
    return v;
  }
  if (restarts > 0) {
    if (static_cast<double>(restarts) > kMaxRestartShare * static_cast<double>(forward)) return std::nullopt;
    v.advancing = true;
    v.why = fmt::format("{}, and that came closer over {} of {} sample intervals and started over {} times: the "
                        "loop runs to its bound and is entered anew",
                        test, forward, intervals, restarts);
    return v;
  }
  const double dt = static_cast<double>(last.ts - first.ts) / 1e9;
  const double moved = static_cast<double>(((last.a - last.b) - (first.a - first.b)) * toward);
  const double remaining = static_cast<double>(-(last.a - last.b) * toward);
  if (dt <= 0 || moved <= 0) return std::nullopt;
  const double eta = remaining / (moved / dt);
  v.advancing = eta <= kMaxEtaSeconds;
  v.why = fmt::format("{}, and that came closer over {} of {} sample intervals: {} in {:.1f} s; at that pace the "
                      "loop ends in {}",
                      test, forward, intervals, movement(first, last), dt, seconds(eta));
  return v;
}

}  // namespace

std::optional<ExitVerdict> judge_exit_progress(const std::vector<ExitTest>& tests,
                                               const std::vector<FrameState>& states) {
  std::optional<ExitVerdict> not_advancing;
  for (const auto& t : tests) {
    auto v = judge(t, states);
    if (!v) continue;
    if (v->advancing) return v;  // one test that will fire is enough
    if (!not_advancing) not_advancing = v;
  }
  return not_advancing;
}

}  // namespace loophound::analyzer

#include "analyzer/loops/go_noreturn.h"

#include <array>

namespace loophound::analyzer {
namespace {

constexpr std::string_view kRuntime = "runtime.";

// Exact names (after "runtime.") that never return. The list follows the
// compiler's own: cmd/compile/internal/ssagen marks calls to throw,
// throwinit, gopanic, panicwrap, block, panicmakeslice*, panicunsafe* and
// panicrangestate as BlockExit, and emits the bounds/shift/divide/type
// assertion panics through rtcall(..., returns=false).
constexpr std::array<std::string_view, 8> kExact = {
    "throw", "throwinit", "fatal", "fatalthrow", "fatalpanic", "gopanic", "block", "Goexit"};

// panicCheck1/2 are helpers that the panic functions call first; they
// return normally unless the panic happened inside the runtime.
constexpr std::array<std::string_view, 2> kReturningPanicHelpers = {"panicCheck1", "panicCheck2"};

}  // namespace

bool is_go_noreturn_function(std::string_view name) {
  if (!name.starts_with(kRuntime)) return false;
  name.remove_prefix(kRuntime.size());
  if (name.ends_with(".abi0")) name.remove_suffix(4 + 1);
  // Methods and closures carry more dots; none of them is a panic helper.
  if (name.find('.') != std::string_view::npos) return false;
  for (std::string_view exact : kExact) {
    if (name == exact) return true;
  }
  for (std::string_view helper : kReturningPanicHelpers) {
    if (name == helper) return false;
  }
  return name.starts_with("panic") || name.starts_with("goPanic");
}

}  // namespace loophound::analyzer

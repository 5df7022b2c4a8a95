#include "analyzer/loops/go_noreturn.h"

#include <array>

namespace loophound::analyzer {
namespace {

// Exact runtime names that never return. The list follows the compiler's
// own: cmd/compile/internal/ssagen marks calls to throw, throwinit,
// gopanic, panicwrap, block, panicmakeslice*, panicunsafe* and
// panicrangestate as BlockExit, and emits the bounds/shift/divide/type
// assertion panics through rtcall(..., returns=false). fatal* and Goexit
// are not known to the compiler but never return either.
constexpr std::array<std::string_view, 8> kRuntimeExact = {
    "throw", "throwinit", "fatal", "fatalthrow", "fatalpanic", "gopanic", "block", "Goexit"};

// panicCheck1/2 are helpers that the panic functions call first; they
// return normally unless the panic happened inside the runtime.
constexpr std::array<std::string_view, 2> kReturningPanicHelpers = {"panicCheck1", "panicCheck2"};

// Standard-library packages that reach runtime.throw/fatal through a
// go:linkname'd local `throw` or `fatal` (internal/runtime/cgroup.throw,
// internal/runtime/maps.fatal, internal/sync.throw, crypto/rand.fatal...).
// In a user package the same name may well return, so it is not matched.
bool links_runtime_throw(std::string_view package) {
  return package.starts_with("internal/") || package == "sync" || package.starts_with("crypto/");
}

}  // namespace

bool is_go_noreturn_function(std::string_view name) {
  if (name.ends_with(".abi0")) name.remove_suffix(std::string_view(".abi0").size());
  // "internal/runtime/cgroup.throw": the package path ends at the first
  // dot after the last slash.
  size_t slash = name.rfind('/');
  size_t dot = name.find('.', slash == std::string_view::npos ? 0 : slash);
  if (dot == std::string_view::npos) return false;
  std::string_view package = name.substr(0, dot);
  std::string_view function = name.substr(dot + 1);
  // Methods and closures ("runtime.throw.func1") carry more dots; none of
  // them is a panic helper.
  if (function.find('.') != std::string_view::npos) return false;
  if (package != "runtime") {
    return links_runtime_throw(package) && (function == "throw" || function == "fatal");
  }
  for (std::string_view exact : kRuntimeExact) {
    if (function == exact) return true;
  }
  for (std::string_view helper : kReturningPanicHelpers) {
    if (function == helper) return false;
  }
  return function.starts_with("panic") || function.starts_with("goPanic");
}

}  // namespace loophound::analyzer

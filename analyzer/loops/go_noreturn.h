// Which Go functions never return to their caller, by symbol name.
//
// Why this matters for loops: the Go compiler ends a block with a call to
// a panic helper and lays the next, unrelated block right after the call
// (often several panic calls in a row, then the morestack block of the
// function). Read as "calls return", every panic call would fall through
// into whatever follows, adding edges that do not exist: false back edges,
// and the prologue's stack-growth cycle swallowing every loop that has a
// bounds check. The MC layer cannot know which callees return, so the
// caller names them (see ControlFlowGraph::build's NoReturnSet).
#pragma once

#include <string_view>

namespace loophound::analyzer {

// True for the runtime functions that cmd/compile emits as block-ending
// ("BlockExit") calls: runtime.throw, runtime.gopanic, the bounds-check
// helpers (runtime.panicIndex..., runtime.goPanic..., runtime.panicBounds
// since Go 1.26), runtime.panicdivide, panicshift, panicwrap,
// panicdottypeE/I, panicnildottype, panicmakeslicelen/cap, panicunsafe*,
// panicrangestate, plus runtime.fatal/fatalthrow/fatalpanic, runtime.block
// and runtime.Goexit; and the standard library's go:linkname'd copies of
// throw/fatal (internal/runtime/cgroup.throw, internal/sync.fatal, ...),
// which the compiler also treats as block-ending when compiling
// runtime-internal packages. Accepts the ".abi0" suffix of assembly symbols.
// Closures ("runtime.throw.func1") are not matched: they return.
bool is_go_noreturn_function(std::string_view symbol_name);

}  // namespace loophound::analyzer

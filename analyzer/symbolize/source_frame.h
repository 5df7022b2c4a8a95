// SourceFrame: one source-level frame of a resolved address. One machine
// address can stand for several frames when the compiler inlined calls; the
// symbolizer returns them innermost first.
#pragma once

#include <string>

namespace loophound::analyzer {

struct SourceFrame {
  std::string function;  // as the debug info spells it: "main.(*Server).serve"
  std::string file;      // "" when only a symbol name is known
  int line = 0;          // 0 when unknown
  bool inlined = false;  // this frame was inlined into the next outer frame
};

}  // namespace loophound::analyzer

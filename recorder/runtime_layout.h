// RuntimeLayout: where the Go runtime keeps what the BPF side reads in the
// target's memory: the current g in TLS, and the fields of runtime.g and
// runtime.m that name a goroutine. The offsets move between Go versions, so
// they come from the target's own DWARF; a layout we cannot establish stops
// the recorder (recording garbage goroutine ids would be worse).
#pragma once

#include <cstdint>
#include <string>

#include "recorder/elf_file.h"
#include "recorder/go_build_info.h"
#include "schema/result.h"

namespace loophound::recorder {

struct RuntimeLayout {
  int64_t tls_g = -8;  // g's address relative to the thread's fsbase
  uint32_t g_goid = 0;
  uint32_t g_m = 0;
  uint32_t m_g0 = 0;
  uint32_t m_curg = 0;
  uint32_t m_gsignal = 0;
  std::string source;  // "dwarf"
};

// Reads the layout from the target's DWARF and checks it against what we
// know of the target's Go version; errors say what is missing.
Result<RuntimeLayout> find_runtime_layout(const ElfFile& elf, const GoBuildInfo& info);

// TLS offset of g from the ELF: PT_TLS and runtime.tlsg (x86-64 TLS
// variant II: the executable's block ends at fsbase). -8 when absent, which
// is what the internal linker produces for pure-Go binaries.
int64_t tls_g_offset(const ElfFile& elf);

}  // namespace loophound::recorder

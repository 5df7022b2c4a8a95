// ExecutableView: what the passes after symbolization (loop structure,
// wrapper resolution) need from the traced executable: address
// translation, source lines, and the file to read code from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/symbolize/source_frame.h"

namespace loophound::analyzer {

class ExecutableView {
 public:
  virtual ~ExecutableView() = default;
  // Runtime address in the traced process -> the ELF's own vaddr.
  virtual std::optional<uint64_t> to_file_vaddr(uint64_t runtime_pc) const = 0;
  // Frames at a file vaddr, innermost first.
  virtual std::vector<SourceFrame> symbolize_vaddr(uint64_t vaddr) = 0;
  // Line-table row addresses (file vaddrs) in [low, high].
  virtual std::vector<uint64_t> line_rows(uint64_t low, uint64_t high) = 0;
  // The file symbolized with (may be an unpacked bundle).
  virtual const std::string& binary_path() const = 0;
  // The executable's path as the mappings name it (frame.module).
  virtual const std::string& module() const = 0;
};

}  // namespace loophound::analyzer

#include "recorder/binary_bundle.h"

#include <zstd.h>

#include <cstring>

namespace loophound::recorder {
namespace {

bool is_dwarf_section(const std::string& name) {
  return name.rfind(".debug_", 0) == 0 || name.rfind(".zdebug_", 0) == 0;
}

}  // namespace

std::string without_dwarf(const ElfFile& elf) {
  std::string bytes(elf.raw());
  for (const auto& section : elf.sections()) {
    if (!is_dwarf_section(section.name) || section.type == SHT_NOBITS) continue;
    if (section.file_offset <= bytes.size() && section.size <= bytes.size() - section.file_offset)
      std::memset(bytes.data() + section.file_offset, 0, section.size);
    // Elf64_Shdr: sh_name (4 bytes), then sh_type (4 bytes).
    uint64_t header = elf.section_headers_offset() + section.index * elf.section_header_size();
    if (header + 8 <= bytes.size()) {
      uint32_t nobits = SHT_NOBITS;
      std::memcpy(bytes.data() + header + 4, &nobits, sizeof(nobits));
    }
  }
  return bytes;
}

Result<std::vector<trace::BinaryBundle>> make_binary_bundle(const ElfFile& elf, const GoBuildInfo& build,
                                                            const std::string& recorded_path,
                                                            const BundleOptions& options) {
  bool has_dwarf = false;
  for (const auto& section : elf.sections())
    has_dwarf |= (section.name == ".debug_info" || section.name == ".zdebug_info") && section.type != SHT_NOBITS;
  has_dwarf &= options.include_dwarf;
  std::string copy = options.include_dwarf ? std::string(elf.raw()) : without_dwarf(elf);
  if (copy.empty()) return make_error("'" + elf.path() + "': cannot read the executable to bundle it");
  std::string compressed(ZSTD_compressBound(copy.size()), '\0');
  size_t size = ZSTD_compress(compressed.data(), compressed.size(), copy.data(), copy.size(), options.zstd_level);
  if (ZSTD_isError(size))
    return make_error("'" + elf.path() + "': zstd compression failed: " + ZSTD_getErrorName(size));
  compressed.resize(size);

  std::vector<trace::BinaryBundle> parts;
  const size_t count = (compressed.size() + trace::kMaxBundlePart - 1) / trace::kMaxBundlePart;
  for (size_t i = 0; i < count; ++i) {
    trace::BinaryBundle part;
    part.build_id_go = build.build_id_go;
    part.build_id_gnu = build.build_id_gnu;
    part.path = recorded_path;
    part.compression = "zstd";
    part.original_size = copy.size();
    part.part = static_cast<uint32_t>(i);
    part.parts = static_cast<uint32_t>(count);
    part.contents = has_dwarf ? trace::kBundleHasDwarf : 0;
    part.data = compressed.substr(i * trace::kMaxBundlePart, trace::kMaxBundlePart);
    parts.push_back(std::move(part));
  }
  return parts;
}

}  // namespace loophound::recorder

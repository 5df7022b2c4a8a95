#include "tests/symbolize/go_builds.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "analyzer/symbolize/dwarf_symbolizer.h"
#include "analyzer/symbolize/pclntab_symbolizer.h"

namespace loophound::testing {
namespace {

int minor_of(const std::string& version) {
  // "go1.16.15" -> 16
  if (version.rfind("go1.", 0) != 0) return 0;
  return std::atoi(version.c_str() + 4);
}

std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  size_t newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

// The environment every go command of a toolchain runs with. Go 1.16/1.17
// reject GOFLAGS=-buildvcs=false (the flag is from Go 1.18), which this
// machine sets both in the environment and in the user's go env file, so
// they run with the file ignored (GOENV=off) and GOFLAGS empty. Newer ones
// get -buildvcs=false explicitly: the samples sit inside a git checkout.
std::string go_env(const Toolchain& toolchain) {
  std::string env = "GOTOOLCHAIN=local ";
  env += toolchain.minor != 0 && toolchain.minor < 18 ? "GOENV=off GOFLAGS= "
                                                       : "GOFLAGS=-buildvcs=false ";
  if (!std::getenv("GOCACHE") && !std::getenv("HOME") && !std::getenv("XDG_CACHE_HOME")) {
    env += "GOCACHE=" + shell_quote(temp_dir() + "/gocache") + " ";
  }
  return env;
}

// A module that Go 1.16 accepts, holding copies of spin_compute and
// common (which use nothing newer than Go 1.16).
Result<std::string> old_module_dir() {
  static std::string dir;
  if (!dir.empty()) return dir;
  const std::string root = temp_dir() + "/module_go116";
  std::error_code error;
  std::filesystem::create_directories(root + "/spin_compute", error);
  std::filesystem::create_directories(root + "/common", error);
  std::filesystem::copy_file(LOOPHOUND_SOURCE_DIR "/samples/spin_compute/main.go",
                             root + "/spin_compute/main.go",
                             std::filesystem::copy_options::overwrite_existing, error);
  if (error) return make_error("copying spin_compute: " + error.message());
  for (const auto& entry : std::filesystem::directory_iterator(LOOPHOUND_SOURCE_DIR "/samples/common")) {
    std::filesystem::copy_file(entry.path(), root + "/common/" + entry.path().filename().string(),
                               std::filesystem::copy_options::overwrite_existing, error);
    if (error) return make_error("copying common: " + error.message());
  }
  std::ofstream(root + "/go.mod") << "module loophound/samples\n\ngo 1.16\n";
  dir = root;
  return dir;
}

}  // namespace

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "%#llx", static_cast<unsigned long long>(value));
  return text;
}

std::optional<Toolchain> machine_toolchain() {
  static std::optional<Toolchain> cached;
  if (cached) return cached;
  std::optional<std::string> go = find_go();
  if (!go) return std::nullopt;
  Toolchain toolchain{"", *go, 0};
  Result<std::string> version = run_command(shell_quote(*go) + " env GOVERSION");
  if (version.ok()) {
    toolchain.version = last_line(*version);
    toolchain.minor = minor_of(toolchain.version);
  }
  cached = toolchain;
  return toolchain;
}

Result<Toolchain> toolchain(const std::string& version) {
  static std::map<std::string, Result<Toolchain>> cache;
  if (auto it = cache.find(version); it != cache.end()) return it->second;
  if (!find_go()) return make_error("no Go toolchain");
  // GOENV=off and an empty GOFLAGS for the same reason as in go_env: the
  // script runs `go version` of the fetched toolchain.
  Result<std::string> out = run_command("GOENV=off GOFLAGS= " +
                                        shell_quote(LOOPHOUND_SOURCE_DIR "/scripts/go-toolchain.sh") +
                                        " " + shell_quote(version));
  Result<Toolchain> result =
      make_error("cannot get " + version + ": " +
                 (out.ok() ? "scripts/go-toolchain.sh printed no go command"
                           : last_line(out.error().message)));
  if (out.ok() && ::access(last_line(*out).c_str(), X_OK) == 0) {
    result = Toolchain{version, last_line(*out), minor_of(version)};
  }
  cache.emplace(version, result);
  return result;
}

Result<std::string> build_spin_compute(const Toolchain& toolchain, const std::string& env,
                                       const std::string& flags) {
  static std::map<std::string, std::string> built;
  const std::string key = toolchain.go + "|" + env + "|" + flags;
  if (auto it = built.find(key); it != built.end()) return it->second;
  std::string dir = LOOPHOUND_SOURCE_DIR "/samples";
  if (toolchain.minor != 0 && toolchain.minor < 19) {
    Result<std::string> old = old_module_dir();
    if (!old) return old.error();
    dir = *old;
  }
  const std::string out = temp_dir() + "/spin_compute_pcln_" + std::to_string(built.size());
  Result<std::string> output =
      run_command("cd " + shell_quote(dir) + " && " + go_env(toolchain) + env + " " +
                  shell_quote(toolchain.go) + " build " + flags + " -o " + shell_quote(out) +
                  " ./spin_compute");
  if (!output) return output.error();
  built[key] = out;
  return out;
}

Result<std::vector<GoLine>> addr2line(const Toolchain& toolchain, const std::string& binary,
                                      const std::vector<uint64_t>& addresses) {
  const std::string input = temp_dir() + "/pcln_addr2line_input";
  {
    std::ofstream out(input);
    for (uint64_t a : addresses) out << hex(a) << "\n";
  }
  Result<std::string> output =
      run_command(go_env(toolchain) + shell_quote(toolchain.go) + " tool addr2line " +
                  shell_quote(binary) + " < " + shell_quote(input));
  if (!output) return output.error();
  return parse_addr2line(*output, addresses.size());
}

std::vector<uint64_t> spread_addresses(const std::vector<analyzer::FunctionInfo>& functions,
                                       size_t target) {
  auto count = [&](uint64_t stride) {
    size_t n = 0;
    for (const analyzer::FunctionInfo& f : functions) n += (f.end - f.entry + stride - 1) / stride;
    return n;
  };
  uint64_t total = 0;
  for (const analyzer::FunctionInfo& f : functions) total += f.end - f.entry;
  uint64_t stride = std::max<uint64_t>(1, total / std::max<size_t>(target, 1));
  while (count(stride) > target && stride < total) ++stride;
  std::vector<uint64_t> addresses;
  for (const analyzer::FunctionInfo& f : functions) {
    for (uint64_t a = f.entry; a < f.end; a += stride) addresses.push_back(a);
  }
  return addresses;
}

std::optional<Section> read_section(const std::string& elf_path, const std::string& name) {
  int fd = ::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  size_t names = 0;
  std::optional<Section> section;
  if (elf != nullptr && elf_getshdrstrndx(elf, &names) == 0) {
    for (Elf_Scn* scn = nullptr; !section && (scn = elf_nextscn(elf, scn)) != nullptr;) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr) continue;
      const char* section_name = elf_strptr(elf, names, shdr.sh_name);
      if (section_name == nullptr || name != section_name) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      Section s;
      s.vaddr = shdr.sh_addr;
      s.executable = (shdr.sh_flags & SHF_EXECINSTR) != 0;
      if (data != nullptr && data->d_buf != nullptr) {
        s.bytes.assign(static_cast<const char*>(data->d_buf), data->d_size);
      }
      section = std::move(s);
    }
  }
  if (elf != nullptr) elf_end(elf);
  ::close(fd);
  return section;
}

std::optional<PclnInputs> read_pcln_inputs(const std::string& elf_path) {
  int fd = ::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  size_t names = 0;
  PclnInputs inputs;
  bool have_pclntab = false;
  if (elf != nullptr && elf_getshdrstrndx(elf, &names) == 0) {
    for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr || (shdr.sh_flags & SHF_ALLOC) == 0 ||
          shdr.sh_type != SHT_PROGBITS) {
        continue;
      }
      const char* name = elf_strptr(elf, names, shdr.sh_name);
      Elf_Data* data = elf_getdata(scn, nullptr);
      if (name == nullptr || data == nullptr || data->d_buf == nullptr) continue;
      std::string bytes(static_cast<const char*>(data->d_buf), data->d_size);
      if (std::strcmp(name, ".text") == 0) inputs.text_vaddr = shdr.sh_addr;
      if (!have_pclntab && (std::strcmp(name, ".gopclntab") == 0 ||
                            std::strcmp(name, ".data.rel.ro.gopclntab") == 0)) {
        inputs.pclntab = {shdr.sh_addr, std::move(bytes), false};
        have_pclntab = true;
      } else if ((shdr.sh_flags & SHF_EXECINSTR) == 0) {
        inputs.data.push_back({shdr.sh_addr, std::move(bytes)});
      }
    }
  }
  if (elf != nullptr) elf_end(elf);
  ::close(fd);
  if (!have_pclntab) return std::nullopt;
  return inputs;
}

std::string describe(const std::vector<analyzer::SourceFrame>& frames) {
  std::string s;
  for (const analyzer::SourceFrame& f : frames) {
    s += "\n      " + f.function + " " + f.file + ":" + std::to_string(f.line) +
         (f.inlined ? " (inlined)" : "");
  }
  return frames.empty() ? " (none)" : s;
}

Result<Agreement> agree_with_addr2line(const Toolchain& toolchain, const std::string& binary,
                                       size_t target) {
  auto symbolizer = analyzer::PclntabSymbolizer::open(binary);
  if (!symbolizer) return symbolizer.error();
  std::vector<uint64_t> addresses = spread_addresses((*symbolizer)->table().functions(), target);
  Result<std::vector<GoLine>> expected = addr2line(toolchain, binary, addresses);
  if (!expected) return expected.error();
  Agreement agreement;
  agreement.addresses = addresses.size();
  for (size_t i = 0; i < addresses.size(); ++i) {
    std::vector<analyzer::SourceFrame> frames = (*symbolizer)->symbolize(addresses[i]);
    const GoLine& go = expected.value()[i];
    // addr2line prints line -1 (and no file) where the function has no
    // line table (markers such as go:textfipsstart); SourceFrame says 0.
    const int go_line = go.line == -1 ? 0 : go.line;
    bool ok = frames.empty() ? go.function == "?"
                             : frames.back().function == go.function &&
                                   frames.front().file == go.file && frames.front().line == go_line;
    agreement.frames += 2;
    agreement.inlined += frames.size() > 1;
    if (!ok && ++agreement.mismatches <= 20) {
      agreement.report += "\n  " + hex(addresses[i]) + ": addr2line " + go.function + " " +
                          go.file + ":" + std::to_string(go.line) + "; ours:" + describe(frames);
    }
  }
  return agreement;
}

namespace {

// "type:.eq.[6]internal/cpu.option" -> "type:.eq.[...]internal/cpu.option".
std::string without_type_arguments(const std::string& name) {
  std::string out;
  int depth = 0;
  for (char c : name) {
    if (c == '[' && depth++ == 0) out += "[...]";
    if (c == '[' || c == ']') {
      depth -= c == ']';
      continue;
    }
    if (depth == 0) out += c;
  }
  return out;
}

bool same_position(const analyzer::SourceFrame& a, const analyzer::SourceFrame& b) {
  return a.file == b.file && a.line == b.line;
}

}  // namespace

Result<Agreement> agree_with_dwarf(const std::string& binary, size_t target,
                                   bool (*keep)(const std::string& function), int go_minor) {
  auto pcln = analyzer::PclntabSymbolizer::open(binary);
  if (!pcln) return pcln.error();
  auto dwarf = analyzer::DwarfSymbolizer::open(binary);
  if (!dwarf) return dwarf.error();
  if (!(*dwarf)->has_dwarf()) return make_error("'" + binary + "' has no DWARF");
  std::vector<analyzer::FunctionInfo> functions = (*pcln)->table().functions();
  // go:textfipsstart/end (Go 1.24+) are markers without code or line
  // table: the table runs them to the next entry, .symtab gives them 1
  // byte, and DWARF knows nothing of them.
  std::erase_if(functions, [&](const analyzer::FunctionInfo& f) {
    return !keep(f.name) || f.name.starts_with("go:textfips");
  });
  Agreement agreement;
  for (uint64_t a : spread_addresses(functions, target)) {
    std::vector<analyzer::SourceFrame> ours = (*pcln)->symbolize(a);
    std::vector<analyzer::SourceFrame> theirs = (*dwarf)->symbolize(a);
    ++agreement.addresses;
    agreement.inlined += ours.size() > 1;
    agreement.frames += ours.size();
    bool same = ours.size() == theirs.size();
    bool same_names = same;
    for (size_t i = 0; same && i < ours.size(); ++i) {
      same = same_position(ours[i], theirs[i]) && ours[i].inlined == theirs[i].inlined &&
             without_type_arguments(ours[i].function) == without_type_arguments(theirs[i].function);
      same_names = same_names && ours[i].function == theirs[i].function;
    }
    if (same && same_names) continue;
    // Go 1.18–1.20 write every bracketed part of a name as "[...]" into
    // the table (type arguments, and the array types of generated
    // type:.eq functions); DWARF spells them out. Go 1.21 made both agree.
    if (same && go_minor >= 18 && go_minor <= 20) {
      ++agreement.generic_names;
      continue;
    }
    // Up to Go 1.19 the DWARF of an autogenerated pointer wrapper
    // ("(*T).M" calling "T.M") has no DW_TAG_inlined_subroutine for the
    // call it inlines, only the callee's line rows: one frame where the
    // table's inline tree gives two.
    if (go_minor <= 19 && theirs.size() == 1 && ours.size() > 1 &&
        same_position(ours.front(), theirs.front()) &&
        ours.back().function == theirs.back().function) {
      ++agreement.dwarf_lacks_inline;
      continue;
    }
    // Up to Go 1.21 the DWARF line program has no row for the NOP that
    // marks an inlined call (its position is the call site, the inline
    // tree's parentPc): DWARF keeps the previous row's line, there an
    // inlined callee's line attributed to the outer function, while the
    // inline ranges already exclude the NOP. The table has the row.
    if (go_minor <= 21 && ours.size() == theirs.size() && !ours.empty()) {
      std::vector<uint64_t> rows = (*pcln)->line_row_addresses(a - std::min<uint64_t>(a, 64), a);
      const uint64_t row = rows.empty() ? 0 : rows.back();
      std::vector<analyzer::SourceFrame> before = row ? (*dwarf)->symbolize(row - 1)
                                                      : std::vector<analyzer::SourceFrame>{};
      if (row != 0 && (*dwarf)->line_row_addresses(row, row).empty() && !before.empty() &&
          same_position(before.front(), theirs.front())) {
        ++agreement.dwarf_lacks_row;
        continue;
      }
    }
    if (++agreement.mismatches <= 20) {
      agreement.report += "\n  " + hex(a) + ": DWARF:" + describe(theirs) + "\n    pclntab:" +
                          describe(ours);
    }
  }
  return agreement;
}

}  // namespace loophound::testing

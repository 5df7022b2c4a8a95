#include "tests/support/go_samples.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace loophound::testing {
namespace {

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/loophound_test_XXXXXX";
    if (::mkdtemp(pattern) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

std::string shell_quote(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

int line_containing(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.find(needle) != std::string::npos) return number;
  }
  return 0;
}

std::optional<std::string> find_go() {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      if (!dir.empty() && is_executable(dir + "/go")) return dir + "/go";
    }
  }
  if (is_executable("/usr/local/go/bin/go")) return "/usr/local/go/bin/go";
  return std::nullopt;
}

const std::string& temp_dir() {
  static TempDir dir;
  return dir.path();
}

Result<std::string> run_command(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return make_error("popen failed: " + command);
  std::string output;
  char buffer[65536];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  int status = ::pclose(pipe);
  if (status != 0) return make_error("'" + command + "' failed:\n" + output);
  return output;
}

// The Go commands must not wander: GOTOOLCHAIN=local stops a download of
// the toolchain go.mod asks for, and a cache under the temp dir is used
// when the environment has none (ctest may run without HOME).
static std::string go_command(const std::string& go, const std::string& args) {
  std::string env = "GOTOOLCHAIN=local ";
  if (!std::getenv("GOCACHE") && !std::getenv("HOME") && !std::getenv("XDG_CACHE_HOME")) {
    env += "GOCACHE=" + shell_quote(temp_dir() + "/gocache") + " ";
  }
  return env + shell_quote(go) + " " + args;
}

static std::string trimmed_last_line(const std::string& text) {
  size_t end = text.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return "";
  size_t nl = text.rfind('\n', end);
  size_t start = nl == std::string::npos ? 0 : nl + 1;
  start = text.find_first_not_of(" \t\r", start);
  return text.substr(start, end - start + 1);
}

Result<std::string> go_toolchain(const std::string& version) {
  auto out = run_command(shell_quote(LOOPHOUND_SOURCE_DIR "/scripts/go-toolchain.sh") + " " + shell_quote(version));
  if (!out) {
    // run_command's message is "'CMD' failed:\nOUTPUT"; the script's words are the reason.
    const std::string& m = out.error().message;
    size_t nl = m.find('\n');
    std::string reason = trimmed_last_line(nl == std::string::npos ? m : m.substr(nl + 1));
    return make_error(reason.empty() ? "scripts/go-toolchain.sh failed" : reason);
  }
  // Messages of a first download go to stderr, merged before the path.
  return trimmed_last_line(*out);
}

Result<std::string> build_sample(const std::string& package, const std::string& flags, const std::string& go) {
  static std::map<std::string, std::string> built;
  const std::string key = package + "|" + flags + "|" + go;
  if (auto it = built.find(key); it != built.end()) return it->second;
  if (go.empty() && !find_go()) return make_error("no Go toolchain");
  const std::string out = temp_dir() + "/" + package + "_" + std::to_string(built.size());
  Result<std::string> output =
      run_command("cd " + shell_quote(LOOPHOUND_SOURCE_DIR "/samples") + " && " +
                  go_command(go.empty() ? *find_go() : go,
                             "build " + flags + " -o " + shell_quote(out) + " ./" + package));
  if (!output) return output.error();
  built[key] = out;
  return out;
}

std::vector<FunctionSymbol> function_symbols(const std::string& elf_path) {
  std::vector<FunctionSymbol> result;
  int fd = ::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return result;
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  for (Elf_Scn* scn = nullptr; elf != nullptr && (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != SHT_SYMTAB) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    for (size_t i = 0; data != nullptr && i < shdr.sh_size / shdr.sh_entsize; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
      if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_size == 0) continue;
      const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name);
      if (name != nullptr) result.push_back({name, sym.st_value, sym.st_size});
    }
  }
  elf_end(elf);
  ::close(fd);
  return result;
}

std::optional<FileRange> section_file_range(const std::string& elf_path, const std::string& name) {
  int fd = ::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  size_t names = 0;
  std::optional<FileRange> range;
  if (elf != nullptr && elf_getshdrstrndx(elf, &names) == 0) {
    for (Elf_Scn* scn = nullptr; !range && (scn = elf_nextscn(elf, scn)) != nullptr;) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr) continue;
      const char* section = elf_strptr(elf, names, shdr.sh_name);
      if (section != nullptr && name == section) range = FileRange{shdr.sh_offset, shdr.sh_size};
    }
  }
  elf_end(elf);
  ::close(fd);
  return range;
}

std::optional<uint64_t> elf_entry(const std::string& elf_path) {
  int fd = ::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  GElf_Ehdr ehdr;
  std::optional<uint64_t> entry;
  if (elf != nullptr && gelf_getehdr(elf, &ehdr) != nullptr) entry = ehdr.e_entry;
  elf_end(elf);
  ::close(fd);
  return entry;
}

Result<std::vector<GoLine>> go_addr2line(const std::string& binary,
                                         const std::vector<uint64_t>& addresses) {
  const std::string input = temp_dir() + "/addr2line_input";
  {
    std::ofstream out(input);
    char hex[32];
    for (uint64_t a : addresses) {
      std::snprintf(hex, sizeof hex, "0x%llx\n", static_cast<unsigned long long>(a));
      out << hex;
    }
  }
  Result<std::string> output =
      run_command(go_command(*find_go(), "tool addr2line " + shell_quote(binary) + " < " + shell_quote(input)));
  if (!output) return output.error();

  return parse_addr2line(*output, addresses.size());
}

Result<std::vector<GoLine>> parse_addr2line(const std::string& output, size_t addresses) {
  // Two lines per address: the function, then file:line.
  std::vector<GoLine> lines;
  std::stringstream text(output);
  for (std::string function, position; std::getline(text, function) && std::getline(text, position);) {
    GoLine line;
    line.function = function;
    size_t colon = position.rfind(':');
    line.file = position.substr(0, colon);
    if (colon != std::string::npos) line.line = std::atoi(position.c_str() + colon + 1);
    lines.push_back(std::move(line));
  }
  if (lines.size() != addresses) {
    return make_error("go tool addr2line gave " + std::to_string(lines.size()) + " answers for " +
                      std::to_string(addresses) + " addresses:\n" + output.substr(0, 2000));
  }
  return lines;
}

}  // namespace loophound::testing

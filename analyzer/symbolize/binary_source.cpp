#include "analyzer/symbolize/binary_source.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace loophound::analyzer {
namespace {

// Largest bundle we unpack: a damaged or hostile size field must not
// become a huge allocation. Go binaries of big services stay far below.
constexpr uint64_t kMaxUnpackedBundle = 2ull << 30;

bool is_file(const std::string& path) {
  struct stat st;
  return !path.empty() && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// "" when `path` is an ELF file with the recorded build id, else why not.
std::string check_candidate(const std::string& path, const BuildIds& recorded) {
  if (!is_file(path)) return "'" + path + "' does not exist on this machine";
  auto ids = read_build_ids(path);
  if (!ids) return ids.error().message;
  if (auto mismatch = build_id_mismatch(recorded, *ids); !mismatch.empty())
    return "'" + path + "' is not the traced executable: " + mismatch;
  return "";
}

// Removes the file when the last BinaryChoice holding it goes away.
std::shared_ptr<const std::string> owned_temp_file(std::string path) {
  return std::shared_ptr<const std::string>(new std::string(std::move(path)), [](const std::string* p) {
    unlink(p->c_str());
    delete p;
  });
}

}  // namespace

Result<std::shared_ptr<const std::string>> unpack_bundle(Database& db, const BuildIds& ids) {
  auto st = db.prepare(
      "SELECT part, parts, compression, original_size, data FROM bundle_part "
      "WHERE build_id_go = ? AND build_id_gnu = ? ORDER BY part");
  if (!st) return st.error();
  st->bind(1, ids.go).bind(2, ids.gnu);
  std::string compressed;
  int64_t expected_parts = -1, next_part = 0;
  uint64_t original_size = 0;
  while (true) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) break;
    if (st->int64(0) != next_part) return make_error("bundle part " + std::to_string(next_part) + " is missing");
    if (st->text(2) != "zstd") return make_error("bundle compression '" + st->text(2) + "' is unknown");
    expected_parts = st->int64(1);
    original_size = static_cast<uint64_t>(st->int64(3));
    compressed += st->blob(4);
    ++next_part;
  }
  if (next_part == 0) return make_error("the trace carries no bundle of this build");
  if (next_part != expected_parts)
    return make_error("bundle has " + std::to_string(next_part) + " of " + std::to_string(expected_parts) +
                      " parts (trace truncated?)");
  if (original_size == 0 || original_size > kMaxUnpackedBundle)
    return make_error("bundle size " + std::to_string(original_size) + " is out of range");
  std::string bytes(original_size, '\0');
  size_t n = ZSTD_decompress(bytes.data(), bytes.size(), compressed.data(), compressed.size());
  if (ZSTD_isError(n)) return make_error(std::string("bundle does not decompress: ") + ZSTD_getErrorName(n));
  if (n != original_size)
    return make_error("bundle decompresses to " + std::to_string(n) + " bytes, not " + std::to_string(original_size));

  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr && *dir ? dir : "/tmp") + "/loophound-bundle-XXXXXX";
  int fd = mkstemp(path.data());
  if (fd < 0) return make_error("cannot create a temporary file for the bundle: " + std::string(std::strerror(errno)));
  auto owned = owned_temp_file(path);
  bool written = write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  close(fd);
  if (!written) return make_error("cannot write the unpacked bundle to '" + path + "'");
  return owned;
}

Result<BinaryChoice> choose_binary(Database& db, const BinaryRequest& r, std::vector<std::string>& notes) {
  if (!r.user_binary.empty()) {
    if (auto problem = check_candidate(r.user_binary, r.recorded_ids); !problem.empty())
      return make_error("--binary: " + problem);
    return BinaryChoice{r.user_binary, "--binary", nullptr};
  }
  if (auto problem = check_candidate(r.recorded_path, r.recorded_ids); problem.empty())
    return BinaryChoice{r.recorded_path, "recorded path", nullptr};
  else
    notes.push_back(problem);
  if (r.recorded_ids.gnu.size() > 2) {
    // The debuginfo layout: .build-id/<first byte>/<rest>.debug
    std::string debug = r.debug_root + "/.build-id/" + r.recorded_ids.gnu.substr(0, 2) + "/" +
                        r.recorded_ids.gnu.substr(2) + ".debug";
    if (check_candidate(debug, r.recorded_ids).empty()) return BinaryChoice{debug, "debug file", nullptr};
  }
  auto unpacked = unpack_bundle(db, r.recorded_ids);
  if (!unpacked) {
    notes.push_back("no usable bundle: " + unpacked.error().message);
    return BinaryChoice{};
  }
  if (auto problem = check_candidate(**unpacked, r.recorded_ids); !problem.empty()) {
    notes.push_back("the bundle is damaged: " + problem);
    return BinaryChoice{};
  }
  return BinaryChoice{**unpacked, "bundle", *unpacked};
}

}  // namespace loophound::analyzer

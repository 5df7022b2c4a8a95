// Which copy of the traced executable to symbolize with, in the order a
// user expects: the --binary they named; the recorded path, if the file
// there still has the recorded build id; a debug file found by GNU build
// id under /usr/lib/debug/.build-id; the copy bundled in the trace.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "analyzer/db/database.h"
#include "analyzer/symbolize/build_id.h"
#include "schema/result.h"

namespace loophound::analyzer {

struct BinaryChoice {
  std::string path;
  std::string source;  // "--binary", "recorded path", "debug file", "bundle"
  // A bundle is unpacked into a temporary file that lives as long as this.
  std::shared_ptr<const std::string> temp_file;
};

struct BinaryRequest {
  std::string user_binary;    // --binary, "" when not given
  std::string recorded_path;  // metadata 'executable'
  BuildIds recorded_ids;      // metadata build_id.*
  std::string debug_root = "/usr/lib/debug";
};

// Error only for a --binary that is missing or of another build. When no
// copy is usable the result has an empty path, and `notes` say why each
// candidate was passed over.
Result<BinaryChoice> choose_binary(Database& db, const BinaryRequest& request, std::vector<std::string>& notes);

// Reassembles and decompresses the bundle of `ids` from bundle_part into a
// temporary file; Error says what is missing or damaged.
Result<std::shared_ptr<const std::string>> unpack_bundle(Database& db, const BuildIds& ids);

}  // namespace loophound::analyzer

// GoPclnTable on damaged and hostile tables: binaries come from bug
// reports. Any answer is fine -- an Error from parse, or frames that make
// no sense -- but no crash, no hang and no undefined behaviour (run under
// -DLOOPHOUND_SANITIZE=ON to check the latter), and answers stay bounded.
#include <gtest/gtest.h>

#include <cstring>

#include "analyzer/symbolize/gopclntab.h"
#include "tests/symbolize/go_builds.h"

namespace loophound::analyzer {
namespace {

using testing::PclnInputs;

// xorshift64: the same damage on every run.
class Random {
 public:
  uint64_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }

 private:
  uint64_t state_ = 0x9e3779b97f4a7c15;
};

// The plain build's sections and a sample of its addresses; nullopt (and
// a visible skip) without Go.
struct Fixture {
  PclnInputs inputs;
  std::vector<uint64_t> addresses;  // inside functions of the intact table
  uint64_t low = 0;                 // first function entry
  uint64_t high = 0;                // end of the last function
};

const Fixture* fixture() {
  static std::optional<Fixture> cached;
  static bool tried = false;
  if (tried) return cached ? &*cached : nullptr;
  tried = true;
  std::optional<testing::Toolchain> go = testing::machine_toolchain();
  if (!go) return nullptr;
  Result<std::string> binary = testing::build_spin_compute(*go, "", "");
  if (!binary) return nullptr;
  std::optional<PclnInputs> inputs = testing::read_pcln_inputs(*binary);
  if (!inputs) return nullptr;
  Result<GoPclnTable> table =
      GoPclnTable::parse(inputs->pclntab.bytes, inputs->pclntab.vaddr, inputs->text_vaddr, inputs->data);
  if (!table) return nullptr;
  Fixture f;
  std::vector<FunctionInfo> functions = table->functions();
  // Every 30th of an even spread: ~300 addresses, most not at an entry.
  std::vector<uint64_t> spread = testing::spread_addresses(functions, 10000);
  for (size_t i = 0; i < spread.size(); i += 30) f.addresses.push_back(spread[i]);
  f.low = functions.front().entry;
  f.high = functions.back().end;
  f.inputs = std::move(*inputs);
  cached = std::move(f);
  return &*cached;
}

#define REQUIRE_FIXTURE(f)                                   \
  LOOPHOUND_REQUIRE_GO();                                    \
  const Fixture* f = fixture();                              \
  ASSERT_NE(f, nullptr) << "cannot build or read spin_compute"

// Everything the public interface offers, on every sample address. Returns
// how many frames came out, so that the damage is seen to reach lookups.
size_t exercise(GoPclnTable& table, const Fixture& f) {
  size_t frames = 0;
  for (uint64_t a : f.addresses) {
    std::vector<SourceFrame> resolved = table.symbolize(a);
    // The inline walk is bounded whatever the tree says.
    EXPECT_LE(resolved.size(), 129u);
    frames += resolved.size();
  }
  std::vector<FunctionInfo> functions = table.functions();
  EXPECT_EQ(functions.size(), table.function_count());
  table.function_entry("runtime.casgstatus");
  table.function_entry("main.worker");
  for (size_t i = 0; i < f.addresses.size(); i += 50) {
    table.line_row_addresses(f.addresses[i], f.addresses[i] + 256);
  }
  table.line_row_addresses(0, UINT64_MAX);
  return frames;
}

// parse with `pclntab` in place of the real section; exercises the table
// when it parses. Returns whether it parsed.
bool parse_and_exercise(const Fixture& f, std::string pclntab, std::vector<GoDataRegion> data,
                        size_t* frames = nullptr) {
  Result<GoPclnTable> table = GoPclnTable::parse(std::move(pclntab), f.inputs.pclntab.vaddr,
                                                 f.inputs.text_vaddr, std::move(data));
  if (!table.ok()) {
    EXPECT_FALSE(table.error().message.empty());
    return false;
  }
  size_t n = exercise(table.value(), f);
  if (frames != nullptr) *frames += n;
  return true;
}

TEST(GoPclnTableHostile, IntactTableResolves) {
  REQUIRE_FIXTURE(f);
  size_t frames = 0;
  ASSERT_TRUE(parse_and_exercise(*f, f->inputs.pclntab.bytes, f->inputs.data, &frames));
  EXPECT_GT(frames, f->addresses.size());
}

TEST(GoPclnTableHostile, TruncatedTables) {
  REQUIRE_FIXTURE(f);
  const std::string& whole = f->inputs.pclntab.bytes;
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 256; ++n) lengths.push_back(n);
  for (size_t i = 1; i <= 300; ++i) lengths.push_back(whole.size() * i / 301);
  for (size_t n = whole.size() - 64; n < whole.size(); ++n) lengths.push_back(n);
  size_t parsed = 0;
  size_t frames = 0;
  for (size_t n : lengths) {
    // The data regions only with some: copying them for every length
    // would dominate the test's time.
    parsed += parse_and_exercise(*f, whole.substr(0, n),
                                 n % 7 == 0 ? f->inputs.data : std::vector<GoDataRegion>{}, &frames);
  }
  std::printf("%zu truncated tables: %zu parsed, %zu frames resolved\n", lengths.size(), parsed,
              frames);
  EXPECT_GT(parsed, 0u) << "a table cut after its function table still parses";
}

TEST(GoPclnTableHostile, RandomBytes) {
  REQUIRE_FIXTURE(f);
  Random random;
  const std::string& whole = f->inputs.pclntab.bytes;
  size_t parsed = 0;
  for (int i = 0; i < 300; ++i) {
    // Every tenth as long as the real table, so that its offsets fit.
    std::string bytes(i % 10 == 0 ? whole.size() : random.below(1 << 16), '\0');
    for (char& c : bytes) c = static_cast<char>(random.next());
    // Most random tables die at the magic; give half a real header so
    // that the offsets and the function table get read.
    if (i % 2 == 0 && bytes.size() >= 8) std::memcpy(bytes.data(), whole.data(), 8);
    if (i % 4 == 0 && bytes.size() >= 72) std::memcpy(bytes.data(), whole.data(), 72);
    parsed += parse_and_exercise(*f, std::move(bytes), {});
  }
  std::printf("300 random tables: %zu parsed\n", parsed);
}

TEST(GoPclnTableHostile, FlippedHeaderFields) {
  REQUIRE_FIXTURE(f);
  const std::string& whole = f->inputs.pclntab.bytes;
  size_t parsed = 0;
  size_t variants = 0;
  // Every byte of the header (magic, pads, quantum, pointer size, nfunc,
  // nfiles, textStart, the five offsets), set to values that matter.
  for (size_t at = 0; at < 72; ++at) {
    for (int value : {0x00, 0x01, 0x04, 0x08, 0x7f, 0x80, 0xff}) {
      std::string bytes = whole;
      if (static_cast<uint8_t>(bytes[at]) == value) continue;
      bytes[at] = static_cast<char>(value);
      ++variants;
      // With the data regions for the fields the moduledata check reads.
      const bool with_data = at < 8 || (at >= 40 && at < 48) || (at >= 64 && at < 72);
      parsed += parse_and_exercise(*f, std::move(bytes),
                                   with_data ? f->inputs.data : std::vector<GoDataRegion>{});
    }
  }
  std::printf("%zu header variants: %zu parsed\n", variants, parsed);
  EXPECT_GT(parsed, 0u);
}

// Random bytes overwritten in the body: the function table, the _func
// records and pc-value tables, the name, file and CU tables.
TEST(GoPclnTableHostile, DamagedBodies) {
  REQUIRE_FIXTURE(f);
  const std::string& whole = f->inputs.pclntab.bytes;
  Random random;
  size_t parsed = 0;
  size_t frames = 0;
  for (int variant = 0; variant < 60; ++variant) {
    std::string bytes = whole;
    const int flips = variant % 3 == 0 ? 4 : variant % 3 == 1 ? 64 : 4096;
    for (int i = 0; i < flips; ++i) {
      bytes[72 + random.below(bytes.size() - 72)] = static_cast<char>(random.next());
    }
    parsed += parse_and_exercise(*f, std::move(bytes), variant % 5 == 0 ? f->inputs.data
                                                                       : std::vector<GoDataRegion>{},
                                 &frames);
  }
  std::printf("60 damaged tables: %zu parsed, %zu frames resolved\n", parsed, frames);
  EXPECT_GT(parsed, 0u);
}

// The inline trees and the moduledata live in the data regions: damage
// those under an intact table (bad tree indices, names, parentPcs, a
// moduledata with a wild gofunc or text).
TEST(GoPclnTableHostile, DamagedDataRegions) {
  REQUIRE_FIXTURE(f);
  Random random;
  size_t frames = 0;
  for (int variant = 0; variant < 20; ++variant) {
    std::vector<GoDataRegion> data = f->inputs.data;
    for (GoDataRegion& region : data) {
      if (region.bytes.empty()) continue;
      const int flips = variant < 10 ? 256 : 65536;
      for (int i = 0; i < flips; ++i) {
        region.bytes[random.below(region.bytes.size())] = static_cast<char>(random.next());
      }
    }
    ASSERT_TRUE(parse_and_exercise(*f, f->inputs.pclntab.bytes, std::move(data), &frames));
  }
  // Regions placed to overlap the table, at address 0, at the top of the
  // address space, and empty.
  std::vector<GoDataRegion> odd = {{0, std::string(64, '\xff')},
                                   {UINT64_MAX - 8, std::string(8, '\x01')},
                                   {f->inputs.pclntab.vaddr, f->inputs.pclntab.bytes.substr(0, 4096)},
                                   {f->inputs.pclntab.vaddr + 16, ""}};
  ASSERT_TRUE(parse_and_exercise(*f, f->inputs.pclntab.bytes, std::move(odd), &frames));
  EXPECT_GT(frames, 0u);
}

// A forged moduledata: right signature, gofunc pointing at the table's
// own header, text at the top of the address space.
TEST(GoPclnTableHostile, ForgedModuledata) {
  REQUIRE_FIXTURE(f);
  const std::string& whole = f->inputs.pclntab.bytes;
  auto word = [&](size_t i) {
    uint64_t value = 0;
    std::memcpy(&value, whole.data() + 8 + 8 * i, 8);
    return value;
  };
  const uint64_t base = f->inputs.pclntab.vaddr;
  for (uint64_t text : {uint64_t{0}, UINT64_MAX - 100, f->inputs.text_vaddr}) {
    for (uint64_t gofunc : {base, base + whole.size() - 4, uint64_t{0}, UINT64_MAX}) {
      std::string md(41 * 8, '\0');
      auto set = [&](size_t i, uint64_t v) { std::memcpy(md.data() + 8 * i, &v, 8); };
      set(0, base);
      set(1, base + word(3));       // funcnametab = funcnameOffset
      set(16, base + word(7));      // ftab = pclnOffset
      set(17, word(0) + 1);         // nfunc + 1
      set(22, text);
      set(40, gofunc);
      Result<GoPclnTable> table = GoPclnTable::parse(whole, base, f->inputs.text_vaddr,
                                                     {{0x1000, md}});
      if (!table.ok()) continue;
      EXPECT_TRUE(table->found_moduledata());
      EXPECT_EQ(table->text_start(), text);
      exercise(table.value(), *f);
    }
  }
}

// ---- Messages -------------------------------------------------------------------

std::string header(uint32_t magic, uint8_t quantum = 1, uint8_t ptr_size = 8) {
  std::string bytes(128, '\0');
  std::memcpy(bytes.data(), &magic, 4);
  bytes[6] = static_cast<char>(quantum);
  bytes[7] = static_cast<char>(ptr_size);
  return bytes;
}

std::string parse_error(std::string bytes) {
  Result<GoPclnTable> table = GoPclnTable::parse(std::move(bytes), 0x1000, 0x1000);
  return table.ok() ? "(parsed)" : table.error().message;
}

TEST(GoPclnTableHostile, RefusalsSayWhy) {
  EXPECT_EQ(parse_error(""), "truncated pcln table header (0 bytes)");
  EXPECT_EQ(parse_error(header(0xfffffff1).substr(0, 20)), "truncated pcln table header (20 bytes)");
  EXPECT_EQ(parse_error(header(0xfffffffb)),
            "pcln table of Go 1.2 to 1.15 (magic 0xfffffffb) is not supported; Go 1.16 or newer is "
            "needed");
  EXPECT_EQ(parse_error(header(0x12345678)), "unknown pcln table magic 0x12345678");
  EXPECT_EQ(parse_error(header(0xf1ffffff)),
            "big-endian pcln table (magic 0xfffffff1) is not supported");
  EXPECT_EQ(parse_error(header(0xfffffff1, 3, 8)),
            "bad pcln table header: pad 0,0, pc quantum 3, pointer size 8");
  // Offsets all 0: before the end of the header.
  EXPECT_NE(parse_error(header(0xfffffff1)).find("out of order"), std::string::npos);
  // A well-formed header over an empty function table.
  std::string empty = header(0xfffffff1);
  for (int i = 3; i < 8; ++i) empty[8 + 8 * i] = 72;
  EXPECT_EQ(parse_error(empty), "pcln table lists no functions");
  empty[8] = 100;  // nfunc = 100 with 56 bytes of function table
  EXPECT_EQ(parse_error(empty),
            "pcln table header claims 100 functions; the function table has room for at most 6");
}

}  // namespace
}  // namespace loophound::analyzer

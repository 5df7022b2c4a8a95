#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "schema/varint.h"

namespace loophound::trace {
namespace {

std::string encode(uint64_t value) {
  std::string out;
  put_varint(out, value);
  return out;
}

TEST(Varint, EncodesEdgeValues) {
  EXPECT_EQ(encode(0), std::string("\x00", 1));
  EXPECT_EQ(encode(1), "\x01");
  EXPECT_EQ(encode(127), "\x7f");
  EXPECT_EQ(encode(128), "\x80\x01");
  EXPECT_EQ(encode(300), "\xac\x02");
  EXPECT_EQ(encode(UINT64_MAX), std::string(9, '\xff') + "\x01");
}

TEST(Varint, RoundTripsAndConsumesExactly) {
  const uint64_t values[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, 1ull << 63, UINT64_MAX - 1,
                             UINT64_MAX};
  for (const uint64_t value : values) {
    const std::string bytes = encode(value) + "tail";
    std::string_view in = bytes;
    uint64_t decoded = 0;
    ASSERT_EQ(read_varint(in, decoded), VarintStatus::kOk) << value;
    EXPECT_EQ(decoded, value);
    EXPECT_EQ(in, "tail");
  }
}

TEST(Varint, AcceptsZeroPaddedEncoding) {
  std::string_view in("\x80\x80\x00", 3);
  uint64_t value = 7;
  ASSERT_EQ(read_varint(in, value), VarintStatus::kOk);
  EXPECT_EQ(value, 0u);
  EXPECT_TRUE(in.empty());
}

TEST(Varint, RejectsOverlong) {
  // Eleven bytes with the continuation bit: longer than any uint64.
  const std::string eleven = std::string(10, '\x80') + "\x01";
  std::string_view in = eleven;
  uint64_t value = 7;
  EXPECT_EQ(read_varint(in, value), VarintStatus::kTooLong);
  EXPECT_EQ(value, 7u) << "output untouched on failure";
  EXPECT_EQ(in.size(), eleven.size()) << "input untouched on failure";

  // Ten bytes, but the last carries bits above bit 63.
  const std::string overflow = std::string(9, '\xff') + "\x02";
  in = overflow;
  EXPECT_EQ(read_varint(in, value), VarintStatus::kTooLong);
  EXPECT_EQ(in.size(), overflow.size());
}

TEST(Varint, RejectsTruncated) {
  uint64_t value = 7;
  std::string_view empty;
  EXPECT_EQ(read_varint(empty, value), VarintStatus::kTruncated);

  for (const uint64_t full : {uint64_t{128}, uint64_t{1} << 40, UINT64_MAX}) {
    const std::string bytes = encode(full);
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      // A heap copy of exactly `cut` bytes, so AddressSanitizer would
      // report any read past the end.
      auto buffer = std::make_unique<char[]>(cut + 1);
      bytes.copy(buffer.get(), cut);
      std::string_view in(buffer.get(), cut);
      EXPECT_EQ(read_varint(in, value), VarintStatus::kTruncated) << full << " cut at " << cut;
      EXPECT_EQ(in.size(), cut);
    }
  }
  EXPECT_EQ(value, 7u);
}

TEST(Zigzag, MapsSmallMagnitudesToSmallValues) {
  EXPECT_EQ(zigzag_encode(0), 0u);
  EXPECT_EQ(zigzag_encode(-1), 1u);
  EXPECT_EQ(zigzag_encode(1), 2u);
  EXPECT_EQ(zigzag_encode(-2), 3u);
  EXPECT_EQ(zigzag_encode(2), 4u);
  EXPECT_EQ(zigzag_encode(std::numeric_limits<int64_t>::max()), UINT64_MAX - 1);
  EXPECT_EQ(zigzag_encode(std::numeric_limits<int64_t>::min()), UINT64_MAX);
}

TEST(Zigzag, RoundTrips) {
  const int64_t values[] = {0,       1,         -1,      63,     -64, 64, -65, INT32_MAX, INT32_MIN,
                            INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1};
  for (const int64_t value : values) {
    EXPECT_EQ(zigzag_decode(zigzag_encode(value)), value);
    std::string bytes;
    put_zigzag(bytes, value);
    std::string_view in = bytes;
    int64_t decoded = 0;
    ASSERT_EQ(read_zigzag(in, decoded), VarintStatus::kOk);
    EXPECT_EQ(decoded, value);
    EXPECT_TRUE(in.empty());
  }
  EXPECT_EQ(encode(zigzag_encode(-1)), "\x01") << "a small negative delta is one byte";
}

}  // namespace
}  // namespace loophound::trace

#include "schema/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace loophound::trace {
namespace {

TEST(Crc32c, CheckValue) {
  // The standard check value of CRC-32C (Castagnoli).
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
}

TEST(Crc32c, EmptyInputIsZero) { EXPECT_EQ(crc32c(""), 0u); }

TEST(Crc32c, Rfc3720Vectors) {
  // RFC 3720 (iSCSI), appendix B.4.
  EXPECT_EQ(crc32c(std::string(32, '\x00')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  std::string descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(crc32c(descending), 0x113FDB5Cu);
}

TEST(Crc32c, UpdateChainsLikeOneCall) {
  const std::string text = "the quick brown fox jumps over the lazy dog";
  for (size_t split = 0; split <= text.size(); ++split) {
    const std::string_view whole = text;
    EXPECT_EQ(crc32c_update(crc32c(whole.substr(0, split)), whole.substr(split)), crc32c(text));
  }
}

TEST(Crc32c, DetectsSingleBitFlips) {
  const std::string text = "loophound chunk payload";
  const uint32_t original = crc32c(text);
  for (size_t byte = 0; byte < text.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = text;
      flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
      EXPECT_NE(crc32c(flipped), original);
    }
  }
}

}  // namespace
}  // namespace loophound::trace

#include "schema/crc32c.h"

#include <array>

namespace loophound::trace {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78;  // 0x1EDC6F41 bit-reversed

// One byte at a time through a 256-entry table: simple, portable, and at
// several hundred MB/s far faster than the recorder produces data, so no
// SSE4.2 or slicing-by-8 variant is needed.
constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ kPolynomial : crc >> 1;
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = make_table();

}  // namespace

uint32_t crc32c_update(uint32_t crc, std::string_view data) {
  // The pre/post inversion lives here, so callers can chain finished values.
  crc = ~crc;
  for (const char c : data) crc = kTable[(crc ^ static_cast<uint8_t>(c)) & 0xff] ^ (crc >> 8);
  return ~crc;
}

}  // namespace loophound::trace

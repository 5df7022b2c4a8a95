// LEB128 unsigned varints and zigzag signed integers, as used by every
// record in a trace (see TRACE_FORMAT.md, "Integers").
//
// Varints keep small values small: most fields (cpu, tid, stack id, the
// delta between two timestamps) fit in one to four bytes instead of eight.
// Decoding takes untrusted bytes, so it is bounds-checked and reports
// failure as a value; it never reads past the end of its input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace loophound::trace {

// A uint64 needs at most ceil(64 / 7) = 10 bytes.
inline constexpr size_t kMaxVarintBytes = 10;

// Appends `value` as an unsigned LEB128 varint: 7 bits per byte, least
// significant group first, high bit set on every byte but the last.
inline void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// Zigzag maps signed to unsigned so that values near zero, of either sign,
// become small varints: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, ...
inline constexpr uint64_t zigzag_encode(int64_t value) {
  // The arithmetic right shift of a negative value is defined since C++20.
  return (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
}

inline constexpr int64_t zigzag_decode(uint64_t value) {
  // Unsigned arithmetic throughout: no signed overflow for any input.
  return static_cast<int64_t>((value >> 1) ^ (0 - (value & 1)));
}

inline void put_zigzag(std::string& out, int64_t value) { put_varint(out, zigzag_encode(value)); }

enum class VarintStatus : uint8_t {
  kOk,
  kTruncated,  // input ended before the last byte (one without the high bit)
  kTooLong,    // more than 10 bytes, or a 10th byte carrying bits above 63
};

// Reads one varint from the front of `in`. On success stores it in `value`
// and removes its bytes from `in`; on failure leaves both unchanged.
// Zero-padded encodings (0x80 0x00 for 0) are accepted, as protobuf does;
// writers never produce them.
inline VarintStatus read_varint(std::string_view& in, uint64_t& value) {
  uint64_t result = 0;
  for (size_t i = 0; i < kMaxVarintBytes; ++i) {
    if (i == in.size()) return VarintStatus::kTruncated;
    const auto byte = static_cast<uint8_t>(in[i]);
    // Byte 9 holds bit 63 only; anything more would be silently lost.
    if (i == kMaxVarintBytes - 1 && byte > 1) return VarintStatus::kTooLong;
    result |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      value = result;
      in.remove_prefix(i + 1);
      return VarintStatus::kOk;
    }
  }
  return VarintStatus::kTooLong;
}

inline VarintStatus read_zigzag(std::string_view& in, int64_t& value) {
  uint64_t raw = 0;
  const VarintStatus status = read_varint(in, raw);
  if (status == VarintStatus::kOk) value = zigzag_decode(raw);
  return status;
}

// For error messages: "varint runs past the end of the record", ...
inline const char* describe(VarintStatus status) {
  switch (status) {
    case VarintStatus::kOk:
      return "ok";
    case VarintStatus::kTruncated:
      return "varint runs past the end of the record";
    case VarintStatus::kTooLong:
      return "varint is longer than 10 bytes or overflows 64 bits";
  }
  return "invalid varint";
}

}  // namespace loophound::trace

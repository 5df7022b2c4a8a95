// CRC32C (Castagnoli): the checksum of every trace chunk.
//
// CRC32C rather than zlib's CRC32 because it detects more error patterns at
// this block size and is what storage formats (iSCSI, ext4, Btrfs, LevelDB)
// standardised on; parameters: reflected polynomial 0x82F63B78, initial
// value 0xFFFFFFFF, final XOR 0xFFFFFFFF. crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstdint>
#include <string_view>

namespace loophound::trace {

// Continues a CRC: crc32c_update(crc32c(a), b) == crc32c(a + b).
// Start from 0 for a fresh checksum.
uint32_t crc32c_update(uint32_t crc, std::string_view data);

inline uint32_t crc32c(std::string_view data) { return crc32c_update(0, data); }

}  // namespace loophound::trace

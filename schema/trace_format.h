// The loophound trace format, version 1: the one definition that the
// recorder's writer and the analyzer's reader share. The byte layout is
// documented in schema/TRACE_FORMAT.md; keep both in step.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace loophound::trace {

// File header: 8-byte magic, u32 format version, u32 reserved (zero).
// The magic starts with a non-ASCII byte so a text file never matches, and
// holds "\r\n" so a newline-mangling copy is detected (as PNG does).
inline constexpr unsigned char kMagic[8] = {0x89, 'L', 'H', 'T', 'R', '\r', '\n', 0x1a};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kFileHeaderSize = 16;

// Chunk header: u32 payload length, u8 kind, u8 flags, u16 reserved,
// u32 CRC32C over (kind, flags, reserved, payload). Then the payload.
inline constexpr size_t kChunkHeaderSize = 12;
// A reader refuses larger chunks before allocating: a garbage length must
// not become a multi-gigabyte allocation. Writers stay far below it.
inline constexpr uint32_t kMaxChunkPayload = 64u << 20;
// Writers close an events chunk when its payload passes this size (and at
// least once a second), so a killed recorder loses little.
inline constexpr uint32_t kTargetChunkPayload = 256u << 10;

enum class ChunkKind : uint8_t {
  kHeader = 1,  // first chunk: metadata and mappings
  kEvents = 2,  // stacks, samples, switch events, lost-event counts
  kFooter = 3,  // last chunk of a cleanly closed trace: totals
};

// Inside a chunk payload: records, each u8 kind, varint body length, body.
// Unknown kinds are skipped by length (counted, not fatal), so later
// versions can add records that older readers pass over.
enum class RecordKind : uint8_t {
  kMetadata = 1,  // string key, string value
  kMapping = 2,   // one line of /proc/PID/maps
  kStack = 3,     // interned user stack: id, frames
  kSample = 4,    // CPU sample
  kExecute = 5,   // goroutine starts running on a thread (runtime.execute)
  kLost = 6,      // events the kernel side could not deliver
  kFooter = 7,    // totals of a cleanly closed trace
};

// Largest stack a reader accepts; the recorder captures at most 127 frames.
inline constexpr uint32_t kMaxStackFrames = 1024;

struct Mapping {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t file_offset = 0;
  std::string permissions;  // "r-xp"
  std::string path;         // may be empty (anonymous) or "[heap]"
  bool operator==(const Mapping&) const = default;
};

// What the recorder knew when it started. Metadata keys are documented in
// TRACE_FORMAT.md; readers ignore keys they do not know.
struct Header {
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<Mapping> mappings;
  bool operator==(const Header&) const = default;

  // Returns the value of `key`, or "" when absent.
  std::string get(const std::string& key) const;
};

struct Stack {
  uint32_t id = 0;
  std::vector<uint64_t> frames;  // frames[0] is the sampled PC (the leaf)
  bool operator==(const Stack&) const = default;
};

// Sample flags.
inline constexpr uint32_t kSampleOnSystemStack = 1u << 0;  // TLS held g0/gsignal
inline constexpr uint32_t kSampleStackError = 1u << 1;     // no user stack could be read

struct Sample {
  uint64_t timestamp_ns = 0;  // CLOCK_MONOTONIC
  uint32_t cpu = 0;
  uint32_t tid = 0;
  uint64_t goid = 0;  // 0: no goroutine (scheduler on g0 with no curg)
  uint32_t stack_id = 0;
  uint32_t flags = 0;
  bool operator==(const Sample&) const = default;
};

struct ExecuteEvent {
  uint64_t timestamp_ns = 0;
  uint32_t cpu = 0;
  uint32_t tid = 0;
  uint64_t goid = 0;
  bool operator==(const ExecuteEvent&) const = default;
};

struct LostEvents {
  uint64_t timestamp_ns = 0;
  uint64_t count = 0;
  std::string source;  // e.g. "ringbuf_reserve"
  bool operator==(const LostEvents&) const = default;
};

struct Footer {
  uint64_t end_timestamp_ns = 0;
  uint64_t samples = 0;
  uint64_t execute_events = 0;
  uint64_t lost_events = 0;
  uint64_t stacks = 0;
  std::string stop_reason;  // "duration", "signal", "target exited"
  bool operator==(const Footer&) const = default;
};

}  // namespace loophound::trace

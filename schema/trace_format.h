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
// Version 2 added chunk flag bit 0 (kChunkZstd); readers read 1 and 2.
inline constexpr uint32_t kFormatVersion = 2;
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
// Chunk flag bit 0 (format version 2): the stored payload is the u32 LE
// size of the payload, then the payload compressed as one zstd frame.
// Writers compress events chunks of at least kMinCompressedChunk bytes
// when that makes them smaller.
inline constexpr uint8_t kChunkZstd = 1u << 0;
inline constexpr uint32_t kMinCompressedChunk = 1024;

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
  // Added for goroutine lifecycle and OS scheduling (still format 1: older
  // readers skip them by length).
  kGoroutineInfo = 8,    // what a goroutine is: parent, start pc, creation pc
  kGoroutineState = 9,   // runtime.casgstatus: old -> new state
  kGoroutineCreate = 10, // runtime.newproc1 entry
  kGoroutineExit = 11,   // runtime.goexit1 entry
  kThreadSwitch = 12,    // sched_switch of a target thread
  kBinaryBundle = 13,    // (a part of) a compressed copy of a traced executable
};

// Most registers a sample may carry (x86-64 sends 18).
inline constexpr uint32_t kMaxSampleRegisters = 64;
// Most frame windows a sample may carry, and most bytes in one (the
// recorder sends up to 8 of 256).
inline constexpr uint32_t kMaxFrameWindows = 32;
inline constexpr uint32_t kMaxFrameWindowBytes = 4096;

// --regs: the first bytes of one stack frame at the sample, where Go keeps
// a loop's variables across calls. The analyzer reads a loop's index and
// bound from them (stack slots are addressed from the frame's stack
// pointer).
struct FrameWindow {
  uint64_t pc = 0;    // return address into the frame; 0 for the leaf's (sp = the user stack pointer)
  uint64_t sp = 0;    // the frame's stack pointer: the address of bytes[0]
  std::string bytes;  // memory from sp up
  bool operator==(const FrameWindow&) const = default;
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
  // The sampled goroutine's scheduler view, read at the sample (no probe on
  // any switch path): where it was last switched out (g.sched.pc: a
  // preemption point or gopark), and its P's schedtick (grows by one per
  // schedule on that P). Comparing consecutive samples tells "never
  // blocked" from "cycles through the scheduler". 0 when unknown.
  uint64_t sched_pc = 0;
  uint64_t schedtick = 0;
  // --regs: the user registers (rax rbx rcx rdx rsi rdi rbp rsp r8-r15
  // rip rflags); empty when not captured.
  std::vector<uint64_t> registers;
  // The word at the user stack pointer. When the sampled pc is in a
  // frameless leaf (Go gives small leaf functions no frame pointer) or in
  // a prologue, it is the return address that the frame-pointer unwind
  // skips; the analyzer uses it only where it is a return site. 0 unknown.
  uint64_t sp_word = 0;
  // --regs: windows into the innermost frames, leaf first; empty when not
  // captured.
  std::vector<FrameWindow> frame_windows;
  bool operator==(const Sample&) const = default;
};

// What a goroutine is, written the first time the recorder sees it (in a
// sample or a creation). Constant for the goroutine's life.
struct GoroutineInfo {
  uint64_t goid = 0;
  uint64_t parent_goid = 0;  // 0: unknown (Go < 1.21 has no g.parentGoid)
  uint64_t start_pc = 0;     // g.startpc: the function `go f()` started
  uint64_t creation_pc = 0;  // g.gopc: the pc of the `go` statement
  bool operator==(const GoroutineInfo&) const = default;
};

// Go's goroutine states (runtime2.go _Gidle ..); the _Gscan bit 0x1000 may
// be set on top.
enum GoroutineStatus : uint32_t {
  kGidle = 0, kGrunnable = 1, kGrunning = 2, kGsyscall = 3, kGwaiting = 4,
  kGdead = 6, kGcopystack = 8, kGpreempted = 9,
};

// runtime.casgstatus(gp, old, new). Go <= 1.22 assigns a new goroutine's
// goid after its _Gdead -> _Grunnable transition, so `goid` can be stale
// there; g_addr ties it to the goroutine's later events.
struct GoroutineState {
  uint64_t timestamp_ns = 0;
  uint32_t cpu = 0;
  uint32_t tid = 0;
  uint64_t goid = 0;
  uint64_t g_addr = 0;
  uint32_t old_status = 0;
  uint32_t new_status = 0;
  uint32_t wait_reason = 0;  // g.waitreason when new_status is _Gwaiting, else 0
  bool operator==(const GoroutineState&) const = default;
};

// runtime.newproc1 entry: a `go` statement runs. The new goroutine's id is
// not known yet at entry (0).
struct GoroutineCreate {
  uint64_t timestamp_ns = 0;
  uint32_t cpu = 0;
  uint32_t tid = 0;
  uint64_t goid = 0;  // the new goroutine; 0 when not known
  uint64_t parent_goid = 0;
  uint64_t start_pc = 0;
  uint64_t creation_pc = 0;
  bool operator==(const GoroutineCreate&) const = default;
};

// runtime.goexit1 entry: the goroutine returned from its start function.
struct GoroutineExit {
  uint64_t timestamp_ns = 0;
  uint32_t cpu = 0;
  uint32_t tid = 0;
  uint64_t goid = 0;
  bool operator==(const GoroutineExit&) const = default;
};

// sched:sched_switch where the previous or the next task is a target thread.
struct ThreadSwitch {
  uint64_t timestamp_ns = 0;
  uint32_t cpu = 0;
  uint32_t prev_tid = 0;
  uint64_t prev_state = 0;  // task state of prev: 0 = runnable (preempted), 1 = interruptible sleep, 2 = uninterruptible, ...
  uint32_t next_tid = 0;
  uint32_t flags = 0;       // kSwitchPrevIsTarget | kSwitchNextIsTarget
  bool operator==(const ThreadSwitch&) const = default;
};
// What symbolization needs, carried in the trace so it analyzes where the
// binary is absent: a zstd-compressed copy of the executable (without its
// DWARF when recorded with --no-dwarf-bundle: those sections become
// SHT_NOBITS), once per build id, split in parts of at most kMaxBundlePart
// bytes so no chunk comes near kMaxChunkPayload.
struct BinaryBundle {
  std::string build_id_go;
  std::string build_id_gnu;
  std::string path;         // the executable's path as recorded (after --redact)
  std::string compression;  // "zstd"
  uint64_t original_size = 0;  // bytes of the whole copy, decompressed
  uint32_t part = 0;           // 0-based
  uint32_t parts = 1;
  uint32_t contents = 0;       // kBundleHasDwarf | ...
  std::string data;            // this part of the compressed stream
  bool operator==(const BinaryBundle&) const = default;
};
inline constexpr uint32_t kBundleHasDwarf = 1u << 0;
inline constexpr uint32_t kMaxBundlePart = 16u << 20;

inline constexpr uint32_t kSwitchPrevIsTarget = 1u << 0;
inline constexpr uint32_t kSwitchNextIsTarget = 1u << 1;

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
  uint64_t execute_events = 0;  // all goroutine and thread events (switch, state, create, exit, sched)
  uint64_t lost_events = 0;
  uint64_t stacks = 0;
  std::string stop_reason;  // "duration", "signal", "target exited"
  bool operator==(const Footer&) const = default;
};

}  // namespace loophound::trace

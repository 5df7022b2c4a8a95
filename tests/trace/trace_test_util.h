// Helpers shared by the trace format tests: temporary files, a visitor that
// records everything, and builders for hand-made (possibly hostile) files.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "schema/crc32c.h"
#include "schema/trace_format.h"
#include "schema/trace_reader.h"
#include "schema/varint.h"

namespace loophound::trace::testing {

inline std::vector<std::string>& temp_paths() {
  static std::vector<std::string> paths;
  return paths;
}

// Removes every temp_path() once all tests ran: a run leaves nothing behind.
class TempPathCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ignored;
    for (const std::string& path : temp_paths()) std::filesystem::remove_all(path, ignored);
  }
};

// Registered from a static initializer, as GoogleTest allows with gtest_main.
inline ::testing::Environment* const kTempPathCleanup =
    ::testing::AddGlobalTestEnvironment(new TempPathCleanup);

// A file path unique to the running test, under GoogleTest's temp dir.
inline std::string temp_path(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string path = ::testing::TempDir() + "loophound_" + info->test_suite_name() + "_" +
                     info->name() + "_" + name;
  temp_paths().push_back(path);
  return path;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// EXPECT_TRUE(has_substr(message, "...")) prints both strings on failure.
inline ::testing::AssertionResult has_substr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// Everything a read delivered, in order.
struct RecordingVisitor : TraceVisitor {
  std::vector<Header> headers;
  std::vector<Stack> stacks;
  std::vector<Sample> samples;
  std::vector<ExecuteEvent> executes;
  std::vector<LostEvents> losts;
  std::vector<GoroutineInfo> infos;
  std::vector<GoroutineState> states;
  std::vector<GoroutineCreate> creates;
  std::vector<GoroutineExit> exits;
  std::vector<ThreadSwitch> switches;
  std::vector<BinaryBundle> bundles;
  std::vector<Footer> footers;
  // One letter per callback: H S s e l, i (goroutine info), g (goroutine
  // state), c (create), x (exit), t (thread switch), F.
  std::string order;

  void on_header(const Header& h) override { headers.push_back(h), order += 'H'; }
  void on_stack(const Stack& s) override { stacks.push_back(s), order += 'S'; }
  void on_sample(const Sample& s) override { samples.push_back(s), order += 's'; }
  void on_execute(const ExecuteEvent& e) override { executes.push_back(e), order += 'e'; }
  void on_lost(const LostEvents& l) override { losts.push_back(l), order += 'l'; }
  void on_goroutine_info(const GoroutineInfo& i) override { infos.push_back(i), order += 'i'; }
  void on_goroutine_state(const GoroutineState& g) override { states.push_back(g), order += 'g'; }
  void on_goroutine_create(const GoroutineCreate& c) override { creates.push_back(c), order += 'c'; }
  void on_goroutine_exit(const GoroutineExit& x) override { exits.push_back(x), order += 'x'; }
  void on_thread_switch(const ThreadSwitch& t) override { switches.push_back(t), order += 't'; }
  void on_binary_bundle(const BinaryBundle& b) override { bundles.push_back(b), order += 'b'; }
  void on_footer(const Footer& f) override { footers.push_back(f), order += 'F'; }
};

inline void append_le32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

inline std::string file_header(uint32_t version = kFormatVersion) {
  std::string out(reinterpret_cast<const char*>(kMagic), sizeof(kMagic));
  append_le32(out, version);
  append_le32(out, 0);
  return out;
}

// A chunk with a correct CRC, built independently of TraceWriter.
inline std::string chunk(uint8_t kind, const std::string& payload, uint8_t flags = 0) {
  std::string covered;
  covered.push_back(static_cast<char>(kind));
  covered.push_back(static_cast<char>(flags));
  covered.append(2, '\0');
  std::string out;
  append_le32(out, static_cast<uint32_t>(payload.size()));
  out += covered;
  append_le32(out, crc32c_update(crc32c(covered), payload));
  return out + payload;
}

inline std::string chunk(ChunkKind kind, const std::string& payload) {
  return chunk(static_cast<uint8_t>(kind), payload);
}

inline std::string record(uint8_t kind, const std::string& body) {
  std::string out(1, static_cast<char>(kind));
  put_varint(out, body.size());
  return out + body;
}

inline std::string record(RecordKind kind, const std::string& body) {
  return record(static_cast<uint8_t>(kind), body);
}

inline std::string varint(uint64_t value) {
  std::string out;
  put_varint(out, value);
  return out;
}

inline std::string zigzag(int64_t value) { return varint(zigzag_encode(value)); }

inline std::string str(const std::string& text) { return varint(text.size()) + text; }

// Byte offset and total size (header + payload) of each chunk of a
// well-formed file; the test's own reading of the layout.
struct ChunkSpan {
  size_t offset = 0;
  size_t size = 0;
  uint8_t kind = 0;
};

inline std::vector<ChunkSpan> chunk_spans(const std::string& file) {
  std::vector<ChunkSpan> spans;
  size_t offset = kFileHeaderSize;
  while (offset + kChunkHeaderSize <= file.size()) {
    uint32_t length = 0;
    for (int i = 0; i < 4; ++i) length |= uint32_t{static_cast<uint8_t>(file[offset + i])} << (8 * i);
    spans.push_back({offset, kChunkHeaderSize + length, static_cast<uint8_t>(file[offset + 4])});
    offset += kChunkHeaderSize + length;
  }
  return spans;
}

// The smallest valid header chunk: one metadata record.
inline std::string minimal_header_chunk() {
  return chunk(ChunkKind::kHeader, record(RecordKind::kMetadata, str("pid") + str("42")));
}

inline std::string footer_chunk() {
  const std::string body = varint(1000) + varint(1) + varint(0) + varint(0) + varint(1) + str("duration");
  return chunk(ChunkKind::kFooter, record(RecordKind::kFooter, body));
}

// Record bodies spelled field by field from TRACE_FORMAT.md, independently
// of TraceWriter; timestamps are given as the raw delta.

// The original Sample layout, ending after flags, as traces written before
// sched_pc and schedtick existed hold it.
inline std::string old_sample_body(int64_t delta, uint64_t cpu = 1, uint64_t tid = 2, uint64_t goid = 3,
                                   uint64_t stack_id = 4, uint64_t flags = 0) {
  return zigzag(delta) + varint(cpu) + varint(tid) + varint(goid) + varint(stack_id) + varint(flags);
}

// The second Sample layout, ending after schedtick, as traces written
// before the registers existed hold it.
inline std::string schedtick_sample_body(int64_t delta, uint64_t cpu = 1, uint64_t tid = 2, uint64_t goid = 3,
                                         uint64_t stack_id = 4, uint64_t flags = 0, uint64_t sched_pc = 0,
                                         uint64_t schedtick = 0) {
  return old_sample_body(delta, cpu, tid, goid, stack_id, flags) + varint(sched_pc) + varint(schedtick);
}

// The third Sample layout, ending after the registers (a register count
// and that many registers; a count of 0 without --regs), as traces written
// before sp_word existed hold it.
inline std::string registers_sample_body(int64_t delta, uint64_t cpu = 1, uint64_t tid = 2, uint64_t goid = 3,
                                         uint64_t stack_id = 4, uint64_t flags = 0, uint64_t sched_pc = 0,
                                         uint64_t schedtick = 0, const std::vector<uint64_t>& registers = {}) {
  std::string body = schedtick_sample_body(delta, cpu, tid, goid, stack_id, flags, sched_pc, schedtick) +
                     varint(registers.size());
  for (const uint64_t r : registers) body += varint(r);
  return body;
}

// The fourth Sample layout: then sp_word, the word at the user stack
// pointer (0 = unknown), as traces written before frame windows hold it.
inline std::string sp_word_sample_body(int64_t delta, uint64_t cpu = 1, uint64_t tid = 2, uint64_t goid = 3,
                                       uint64_t stack_id = 4, uint64_t flags = 0, uint64_t sched_pc = 0,
                                       uint64_t schedtick = 0, const std::vector<uint64_t>& registers = {},
                                       uint64_t sp_word = 0) {
  return registers_sample_body(delta, cpu, tid, goid, stack_id, flags, sched_pc, schedtick, registers) +
         varint(sp_word);
}

// The current Sample layout: then the frame windows (a count, then per
// window pc, sp and its bytes as a length-prefixed string).
inline std::string sample_body(int64_t delta, uint64_t cpu = 1, uint64_t tid = 2, uint64_t goid = 3,
                               uint64_t stack_id = 4, uint64_t flags = 0, uint64_t sched_pc = 0,
                               uint64_t schedtick = 0, const std::vector<uint64_t>& registers = {},
                               uint64_t sp_word = 0, const std::vector<FrameWindow>& windows = {}) {
  std::string body = sp_word_sample_body(delta, cpu, tid, goid, stack_id, flags, sched_pc, schedtick, registers,
                                         sp_word) +
                     varint(windows.size());
  for (const auto& w : windows) body += varint(w.pc) + varint(w.sp) + varint(w.bytes.size()) + w.bytes;
  return body;
}

// 18 registers as x86-64 sends them (rax rbx rcx rdx rsi rdi rbp rsp
// r8-r15 rip rflags), with values of every varint length from 1 to 10 bytes.
inline std::vector<uint64_t> x86_64_registers() {
  return {0,           1,          0x7f,       0x80,        0x3fff,      0x4000,
          0xc000012345, 0xc00003ff70, UINT64_MAX, 1ull << 63,  1ull << 56,  (1ull << 49) + 7,
          1ull << 42,  0x1234567,  0x7ffff,    0xdeadbeef,  0x45b3c0,    0x246};
}

inline std::string goroutine_info_body(const GoroutineInfo& i) {
  return varint(i.goid) + varint(i.parent_goid) + varint(i.start_pc) + varint(i.creation_pc);
}

inline std::string goroutine_state_body(int64_t delta, const GoroutineState& g) {
  return zigzag(delta) + varint(g.cpu) + varint(g.tid) + varint(g.goid) + varint(g.g_addr) +
         varint(g.old_status) + varint(g.new_status) + varint(g.wait_reason);
}

inline std::string goroutine_create_body(int64_t delta, const GoroutineCreate& c) {
  return zigzag(delta) + varint(c.cpu) + varint(c.tid) + varint(c.goid) + varint(c.parent_goid) +
         varint(c.start_pc) + varint(c.creation_pc);
}

inline std::string goroutine_exit_body(int64_t delta, const GoroutineExit& x) {
  return zigzag(delta) + varint(x.cpu) + varint(x.tid) + varint(x.goid);
}

inline std::string thread_switch_body(int64_t delta, const ThreadSwitch& t) {
  return zigzag(delta) + varint(t.cpu) + varint(t.prev_tid) + varint(t.prev_state) + varint(t.next_tid) +
         varint(t.flags);
}

}  // namespace loophound::trace::testing

#include "schema/trace_writer.h"

#include <cerrno>
#include <cstring>
#include <string_view>

#include <zstd.h>

#include "schema/crc32c.h"
#include "schema/varint.h"

namespace loophound::trace {
namespace {

std::string quoted(const std::string& path) { return "'" + path + "'"; }

void store_le32(char* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

void put_string(std::string& out, std::string_view text) {
  put_varint(out, text.size());
  out.append(text);
}

// Record framing: u8 kind, varint body length, body. The length lets a
// reader skip kinds it does not know.
void put_record(std::string& out, RecordKind kind, const std::string& body) {
  out.push_back(static_cast<char>(kind));
  put_varint(out, body.size());
  out.append(body);
}

// Timestamps are zigzag deltas, not plain ones: events of different CPUs
// reach user space slightly out of order, so a delta can be negative.
// Unsigned subtraction wraps, and the reader's addition wraps back.
void put_timestamp(std::string& out, uint64_t timestamp_ns, uint64_t& base_ns) {
  put_zigzag(out, static_cast<int64_t>(timestamp_ns - base_ns));
  base_ns = timestamp_ns;
}

std::string encode_header(const Header& header) {
  std::string payload;
  std::string body;
  for (const auto& [key, value] : header.metadata) {
    body.clear();
    put_string(body, key);
    put_string(body, value);
    put_record(payload, RecordKind::kMetadata, body);
  }
  for (const Mapping& mapping : header.mappings) {
    body.clear();
    put_varint(body, mapping.start);
    put_varint(body, mapping.end);
    put_varint(body, mapping.file_offset);
    put_string(body, mapping.permissions);
    put_string(body, mapping.path);
    put_record(payload, RecordKind::kMapping, body);
  }
  return payload;
}

std::string encode_footer(const Footer& footer) {
  std::string body;
  put_varint(body, footer.end_timestamp_ns);
  put_varint(body, footer.samples);
  put_varint(body, footer.execute_events);
  put_varint(body, footer.lost_events);
  put_varint(body, footer.stacks);
  put_string(body, footer.stop_reason);
  std::string payload;
  put_record(payload, RecordKind::kFooter, body);
  return payload;
}

}  // namespace

Result<std::unique_ptr<TraceWriter>> TraceWriter::create(const std::string& path) {
  // "e" (O_CLOEXEC): the recorder may start the traced program itself, and
  // that program must not inherit the trace file.
  FILE* file = std::fopen(path.c_str(), "wbe");
  if (file == nullptr) {
    return make_error(quoted(path) + ": cannot create trace: " + std::strerror(errno));
  }
  char header[kFileHeaderSize] = {};
  std::memcpy(header, kMagic, sizeof(kMagic));
  store_le32(header + 8, kFormatVersion);
  // Flushed at once so an unwritable destination fails here, not later.
  if (std::fwrite(header, 1, sizeof(header), file) != sizeof(header) || std::fflush(file) != 0) {
    const int saved_errno = errno;
    std::fclose(file);
    return make_error(quoted(path) + ": cannot write trace: " + std::strerror(saved_errno));
  }
  auto writer = std::unique_ptr<TraceWriter>(new TraceWriter(path, file));
  writer->bytes_written_ = kFileHeaderSize;
  return writer;
}

TraceWriter::TraceWriter(std::string path, FILE* file) : path_(std::move(path)), file_(file) {}

TraceWriter::~TraceWriter() {
  if (file_ == nullptr) return;
  // Not finished (an error path, or an exception): keep the buffered
  // events, which costs one write, but write no footer, so readers can
  // tell that the recording did not end cleanly.
  if (failure_.empty() && !events_.empty()) (void)write_chunk(ChunkKind::kEvents, events_);
  std::fclose(file_);
}

Status TraceWriter::write_header(const Header& header) {
  if (auto status = check_writable(); !status) return status;
  if (header_written_) return make_error(quoted(path_) + ": the header chunk was already written");
  if (auto status = write_chunk(ChunkKind::kHeader, encode_header(header)); !status) return status;
  header_written_ = true;
  return ok_status();
}

Status TraceWriter::add_stack(const Stack& stack) {
  if (auto status = check_can_add(); !status) return status;
  if (stack.frames.size() > kMaxStackFrames) {
    return make_error(quoted(path_) + ": stack " + std::to_string(stack.id) + " has " +
                      std::to_string(stack.frames.size()) + " frames, more than the limit of " +
                      std::to_string(kMaxStackFrames));
  }
  std::string body;
  put_varint(body, stack.id);
  put_varint(body, stack.frames.size());
  // Frames of one stack lie close together in the text segment, so the
  // deltas between neighbours are much shorter than the addresses.
  for (size_t i = 0; i < stack.frames.size(); ++i) {
    if (i == 0) {
      put_varint(body, stack.frames[0]);
    } else {
      put_zigzag(body, static_cast<int64_t>(stack.frames[i] - stack.frames[i - 1]));
    }
  }
  return add_record(RecordKind::kStack, body);
}

Status TraceWriter::add_sample(const Sample& sample) {
  // Checked before encoding: the encoding moves the timestamp base.
  if (auto status = check_can_add(); !status) return status;
  if (sample.registers.size() > kMaxSampleRegisters)
    return make_error(quoted(path_) + ": sample with " + std::to_string(sample.registers.size()) +
                      " registers (at most " + std::to_string(kMaxSampleRegisters) + ")");
  if (sample.frame_windows.size() > kMaxFrameWindows)
    return make_error(quoted(path_) + ": sample with " + std::to_string(sample.frame_windows.size()) +
                      " frame windows (at most " + std::to_string(kMaxFrameWindows) + ")");
  for (const auto& w : sample.frame_windows)
    if (w.bytes.size() > kMaxFrameWindowBytes)
      return make_error(quoted(path_) + ": frame window of " + std::to_string(w.bytes.size()) + " bytes (at most " +
                        std::to_string(kMaxFrameWindowBytes) + ")");
  std::string body;
  put_timestamp(body, sample.timestamp_ns, last_timestamp_ns_);
  put_varint(body, sample.cpu);
  put_varint(body, sample.tid);
  put_varint(body, sample.goid);
  put_varint(body, sample.stack_id);
  put_varint(body, sample.flags);
  // Appended after flags (see TRACE_FORMAT.md, Versioning): readers that
  // predate them skip these bytes, and this reader still accepts samples
  // that end after flags.
  put_varint(body, sample.sched_pc);
  put_varint(body, sample.schedtick);
  // Appended after schedtick: a register count (0 without --regs), then
  // the registers.
  put_varint(body, sample.registers.size());
  for (uint64_t r : sample.registers) put_varint(body, r);
  // Appended after the registers: the word at the user stack pointer.
  put_varint(body, sample.sp_word);
  // Appended after sp_word: the frame windows, each pc, sp and its bytes.
  put_varint(body, sample.frame_windows.size());
  for (const auto& w : sample.frame_windows) {
    put_varint(body, w.pc);
    put_varint(body, w.sp);
    put_string(body, w.bytes);
  }
  return add_record(RecordKind::kSample, body);
}

Status TraceWriter::add_execute(const ExecuteEvent& event) {
  // Checked before encoding: the encoding moves the timestamp base.
  if (auto status = check_can_add(); !status) return status;
  std::string body;
  put_timestamp(body, event.timestamp_ns, last_timestamp_ns_);
  put_varint(body, event.cpu);
  put_varint(body, event.tid);
  put_varint(body, event.goid);
  return add_record(RecordKind::kExecute, body);
}

Status TraceWriter::add_lost(const LostEvents& lost) {
  // Checked before encoding: the encoding moves the timestamp base.
  if (auto status = check_can_add(); !status) return status;
  // Bounds every events chunk well below kMaxChunkPayload.
  if (lost.source.size() > kTargetChunkPayload) {
    return make_error(quoted(path_) + ": lost-event source name of " +
                      std::to_string(lost.source.size()) + " bytes is too long");
  }
  std::string body;
  put_timestamp(body, lost.timestamp_ns, last_timestamp_ns_);
  put_varint(body, lost.count);
  put_string(body, lost.source);
  return add_record(RecordKind::kLost, body);
}

Status TraceWriter::add_goroutine_info(const GoroutineInfo& info) {
  if (auto status = check_can_add(); !status) return status;
  // No timestamp: it describes the goroutine, not a moment, so it leaves
  // the delta base alone.
  std::string body;
  put_varint(body, info.goid);
  put_varint(body, info.parent_goid);
  put_varint(body, info.start_pc);
  put_varint(body, info.creation_pc);
  return add_record(RecordKind::kGoroutineInfo, body);
}

Status TraceWriter::add_goroutine_state(const GoroutineState& state) {
  // Checked before encoding: the encoding moves the timestamp base.
  if (auto status = check_can_add(); !status) return status;
  std::string body;
  put_timestamp(body, state.timestamp_ns, last_timestamp_ns_);
  put_varint(body, state.cpu);
  put_varint(body, state.tid);
  put_varint(body, state.goid);
  put_varint(body, state.g_addr);
  put_varint(body, state.old_status);
  put_varint(body, state.new_status);
  put_varint(body, state.wait_reason);
  return add_record(RecordKind::kGoroutineState, body);
}

Status TraceWriter::add_goroutine_create(const GoroutineCreate& create) {
  // Checked before encoding: the encoding moves the timestamp base.
  if (auto status = check_can_add(); !status) return status;
  std::string body;
  put_timestamp(body, create.timestamp_ns, last_timestamp_ns_);
  put_varint(body, create.cpu);
  put_varint(body, create.tid);
  put_varint(body, create.goid);
  put_varint(body, create.parent_goid);
  put_varint(body, create.start_pc);
  put_varint(body, create.creation_pc);
  return add_record(RecordKind::kGoroutineCreate, body);
}

Status TraceWriter::add_goroutine_exit(const GoroutineExit& exit) {
  // Checked before encoding: the encoding moves the timestamp base.
  if (auto status = check_can_add(); !status) return status;
  std::string body;
  put_timestamp(body, exit.timestamp_ns, last_timestamp_ns_);
  put_varint(body, exit.cpu);
  put_varint(body, exit.tid);
  put_varint(body, exit.goid);
  return add_record(RecordKind::kGoroutineExit, body);
}

Status TraceWriter::add_binary_bundle(const BinaryBundle& bundle) {
  if (auto status = check_can_add(); !status) return status;
  if (bundle.data.size() > kMaxBundlePart || bundle.parts == 0 || bundle.part >= bundle.parts)
    return make_error(quoted(path_) + ": malformed bundle part " + std::to_string(bundle.part) + " of " +
                      std::to_string(bundle.parts) + " (" + std::to_string(bundle.data.size()) + " bytes)");
  // No timestamp: the delta base stays where it is.
  std::string body;
  put_string(body, bundle.build_id_go);
  put_string(body, bundle.build_id_gnu);
  put_string(body, bundle.path);
  put_string(body, bundle.compression);
  put_varint(body, bundle.original_size);
  put_varint(body, bundle.part);
  put_varint(body, bundle.parts);
  put_varint(body, bundle.contents);
  put_string(body, bundle.data);
  return add_record(RecordKind::kBinaryBundle, body);
}

Status TraceWriter::add_thread_switch(const ThreadSwitch& change) {
  // Checked before encoding: the encoding moves the timestamp base.
  if (auto status = check_can_add(); !status) return status;
  std::string body;
  put_timestamp(body, change.timestamp_ns, last_timestamp_ns_);
  put_varint(body, change.cpu);
  put_varint(body, change.prev_tid);
  put_varint(body, change.prev_state);
  put_varint(body, change.next_tid);
  put_varint(body, change.flags);
  return add_record(RecordKind::kThreadSwitch, body);
}

Status TraceWriter::flush() {
  if (auto status = check_writable(); !status) return status;
  if (events_.empty()) return ok_status();
  if (auto status = write_chunk(ChunkKind::kEvents, events_); !status) return status;
  events_.clear();
  last_timestamp_ns_ = 0;  // every chunk decodes on its own
  return ok_status();
}

Status TraceWriter::finish(const Footer& footer) {
  if (auto status = check_writable(); !status) return status;
  if (!header_written_) return make_error(quoted(path_) + ": finish() before write_header()");
  if (auto status = flush(); !status) return status;
  if (auto status = write_chunk(ChunkKind::kFooter, encode_footer(footer)); !status) return status;
  FILE* file = file_;
  file_ = nullptr;
  // fclose can be the first to see a delayed write error (NFS, quota).
  if (std::fclose(file) != 0) return fail("cannot close trace");
  return ok_status();
}

Status TraceWriter::add_record(RecordKind kind, const std::string& body) {
  put_record(events_, kind, body);
  return maybe_flush();
}

Status TraceWriter::maybe_flush() {
  if (events_.size() < kTargetChunkPayload) return ok_status();
  return flush();
}

// Chunk header: u32 LE payload length, u8 kind, u8 flags, u16 reserved,
// u32 LE CRC32C over header bytes 4..8 and then the payload.
Status TraceWriter::write_chunk(ChunkKind kind, const std::string& raw_payload) {
  if (raw_payload.size() > kMaxChunkPayload) {
    return make_error(quoted(path_) + ": chunk payload of " + std::to_string(raw_payload.size()) +
                      " bytes exceeds the limit of " + std::to_string(kMaxChunkPayload));
  }
  // Events compress well (stacks, registers and frame bytes repeat from
  // sample to sample); a chunk that does not shrink (a bundled executable,
  // already zstd) is stored as is.
  uint8_t flags = 0;
  std::string compressed;
  if (compress_ && kind == ChunkKind::kEvents && raw_payload.size() >= kMinCompressedChunk) {
    compressed.resize(4 + ZSTD_compressBound(raw_payload.size()));
    store_le32(compressed.data(), static_cast<uint32_t>(raw_payload.size()));
    size_t n = ZSTD_compress(compressed.data() + 4, compressed.size() - 4, raw_payload.data(), raw_payload.size(),
                             kZstdLevel);
    if (!ZSTD_isError(n) && 4 + n < raw_payload.size()) {
      compressed.resize(4 + n);
      flags = kChunkZstd;
    }
  }
  const std::string& payload = flags & kChunkZstd ? compressed : raw_payload;
  char header[kChunkHeaderSize] = {};
  store_le32(header, static_cast<uint32_t>(payload.size()));
  header[4] = static_cast<char>(kind);
  header[5] = static_cast<char>(flags);
  const uint32_t crc = crc32c_update(crc32c(std::string_view(header + 4, 4)), payload);
  store_le32(header + 8, crc);
  // fflush per chunk: a chunk only counts once the kernel has it, so that a
  // recorder killed with SIGKILL loses at most the chunk being built.
  if (std::fwrite(header, 1, sizeof(header), file_) != sizeof(header) ||
      std::fwrite(payload.data(), 1, payload.size(), file_) != payload.size() ||
      std::fflush(file_) != 0) {
    return fail("cannot write trace");
  }
  bytes_written_ += sizeof(header) + payload.size();
  return ok_status();
}

Status TraceWriter::check_writable() const {
  if (!failure_.empty()) return make_error(failure_);
  if (file_ == nullptr) return make_error(quoted(path_) + ": the trace was already finished");
  return ok_status();
}

Status TraceWriter::check_can_add() const {
  if (auto status = check_writable(); !status) return status;
  if (!header_written_) return make_error(quoted(path_) + ": events added before write_header()");
  return ok_status();
}

Status TraceWriter::fail(const std::string& what) {
  failure_ = quoted(path_) + ": " + what + ": " + std::strerror(errno);
  return make_error(failure_);
}

}  // namespace loophound::trace

#include "schema/trace_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>

#include <zstd.h>

#include "schema/crc32c.h"
#include "schema/varint.h"

namespace loophound::trace {
namespace {

// Payloads are read in steps of this size, so that a corrupt length in the
// last chunk header costs at most one step of memory before EOF shows it
// to be a truncation, not kMaxChunkPayload.
constexpr size_t kReadStep = 1u << 20;

std::string quoted(const std::string& path) { return "'" + path + "'"; }

std::string hex(uint32_t value, int digits) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%0*x", digits, value);
  return text;
}

uint32_t load_le32(const unsigned char* bytes) {
  return static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8 |
         static_cast<uint32_t>(bytes[2]) << 16 | static_cast<uint32_t>(bytes[3]) << 24;
}

const char* chunk_kind_name(ChunkKind kind) {
  switch (kind) {
    case ChunkKind::kHeader:
      return "header";
    case ChunkKind::kEvents:
      return "events";
    case ChunkKind::kFooter:
      return "footer";
  }
  return "unknown";
}

bool is_known_record(uint8_t kind) {
  return kind >= static_cast<uint8_t>(RecordKind::kMetadata) &&
         kind <= static_cast<uint8_t>(RecordKind::kBinaryBundle);
}

const char* record_kind_name(RecordKind kind) {
  switch (kind) {
    case RecordKind::kMetadata:
      return "metadata";
    case RecordKind::kMapping:
      return "mapping";
    case RecordKind::kStack:
      return "stack";
    case RecordKind::kSample:
      return "sample";
    case RecordKind::kExecute:
      return "execute";
    case RecordKind::kLost:
      return "lost";
    case RecordKind::kFooter:
      return "footer";
    case RecordKind::kGoroutineInfo:
      return "goroutine info";
    case RecordKind::kGoroutineState:
      return "goroutine state";
    case RecordKind::kGoroutineCreate:
      return "goroutine create";
    case RecordKind::kGoroutineExit:
      return "goroutine exit";
    case RecordKind::kThreadSwitch:
      return "thread switch";
    case RecordKind::kBinaryBundle:
      return "binary bundle";
  }
  return "unknown";
}

// Which chunk each known record belongs in; anywhere else it is corruption
// (or a writer bug), not something to guess around.
ChunkKind home_chunk(RecordKind kind) {
  switch (kind) {
    case RecordKind::kMetadata:
    case RecordKind::kMapping:
      return ChunkKind::kHeader;
    case RecordKind::kFooter:
      return ChunkKind::kFooter;
    default:
      return ChunkKind::kEvents;
  }
}

// Reads the fields of one record body in order. The first failure sticks
// and later reads do nothing, so decoders read every field and check once.
class FieldReader {
 public:
  explicit FieldReader(std::string_view body) : in_(body) {}

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  void set_error(std::string error) {
    if (!failed()) error_ = std::move(error);
  }

  void u64(uint64_t& out) {
    if (failed()) return;
    const VarintStatus status = read_varint(in_, out);
    if (status != VarintStatus::kOk) set_error(describe(status));
  }

  void u32(uint32_t& out) {
    uint64_t value = 0;
    u64(value);
    if (failed()) return;
    if (value > UINT32_MAX) {
      set_error("value " + std::to_string(value) + " does not fit in 32 bits");
      return;
    }
    out = static_cast<uint32_t>(value);
  }

  void zigzag(int64_t& out) {
    if (failed()) return;
    const VarintStatus status = read_zigzag(in_, out);
    if (status != VarintStatus::kOk) set_error(describe(status));
  }

  // A zigzag delta from `base_ns`, which then moves to the result.
  void timestamp(uint64_t& out, uint64_t& base_ns) {
    int64_t delta = 0;
    zigzag(delta);
    if (failed()) return;
    out = base_ns + static_cast<uint64_t>(delta);  // wraps like the writer's subtraction
    base_ns = out;
  }

  void string(std::string& out) {
    uint64_t length = 0;
    u64(length);
    if (failed()) return;
    if (length > in_.size()) {
      set_error("string of " + std::to_string(length) + " bytes runs past the end of the record (" +
                std::to_string(in_.size()) + " bytes left)");
      return;
    }
    out.assign(in_.substr(0, length));
    in_.remove_prefix(length);
  }

  // True once every byte of the body has been read. Bytes left after the
  // known fields are not an error (see ChunkDecoder::known_fields_read).
  bool at_end() const { return in_.empty(); }

 private:
  std::string_view in_;
  std::string error_;
};

// Decodes one checked chunk payload and hands its records to the visitor.
// The length of one of a Sample's lists (registers, frame windows), checked
// against `limit` before anything is allocated: "" and `count` set (0 when
// the field itself failed), or the error.
std::string sample_list_length(FieldReader& fields, uint64_t limit, const char* what, size_t& count) {
  uint64_t n = 0;
  fields.u64(n);
  if (!fields.failed() && n > limit)
    return "sample with " + std::to_string(n) + " " + what + " (at most " + std::to_string(limit) + ")";
  count = fields.failed() ? 0 : static_cast<size_t>(n);
  return "";
}

class ChunkDecoder {
 public:
  ChunkDecoder(ChunkKind kind, std::string where, TraceVisitor& visitor, ReadSummary& summary)
      : kind_(kind), where_(std::move(where)), visitor_(visitor), summary_(summary) {}

  Status decode(std::string_view payload) {
    std::string_view rest = payload;
    for (uint64_t index = 0; !rest.empty(); ++index) {
      const size_t offset = payload.size() - rest.size();
      // Built only for an error: traces hold millions of records.
      const auto record_where = [&] {
        return where_ + "record " + std::to_string(index) + " at payload offset " + std::to_string(offset);
      };
      const auto kind_byte = static_cast<uint8_t>(rest[0]);
      rest.remove_prefix(1);
      uint64_t length = 0;
      if (const VarintStatus status = read_varint(rest, length); status != VarintStatus::kOk) {
        return make_error(record_where() + ": record length: " + describe(status));
      }
      if (length > rest.size()) {
        return make_error(record_where() + ": record body of " + std::to_string(length) +
                          " bytes runs past the end of the chunk (" + std::to_string(rest.size()) +
                          " bytes left)");
      }
      const std::string_view body = rest.substr(0, length);
      rest.remove_prefix(length);
      if (!is_known_record(kind_byte)) {
        ++summary_.unknown_records;  // a newer writer's addition: skip it
        continue;
      }
      const auto kind = static_cast<RecordKind>(kind_byte);
      const std::string problem = decode_record(kind, body);
      if (!problem.empty()) {
        return make_error(record_where() + " (" + record_kind_name(kind) + "): " + problem);
      }
      ++summary_.records;
    }
    return finish_chunk();
  }

 private:
  std::string decode_record(RecordKind kind, std::string_view body) {
    if (home_chunk(kind) != kind_) {
      return std::string("a ") + record_kind_name(kind) + " record does not belong in a " +
             chunk_kind_name(kind_) + " chunk";
    }
    FieldReader fields(body);
    switch (kind) {
      case RecordKind::kMetadata: {
        auto& [key, value] = header_.metadata.emplace_back();
        fields.string(key);
        fields.string(value);
        break;
      }
      case RecordKind::kMapping: {
        Mapping& mapping = header_.mappings.emplace_back();
        fields.u64(mapping.start);
        fields.u64(mapping.end);
        fields.u64(mapping.file_offset);
        fields.string(mapping.permissions);
        fields.string(mapping.path);
        break;
      }
      case RecordKind::kStack:
        return decode_stack(fields);
      case RecordKind::kSample: {
        Sample sample;
        fields.timestamp(sample.timestamp_ns, timestamp_base_ns_);
        fields.u32(sample.cpu);
        fields.u32(sample.tid);
        fields.u64(sample.goid);
        fields.u32(sample.stack_id);
        fields.u32(sample.flags);
        // Samples written before sched_pc and schedtick existed end here;
        // they keep both at 0, which means "unknown". A body that ends
        // between the two is malformed, as any short body is.
        if (!fields.at_end()) {
          fields.u64(sample.sched_pc);
          fields.u64(sample.schedtick);
        }
        // The register count came later still; a sample ending after
        // schedtick has none.
        if (!fields.at_end()) {
          size_t count = 0;
          if (auto error = sample_list_length(fields, kMaxSampleRegisters, "registers", count); !error.empty())
            return error;
          sample.registers.resize(count);
          for (auto& r : sample.registers) fields.u64(r);
        }
        // The stack-pointer word came after the registers; a sample ending
        // after them has none (0).
        if (!fields.at_end()) fields.u64(sample.sp_word);
        // The frame windows came after sp_word; a sample ending after it
        // has none.
        if (!fields.at_end()) {
          size_t count = 0;
          if (auto error = sample_list_length(fields, kMaxFrameWindows, "frame windows", count); !error.empty())
            return error;
          sample.frame_windows.resize(count);
          for (auto& w : sample.frame_windows) {
            fields.u64(w.pc);
            fields.u64(w.sp);
            fields.string(w.bytes);
            if (!fields.failed() && w.bytes.size() > kMaxFrameWindowBytes)
              return "frame window of " + std::to_string(w.bytes.size()) + " bytes (at most " +
                     std::to_string(kMaxFrameWindowBytes) + ")";
          }
        }
        if (known_fields_read(fields)) visitor_.on_sample(sample);
        return fields.error();
      }
      case RecordKind::kExecute: {
        ExecuteEvent event;
        fields.timestamp(event.timestamp_ns, timestamp_base_ns_);
        fields.u32(event.cpu);
        fields.u32(event.tid);
        fields.u64(event.goid);
        if (known_fields_read(fields)) visitor_.on_execute(event);
        return fields.error();
      }
      case RecordKind::kLost: {
        LostEvents lost;
        fields.timestamp(lost.timestamp_ns, timestamp_base_ns_);
        fields.u64(lost.count);
        fields.string(lost.source);
        if (known_fields_read(fields)) visitor_.on_lost(lost);
        return fields.error();
      }
      case RecordKind::kGoroutineInfo: {
        // No timestamp: the delta base stays where it is.
        GoroutineInfo info;
        fields.u64(info.goid);
        fields.u64(info.parent_goid);
        fields.u64(info.start_pc);
        fields.u64(info.creation_pc);
        if (known_fields_read(fields)) visitor_.on_goroutine_info(info);
        return fields.error();
      }
      case RecordKind::kGoroutineState: {
        GoroutineState state;
        fields.timestamp(state.timestamp_ns, timestamp_base_ns_);
        fields.u32(state.cpu);
        fields.u32(state.tid);
        fields.u64(state.goid);
        fields.u64(state.g_addr);
        fields.u32(state.old_status);
        fields.u32(state.new_status);
        fields.u32(state.wait_reason);
        if (known_fields_read(fields)) visitor_.on_goroutine_state(state);
        return fields.error();
      }
      case RecordKind::kGoroutineCreate: {
        GoroutineCreate create;
        fields.timestamp(create.timestamp_ns, timestamp_base_ns_);
        fields.u32(create.cpu);
        fields.u32(create.tid);
        fields.u64(create.goid);
        fields.u64(create.parent_goid);
        fields.u64(create.start_pc);
        fields.u64(create.creation_pc);
        if (known_fields_read(fields)) visitor_.on_goroutine_create(create);
        return fields.error();
      }
      case RecordKind::kGoroutineExit: {
        GoroutineExit exit;
        fields.timestamp(exit.timestamp_ns, timestamp_base_ns_);
        fields.u32(exit.cpu);
        fields.u32(exit.tid);
        fields.u64(exit.goid);
        if (known_fields_read(fields)) visitor_.on_goroutine_exit(exit);
        return fields.error();
      }
      case RecordKind::kThreadSwitch: {
        ThreadSwitch change;
        fields.timestamp(change.timestamp_ns, timestamp_base_ns_);
        fields.u32(change.cpu);
        fields.u32(change.prev_tid);
        fields.u64(change.prev_state);
        fields.u32(change.next_tid);
        fields.u32(change.flags);
        if (known_fields_read(fields)) visitor_.on_thread_switch(change);
        return fields.error();
      }
      case RecordKind::kBinaryBundle: {
        // No timestamp: the delta base stays where it is.
        BinaryBundle bundle;
        fields.string(bundle.build_id_go);
        fields.string(bundle.build_id_gnu);
        fields.string(bundle.path);
        fields.string(bundle.compression);
        fields.u64(bundle.original_size);
        fields.u32(bundle.part);
        fields.u32(bundle.parts);
        fields.u32(bundle.contents);
        fields.string(bundle.data);
        if (!fields.failed() && (bundle.parts == 0 || bundle.part >= bundle.parts))
          return "bundle part " + std::to_string(bundle.part) + " of " + std::to_string(bundle.parts) +
                 " is out of range";
        if (known_fields_read(fields)) visitor_.on_binary_bundle(bundle);
        return fields.error();
      }
      case RecordKind::kFooter:
        fields.u64(footer_.end_timestamp_ns);
        fields.u64(footer_.samples);
        fields.u64(footer_.execute_events);
        fields.u64(footer_.lost_events);
        fields.u64(footer_.stacks);
        fields.string(footer_.stop_reason);
        ++footer_records_;
        break;
    }
    (void)known_fields_read(fields);
    return fields.error();
  }

  // Call once all fields this version knows are read. A body that ended
  // before them is an error (already set in `fields`); bytes after them
  // are fields a newer writer appended, which this reader cannot interpret
  // and so ignores (TRACE_FORMAT.md, "Versioning"). Returns whether the
  // record is good.
  bool known_fields_read(const FieldReader& fields) {
    if (fields.failed()) return false;
    if (!fields.at_end()) ++summary_.records_with_extra_fields;
    return true;
  }

  std::string decode_stack(FieldReader& fields) {
    Stack stack;
    uint64_t count = 0;
    fields.u32(stack.id);
    fields.u64(count);
    if (fields.failed()) return fields.error();
    // Checked before reserving: the count comes from the file.
    if (count > kMaxStackFrames) {
      return "stack " + std::to_string(stack.id) + " has " + std::to_string(count) +
             " frames, more than the limit of " + std::to_string(kMaxStackFrames);
    }
    stack.frames.resize(count);
    for (uint64_t i = 0; i < count && !fields.failed(); ++i) {
      if (i == 0) {
        fields.u64(stack.frames[0]);
      } else {
        int64_t delta = 0;
        fields.zigzag(delta);
        stack.frames[i] = stack.frames[i - 1] + static_cast<uint64_t>(delta);
      }
    }
    if (known_fields_read(fields)) visitor_.on_stack(stack);
    return fields.error();
  }

  // Header and footer are delivered whole, once their chunk is decoded.
  Status finish_chunk() {
    if (kind_ == ChunkKind::kHeader) {
      visitor_.on_header(header_);
    } else if (kind_ == ChunkKind::kFooter) {
      if (footer_records_ != 1) {
        return make_error(where_ + "the footer chunk holds " + std::to_string(footer_records_) +
                          " footer records, expected 1");
      }
      summary_.has_footer = true;
      visitor_.on_footer(footer_);
    }
    return ok_status();
  }

  ChunkKind kind_;
  std::string where_;  // "'x.lhtrace': chunk 3 at byte 4096: "
  TraceVisitor& visitor_;
  ReadSummary& summary_;
  uint64_t timestamp_base_ns_ = 0;  // zero at every chunk start
  Header header_;
  Footer footer_;
  uint64_t footer_records_ = 0;
};

struct FileCloser {
  void operator()(FILE* file) const { std::fclose(file); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

// Reads up to `length` bytes into `out`, growing it step by step.
void read_payload(FILE* file, uint32_t length, std::string& out) {
  out.clear();
  while (out.size() < length) {
    const size_t old_size = out.size();
    const size_t want = std::min<size_t>(length - old_size, kReadStep);
    out.resize(old_size + want);
    const size_t got = std::fread(out.data() + old_size, 1, want, file);
    out.resize(old_size + got);
    if (got < want) return;
  }
}

Status check_file_header(const std::string& path, FILE* file, ReadSummary& summary) {
  unsigned char header[kFileHeaderSize];
  const size_t got = std::fread(header, 1, sizeof(header), file);
  if (std::ferror(file)) return make_error(quoted(path) + ": cannot read: " + std::strerror(errno));
  if (got < sizeof(header)) {
    return make_error(quoted(path) + ": not a loophound trace (the file is " +
                      (got == 0 ? std::string("empty") : std::to_string(got) + " bytes long") +
                      ", shorter than the 16-byte file header)");
  }
  if (std::memcmp(header, kMagic, sizeof(kMagic)) != 0) {
    return make_error(quoted(path) + ": not a loophound trace (wrong magic bytes)");
  }
  const uint32_t version = load_le32(header + 8);
  if (version == 0) return make_error(quoted(path) + ": invalid trace format version 0");
  if (version > kFormatVersion) {
    return make_error(quoted(path) + ": trace format version " + std::to_string(version) +
                      " is newer than this loophound supports (" + std::to_string(kFormatVersion) +
                      "); upgrade loophound");
  }
  summary.format_version = version;
  return ok_status();
}

// A kChunkZstd payload: u32 LE size, then one zstd frame of exactly that
// many bytes. The size is checked against kMaxChunkPayload before anything
// is allocated, and the frame must decode to exactly that size.
Status decompress_payload(const std::string& stored, std::string& out) {
  if (stored.size() < 4) return make_error("compressed payload of " + std::to_string(stored.size()) + " bytes has no size");
  const uint32_t size = load_le32(reinterpret_cast<const unsigned char*>(stored.data()));
  if (size > kMaxChunkPayload) {
    return make_error("compressed payload claims " + std::to_string(size) + " bytes, more than the limit of " +
                      std::to_string(kMaxChunkPayload));
  }
  out.resize(size);
  const size_t n = ZSTD_decompress(out.data(), out.size(), stored.data() + 4, stored.size() - 4);
  if (ZSTD_isError(n)) return make_error(std::string("zstd cannot decompress the payload: ") + ZSTD_getErrorName(n));
  if (n != size) {
    return make_error("zstd payload holds " + std::to_string(n) + " bytes, not the " + std::to_string(size) +
                      " its size says");
  }
  return ok_status();
}

}  // namespace

Result<ReadSummary> read_trace(const std::string& path, TraceVisitor& visitor) {
  const FilePtr file(std::fopen(path.c_str(), "rbe"));
  if (!file) return make_error(quoted(path) + ": cannot open: " + std::strerror(errno));
  ReadSummary summary;
  if (auto status = check_file_header(path, file.get(), summary); !status) return status.error();

  uint64_t offset = kFileHeaderSize;
  std::string payload;  // reused: one allocation for the whole file
  std::string decompressed;
  for (uint64_t index = 0;; ++index) {
    const std::string where =
        quoted(path) + ": chunk " + std::to_string(index) + " at byte " + std::to_string(offset) + ": ";
    unsigned char header[kChunkHeaderSize];
    size_t got = std::fread(header, 1, sizeof(header), file.get());
    uint32_t length = 0;
    if (got == sizeof(header)) {
      length = load_le32(header);
      if (length > kMaxChunkPayload) {
        return make_error(where + "payload length " + std::to_string(length) +
                          " exceeds the limit of " + std::to_string(kMaxChunkPayload) +
                          " bytes (corrupt chunk header)");
      }
      read_payload(file.get(), length, payload);
      got += payload.size();
    }
    if (std::ferror(file.get())) {
      return make_error(where + "cannot read: " + std::strerror(errno));
    }
    if (got == 0) break;  // clean end, after the last complete chunk
    if (got < sizeof(header) + length) {  // length is 0 when the chunk header is short
      summary.truncated = true;
      summary.truncated_bytes = got;
      summary.warnings.push_back(quoted(path) + ": truncated at byte " + std::to_string(offset) +
                                 ": the last " + std::to_string(got) +
                                 " bytes are an incomplete chunk; the recorder was probably killed");
      break;
    }

    const uint32_t stored_crc = load_le32(header + 8);
    const uint32_t computed_crc =
        crc32c_update(crc32c(std::string_view(reinterpret_cast<const char*>(header) + 4, 4)), payload);
    if (stored_crc != computed_crc) {
      return make_error(where + "CRC32C mismatch (stored " + hex(stored_crc, 8) + ", computed " +
                        hex(computed_crc, 8) + ")");
    }
    const uint8_t flags = header[5];
    const uint8_t known_flags = summary.format_version >= 2 ? kChunkZstd : 0;
    if ((flags & ~known_flags) != 0) {
      return make_error(where + "unknown chunk flag bits " + hex(flags, 2) + " (format version " +
                        std::to_string(summary.format_version) +
                        (known_flags ? " defines only bit 0, zstd)" : " defines none)"));
    }
    if (flags & kChunkZstd) {
      if (auto status = decompress_payload(payload, decompressed); !status)
        return make_error(where + status.error().message);
      payload.swap(decompressed);
    }
    const uint8_t kind_byte = header[4];
    if (kind_byte < static_cast<uint8_t>(ChunkKind::kHeader) ||
        kind_byte > static_cast<uint8_t>(ChunkKind::kFooter)) {
      return make_error(where + "unknown chunk kind " + std::to_string(kind_byte));
    }
    const auto kind = static_cast<ChunkKind>(kind_byte);
    if (index == 0 && kind != ChunkKind::kHeader) {
      return make_error(where + "the first chunk is of kind '" + chunk_kind_name(kind) +
                        "'; a trace must start with a header chunk");
    }
    if (index > 0 && kind == ChunkKind::kHeader) return make_error(where + "a second header chunk");
    if (summary.has_footer) return make_error(where + "a chunk after the footer chunk");

    ChunkDecoder decoder(kind, where, visitor, summary);
    if (auto status = decoder.decode(payload); !status) return status.error();
    ++summary.chunks;
    offset += sizeof(header) + length;
  }

  if (summary.chunks == 0) {
    // Without the header chunk there is nothing to analyse: no mappings,
    // no clock base, no runtime offsets.
    return make_error(quoted(path) + ": the trace ends before its header chunk is complete (" +
                      std::to_string(summary.truncated_bytes) +
                      " bytes after the file header); the recorder was probably killed at start-up");
  }
  if (!summary.has_footer) {
    summary.warnings.push_back(quoted(path) +
                               ": no footer chunk: the trace was not closed cleanly (the recorder "
                               "was killed or crashed), so its totals are missing");
  }
  return summary;
}

}  // namespace loophound::trace

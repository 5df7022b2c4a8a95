// TraceWriter: appends a trace file chunk by chunk. Used by the recorder.
// Events are buffered into the current events chunk, which is written out
// (length + CRC32C) when it passes kTargetChunkPayload or on flush(); a
// recorder killed mid-run therefore loses at most the unflushed chunk.
// Events chunks are zstd-compressed (kChunkZstd) when that shrinks them.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "schema/result.h"
#include "schema/trace_format.h"

namespace loophound::trace {

class TraceWriter {
 public:
  // Creates (truncates) `path` and writes the file header.
  static Result<std::unique_ptr<TraceWriter>> create(const std::string& path);
  // Without finish(): writes the buffered events as a last chunk (unless a
  // write already failed) and closes the file, without a footer.
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Writes the header chunk. Call once, before any event.
  Status write_header(const Header& header);

  // Buffer one record into the current events chunk; may write the chunk.
  Status add_stack(const Stack& stack);
  Status add_sample(const Sample& sample);
  Status add_execute(const ExecuteEvent& event);
  Status add_lost(const LostEvents& lost);
  Status add_goroutine_info(const GoroutineInfo& info);
  Status add_goroutine_state(const GoroutineState& state);
  Status add_goroutine_create(const GoroutineCreate& create);
  Status add_goroutine_exit(const GoroutineExit& exit);
  Status add_thread_switch(const ThreadSwitch& change);
  // One part of a bundle; data must not exceed kMaxBundlePart.
  Status add_binary_bundle(const BinaryBundle& bundle);

  // Writes the current events chunk, if it holds anything, and fflush()es.
  Status flush();
  // Flushes, writes the footer chunk and closes the file.
  Status finish(const Footer& footer);

  const std::string& path() const { return path_; }
  uint64_t bytes_written() const { return bytes_written_; }
  // Off: every chunk is stored as written (tests of the byte layout).
  void set_compression(bool on) { compress_ = on; }

 private:
  TraceWriter(std::string path, FILE* file);
  Status write_chunk(ChunkKind kind, const std::string& payload);
  Status maybe_flush();
  Status add_record(RecordKind kind, const std::string& body);
  Status check_writable() const;
  Status check_can_add() const;
  Status fail(const std::string& what);

  std::string path_;
  FILE* file_ = nullptr;
  std::string events_;              // payload of the events chunk being built
  uint64_t last_timestamp_ns_ = 0;  // delta base; reset at each chunk
  uint64_t bytes_written_ = 0;
  bool header_written_ = false;
  bool compress_ = true;
  // zstd's default level: about 300 MB/s here, far more than a recorder
  // produces, and most of the gain of higher levels.
  static constexpr int kZstdLevel = 3;
  // Set by the first failed write: the file then ends in a partial chunk,
  // which readers report as truncation, so nothing more may follow it.
  std::string failure_;
};

}  // namespace loophound::trace

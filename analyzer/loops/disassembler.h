// Decodes machine code into Instructions with LLVM's MC layer
// (MCDisassembler for decoding, MCInstrAnalysis for branch semantics).
// LLVM stays behind a pimpl: this header is plain C++.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analyzer/loops/instruction.h"
#include "schema/result.h"

namespace loophound::analyzer {

// The triple Go's linux/amd64 binaries are decoded with. arm64 would be
// "aarch64-unknown-linux-gnu"; nothing else in this library is
// x86-specific except the trap-opcode table in disassembler.cpp.
inline constexpr const char* kDefaultTriple = "x86_64-unknown-linux-gnu";

class Disassembler {
 public:
  // Fails with a message naming the triple when LLVM has no such target.
  static Result<std::unique_ptr<Disassembler>> create(const std::string& triple = kDefaultTriple);
  ~Disassembler();
  Disassembler(const Disassembler&) = delete;
  Disassembler& operator=(const Disassembler&) = delete;

  // Decodes `size` bytes that live at virtual address `address`, linearly
  // (no recursive descent: Go puts no data in its functions). Undecodable
  // bytes become one kInvalid instruction each and decoding resumes after
  // them. Not thread-safe: one Disassembler per thread.
  std::vector<Instruction> decode(const uint8_t* code, size_t size, uint64_t address) const;

  const std::string& triple() const;

 private:
  struct Impl;
  explicit Disassembler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loophound::analyzer

#include "analyzer/loops/function_loops.h"

#include <cstdio>
#include <memory>
#include <string>

namespace loophound::analyzer {
namespace {

std::string hex(uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

}  // namespace

Result<FunctionLoops> analyze_function(const Disassembler& disassembler, const uint8_t* code,
                                       size_t size, uint64_t entry_address,
                                       const NoReturnSet& noreturn) {
  if (code == nullptr || size == 0) {
    return make_error("function at " + hex(entry_address) + ": no code bytes");
  }
  FunctionLoops out;
  out.entry = entry_address;
  out.instructions = disassembler.decode(code, size, entry_address);
  if (out.instructions.front().kind == Instruction::kInvalid) {
    return make_error("function at " + hex(entry_address) + ": cannot decode the first instruction as " +
                      disassembler.triple());
  }
  out.graph = ControlFlowGraph::build(out.instructions, entry_address, noreturn);
  out.loops = find_loops(out.graph, out.instructions);
  return out;
}

Result<FunctionLoops> analyze_function(const uint8_t* code, size_t size, uint64_t entry_address,
                                       const NoReturnSet& noreturn) {
  // MC objects are not thread-safe, and building one takes a few ms; one
  // per thread is both safe and cheap.
  thread_local std::unique_ptr<Disassembler> disassembler;
  if (!disassembler) {
    Result<std::unique_ptr<Disassembler>> created = Disassembler::create();
    if (!created.ok()) return created.error();
    disassembler = std::move(created).value();
  }
  return analyze_function(*disassembler, code, size, entry_address, noreturn);
}

}  // namespace loophound::analyzer

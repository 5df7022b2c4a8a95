// Exit tests of loops in hand-assembled x86-64 code: which compares can
// end a loop, as "leaves when a REL b", and where a and b live. Every
// sequence starts at kBase; comments give addresses and how each rel8 /
// rel32 was computed (target = next instruction + rel).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "analyzer/loops/disassembler.h"
#include "analyzer/loops/exit_conditions.h"
#include "analyzer/loops/function_loops.h"

namespace loophound::analyzer {
namespace {

constexpr uint64_t kBase = 0x1000;

FunctionLoops analyze(const std::vector<uint8_t>& bytes, const NoReturnSet& noreturn = {}) {
  Result<FunctionLoops> result = analyze_function(bytes.data(), bytes.size(), kBase, noreturn);
  EXPECT_TRUE(result.ok()) << result.error().message;
  return result.ok() ? std::move(result).value() : FunctionLoops{};
}

// The exit tests of the one loop `bytes` holds.
std::vector<ExitCondition> exits_of_only_loop(const std::vector<uint8_t>& bytes, const NoReturnSet& noreturn = {}) {
  FunctionLoops code = analyze(bytes, noreturn);
  EXPECT_EQ(code.loops.size(), 1u);
  return code.loops.size() == 1 ? exit_conditions(code, 0) : std::vector<ExitCondition>{};
}

TEST(DataFlow, DecodesCompareLoadAndAdd) {
  auto disassembler = Disassembler::create();
  ASSERT_TRUE(disassembler.ok()) << disassembler.error().message;
  const std::vector<uint8_t> bytes = {
      0x48, 0x39, 0xc8,              // 1000: cmp rax, rcx       (flags of rax - rcx)
      0x48, 0x3b, 0x44, 0x24, 0x18,  // 1003: cmp rax, [rsp+0x18]
      0x48, 0x83, 0xfb, 0x05,        // 1008: cmp rbx, 5
      0x48, 0x8b, 0x4c, 0x24, 0x10,  // 100c: mov rcx, [rsp+0x10]
      0x48, 0xff, 0xc1,              // 1011: inc rcx
      0x48, 0x8d, 0x70, 0x01,        // 1014: lea rsi, [rax+1]
      0x48, 0x8b, 0x07,              // 1018: mov rax, [rdi]     (heap: not a slot)
      0x7c, 0xe4,                    // 101b: jl 0x1001
  };
  auto code = (*disassembler)->decode(bytes.data(), bytes.size(), kBase);
  ASSERT_EQ(code.size(), 8u);
  EXPECT_EQ(code[0].flow.op, DataFlow::kCompare);
  EXPECT_TRUE(code[0].flow.writes_flags);
  EXPECT_EQ(code[0].flow.width, 8);
  EXPECT_EQ(code[0].flow.a.kind, Operand::kRegister);
  EXPECT_EQ(code[0].flow.a.number, 0) << "rax";
  EXPECT_EQ(code[0].flow.b.number, 2) << "rcx";
  EXPECT_EQ(code[1].flow.b.kind, Operand::kStackSlot);
  EXPECT_EQ(code[1].flow.b.value, 0x18);
  EXPECT_EQ(code[2].flow.b.kind, Operand::kImmediate);
  EXPECT_EQ(code[2].flow.b.value, 5);
  EXPECT_EQ(code[3].flow.op, DataFlow::kLoad);
  EXPECT_EQ(code[3].flow.a.number, 2);
  EXPECT_EQ(code[3].flow.b.value, 0x10);
  EXPECT_EQ(code[3].flow.writes, 1u << 2);
  EXPECT_EQ(code[4].flow.op, DataFlow::kAddConst);
  EXPECT_EQ(code[4].flow.add, 1);
  EXPECT_EQ(code[5].flow.op, DataFlow::kAddConst);
  EXPECT_EQ(code[5].flow.a.number, 4) << "rsi";
  EXPECT_EQ(code[5].flow.b.number, 0) << "from rax";
  EXPECT_EQ(code[6].flow.op, DataFlow::kNone) << "a load from the heap carries no slot";
  EXPECT_EQ(code[6].flow.writes, 1u << 0);
  EXPECT_EQ(code[7].flow.condition, 12) << "jl";
}

// for i := 0; i < n; i++ {} with i in rax and n in rcx (Go's rotated form:
// enter at the test).
TEST(ExitConditions, InductionRegisterAgainstBound) {
  const std::vector<uint8_t> bytes = {
      0x31, 0xc0,        // 1000: xor eax, eax
      0xeb, 0x03,        // 1002: jmp 0x1007 (0x1004 + 3)
      0x48, 0xff, 0xc0,  // 1004: inc rax
      0x48, 0x39, 0xc8,  // 1007: cmp rax, rcx
      0x7c, 0xf8,        // 100a: jl 0x1004 (0x100c - 8)
      0xc3,              // 100c: ret
  };
  auto exits = exits_of_only_loop(bytes);
  ASSERT_EQ(exits.size(), 1u);
  const ExitCondition& e = exits[0];
  EXPECT_EQ(e.branch, 0x100au);
  EXPECT_EQ(e.relation, ExitCondition::kGreaterEqual) << "falls out when not rax < rcx";
  EXPECT_TRUE(e.is_signed);
  EXPECT_EQ(e.width, 8);
  EXPECT_EQ(e.a.place.kind, Operand::kRegister);
  EXPECT_EQ(e.a.place.number, 0);
  EXPECT_EQ(e.b.place.kind, Operand::kRegister);
  EXPECT_EQ(e.b.place.number, 2);
}

// Go 1.19 steps the index through a temporary: `lea rsi, [rdx+1]; mov
// rdx, rsi`. Back in rdx after going around: still the induction register.
TEST(ExitConditions, InductionThroughATemporaryRegister) {
  const std::vector<uint8_t> bytes = {
      0x31, 0xd2,              // 1000: xor edx, edx
      0xeb, 0x07,              // 1002: jmp 0x100b (0x1004 + 7)
      0x48, 0x8d, 0x72, 0x01,  // 1004: lea rsi, [rdx+1]
      0x48, 0x89, 0xf2,        // 1008: mov rdx, rsi
      0x48, 0x39, 0xca,        // 100b: cmp rdx, rcx
      0x7c, 0xf4,              // 100e: jl 0x1004 (0x1010 - 0xc)
      0xc3,                    // 1010: ret
  };
  auto exits = exits_of_only_loop(bytes);
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0].relation, ExitCondition::kGreaterEqual);
  EXPECT_EQ(exits[0].a.place.kind, Operand::kRegister);
  EXPECT_EQ(exits[0].a.place.number, 3) << "rdx";
  EXPECT_EQ(exits[0].b.place.number, 2) << "rcx";
}

// A loop that calls something keeps its index in a stack slot (Go keeps
// no register across a call): i at [rsp+0x10], the bound at [rsp+0x18].
TEST(ExitConditions, IndexInStackSlotAcrossCall) {
  const std::vector<uint8_t> bytes = {
      0x48, 0x83, 0xec, 0x28,              // 1000: sub rsp, 0x28
      0x31, 0xc0,                          // 1004: xor eax, eax
      0x48, 0x89, 0x44, 0x24, 0x10,        // 1006: mov [rsp+0x10], rax
      0xeb, 0x12,                          // 100b: jmp 0x101f (0x100d + 0x12)
      0xe8, 0xee, 0x0f, 0x00, 0x00,        // 100d: call 0x2000 (0x1012 + 0xfee)
      0x48, 0x8b, 0x4c, 0x24, 0x10,        // 1012: mov rcx, [rsp+0x10]
      0x48, 0xff, 0xc1,                    // 1017: inc rcx
      0x48, 0x89, 0x4c, 0x24, 0x10,        // 101a: mov [rsp+0x10], rcx
      0x48, 0x8b, 0x44, 0x24, 0x10,        // 101f: mov rax, [rsp+0x10]
      0x48, 0x3b, 0x44, 0x24, 0x18,        // 1024: cmp rax, [rsp+0x18]
      0x7c, 0xe2,                          // 1029: jl 0x100d (0x102b - 0x1e)
      0x48, 0x83, 0xc4, 0x28,              // 102b: add rsp, 0x28
      0xc3,                                // 102f: ret
  };
  auto exits = exits_of_only_loop(bytes);
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0].relation, ExitCondition::kGreaterEqual);
  EXPECT_EQ(exits[0].a.place.kind, Operand::kStackSlot);
  EXPECT_EQ(exits[0].a.place.value, 0x10);
  EXPECT_EQ(exits[0].a.add, 0);
  EXPECT_EQ(exits[0].b.place.kind, Operand::kStackSlot);
  EXPECT_EQ(exits[0].b.place.value, 0x18);
}

// Tests that say nothing about the loop finishing: a bounds check whose
// failure panics, and an equality test (for x != 0).
TEST(ExitConditions, LeavesOutPanicsAndEqualities) {
  const std::vector<uint8_t> bytes = {
      0x48, 0x39, 0xc8,              // 1000: cmp rax, rcx
      0x73, 0x0a,                    // 1003: jae 0x100f (0x1005 + 0xa): to the panic
      0x48, 0xff, 0xc0,              // 1005: inc rax
      0x48, 0x83, 0xfa, 0x00,        // 1008: cmp rdx, 0
      0x75, 0xf2,                    // 100c: jne 0x1000 (0x100e - 0xe)
      0xc3,                          // 100e: ret
      0xe8, 0xec, 0x0f, 0x00, 0x00,  // 100f: call 0x2000 (0x1014 + 0xfec): runtime.panicIndex
  };
  EXPECT_TRUE(exits_of_only_loop(bytes, NoReturnSet{0x2000}).empty());
}

// The index copied through another register and compared as i+1 (what Go
// emits for `for _, x := range s` with i reloaded from its slot).
TEST(ExitConditions, TracesCopiesAndAdds) {
  const std::vector<uint8_t> bytes = {
      0xeb, 0x10,                    // 1000: jmp 0x1012 (0x1002 + 0x10)
      0xe8, 0xf9, 0x0f, 0x00, 0x00,  // 1002: call 0x2000 (0x1007 + 0xff9)
      0x48, 0x8b, 0x4c, 0x24, 0x70,  // 1007: mov rcx, [rsp+0x70]
      0x48, 0xff, 0xc1,              // 100c: inc rcx
      0x48, 0x89, 0xcb,              // 100f: mov rbx, rcx
      0x48, 0x3b, 0x5c, 0x24, 0x20,  // 1012: cmp rbx, [rsp+0x20]
      0x7c, 0xe9,                    // 1017: jl 0x1002 (0x1019 - 0x17)
      0xc3,                          // 1019: ret
  };
  auto exits = exits_of_only_loop(bytes);
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0].a.place.kind, Operand::kStackSlot);
  EXPECT_EQ(exits[0].a.place.value, 0x70);
  EXPECT_EQ(exits[0].a.add, 1) << "compares i+1";
  EXPECT_EQ(exits[0].b.place.value, 0x20);
}

}  // namespace
}  // namespace loophound::analyzer

// Loop finding on hand-assembled x86-64 code. Every sequence starts at
// kBase; the comments give each instruction's address and how the
// rel8/rel32 displacement was computed (target = next instruction + rel).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "analyzer/loops/disassembler.h"
#include "analyzer/loops/dominators.h"
#include "analyzer/loops/function_loops.h"
#include "analyzer/loops/go_noreturn.h"

namespace loophound::analyzer {
namespace {

constexpr uint64_t kBase = 0x1000;

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

FunctionLoops analyze(const std::vector<uint8_t>& bytes, const NoReturnSet& noreturn = {}) {
  Result<FunctionLoops> result = analyze_function(bytes.data(), bytes.size(), kBase, noreturn);
  EXPECT_TRUE(result.ok()) << result.error().message;
  return result.ok() ? std::move(result).value() : FunctionLoops{};
}

// ---- Decoding ------------------------------------------------------------------

TEST(Disassembler, ClassifiesControlFlowAndStores) {
  Result<std::unique_ptr<Disassembler>> disassembler = Disassembler::create();
  ASSERT_TRUE(disassembler.ok()) << disassembler.error().message;
  const std::vector<uint8_t> bytes = {
      0xff, 0xe0,                    // 1000: jmp rax
      0xff, 0xd0,                    // 1002: call rax
      0x0f, 0x0b,                    // 1004: ud2
      0xcc,                          // 1006: int3
      0x50,                          // 1007: push rax
      0x48, 0x8b, 0x07,              // 1008: mov rax, [rdi]
      0xe8, 0xf0, 0x0f, 0x00, 0x00,  // 100b: call 0x2000 (0x1010 + 0xff0)
      0x74, 0xfe,                    // 1010: je 0x1010 (0x1012 - 2)
      0xc3,                          // 1012: ret
      0x06,                          // 1013: (push es: invalid in 64-bit mode)
  };
  std::vector<Instruction> code = (*disassembler)->decode(bytes.data(), bytes.size(), kBase);
  ASSERT_EQ(code.size(), 10u);
  const Instruction::Kind kinds[] = {
      Instruction::kIndirectJump, Instruction::kCall,     Instruction::kTrap,
      Instruction::kTrap,         Instruction::kOther,    Instruction::kOther,
      Instruction::kCall,         Instruction::kCondJump, Instruction::kReturn,
      Instruction::kInvalid};
  for (size_t i = 0; i < code.size(); ++i) EXPECT_EQ(code[i].kind, kinds[i]) << "instruction " << i;
  EXPECT_EQ(code[1].target, 0u) << "indirect call has no target";
  EXPECT_EQ(code[6].target, 0x2000u);
  EXPECT_EQ(code[7].target, 0x1010u);
  EXPECT_EQ(code[6].address, 0x100bu);
  EXPECT_EQ(code[6].size, 5u);
  EXPECT_TRUE(code[4].writes_memory) << "push writes the stack";
  EXPECT_FALSE(code[5].writes_memory) << "a load";
  EXPECT_FALSE(code[6].writes_memory) << "a call's return-address push is not counted";
  EXPECT_EQ(code[9].size, 1u);
}

TEST(Disassembler, UnknownTripleIsAnError) {
  Result<std::unique_ptr<Disassembler>> disassembler = Disassembler::create("pdp11-dec-unix");
  ASSERT_FALSE(disassembler.ok());
  EXPECT_NE(disassembler.error().message.find("'pdp11-dec-unix'"), std::string::npos)
      << disassembler.error().message;
}

TEST(AnalyzeFunction, UndecodableEntryIsAnError) {
  const std::vector<uint8_t> bytes = {0x06, 0xc3};
  Result<FunctionLoops> result = analyze_function(bytes.data(), bytes.size(), kBase);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("0x1000"), std::string::npos) << result.error().message;
  EXPECT_FALSE(analyze_function(bytes.data(), 0, kBase).ok());
}

// ---- Graphs without loops ----------------------------------------------------

TEST(Loops, StraightLineCodeHasNone) {
  FunctionLoops f = analyze({
      0x48, 0x89, 0xf8,  // 1000: mov rax, rdi
      0x48, 0x01, 0xf0,  // 1003: add rax, rsi
      0xc3,              // 1006: ret
  });
  ASSERT_EQ(f.graph.blocks().size(), 1u);
  EXPECT_TRUE(f.graph.blocks()[0].successors.empty());
  EXPECT_TRUE(f.graph.blocks()[0].leaves_function);
  EXPECT_TRUE(f.loops.empty());
  EXPECT_EQ(innermost_loop_at(f.loops, 0x1003), -1);
}

TEST(Loops, IfElseDiamondHasNone) {
  FunctionLoops f = analyze({
      0x48, 0x85, 0xff,              // 1000: test rdi, rdi
      0x74, 0x07,                    // 1003: je 0x100c (0x1005 + 7)
      0xb8, 0x01, 0x00, 0x00, 0x00,  // 1005: mov eax, 1
      0xeb, 0x05,                    // 100a: jmp 0x1011 (0x100c + 5)
      0xb8, 0x02, 0x00, 0x00, 0x00,  // 100c: mov eax, 2
      0xc3,                          // 1011: ret
  });
  const std::vector<BasicBlock>& blocks = f.graph.blocks();
  ASSERT_EQ(blocks.size(), 4u);
  EXPECT_EQ(blocks[0].start, 0x1000u);
  EXPECT_EQ(blocks[1].start, 0x1005u);
  EXPECT_EQ(blocks[2].start, 0x100cu);
  EXPECT_EQ(blocks[3].start, 0x1011u);
  EXPECT_EQ(blocks[0].successors, (std::vector<size_t>{2, 1}));
  EXPECT_EQ(blocks[3].predecessors.size(), 2u);
  DominatorTree dom(f.graph);
  EXPECT_EQ(dom.immediate_dominator(3), 0u) << "the join is dominated by the test, not a branch";
  EXPECT_FALSE(dom.dominates(1, 3));
  EXPECT_TRUE(f.loops.empty());
}

// ---- Single loops ------------------------------------------------------------

TEST(Loops, DecJnz) {
  FunctionLoops f = analyze({
      0x48, 0xff, 0xc9,  // 1000: dec rcx          <- header
      0x75, 0xfb,        // 1003: jnz 0x1000 (0x1005 - 5)
      0xc3,              // 1005: ret
  });
  ASSERT_EQ(f.loops.size(), 1u);
  const Loop& loop = f.loops[0];
  EXPECT_EQ(loop.header, 0x1000u);
  EXPECT_EQ(loop.ranges, (Ranges{{0x1000, 0x1005}}));
  EXPECT_EQ(loop.depth, 1);
  EXPECT_EQ(loop.parent, -1);
  EXPECT_FALSE(loop.has_call);
  EXPECT_FALSE(loop.has_store);
  EXPECT_TRUE(loop.has_exit);
  EXPECT_FALSE(loop.stack_check_retry);
  EXPECT_EQ(innermost_loop_at(f.loops, 0x1003), 0);
  EXPECT_EQ(innermost_loop_at(f.loops, 0x1005), -1) << "the ret is after the loop";
}

TEST(Loops, CallDoesNotEndTheBody) {
  FunctionLoops f = analyze({
      0xe8, 0xfb, 0x0f, 0x00, 0x00,  // 1000: call 0x2000 (0x1005 + 0xffb)  <- header
      0xff, 0xc9,                    // 1005: dec ecx
      0x75, 0xf7,                    // 1007: jnz 0x1000 (0x1009 - 9)
      0xc3,                          // 1009: ret
  });
  EXPECT_EQ(f.graph.blocks().size(), 2u) << "the call is inside the first block";
  ASSERT_EQ(f.loops.size(), 1u);
  EXPECT_EQ(f.loops[0].header, 0x1000u);
  EXPECT_EQ(f.loops[0].ranges, (Ranges{{0x1000, 0x1009}}));
  EXPECT_TRUE(f.loops[0].has_call);
  EXPECT_FALSE(f.loops[0].has_store);
  EXPECT_TRUE(f.loops[0].has_exit);
}

TEST(Loops, StoreIsSeen) {
  FunctionLoops f = analyze({
      0x48, 0x89, 0x07,        // 1000: mov [rdi], rax   <- header
      0x48, 0x83, 0xc7, 0x08,  // 1003: add rdi, 8
      0xff, 0xc9,              // 1007: dec ecx
      0x75, 0xf5,              // 1009: jnz 0x1000 (0x100b - 11)
      0xc3,                    // 100b: ret
  });
  ASSERT_EQ(f.loops.size(), 1u);
  EXPECT_EQ(f.loops[0].ranges, (Ranges{{0x1000, 0x100b}}));
  EXPECT_TRUE(f.loops[0].has_store);
  EXPECT_FALSE(f.loops[0].has_call);
}

TEST(Loops, JumpToItselfHasNoExit) {
  FunctionLoops f = analyze({
      0x90,        // 1000: nop
      0xeb, 0xfe,  // 1001: jmp 0x1001 (0x1003 - 2)   <- header
  });
  ASSERT_EQ(f.loops.size(), 1u);
  EXPECT_EQ(f.loops[0].header, 0x1001u);
  EXPECT_EQ(f.loops[0].ranges, (Ranges{{0x1001, 0x1003}}));
  EXPECT_FALSE(f.loops[0].has_exit);
  EXPECT_FALSE(f.loops[0].has_call);
  EXPECT_FALSE(f.loops[0].has_store);
  EXPECT_EQ(innermost_loop_at(f.loops, 0x1000), -1);
  EXPECT_EQ(innermost_loop_at(f.loops, 0x1002), 0);
}

// A `continue` and the end of the body both jump to the header: two back
// edges, one loop.
TEST(Loops, TwoBackEdgesToOneHeaderAreMerged) {
  FunctionLoops f = analyze({
      0xff, 0xc9,        // 1000: dec ecx              <- header
      0x74, 0x0a,        // 1002: je 0x100e (0x1004 + 10)   exit
      0x48, 0x85, 0xff,  // 1004: test rdi, rdi
      0x74, 0xf7,        // 1007: je 0x1000 (0x1009 - 9)    back edge 1
      0x48, 0xff, 0xc7,  // 1009: inc rdi
      0xeb, 0xf2,        // 100c: jmp 0x1000 (0x100e - 14)  back edge 2
      0xc3,              // 100e: ret
  });
  ASSERT_EQ(f.loops.size(), 1u);
  EXPECT_EQ(f.loops[0].header, 0x1000u);
  EXPECT_EQ(f.loops[0].ranges, (Ranges{{0x1000, 0x100e}}));
  EXPECT_EQ(f.loops[0].blocks.size(), 3u);
  EXPECT_TRUE(f.loops[0].has_exit);
}

// ---- Nesting -----------------------------------------------------------------

TEST(Loops, NestedLoopsHaveDepthAndParent) {
  FunctionLoops f = analyze({
      0xb9, 0x0a, 0x00, 0x00, 0x00,  // 1000: mov ecx, 10
      0xba, 0x05, 0x00, 0x00, 0x00,  // 1005: mov edx, 5      <- outer header
      0xff, 0xca,                    // 100a: dec edx         <- inner header
      0x75, 0xfc,                    // 100c: jnz 0x100a (0x100e - 4)
      0xff, 0xc9,                    // 100e: dec ecx
      0x75, 0xf3,                    // 1010: jnz 0x1005 (0x1012 - 13)
      0xc3,                          // 1012: ret
  });
  ASSERT_EQ(f.loops.size(), 2u);
  const Loop& outer = f.loops[0];
  const Loop& inner = f.loops[1];
  EXPECT_EQ(outer.header, 0x1005u);
  EXPECT_EQ(outer.ranges, (Ranges{{0x1005, 0x1012}}));
  EXPECT_EQ(outer.depth, 1);
  EXPECT_EQ(outer.parent, -1);
  EXPECT_EQ(inner.header, 0x100au);
  EXPECT_EQ(inner.ranges, (Ranges{{0x100a, 0x100e}}));
  EXPECT_EQ(inner.depth, 2);
  EXPECT_EQ(inner.parent, 0);
  EXPECT_TRUE(inner.has_exit);
  EXPECT_EQ(innermost_loop_at(f.loops, 0x1000), -1);
  EXPECT_EQ(innermost_loop_at(f.loops, 0x1005), 0);
  EXPECT_EQ(innermost_loop_at(f.loops, 0x100c), 1);
  EXPECT_EQ(innermost_loop_at(f.loops, 0x1010), 0);
  EXPECT_EQ(innermost_loop_at(f.loops, 0x1012), -1);
}

// ---- Go's shapes -------------------------------------------------------------

// The prologue every Go function with a frame has: a stack check at the
// entry whose slow path (after the body) calls runtime.morestack and jumps
// back to the entry. That cycle is a loop of the graph, not of the source.
TEST(Loops, GoStackCheckRetryIsMarked) {
  FunctionLoops f = analyze({
      0x49, 0x3b, 0x66, 0x10,        // 1000: cmp rsp, [r14+0x10]   <- entry
      0x76, 0x0a,                    // 1004: jbe 0x1010 (0x1006 + 10)
      0x55,                          // 1006: push rbp
      0x48, 0x89, 0xe5,              // 1007: mov rbp, rsp
      0xff, 0xc9,                    // 100a: dec ecx               <- loop header
      0x75, 0xfc,                    // 100c: jnz 0x100a (0x100e - 4)
      0x5d,                          // 100e: pop rbp
      0xc3,                          // 100f: ret
      0xe8, 0xeb, 0x0f, 0x00, 0x00,  // 1010: call 0x2000 (morestack; 0x1015 + 0xfeb)
      0xeb, 0xe9,                    // 1015: jmp 0x1000 (0x1017 - 23)
  });
  ASSERT_EQ(f.loops.size(), 2u);
  const Loop& retry = f.loops[0];
  EXPECT_EQ(retry.header, 0x1000u);
  EXPECT_EQ(retry.ranges, (Ranges{{0x1000, 0x1006}, {0x1010, 0x1017}}));
  EXPECT_TRUE(retry.stack_check_retry);
  const Loop& loop = f.loops[1];
  EXPECT_EQ(loop.header, 0x100au);
  EXPECT_FALSE(loop.stack_check_retry);
  EXPECT_EQ(loop.depth, 1) << "disjoint from the retry cycle";
  EXPECT_EQ(innermost_loop_at(f.loops, 0x1004), -1) << "retry cycles are skipped";
  EXPECT_EQ(innermost_loop_at(f.loops, 0x100c), 1);
}

// Frames larger than StackBig check twice (the subtraction can wrap).
TEST(Loops, GoBigFrameStackCheckRetryIsMarked) {
  FunctionLoops f = analyze({
      0x49, 0x89, 0xe4,                          // 1000: mov r12, rsp
      0x49, 0x81, 0xec, 0x00, 0x20, 0x00, 0x00,  // 1003: sub r12, 0x2000
      0x72, 0x08,                                // 100a: jb 0x1014 (0x100c + 8)
      0x4d, 0x3b, 0x66, 0x10,                    // 100c: cmp r12, [r14+0x10]
      0x76, 0x02,                                // 1010: jbe 0x1014 (0x1012 + 2)
      0x90,                                      // 1012: nop
      0xc3,                                      // 1013: ret
      0xe8, 0xe7, 0x0f, 0x00, 0x00,              // 1014: call 0x2000 (0x1019 + 0xfe7)
      0xeb, 0xe5,                                // 1019: jmp 0x1000 (0x101b - 27)
  });
  ASSERT_EQ(f.loops.size(), 1u);
  EXPECT_TRUE(f.loops[0].stack_check_retry);
  EXPECT_EQ(f.loops[0].blocks.size(), 3u);
  EXPECT_EQ(f.loops[0].ranges, (Ranges{{0x1000, 0x1012}, {0x1014, 0x101b}}));
}

// Go lays out a panic call and then, without a jump, unrelated code. Read
// as "the call returns", the panic falls into the loop header and becomes
// a second latch; told that 0x2000 never returns, the loop is just the
// two real blocks and the panic path is its exit.
TEST(Loops, NoReturnCallsEndBlocks) {
  const std::vector<uint8_t> bytes = {
      0xeb, 0x05,                    // 1000: jmp 0x1007 (0x1002 + 5)
      0xe8, 0xf9, 0x0f, 0x00, 0x00,  // 1002: call 0x2000 (panicIndex; 0x1007 + 0xff9)
      0xff, 0xc0,                    // 1007: inc eax          <- header
      0x39, 0xf8,                    // 1009: cmp eax, edi
      0x77, 0xf5,                    // 100b: ja 0x1002 (0x100d - 11)
      0xeb, 0xf8,                    // 100d: jmp 0x1007 (0x100f - 8)
  };
  FunctionLoops naive = analyze(bytes);
  ASSERT_EQ(naive.loops.size(), 1u);
  EXPECT_EQ(naive.loops[0].ranges, (Ranges{{0x1002, 0x100f}}));
  EXPECT_TRUE(naive.loops[0].has_call);
  EXPECT_FALSE(naive.loops[0].has_exit);

  FunctionLoops informed = analyze(bytes, NoReturnSet{0x2000});
  ASSERT_EQ(informed.loops.size(), 1u);
  EXPECT_EQ(informed.loops[0].header, 0x1007u);
  EXPECT_EQ(informed.loops[0].ranges, (Ranges{{0x1007, 0x100f}}));
  EXPECT_FALSE(informed.loops[0].has_call);
  EXPECT_TRUE(informed.loops[0].has_exit) << "the edge to the panic leaves the loop";
}

// A side path that rejoins inside the body (1003 -> 1005 -> 1007) belongs
// to the loop: it reaches the latch without passing the header.
TEST(Loops, SidePathInsideTheBodyIsIncluded) {
  FunctionLoops f = analyze({
      0x48, 0x85, 0xff,  // 1000: test rdi, rdi
      0x74, 0x02,        // 1003: je 0x1007 (0x1005 + 2)   <- header (target of the jnz)
      0xeb, 0x00,        // 1005: jmp 0x1007 (0x1007 + 0)
      0xff, 0xc9,        // 1007: dec ecx
      0x75, 0xf8,        // 1009: jnz 0x1003 (0x100b - 8)
      0xc3,              // 100b: ret
  });
  ASSERT_EQ(f.loops.size(), 1u);
  EXPECT_EQ(f.loops[0].header, 0x1003u);
  EXPECT_EQ(f.loops[0].blocks.size(), 3u);
  EXPECT_EQ(f.loops[0].ranges, (Ranges{{0x1003, 0x100b}}));
}

// An irreducible cycle: a and b are both entered from outside, so neither
// dominates the other and no edge of the cycle is a back edge. Ignored by
// design (see natural_loops.h).
TEST(Loops, IrreducibleTwoEntryCycleHasNoLoop) {
  FunctionLoops f = analyze({
      0x48, 0x85, 0xff,  // 1000: test rdi, rdi
      0x74, 0x04,        // 1003: je 0x1009 (0x1005 + 4)     enter at b
      0xff, 0xc9,        // 1005: dec ecx                   a
      0x74, 0x04,        // 1007: je 0x100d (0x1009 + 4)     exit
      0xff, 0xca,        // 1009: dec edx                   b
      0xeb, 0xf8,        // 100b: jmp 0x1005 (0x100d - 8)    b -> a
      0xc3,              // 100d: ret
  });
  EXPECT_TRUE(f.loops.empty());
}

TEST(GoNoReturn, KnowsTheCompilersPanicHelpers) {
  for (const char* name : {"runtime.throw", "runtime.gopanic", "runtime.panicIndex",
                           "runtime.panicBounds", "runtime.panicBounds.abi0", "runtime.goPanicIndex",
                           "runtime.panicdivide", "runtime.panicshift", "runtime.panicwrap",
                           "runtime.panicdottypeE", "runtime.panicmakeslicelen", "runtime.block",
                           "runtime.fatal", "internal/runtime/cgroup.throw",
                           "internal/runtime/maps.fatal", "crypto/rand.fatal"}) {
    EXPECT_TRUE(is_go_noreturn_function(name)) << name;
  }
  for (const char* name : {"runtime.panicCheck1", "runtime.throw.func1", "runtime.morestack_noctxt.abi0",
                           "runtime.chansend1", "main.panicIndex", "runtime.(*_panic).start",
                           "runtime.printpanics", "main.throw", "example.com/log.fatal"}) {
    EXPECT_FALSE(is_go_noreturn_function(name)) << name;
  }
}

}  // namespace
}  // namespace loophound::analyzer

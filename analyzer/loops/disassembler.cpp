// The only file that includes LLVM. Objects are created in the order the
// MC layer requires: target -> register info -> asm info -> subtarget ->
// instruction info -> context -> disassembler and instruction analysis.
#include "analyzer/loops/disassembler.h"

#include <llvm/ADT/ArrayRef.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/ADT/Triple.h>
#include <llvm/MC/MCAsmInfo.h>
#include <llvm/MC/MCContext.h>
#include <llvm/MC/MCDisassembler/MCDisassembler.h>
#include <llvm/MC/MCInst.h>
#include <llvm/MC/MCInstrAnalysis.h>
#include <llvm/MC/MCInstrInfo.h>
#include <llvm/MC/MCRegisterInfo.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/MCTargetOptions.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <mutex>
#include <string_view>

namespace loophound::analyzer {
namespace {

// Instructions that stop execution but that LLVM does not flag isTrap.
// This table is the one architecture-specific place of the library.
//   x86-64: int3 is Go's padding between and after functions and the
//           "unreachable" marker in runtime assembly; ud2 (LLVM's TRAP) is
//           already isTrap, its ud1 cousins are not.
//   arm64:  brk, and udf (what Go's UNDEF assembles to).
bool is_extra_trap(llvm::Triple::ArchType arch, std::string_view opcode_name) {
  switch (arch) {
    case llvm::Triple::x86_64:
    case llvm::Triple::x86:
      return opcode_name == "INT3" || opcode_name.starts_with("UD1");
    case llvm::Triple::aarch64:
      return opcode_name == "BRK" || opcode_name == "UDF";
    default:
      return false;
  }
}

// LLVM's registries are global; initialising every target once costs a few
// milliseconds and keeps the triple the only thing that selects one.
void initialize_llvm_targets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllDisassemblers();
  });
}

}  // namespace

struct Disassembler::Impl {
  std::string triple_name;
  llvm::Triple triple;
  std::unique_ptr<llvm::MCRegisterInfo> register_info;
  std::unique_ptr<llvm::MCAsmInfo> asm_info;
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget_info;
  std::unique_ptr<llvm::MCInstrInfo> instr_info;
  std::unique_ptr<llvm::MCContext> context;
  std::unique_ptr<llvm::MCDisassembler> disassembler;
  std::unique_ptr<llvm::MCInstrAnalysis> analysis;

  Instruction classify(const llvm::MCInst& inst, uint64_t address, uint64_t size) const;
};

Result<std::unique_ptr<Disassembler>> Disassembler::create(const std::string& triple) {
  initialize_llvm_targets();
  auto impl = std::make_unique<Impl>();
  impl->triple_name = triple;
  impl->triple = llvm::Triple(triple);
  std::string lookup_error;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(triple, lookup_error);
  if (target == nullptr) {
    return make_error("no LLVM target for triple '" + triple + "': " + lookup_error);
  }
  auto fail = [&](const char* what) {
    return make_error(std::string("LLVM cannot create ") + what + " for triple '" + triple + "'");
  };
  impl->register_info.reset(target->createMCRegInfo(triple));
  if (!impl->register_info) return fail("register info");
  llvm::MCTargetOptions options;
  impl->asm_info.reset(target->createMCAsmInfo(*impl->register_info, triple, options));
  if (!impl->asm_info) return fail("asm info");
  // Empty CPU and features: the generic CPU still decodes every extension
  // (the disassembler is not limited by what the CPU would execute).
  impl->subtarget_info.reset(target->createMCSubtargetInfo(triple, "", ""));
  if (!impl->subtarget_info) return fail("subtarget info");
  impl->instr_info.reset(target->createMCInstrInfo());
  if (!impl->instr_info) return fail("instruction info");
  impl->context = std::make_unique<llvm::MCContext>(impl->triple, impl->asm_info.get(),
                                                    impl->register_info.get(),
                                                    impl->subtarget_info.get());
  impl->disassembler.reset(target->createMCDisassembler(*impl->subtarget_info, *impl->context));
  if (!impl->disassembler) return fail("a disassembler");
  impl->analysis.reset(target->createMCInstrAnalysis(impl->instr_info.get()));
  if (!impl->analysis) return fail("instruction analysis");
  return std::unique_ptr<Disassembler>(new Disassembler(std::move(impl)));
}

Disassembler::Disassembler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Disassembler::~Disassembler() = default;

const std::string& Disassembler::triple() const { return impl_->triple_name; }

Instruction Disassembler::Impl::classify(const llvm::MCInst& inst, uint64_t address,
                                         uint64_t size) const {
  Instruction out;
  out.address = address;
  out.size = static_cast<uint32_t>(size);
  const llvm::MCInstrDesc& desc = instr_info->get(inst.getOpcode());
  uint64_t target = 0;
  bool direct = analysis->evaluateBranch(inst, address, size, target);
  // Order matters: on some targets returns are also branches (aarch64 RET
  // is an indirect branch through x30), and calls are never jumps.
  if (analysis->isReturn(inst)) {
    out.kind = Instruction::kReturn;
  } else if (analysis->isCall(inst)) {
    out.kind = Instruction::kCall;
    if (direct) out.target = target;
  } else if (analysis->isBranch(inst)) {
    if (!direct || analysis->isIndirectBranch(inst)) {
      out.kind = Instruction::kIndirectJump;
    } else {
      out.kind = analysis->isConditionalBranch(inst) ? Instruction::kCondJump : Instruction::kJump;
      out.target = target;
    }
  } else if (desc.isTrap() ||
             is_extra_trap(triple.getArch(), std::string_view(instr_info->getName(inst.getOpcode())))) {
    out.kind = Instruction::kTrap;
  }
  // A call's push of the return address is not a store of the program's
  // (and LLVM flags some call encodings mayStore, others not).
  out.writes_memory = desc.mayStore() && out.kind != Instruction::kCall;
  return out;
}

std::vector<Instruction> Disassembler::decode(const uint8_t* code, size_t size,
                                              uint64_t address) const {
  std::vector<Instruction> out;
  out.reserve(size / 4);
  size_t offset = 0;
  while (offset < size) {
    llvm::MCInst inst;
    uint64_t length = 0;
    llvm::ArrayRef<uint8_t> bytes(code + offset, size - offset);
    llvm::MCDisassembler::DecodeStatus status =
        impl_->disassembler->getInstruction(inst, length, bytes, address + offset, llvm::nulls());
    if (length == 0 || length > size - offset) length = 1;
    if (status == llvm::MCDisassembler::Fail) {
      // Resynchronise after the bytes LLVM consumed, like llvm-objdump.
      Instruction invalid;
      invalid.address = address + offset;
      invalid.size = static_cast<uint32_t>(length);
      invalid.kind = Instruction::kInvalid;
      out.push_back(invalid);
    } else {
      // SoftFail (a valid but unpredictable encoding) decodes normally.
      out.push_back(impl_->classify(inst, address + offset, length));
    }
    offset += length;
  }
  return out;
}

}  // namespace loophound::analyzer

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
  // x86-64: the 16 general registers by Operand number (rax rbx rcx rdx
  // rsi rdi rbp rsp r8-r15), and the flags register; empty elsewhere.
  std::vector<unsigned> gprs;
  unsigned eflags = 0;

  Instruction classify(const llvm::MCInst& inst, uint64_t address, uint64_t size) const;
  void find_x86_registers();
  // Operand number of `reg` or one of its parts (eax, ax, al), or -1.
  int gpr_number(unsigned reg) const;
  DataFlow data_flow(const llvm::MCInst& inst, const llvm::MCInstrDesc& desc) const;
};

void Disassembler::Impl::find_x86_registers() {
  if (triple.getArch() != llvm::Triple::x86_64) return;
  static const char* const kNames[] = {"RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "RSP",
                                       "R8",  "R9",  "R10", "R11", "R12", "R13", "R14", "R15"};
  std::vector<unsigned> found(16, 0);
  for (unsigned reg = 1; reg < register_info->getNumRegs(); ++reg) {
    std::string_view name = register_info->getName(reg);
    if (name == "EFLAGS") eflags = reg;
    for (size_t i = 0; i < 16; ++i)
      if (name == kNames[i]) found[i] = reg;
  }
  if (std::find(found.begin(), found.end(), 0u) == found.end()) gprs = found;
}

int Disassembler::Impl::gpr_number(unsigned reg) const {
  if (reg == 0) return -1;
  for (size_t i = 0; i < gprs.size(); ++i)
    if (register_info->isSubRegisterEq(gprs[i], reg)) return static_cast<int>(i);
  return -1;
}

// Opcode names are LLVM's (CMP64rr, CMP32mi8, MOV64rm, JCC_1, ...): the
// number is the operand width in bits, the letters the operand forms (r
// register, m memory, i immediate). An x86 memory operand is five MCInst
// operands: base, scale, index, displacement, segment.
DataFlow Disassembler::Impl::data_flow(const llvm::MCInst& inst, const llvm::MCInstrDesc& desc) const {
  DataFlow flow;
  if (gprs.empty()) return flow;
  for (unsigned i = 0; i < desc.getNumDefs() && i < inst.getNumOperands(); ++i)
    if (inst.getOperand(i).isReg())
      if (int n = gpr_number(inst.getOperand(i).getReg()); n >= 0) flow.writes |= static_cast<uint16_t>(1u << n);
  for (unsigned i = 0; i < desc.getNumImplicitDefs(); ++i) {
    unsigned reg = desc.getImplicitDefs()[i];
    if (reg == eflags) flow.writes_flags = true;
    if (int n = gpr_number(reg); n >= 0) flow.writes |= static_cast<uint16_t>(1u << n);
  }
  if (desc.isCall()) flow.writes = 0xffff;  // Go's ABI keeps no register across a call
  const std::string_view name = instr_info->getName(inst.getOpcode());
  auto reg_at = [&](unsigned i) {
    Operand o;
    if (i < inst.getNumOperands() && inst.getOperand(i).isReg())
      if (int n = gpr_number(inst.getOperand(i).getReg()); n >= 0) o.kind = Operand::kRegister, o.number = static_cast<uint8_t>(n);
    return o;
  };
  auto imm_at = [&](unsigned i) {
    Operand o;
    if (i < inst.getNumOperands() && inst.getOperand(i).isImm()) o.kind = Operand::kImmediate, o.value = inst.getOperand(i).getImm();
    return o;
  };
  // [rsp + disp] with no index and no segment: a stack slot.
  auto mem_at = [&](unsigned i) {
    Operand o;
    if (i + 4 >= inst.getNumOperands()) return o;
    const auto &base = inst.getOperand(i), &index = inst.getOperand(i + 2), &disp = inst.getOperand(i + 3),
               &segment = inst.getOperand(i + 4);
    if (base.isReg() && gpr_number(base.getReg()) == 7 && index.isReg() && index.getReg() == 0 && disp.isImm() &&
        segment.isReg() && segment.getReg() == 0)
      o.kind = Operand::kStackSlot, o.value = disp.getImm();
    return o;
  };
  // "CMP64rm" -> width 8, forms "rm"
  auto split = [&](std::string_view prefix, uint8_t* width, std::string_view* forms) {
    if (!name.starts_with(prefix)) return false;
    std::string_view rest = name.substr(prefix.size());
    int bits = 0;
    size_t k = 0;
    while (k < rest.size() && rest[k] >= '0' && rest[k] <= '9') bits = bits * 10 + (rest[k++] - '0');
    if (bits != 8 && bits != 16 && bits != 32 && bits != 64) return false;
    *width = static_cast<uint8_t>(bits / 8);
    *forms = rest.substr(k);
    return true;
  };
  uint8_t width = 0;
  std::string_view forms;
  if (name.starts_with("JCC_") && inst.getNumOperands() >= 2 && inst.getOperand(inst.getNumOperands() - 1).isImm()) {
    flow.condition = static_cast<uint8_t>(inst.getOperand(inst.getNumOperands() - 1).getImm() & 0xf);
  } else if (split("CMP", &width, &forms)) {
    flow.op = DataFlow::kCompare;
    flow.width = width;
    if (forms.starts_with("rr")) flow.a = reg_at(0), flow.b = reg_at(1);
    else if (forms.starts_with("ri")) flow.a = reg_at(0), flow.b = imm_at(1);
    else if (forms.starts_with("rm")) flow.a = reg_at(0), flow.b = mem_at(1);
    else if (forms.starts_with("mr")) flow.a = mem_at(0), flow.b = reg_at(5);
    else if (forms.starts_with("mi")) flow.a = mem_at(0), flow.b = imm_at(5);
    else if (forms.starts_with("i")) flow.a.kind = Operand::kRegister, flow.a.number = 0, flow.b = imm_at(0);  // cmp rax, imm
    else flow.op = DataFlow::kNone;
  } else if (split("MOV", &width, &forms) && (width == 8 || width == 4)) {
    if (forms == "rm") flow.op = DataFlow::kLoad, flow.width = width, flow.a = reg_at(0), flow.b = mem_at(1);
    else if (forms == "rr" || forms == "rr_REV") flow.op = DataFlow::kCopy, flow.width = width, flow.a = reg_at(0), flow.b = reg_at(1);
  } else if ((split("INC", &width, &forms) || split("DEC", &width, &forms)) && forms == "r" && width >= 4) {
    flow.op = DataFlow::kAddConst, flow.a = reg_at(0), flow.b = reg_at(1), flow.add = name[0] == 'I' ? 1 : -1;
  } else if ((split("ADD", &width, &forms) || split("SUB", &width, &forms)) && forms.starts_with("ri") && width >= 4) {
    Operand k = imm_at(2);
    if (k.kind == Operand::kImmediate)
      flow.op = DataFlow::kAddConst, flow.a = reg_at(0), flow.b = reg_at(1), flow.add = name[0] == 'A' ? k.value : -k.value;
  } else if (split("LEA", &width, &forms) && width >= 4 && inst.getNumOperands() >= 6) {
    const auto &index = inst.getOperand(3), &disp = inst.getOperand(4), &segment = inst.getOperand(5);
    if (index.isReg() && index.getReg() == 0 && disp.isImm() && segment.isReg() && segment.getReg() == 0)
      flow.op = DataFlow::kAddConst, flow.a = reg_at(0), flow.b = reg_at(1), flow.add = disp.getImm();
  }
  // A form whose operands did not resolve to what it needs is no help.
  bool ok = true;
  switch (flow.op) {
    case DataFlow::kCompare: ok = flow.a.kind != Operand::kNone && flow.b.kind != Operand::kNone; break;
    case DataFlow::kLoad: ok = flow.a.kind == Operand::kRegister && flow.b.kind == Operand::kStackSlot; break;
    case DataFlow::kCopy:
    case DataFlow::kAddConst: ok = flow.a.kind == Operand::kRegister && flow.b.kind == Operand::kRegister; break;
    case DataFlow::kNone: break;
  }
  if (!ok) flow.op = DataFlow::kNone, flow.a = flow.b = Operand{}, flow.add = 0;
  return flow;
}

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
  impl->find_x86_registers();
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
  out.flow = data_flow(inst, desc);
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

"""Print instructions exactly as the kernel does.

The text format is the one of ``print_bpf_insn()`` in the kernel's ``kernel/bpf/disasm.c``
(Linux 6.18): it is what the verifier log shows (``12: (85) call bpf_map_lookup_elem#1``) and
what ``bpftool prog dump xlated`` prints, so a message that quotes an instruction in this form
can be matched against either.  Keeping byte-for-byte fidelity matters more than prettiness:
``if r1 == 0x0 goto pc+3`` prints the immediate in hex but ``r1 += 3`` in decimal, a 32-bit
store of an immediate reads ``*(u32 *)(r10 -4) = 7`` (no space between sign and number), and
instruction forms the kernel does not know print as ``BUG_...`` without the opcode prefix.

Like the kernel, the printer delegates two things to its caller:

``call_name(ins) -> str | None``
    the name of a call target.  Consulted for every call except a helper call whose id the
    built-in table knows (``bpf_map_lookup_elem`` etc.).  Returning ``None`` falls back to the
    kernel's default: ``pc+N`` (``call pc+N``) for a bpf-to-bpf call, ``kernel-function`` for a
    kfunc and ``unknown`` otherwise.
``imm_repr(ins) -> str | None``
    the text for an ld_imm64 constant (a map, a map value, a function, a BTF id...).  ``None``
    falls back to the kernel's ``0x`` + hex of the 64-bit value.

:mod:`bpfdoctor.asm.xlated` provides the callbacks bpftool uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from .helpers import HELPER_NAMES
from .instruction import Instruction, slot_offsets
from .opcodes import (
    CLASS_MASK,
    EXIT,
    GOTOL,
    JA,
    JCOND,
    MODE_MASK,
    NOSPEC,
    OFF_ADDR_PERCPU,
    OFF_ADDR_SPACE_CAST,
    OFF_MOVSX,
    OFF_SDIV_SMOD,
    OP_MASK,
    SIZE_MASK,
    SOURCE_MASK,
    AluOp,
    AtomicOp,
    Endian,
    InsnClass,
    JmpOp,
    Mode,
    PseudoCall,
    PseudoJcond,
    PseudoSrc,
    Size,
    Source,
)

CallName = Callable[[Instruction], "str | None"]
ImmRepr = Callable[[Instruction], "str | None"]
Style = Literal["kernel", "bare"]

_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF

# The C tables index by (field >> shift) and print a NULL entry through "%s", which both the
# kernel's and glibc's printf render as "(null)"; .get(..., _NULL) reproduces that.
_NULL = "(null)"

_ALU_OPS: dict[int, str] = {
    AluOp.ADD: "+=", AluOp.SUB: "-=", AluOp.MUL: "*=", AluOp.DIV: "/=", AluOp.OR: "|=",
    AluOp.AND: "&=", AluOp.LSH: "<<=", AluOp.RSH: ">>=", AluOp.NEG: "neg", AluOp.MOD: "%=",
    AluOp.XOR: "^=", AluOp.MOV: "=", AluOp.ARSH: "s>>=", AluOp.END: "endian",
}
_SIGNED_ALU_OPS: dict[int, str] = {AluOp.DIV: "s/=", AluOp.MOD: "s%="}
_MOVSX_CASTS: dict[int, str] = {8: "(s8)", 16: "(s16)", 32: "(s32)"}
_ATOMIC_NAMES: dict[int, str] = {
    AluOp.ADD: "add", AluOp.AND: "and", AluOp.OR: "or", AluOp.XOR: "xor",
}
_UNSIGNED_TYPES: dict[int, str] = {Size.W: "u32", Size.H: "u16", Size.B: "u8", Size.DW: "u64"}
_SIGNED_TYPES: dict[int, str] = {Size.W: "s32", Size.H: "s16", Size.B: "s8"}
_JMP_OPS: dict[int, str] = {
    JmpOp.JA: "jmp", JmpOp.JEQ: "==", JmpOp.JGT: ">", JmpOp.JLT: "<", JmpOp.JGE: ">=",
    JmpOp.JLE: "<=", JmpOp.JSET: "&", JmpOp.JNE: "!=", JmpOp.JSGT: "s>", JmpOp.JSLT: "s<",
    JmpOp.JSGE: "s>=", JmpOp.JSLE: "s<=", JmpOp.CALL: "call", JmpOp.EXIT: "exit",
}
_PLAIN_ATOMICS = (AtomicOp.ADD, AtomicOp.AND, AtomicOp.OR, AtomicOp.XOR)
_FETCH_ATOMICS = (AtomicOp.FETCH_ADD, AtomicOp.FETCH_AND, AtomicOp.FETCH_OR, AtomicOp.FETCH_XOR)
_MOV64_X = InsnClass.ALU64 | AluOp.MOV | Source.X


def _s32(v: int) -> int:
    v &= _U32
    return v - (1 << 32) if v & 0x80000000 else v


class _Printer:
    """One rendering: the callbacks plus the pointer-hiding switch."""

    def __init__(self, call_name: CallName | None, imm_repr: ImmRepr | None,
                 allow_ptr_leaks: bool) -> None:
        self.call_name = call_name
        self.imm_repr = imm_repr
        self.allow_ptr_leaks = allow_ptr_leaks

    # Each method returns (has_opcode_prefix, text).  BUG_* lines carry no "(xx) " prefix.

    def render(self, ins: Instruction) -> tuple[bool, str]:
        cls = ins.opcode & CLASS_MASK
        if cls in (InsnClass.ALU, InsnClass.ALU64):
            return self._alu(ins)
        if cls == InsnClass.STX:
            return self._stx(ins)
        if cls == InsnClass.ST:
            return self._st(ins)
        if cls == InsnClass.LDX:
            return self._ldx(ins)
        if cls == InsnClass.LD:
            return self._ld(ins)
        return self._jmp(ins)

    @staticmethod
    def _alu(ins: Instruction) -> tuple[bool, str]:
        code, dst, src, off = ins.opcode, ins.dst, ins.src, ins.off
        wide = code & CLASS_MASK == InsnClass.ALU64
        r = "r" if wide else "w"
        alu_op = code & OP_MASK
        if alu_op == AluOp.END:
            if wide:
                return True, f"r{dst} = bswap{_s32(ins.imm)} r{dst}"
            order = "be" if code & SOURCE_MASK == Endian.TO_BE else "le"
            return True, f"r{dst} = {order}{_s32(ins.imm)} r{dst}"
        if alu_op == AluOp.NEG:
            return True, f"{r}{dst} = -{r}{dst}"
        if code == _MOV64_X and off == OFF_ADDR_SPACE_CAST:
            imm = ins.imm & _U32
            return True, f"r{dst} = addr_space_cast(r{src}, {imm >> 16}, {imm & 0xFFFF})"
        if code == _MOV64_X and off == OFF_ADDR_PERCPU:
            return True, f"r{dst} = &(void __percpu *)(r{src})"
        if alu_op in (AluOp.DIV, AluOp.MOD) and off == OFF_SDIV_SMOD:
            sym = _SIGNED_ALU_OPS[alu_op]
        else:
            sym = _ALU_OPS.get(alu_op, _NULL)
        if code & SOURCE_MASK == Source.X:
            cast = _MOVSX_CASTS[off] if alu_op == AluOp.MOV and off in OFF_MOVSX else ""
            return True, f"{r}{dst} {sym} {cast}{r}{src}"
        return True, f"{r}{dst} {sym} {_s32(ins.imm)}"

    @staticmethod
    def _stx(ins: Instruction) -> tuple[bool, str]:
        code, dst, src, off = ins.opcode, ins.dst, ins.src, ins.off
        md = code & MODE_MASK
        ty = _UNSIGNED_TYPES[code & SIZE_MASK]
        mem = f"({ty} *)(r{dst} {off:+d})"
        if md == Mode.MEM:
            return True, f"*{mem} = r{src}"
        if md == Mode.ATOMIC:
            imm = _s32(ins.imm)
            width = "64" if code & SIZE_MASK == Size.DW else ""
            if imm in _PLAIN_ATOMICS:
                return True, f"lock *{mem} {_ALU_OPS[imm & OP_MASK]} r{src}"
            if imm in _FETCH_ATOMICS:
                name = _ATOMIC_NAMES[imm & OP_MASK]
                return True, f"r{src} = atomic{width}_fetch_{name}({mem}, r{src})"
            if imm == AtomicOp.CMPXCHG:
                return True, f"r0 = atomic{width}_cmpxchg({mem}, r0, r{src})"
            if imm == AtomicOp.XCHG:
                return True, f"r{src} = atomic{width}_xchg({mem}, r{src})"
            if imm == AtomicOp.LOAD_ACQ:
                return True, f"r{dst} = load_acquire(({ty} *)(r{src} {off:+d}))"
            if imm == AtomicOp.STORE_REL:
                return True, f"store_release({mem}, r{src})"
        return False, f"BUG_{code:02x}"

    @staticmethod
    def _st(ins: Instruction) -> tuple[bool, str]:
        code = ins.opcode
        md = code & MODE_MASK
        if md == Mode.MEM:
            ty = _UNSIGNED_TYPES[code & SIZE_MASK]
            return True, f"*({ty} *)(r{ins.dst} {ins.off:+d}) = {_s32(ins.imm)}"
        if md == NOSPEC:
            return True, "nospec"
        return False, f"BUG_st_{code:02x}"

    @staticmethod
    def _ldx(ins: Instruction) -> tuple[bool, str]:
        code = ins.opcode
        md = code & MODE_MASK
        if md == Mode.MEM:
            ty = _UNSIGNED_TYPES[code & SIZE_MASK]
        elif md == Mode.MEMSX:
            ty = _SIGNED_TYPES.get(code & SIZE_MASK, _NULL)
        else:
            return False, f"BUG_ldx_{code:02x}"
        return True, f"r{ins.dst} = *({ty} *)(r{ins.src} {ins.off:+d})"

    def _ld(self, ins: Instruction) -> tuple[bool, str]:
        code = ins.opcode
        md = code & MODE_MASK
        ty = _UNSIGNED_TYPES[code & SIZE_MASK]
        if md == Mode.ABS:
            return True, f"r0 = *({ty} *)skb[{_s32(ins.imm)}]"
        if md == Mode.IND:
            return True, f"r0 = *({ty} *)skb[r{ins.src} + {_s32(ins.imm)}]"
        if md == Mode.IMM and code & SIZE_MASK == Size.DW:
            text = self.imm_repr(ins) if self.imm_repr is not None else None
            if text is None:
                value = ins.imm & _U64
                if ins.src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_VALUE) and not self.allow_ptr_leaks:
                    value = 0
                text = f"0x{value:x}"
            return True, f"r{ins.dst} = {text}"
        return False, f"BUG_ld_{code:02x}"

    def _call_target(self, ins: Instruction) -> str:
        imm = _s32(ins.imm)
        if ins.src == PseudoCall.HELPER and imm in HELPER_NAMES:
            return HELPER_NAMES[imm]
        if self.call_name is not None:
            name = self.call_name(ins)
            if name is not None:
                return name
        if ins.src == PseudoCall.CALL:
            return f"{imm:+d}"
        if ins.src == PseudoCall.KFUNC_CALL:
            return "kernel-function"
        return "unknown"

    def _jmp(self, ins: Instruction) -> tuple[bool, str]:
        code, dst, src, off = ins.opcode, ins.dst, ins.src, ins.off
        r = "w" if code & CLASS_MASK == InsnClass.JMP32 else "r"
        jmp_op = code & OP_MASK
        if jmp_op == JmpOp.CALL:
            target = self._call_target(ins)
            if src == PseudoCall.CALL:
                return True, f"call pc{target}"
            return True, f"call {target}#{_s32(ins.imm)}"
        if code == JA:
            return True, f"goto pc{off:+d}"
        if code == JCOND and src == PseudoJcond.MAY_GOTO:
            return True, f"may_goto pc{off:+d}"
        if code == GOTOL:
            return True, f"gotol pc{_s32(ins.imm):+d}"
        if code == EXIT:
            return True, "exit"
        sym = _JMP_OPS.get(jmp_op, _NULL)
        if code & SOURCE_MASK == Source.X:
            return True, f"if {r}{dst} {sym} {r}{src} goto pc{off:+d}"
        return True, f"if {r}{dst} {sym} 0x{ins.imm & _U32:x} goto pc{off:+d}"


def format_instruction(ins: Instruction, *, style: Style = "kernel",
                       call_name: CallName | None = None, imm_repr: ImmRepr | None = None,
                       pc: int | None = None, allow_ptr_leaks: bool = True) -> str:
    """One instruction as the kernel prints it, without the trailing newline.

    ``style="kernel"`` keeps the ``(85) `` opcode prefix of ``print_bpf_insn()``;
    ``style="bare"`` drops it (``call bpf_map_lookup_elem#1``).  With ``pc`` the line starts
    with ``"<pc>: "`` as in the verifier log.  ``allow_ptr_leaks=False`` prints map pointers
    in ld_imm64 as ``0x0`` when no ``imm_repr`` names them, as the verifier does for
    unprivileged users.
    """
    if style not in ("kernel", "bare"):
        raise ValueError(f"unknown style {style!r}: expected 'kernel' or 'bare'")
    prefixed, text = _Printer(call_name, imm_repr, allow_ptr_leaks).render(ins)
    if prefixed and style == "kernel":
        text = f"({ins.opcode & 0xFF:02x}) {text}"
    if pc is not None:
        text = f"{pc}: {text}"
    return text


def format_program(insns: Iterable[Instruction], *, style: Style = "kernel",
                   call_name: CallName | None = None, imm_repr: ImmRepr | None = None,
                   numbered: bool = False, allow_ptr_leaks: bool = True) -> list[str]:
    """Every instruction of a program, one string each.

    ``numbered=True`` prefixes each with its slot index (``"3: "``), which is the instruction
    number the kernel uses in messages; an ld_imm64 takes two slots, so numbers can skip.
    """
    insns = list(insns)
    pcs: list[int | None] = list(slot_offsets(insns)) if numbered else [None] * len(insns)
    return [
        format_instruction(ins, style=style, call_name=call_name, imm_repr=imm_repr, pc=pc,
                           allow_ptr_leaks=allow_ptr_leaks)
        for ins, pc in zip(insns, pcs, strict=True)
    ]

"""eBPF opcode fields and the special values hidden in other fields, up to Linux 6.18.

An opcode byte is split differently per instruction class: for loads and stores it is
``mode | size | class``, for arithmetic and jumps ``op | source | class``.  Several instructions
are further distinguished by a field that is not the opcode at all: signed division and
sign-extending moves by ``off``, the atomic operation by ``imm``, ld_imm64 constants, calls and
``may_goto`` by ``src_reg``.  All of those values are collected here, named as in the kernel's
UAPI header (``include/uapi/linux/bpf.h``) with the ``BPF_`` prefix dropped.

Two values are kernel-internal and never valid in a program you load, but do appear in what
the kernel hands back as the *translated* program: :data:`NOSPEC` and :data:`OFF_ADDR_PERCPU`.
"""

from __future__ import annotations

from enum import IntEnum

# --------------------------------------------------------------------------- field masks

CLASS_MASK = 0x07
SIZE_MASK = 0x18
MODE_MASK = 0xE0
OP_MASK = 0xF0
SOURCE_MASK = 0x08


class InsnClass(IntEnum):
    """The low three bits of every opcode."""

    LD = 0x00
    LDX = 0x01
    ST = 0x02
    STX = 0x03
    ALU = 0x04
    JMP = 0x05
    JMP32 = 0x06
    ALU64 = 0x07

    @property
    def is_alu(self) -> bool:
        return self in (InsnClass.ALU, InsnClass.ALU64)

    @property
    def is_jump(self) -> bool:
        return self in (InsnClass.JMP, InsnClass.JMP32)

    @property
    def is_load_store(self) -> bool:
        return self <= InsnClass.STX


class Size(IntEnum):
    """Access width of a load, store or atomic (bits 3-4)."""

    W = 0x00
    H = 0x08
    B = 0x10
    DW = 0x18

    @property
    def nbytes(self) -> int:
        return {Size.W: 4, Size.H: 2, Size.B: 1, Size.DW: 8}[self]


class Mode(IntEnum):
    """Addressing mode of a load or store (bits 5-7).

    ``ATOMIC`` (also spelled ``XADD`` in old headers) selects the operation through ``imm``;
    ``MEMSX`` is the sign-extending load of cpu v4.  ``ABS``/``IND`` are the packet loads
    inherited from classic BPF.
    """

    IMM = 0x00
    ABS = 0x20
    IND = 0x40
    MEM = 0x60
    MEMSX = 0x80
    ATOMIC = 0xC0


XADD = Mode.ATOMIC
"""Legacy name of :attr:`Mode.ATOMIC` (only ``lock ... += ...`` existed then)."""

NOSPEC = 0xC0
"""Kernel-internal ``BPF_ST`` mode: the speculation barrier the verifier may insert."""


class AluOp(IntEnum):
    """Arithmetic operation (bits 4-7 of an ALU/ALU64 opcode)."""

    ADD = 0x00
    SUB = 0x10
    MUL = 0x20
    DIV = 0x30
    OR = 0x40
    AND = 0x50
    LSH = 0x60
    RSH = 0x70
    NEG = 0x80
    MOD = 0x90
    XOR = 0xA0
    MOV = 0xB0
    ARSH = 0xC0
    END = 0xD0


class JmpOp(IntEnum):
    """Jump operation (bits 4-7 of a JMP/JMP32 opcode)."""

    JA = 0x00
    JEQ = 0x10
    JGT = 0x20
    JGE = 0x30
    JSET = 0x40
    JNE = 0x50
    JSGT = 0x60
    JSGE = 0x70
    CALL = 0x80
    EXIT = 0x90
    JLT = 0xA0
    JLE = 0xB0
    JSLT = 0xC0
    JSLE = 0xD0
    JCOND = 0xE0


class Source(IntEnum):
    """Operand source (bit 3) of ALU and jump instructions: immediate or register."""

    K = 0x00
    X = 0x08


class Endian(IntEnum):
    """Bit 3 of a ``BPF_ALU | BPF_END`` opcode: the byte order to convert to.

    ``BPF_ALU64 | BPF_END`` (cpu v4) is an unconditional byte swap and ignores it.
    """

    TO_LE = 0x00
    TO_BE = 0x08


FROM_LE = Endian.TO_LE
FROM_BE = Endian.TO_BE

FETCH = 0x01
"""Atomic modifier bit: also return the old value in ``src_reg``."""


class AtomicOp(IntEnum):
    """The ``imm`` of a ``BPF_STX | BPF_ATOMIC`` instruction."""

    ADD = AluOp.ADD
    OR = AluOp.OR
    AND = AluOp.AND
    XOR = AluOp.XOR
    FETCH_ADD = AluOp.ADD | FETCH
    FETCH_OR = AluOp.OR | FETCH
    FETCH_AND = AluOp.AND | FETCH
    FETCH_XOR = AluOp.XOR | FETCH
    XCHG = 0xE0 | FETCH
    CMPXCHG = 0xF0 | FETCH
    LOAD_ACQ = 0x100
    STORE_REL = 0x110


class PseudoSrc(IntEnum):
    """``src_reg`` of an ld_imm64: what the 64-bit constant really stands for."""

    NONE = 0
    MAP_FD = 1
    MAP_VALUE = 2
    BTF_ID = 3
    FUNC = 4
    MAP_IDX = 5
    MAP_IDX_VALUE = 6


class PseudoCall(IntEnum):
    """``src_reg`` of a call: a helper (by id), a bpf-to-bpf call or a kernel function."""

    HELPER = 0
    CALL = 1
    KFUNC_CALL = 2


class PseudoJcond(IntEnum):
    """``src_reg`` of a ``BPF_JMP | BPF_JCOND`` instruction."""

    MAY_GOTO = 0


# --------------------------------------------------------------------------- values in `off`

OFF_SDIV_SMOD = 1
"""``off`` of a DIV/MOD that is signed (cpu v4)."""

OFF_MOVSX = (8, 16, 32)
"""``off`` values of a sign-extending MOV: the width of the source (cpu v4)."""

OFF_ADDR_SPACE_CAST = 1
"""``off`` of ``BPF_ALU64 | BPF_MOV | BPF_X`` meaning ``addr_space_cast`` (arena pointers)."""

OFF_ADDR_PERCPU = -1
"""Kernel-internal ``off`` of ``BPF_ALU64 | BPF_MOV | BPF_X``: add this CPU's per-cpu base."""

# --------------------------------------------------------------------------- registers

R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = range(11)
MAX_BPF_REG = 11
REG_AX = 11
"""Kernel-internal scratch register used by rewrites (constant blinding, may_goto, sdiv)."""

# --------------------------------------------------------------------------- well-known opcodes

LD_IMM64 = InsnClass.LD | Mode.IMM | Size.DW
CALL = InsnClass.JMP | JmpOp.CALL
EXIT = InsnClass.JMP | JmpOp.EXIT
JA = InsnClass.JMP | JmpOp.JA
GOTOL = InsnClass.JMP32 | JmpOp.JA
JCOND = InsnClass.JMP | JmpOp.JCOND


def insn_class(opcode: int) -> InsnClass:
    return InsnClass(opcode & CLASS_MASK)


def size(opcode: int) -> Size:
    return Size(opcode & SIZE_MASK)


def mode(opcode: int) -> int:
    """The mode bits; a plain int because not every value is a :class:`Mode`."""
    return opcode & MODE_MASK


def op(opcode: int) -> int:
    """The operation bits of an ALU or jump opcode."""
    return opcode & OP_MASK


def source(opcode: int) -> Source:
    return Source(opcode & SOURCE_MASK)


def opcode_fields(opcode: int) -> str:
    """Spell an opcode byte the way C code builds it, e.g. ``BPF_ALU64|BPF_MOV|BPF_X``.

    Used in diagnostics where ``(bf)`` alone means nothing to the reader.  Values that have no
    UAPI name are printed as hex.
    """
    cls = insn_class(opcode)
    parts = [f"BPF_{cls.name}"]
    if cls.is_load_store:
        md = mode(opcode)
        try:
            parts.append(f"BPF_{Mode(md).name}")
        except ValueError:
            parts.append(f"0x{md:02x}")
        parts.append(f"BPF_{size(opcode).name}")
        return "|".join(parts)
    o = op(opcode)
    if cls.is_alu:
        try:
            parts.append(f"BPF_{AluOp(o).name}")
        except ValueError:
            parts.append(f"0x{o:02x}")
        if o == AluOp.END:
            parts.append("BPF_TO_BE" if opcode & SOURCE_MASK else "BPF_TO_LE")
            return "|".join(parts)
    else:
        try:
            parts.append(f"BPF_{JmpOp(o).name}")
        except ValueError:  # 0xf0 has no name
            parts.append(f"0x{o:02x}")
    parts.append(f"BPF_{source(opcode).name}")
    return "|".join(parts)

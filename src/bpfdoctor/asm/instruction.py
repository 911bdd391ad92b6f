"""The eBPF instruction and its wire format.

One :class:`Instruction` per *logical* instruction: the 16-byte ``ld_imm64`` (``BPF_LD | BPF_IMM
| BPF_DW``) is a single Instruction whose ``imm`` holds the full 64-bit constant (low half from
the first slot, high half from the second), as cilium/ebpf does.  Jump and call offsets stay in
raw 8-byte slot units, exactly as the kernel sees them, so decode/encode is lossless.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from ..errors import ObjectError

INSN_SIZE = 8

# opcode bits needed here; the full tables live in asm.opcodes
_CLASS_MASK = 0x07
_LD = 0x00
_JMP = 0x05
_JMP32 = 0x06
_CALL = 0x80
_EXIT = 0x90
_LD_IMM64 = 0x18  # BPF_LD | BPF_IMM | BPF_DW

PSEUDO_MAP_FD = 1
PSEUDO_MAP_VALUE = 2
PSEUDO_BTF_ID = 3
PSEUDO_FUNC = 4
PSEUDO_MAP_IDX = 5
PSEUDO_MAP_IDX_VALUE = 6

PSEUDO_CALL = 1
PSEUDO_KFUNC_CALL = 2


class InstructionError(ObjectError):
    """Bytes that do not decode into instructions (odd length, a torn ld_imm64)."""

    kind = "insn"


@dataclass(eq=True)
class Instruction:
    """A decoded eBPF instruction.

    ``opcode``, ``dst``, ``src``, ``off``, ``imm`` are the encoded fields (``off`` and ``imm``
    sign-extended; ``imm`` is 64-bit for ld_imm64).  The remaining fields are metadata the ELF
    reader attaches and the loader consumes; they are never encoded.
    """

    opcode: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0
    # --- metadata
    symbol: str | None = field(default=None, compare=False)
    """Name of the function that starts at this instruction, if any."""
    reference: str | None = field(default=None, compare=False)
    """Name of the map, function or extern this instruction refers to (set by relocation)."""

    # -- classification -------------------------------------------------------------------
    @property
    def cls(self) -> int:
        return self.opcode & _CLASS_MASK

    @property
    def is_ld_imm64(self) -> bool:
        return self.opcode == _LD_IMM64

    @property
    def slots(self) -> int:
        """Number of 8-byte slots the instruction occupies (2 for ld_imm64)."""
        return 2 if self.is_ld_imm64 else 1

    @property
    def size(self) -> int:
        return self.slots * INSN_SIZE

    @property
    def is_call(self) -> bool:
        return self.opcode == (_JMP | _CALL)

    @property
    def is_helper_call(self) -> bool:
        return self.is_call and self.src == 0

    @property
    def is_bpf_call(self) -> bool:
        """A bpf-to-bpf call (``call pc+N``)."""
        return self.is_call and self.src == PSEUDO_CALL

    @property
    def is_kfunc_call(self) -> bool:
        return self.is_call and self.src == PSEUDO_KFUNC_CALL

    @property
    def is_exit(self) -> bool:
        return self.opcode == (_JMP | _EXIT)

    @property
    def is_func_ref(self) -> bool:
        """``ld_imm64`` loading a function address (callback for bpf_loop etc.)."""
        return self.is_ld_imm64 and self.src == PSEUDO_FUNC

    @property
    def is_map_load(self) -> bool:
        return self.is_ld_imm64 and self.src in (PSEUDO_MAP_FD, PSEUDO_MAP_VALUE,
                                                 PSEUDO_MAP_IDX, PSEUDO_MAP_IDX_VALUE)

    @property
    def is_jump(self) -> bool:
        """A conditional or unconditional jump with a pc-relative offset (not call/exit)."""
        c = self.cls
        if c not in (_JMP, _JMP32):
            return False
        op = self.opcode & 0xF0
        return op not in (_CALL, _EXIT)

    @property
    def imm_lo(self) -> int:
        return _s32(self.imm & 0xFFFFFFFF)

    @property
    def imm_hi(self) -> int:
        return _s32((self.imm >> 32) & 0xFFFFFFFF)

    def with_imm64(self, lo: int, hi: int) -> Instruction:
        """A copy of this ld_imm64 with the two 32-bit halves set."""
        return replace(self, imm=_s64(((hi & 0xFFFFFFFF) << 32) | (lo & 0xFFFFFFFF)))

    def __str__(self) -> str:  # pragma: no cover - convenience
        from .text import format_instruction

        return format_instruction(self)


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _s64(v: int) -> int:
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v & (1 << 63) else v


_FMT = {"little": "<BBhi", "big": ">BBhi"}


def decode(data: bytes | bytearray | memoryview, byteorder: str = "little") -> list[Instruction]:
    """Decode raw instruction bytes.  Raises :class:`InstructionError` on a length that is not a
    multiple of 8 or an ld_imm64 cut in half."""
    if len(data) % INSN_SIZE:
        raise InstructionError(f"instruction bytes are {len(data)} long, not a multiple of 8")
    fmt = struct.Struct(_FMT[byteorder])
    out: list[Instruction] = []
    n = len(data) // INSN_SIZE
    i = 0
    big = byteorder == "big"
    while i < n:
        op, regs, off, imm = fmt.unpack_from(data, i * INSN_SIZE)
        if big:
            dst, src = regs >> 4, regs & 0x0F
        else:
            dst, src = regs & 0x0F, regs >> 4
        if op == _LD_IMM64:
            if i + 1 >= n:
                raise InstructionError(f"ld_imm64 at instruction {i} is missing its second half")
            _, _, _, imm2 = fmt.unpack_from(data, (i + 1) * INSN_SIZE)
            imm = _s64(((imm2 & 0xFFFFFFFF) << 32) | (imm & 0xFFFFFFFF))
            out.append(Instruction(op, dst, src, off, imm))
            i += 2
        else:
            out.append(Instruction(op, dst, src, off, imm))
            i += 1
    return out


def encode(insns: Iterable[Instruction], byteorder: str = "little") -> bytes:
    """Encode instructions into the kernel's wire format."""
    fmt = struct.Struct(_FMT[byteorder])
    big = byteorder == "big"
    buf = bytearray()
    for ins in insns:
        regs = ((ins.dst & 0xF) << 4 | (ins.src & 0xF)) if big else \
            ((ins.src & 0xF) << 4 | (ins.dst & 0xF))
        if ins.is_ld_imm64:
            buf += fmt.pack(ins.opcode, regs, ins.off, _s32(ins.imm & 0xFFFFFFFF))
            buf += fmt.pack(0, 0, 0, _s32((ins.imm >> 32) & 0xFFFFFFFF))
        else:
            buf += fmt.pack(ins.opcode, regs, ins.off, _s32(ins.imm))
    return bytes(buf)


def slot_offsets(insns: Sequence[Instruction]) -> list[int]:
    """The slot index (kernel instruction number) of each instruction."""
    out = []
    pos = 0
    for ins in insns:
        out.append(pos)
        pos += ins.slots
    return out


def total_slots(insns: Iterable[Instruction]) -> int:
    return sum(i.slots for i in insns)

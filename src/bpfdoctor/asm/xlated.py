"""``bpftool prog dump xlated`` output, reproduced from the translated instructions.

What the kernel returns as a program's *xlated* instructions (``BPF_OBJ_GET_INFO_BY_FD``) is
the program after the verifier's rewrites, post-processed for dumping: ld_imm64 of maps carry
the map id (``src_reg`` ``MAP_FD`` / ``MAP_VALUE``, value offset in the upper half), helper
and kfunc calls carry the target's address relative to the kernel symbol ``__bpf_call_base``,
and bpf-to-bpf calls carry the callee's pc-relative offset in ``off`` and its index among the
program's functions in ``imm``.  bpftool turns those back into names with ``/proc/kallsyms``
and the program's ``jited_ksyms``; :class:`KernelSymbols` and :func:`bpftool_call_name` do the
same, and :func:`format_xlated` lays the lines out as bpftool does.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .instruction import Instruction, encode
from .opcodes import PseudoCall, PseudoSrc
from .text import CallName, ImmRepr, format_instruction

_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF
CALL_BASE_SYMBOL = "__bpf_call_base"


def _s32(v: int) -> int:
    v &= _U32
    return v - (1 << 32) if v & 0x80000000 else v


@dataclass
class KernelSymbols:
    """Kernel symbol addresses, read from ``/proc/kallsyms`` the way bpftool reads them.

    ``call_base`` is the address of ``__bpf_call_base`` (``None`` if absent).  Symbols at
    address 0 are dropped; if ``__bpf_call_base`` itself reads as 0 (``kernel.kptr_restrict``
    hides addresses) the whole table is discarded, because every lookup would be wrong.
    """

    call_base: int | None = None
    _addrs: list[int] = field(default_factory=list, repr=False)
    _names: dict[int, list[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, text: str) -> KernelSymbols:
        names: dict[int, list[str]] = {}
        call_base: int | None = None
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 3:
                continue
            try:
                addr = int(parts[0], 16)
            except ValueError:
                continue
            name = parts[2]
            if name == CALL_BASE_SYMBOL:
                call_base = addr
                if addr == 0:
                    return cls()
            if addr:
                names.setdefault(addr, []).append(name)
        return cls(call_base, sorted(names), names)

    @classmethod
    def load(cls, path: str | os.PathLike[str] = "/proc/kallsyms") -> KernelSymbols:
        """Read ``path``; an unreadable file gives an empty table (bpftool carries on too)."""
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return cls.parse(f.read())
        except OSError:
            return cls()

    def __len__(self) -> int:
        return len(self._addrs)

    def names_at(self, address: int) -> list[str]:
        """Every symbol at exactly ``address``, in file order (aliases share addresses)."""
        return list(self._names.get(address, ()))

    def name_at(self, address: int) -> str | None:
        """The first symbol listed at exactly ``address`` (bpftool matches exact addresses
        only; where several names share one, which of them it shows depends on its qsort)."""
        names = self._names.get(address)
        return names[0] if names else None

    def containing(self, address: int) -> tuple[str, int] | None:
        """``(symbol, offset)`` of the nearest symbol at or below ``address``."""
        i = bisect.bisect_right(self._addrs, address)
        if i == 0:
            return None
        base = self._addrs[i - 1]
        return self._names[base][0], address - base


def bpftool_call_name(symbols: KernelSymbols | None = None,
                      jited_ksyms: Sequence[int] = ()) -> CallName:
    """The call-target callback bpftool uses for ``prog dump xlated``.

    Helper and kfunc calls resolve ``__bpf_call_base + imm`` to a kernel symbol, printing
    the raw address in hex when nothing is there.  bpf-to-bpf calls print the relative
    offset from ``off``; when the program is JIT-compiled (``jited_ksyms`` non-empty) the
    callee's symbol (``bpf_prog_<tag>_<name>``) or address follows after ``#``.
    """
    syms = symbols if symbols is not None else KernelSymbols()
    base = syms.call_base or 0

    def call_name(ins: Instruction) -> str:
        imm = _s32(ins.imm)
        address = (base + imm) & _U64
        if ins.src == PseudoCall.CALL and jited_ksyms and 0 <= imm < len(jited_ksyms):
            address = jited_ksyms[imm]
        name = syms.name_at(address)
        if ins.src == PseudoCall.CALL:
            if not jited_ksyms:
                return f"{ins.off:+d}"
            return f"{ins.off:+d}#{name}" if name else f"{ins.off:+d}#0x{address:x}"
        return name if name else f"0x{address:x}"

    return call_name


def bpftool_imm_repr(ins: Instruction) -> str:
    """ld_imm64 constants as bpftool prints them: ``map[id:N]``, ``map[id:N][0]+OFF``..."""
    lo, hi = ins.imm & _U32, (ins.imm >> 32) & _U32
    if ins.src == PseudoSrc.MAP_FD:
        return f"map[id:{lo}]"
    if ins.src == PseudoSrc.MAP_VALUE:
        return f"map[id:{lo}][0]+{hi}"
    if ins.src == PseudoSrc.MAP_IDX_VALUE:
        return f"map[idx:{lo}]+{hi}"
    if ins.src == PseudoSrc.FUNC:
        return f"subprog[{_s32(lo):+d}]"
    return f"0x{ins.imm & _U64:x}"


def _hex_bytes(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data)


def format_xlated(insns: Iterable[Instruction], *, symbols: KernelSymbols | None = None,
                  jited_ksyms: Sequence[int] = (), call_name: CallName | None = None,
                  imm_repr: ImmRepr | None = bpftool_imm_repr,
                  opcodes: bool = False) -> list[str]:
    """The instruction lines of ``bpftool prog dump xlated`` (``   3: (bf) r6 = r1``).

    ``call_name`` defaults to :func:`bpftool_call_name` over ``symbols`` and ``jited_ksyms``;
    without symbols, helper calls the built-in table does not name show as a hex address, as
    bpftool prints them when ``/proc/kallsyms`` is unreadable.  ``opcodes=True`` adds bpftool's
    ``opcodes`` line of raw bytes after each instruction.  bpftool's ``; source`` and function
    signature lines come from BTF line and function info and are not produced here.
    """
    if call_name is None:
        call_name = bpftool_call_name(symbols, jited_ksyms)
    out: list[str] = []
    pc = 0
    for ins in insns:
        text = format_instruction(ins, call_name=call_name, imm_repr=imm_repr)
        out.append(f"{pc: 4d}: {text}")
        if opcodes:
            raw = encode([ins])
            out.append("       " + " ".join(_hex_bytes(raw[i:i + 8])
                                           for i in range(0, len(raw), 8)))
        pc += ins.slots
    return out

"""Register and stack-slot state as the verifier prints it, parsed into values.

The verifier describes what it knows about a register with one token per register::

    R0=map_value_or_null(id=1,map=counts,ks=4,vs=8)
    R1_w=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))
    R2=fp-8   R3=P0   R6=trusted_ptr_task_struct()   R7=pkt(off=14,r=14)

and one per stack slot (``fp-8=mmmm????``, ``fp-16=ctx()``, ``fp-24=dynptr_ringbuf(...)``).
A state line is a list of these, optionally preceded by ``frameN:`` and followed by
``refs=...`` and the ``cb``/``async_cb`` markers.

The printer changed a lot between kernels (see ``kernel/bpf/log.c``): before 5.19 scalars
were ``inv``, bounds were ``umax_value=``, ``id=0,off=0`` were always printed and ``imm``
was hexadecimal without ``0x``; liveness suffixes (``R1_w``, ``fp-8_rw``) came and went;
6.x prints numbers beyond 16 bits in hex.  This module reads all of these; what it does
not understand is kept in :attr:`RegState.extra` or :attr:`VerifierState.unknown`, never
dropped and never fatal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_U64 = (1 << 64) - 1

FLAG_PREFIXES = ("rdonly_", "ringbuf_", "user_", "percpu_", "rcu_", "untrusted_", "trusted_")
"""Type-flag prefixes of ``reg_type_str()``, in the kernel's printing order."""

_SLOT_CHARS = frozenset("?rm0dif")
"""``slot_type_char[]``: invalid, spill, misc, zero, dynptr, iter, irq flag."""

# ASCII only, and decimal fields bounded so that int() never meets the interpreter's
# digit limit on garbage (64-bit values have at most 20 digits).
_CONST = re.compile(r"-?(?:0x[0-9a-fA-F]{1,16}|\d{1,20})\Z", re.ASCII)
_FP_CONST = re.compile(r"fp(?:\[(\d{1,3})\])?(-?(?:0x[0-9a-fA-F]{1,16}|\d{1,20}))\Z", re.ASCII)
_OLD_INV = re.compile(r"inv(P)?(-?\d{1,20})?\Z", re.ASCII)
_TYPED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d{1,3})\])?(?:\((.*)\))?\Z",
                    re.ASCII | re.DOTALL)
_REG_TOKEN = re.compile(r"R(\d{1,3})(?:_([rwD]+))?=", re.ASCII)
_STACK_TOKEN = re.compile(r"fp(-?\d{1,10})(?:_([rwD]+))?=", re.ASCII)
_VAR_OFF = re.compile(r"\(\s*(-?(?:0x)?[0-9a-fA-F]+)\s*;\s*(-?(?:0x)?[0-9a-fA-F]+)\s*\)\Z",
                      re.ASCII)

# Range keys, old (``*_value``, before 5.19) and new spellings, to our field names.
_RANGE_KEYS = {
    "smin": "smin", "smax": "smax", "umin": "umin", "umax": "umax",
    "smin32": "s32_min", "smax32": "s32_max", "umin32": "u32_min", "umax32": "u32_max",
    "smin_value": "smin", "smax_value": "smax", "umin_value": "umin", "umax_value": "umax",
    "s32_min_value": "s32_min", "s32_max_value": "s32_max",
    "u32_min_value": "u32_min", "u32_max_value": "u32_max",
}
_SIGNED64 = frozenset({"smin", "smax"})
_SIGNED32 = frozenset({"s32_min", "s32_max"})
_INT_KEYS = {"id": "id", "ref_obj_id": "ref_obj_id", "ref_id": "ref_obj_id", "off": "off",
             "r": "range", "ks": "key_size", "vs": "value_size", "sz": "mem_size"}


def parse_int(text: str) -> int | None:
    """A number as the verifier prints it: decimal, or hexadecimal with ``0x``."""
    if not text.isascii():
        return None
    try:
        if text.startswith(("0x", "-0x", "0X", "-0X")):
            return int(text, 16)
        return int(text, 10)
    except ValueError:  # also past the interpreter's limit on decimal digits
        return None


def _signed(value: int, bits: int) -> int:
    """6.x prints out-of-range signed bounds as unsigned hex; fold them back."""
    if value >= 1 << (bits - 1) and value < 1 << bits:
        return value - (1 << bits)
    return value


@dataclass(frozen=True)
class RegState:
    """What the verifier knows about one register (or one spilled stack slot).

    ``type`` is the base type with flags and nullability split off: ``map_value`` for
    ``map_value_or_null``, ``mem`` for ``rdonly_ringbuf_mem``, ``ptr`` for BTF pointers such
    as ``trusted_ptr_or_null_task_struct`` (then ``btf_type`` is ``task_struct``).  Old
    kernels' ``inv`` is reported as ``scalar``; ``raw`` keeps the text as printed.

    A known constant (``R1=5``, ``R2=fp-8``) sets ``value``; for scalars all eight bounds
    are then exact, as they are inside the verifier.
    """

    raw: str
    type: str
    regno: int | None = None
    nullable: bool = False
    flags: tuple[str, ...] = ()
    btf_type: str | None = None
    precise: bool = False
    liveness: str = ""
    """``r``/``w``/``D`` suffix letters of kernels that printed liveness (``R1_w``)."""
    id: int | None = None
    id_delta: int | None = None
    """``id=3+8``: the register is ``id 3`` plus a known constant (BPF_ADD_CONST)."""
    ref_obj_id: int | None = None
    off: int | None = None
    range: int | None = None
    """``r=``: bytes of packet known to be safe to access from this pointer."""
    value: int | None = None
    imm: int | None = None
    smin: int | None = None
    smax: int | None = None
    umin: int | None = None
    umax: int | None = None
    s32_min: int | None = None
    s32_max: int | None = None
    u32_min: int | None = None
    u32_max: int | None = None
    var_off: tuple[int, int] | None = None
    """Tracked bits as ``(value, mask)``: bits set in ``mask`` are unknown."""
    map_name: str | None = None
    key_size: int | None = None
    value_size: int | None = None
    mem_size: int | None = None
    frameno: int | None = None
    """For ``fp[1]-16``: the frame whose stack the pointer points into."""
    non_own_ref: bool = False
    extra: tuple[tuple[str, str], ...] = ()
    """Attributes this parser has no field for, as printed (``(key, value)``)."""

    @property
    def is_const(self) -> bool:
        return self.value is not None

    @property
    def is_pointer(self) -> bool:
        return self.type not in ("scalar", "?")

    @property
    def type_name(self) -> str:
        """The type as the kernel spells it, e.g. ``map_value_or_null``."""
        flags = "".join(f"{f}_" for f in self.flags)
        if self.type == "ptr":
            null = "or_null_" if self.nullable else ""
            return f"{flags}ptr_{null}{self.btf_type or ''}"
        return f"{flags}{self.type}{'_or_null' if self.nullable else ''}"

    def get(self, key: str) -> str | None:
        """An attribute kept in :attr:`extra`, by name."""
        for k, v in self.extra:
            if k == key:
                return v
        return None


@dataclass(frozen=True)
class StackSlot:
    """One 8-byte stack slot, ``fp-8=...``.

    ``slots`` has one character per byte as the kernel prints them (``m`` misc data, ``0``
    zero, ``?`` uninitialised, ``r`` spilled register, ``d`` dynptr, ``i`` iterator,
    ``f`` irq flag).  For a spilled register ``reg`` is its state and ``slots`` the bytes
    printed before it (empty for a full 8-byte spill); dynptrs and iterators are also
    described by ``reg`` (``type`` ``dynptr_ringbuf``, ``iter_num``...).
    """

    offset: int
    raw: str
    slots: str = ""
    reg: RegState | None = None
    liveness: str = ""

    @property
    def kind(self) -> str:
        """``spill``, ``dynptr``, ``iter``, ``zero``, ``misc``, ``invalid`` or ``mixed``."""
        if self.reg is not None:
            if self.reg.type.startswith("dynptr_"):
                return "dynptr"
            if self.reg.type.startswith("iter_"):
                return "iter"
            return "spill"
        chars = set(self.slots)
        for kind, c in (("zero", "0"), ("misc", "m"), ("invalid", "?")):
            if chars == {c}:
                return kind
        return "mixed"


@dataclass(frozen=True)
class VerifierState:
    """One printed state: the registers and stack slots of one frame.

    After an instruction the verifier prints only what the instruction touched, so a state
    is often partial; :meth:`VerifierLog.error_state` accumulates them along a path.
    """

    raw: str
    frame: int = 0
    regs: dict[int, RegState] = field(default_factory=dict)
    stack: dict[int, StackSlot] = field(default_factory=dict)
    refs: tuple[int, ...] = ()
    in_callback: bool = False
    in_async_callback: bool = False
    unknown: tuple[str, ...] = ()
    """Tokens this parser did not recognise, in order."""

    def reg(self, n: int) -> RegState | None:
        return self.regs.get(n)

    def slot(self, offset: int) -> StackSlot | None:
        """The slot at ``offset`` (negative, e.g. ``-8``)."""
        return self.stack.get(offset)


# --------------------------------------------------------------------------- values


def parse_value(text: str, *, regno: int | None = None, liveness: str = "") -> RegState:
    """Parse the right-hand side of ``R1=...`` (or of a spilled slot).  Never raises:
    unreadable text gives ``type='?'`` with the text in ``extra``."""
    s = text.strip()
    precise = False
    if s.startswith("P"):
        precise, s = True, s[1:]
    if _CONST.match(s):
        return _const_scalar(text, parse_int(s), regno=regno, precise=precise,
                             liveness=liveness)
    m = _FP_CONST.match(s)
    if m:
        return RegState(raw=text, type="fp", regno=regno, liveness=liveness,
                        off=parse_int(m.group(2)), value=parse_int(m.group(2)),
                        frameno=int(m.group(1)) if m.group(1) else None)
    m = _OLD_INV.match(s)
    if m:
        if m.group(2) is not None:
            return _const_scalar(text, int(m.group(2)), regno=regno,
                                 precise=precise or bool(m.group(1)), liveness=liveness)
        return RegState(raw=text, type="scalar", regno=regno, liveness=liveness,
                        precise=precise or bool(m.group(1)))
    m = _TYPED.match(s)
    if not m:
        return RegState(raw=text, type="?", regno=regno, liveness=liveness,
                        extra=(("unparsed", text),))
    name, frame_s, args = m.group(1), m.group(2), m.group(3)
    if name.startswith("inv") and name[3:] in ("", "P"):
        name, precise = "scalar", precise or name == "invP"
    kw: dict[str, object] = {}
    flags: list[str] = []
    while True:
        for p in FLAG_PREFIXES:
            if name.startswith(p) and len(name) > len(p):
                flags.append(p[:-1])
                name = name[len(p):]
                break
        else:
            break
    nullable = False
    btf_type = None
    if name.startswith("ptr_"):
        rest = name[4:]
        if rest.startswith("or_null_"):
            nullable, rest = True, rest[8:]
        name, btf_type = "ptr", rest or None
    elif name.endswith("_or_null"):
        nullable, name = True, name[:-8]
    extra: list[tuple[str, str]] = []
    if args:
        _parse_args(args, kw, extra)
    return RegState(raw=text, type=name, regno=regno, nullable=nullable, flags=tuple(flags),
                    btf_type=btf_type, precise=precise, liveness=liveness,
                    frameno=int(frame_s) if frame_s else None, extra=tuple(extra),
                    **kw)  # type: ignore[arg-type]


def _const_bounds(v: int) -> dict[str, int]:
    u = v & _U64
    lo = u & 0xFFFFFFFF
    return {"smin": _signed(u, 64), "smax": _signed(u, 64), "umin": u, "umax": u,
            "s32_min": _signed(lo, 32), "s32_max": _signed(lo, 32), "u32_min": lo,
            "u32_max": lo}


def _const_scalar(raw: str, v: int | None, *, regno: int | None, precise: bool,
                  liveness: str) -> RegState:
    if v is None:
        return RegState(raw=raw, type="scalar", regno=regno, precise=precise,
                        liveness=liveness)
    value = _signed(v & _U64, 64) if v >= 0 else v
    return RegState(raw=raw, type="scalar", regno=regno, precise=precise, liveness=liveness,
                    value=value, **_const_bounds(value))


def _split_top(text: str, sep: str) -> Iterator[str]:
    """Split at ``sep`` outside parentheses."""
    depth = 0
    start = 0
    for i, c in enumerate(text):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == sep and depth <= 0:
            yield text[start:i]
            start = i + 1
    yield text[start:]


def _parse_args(args: str, kw: dict[str, object], extra: list[tuple[str, str]]) -> None:
    items = list(_split_top(args, ","))
    # Old printers always wrote id=0/off=0 and hex imm without 0x: spot them so that
    # "imm=10" is read as 16 there and as 10 on current kernels.
    legacy = any(it in ("id=0", "off=0") or "_value=" in it for it in items)
    for item in items:
        item = item.strip()
        if not item:
            continue
        if "=" not in item:
            if item == "non_own_ref":
                kw["non_own_ref"] = True
            else:
                extra.append((item, ""))
            continue
        parts = item.split("=")
        # "smin=smin32=0" gives several keys one value; var_off's value has no '='.
        val = parts[-1]
        for key in parts[:-1]:
            _set_arg(key, val, kw, extra, legacy)


def _set_arg(key: str, val: str, kw: dict[str, object], extra: list[tuple[str, str]],
             legacy: bool) -> None:
    if key in _RANGE_KEYS:
        field_name = _RANGE_KEYS[key]
        n = parse_int(val)
        if n is None:
            extra.append((key, val))
            return
        if field_name in _SIGNED64:
            n = _signed(n, 64)
        elif field_name in _SIGNED32:
            n = _signed(n, 32)
        kw[field_name] = n
        return
    if key == "id":
        base, plus, delta = val.partition("+")
        if not plus:
            base, minus, delta = val.partition("-")
            plus = minus
            delta = f"-{delta}" if minus else delta
        n = parse_int(base)
        if n is None:
            extra.append((key, val))
            return
        kw["id"] = n
        if plus:
            kw["id_delta"] = parse_int(delta)
        return
    if key in _INT_KEYS:
        n = parse_int(val)
        if n is None:
            extra.append((key, val))
        else:
            kw[_INT_KEYS[key]] = n
        return
    if key == "map":
        kw["map_name"] = val
    elif key == "imm":
        n = None
        if legacy or any(c in "abcdefABCDEF" for c in val.removeprefix("0x")):
            try:
                n = int(val, 16)
            except ValueError:
                n = None
        else:
            n = parse_int(val)
        if n is None:
            extra.append((key, val))
        else:
            kw["imm"] = n
    elif key == "var_off":
        m = _VAR_OFF.match(val)
        if m:
            v, mask = parse_int(m.group(1)), parse_int(m.group(2))
            if v is not None and mask is not None:
                kw["var_off"] = (v & _U64, mask & _U64)
                return
        n = parse_int(val)
        if n is not None:
            kw["var_off"] = (n & _U64, 0)
        else:
            extra.append((key, val))
    else:
        extra.append((key, val))


# --------------------------------------------------------------------------- tokens


def parse_register(token: str) -> RegState:
    """``"R1_w=map_value(map=counts,ks=4,vs=8,off=4)"`` -> :class:`RegState` (``regno`` 1,
    ``liveness`` ``"w"``).  A token without the ``Rn=`` part is parsed as a bare value."""
    token = token.strip()
    m = _REG_TOKEN.match(token)
    if not m:
        return parse_value(token)
    return parse_value(token[m.end():], regno=int(m.group(1)), liveness=m.group(2) or "")


def parse_stack_slot(token: str) -> StackSlot | None:
    """``"fp-8=mmmm????"``, ``"fp-16_w=ctx()"``, ``"fp-24=dynptr_ringbuf(id=2,...)"``."""
    token = token.strip()
    m = _STACK_TOKEN.match(token)
    if not m:
        return None
    off = int(m.group(1))
    live = m.group(2) or ""
    val = token[m.end():]
    if len(val) == 8 and set(val) <= _SLOT_CHARS:
        return StackSlot(offset=off, raw=token, slots=val, liveness=live)
    # A spill: bytes above a sub-register spill are printed first (6.8+), then the value.
    # Only 8-n prefixes for spill sizes n of 1, 2, 4 (or none) are possible.
    k = 0
    while k < len(val) and val[k] in "?m0":
        k += 1
    if k >= len(val):
        k = max((n for n in (0, 4, 6, 7) if n < len(val)), default=0)
    elif k not in (0, 4, 6, 7):
        k = max(n for n in (0, 4, 6, 7) if n <= k)
    reg = parse_value(val[k:], liveness=live)
    return StackSlot(offset=off, raw=token, slots=val[:k], reg=reg, liveness=live)


def split_tokens(text: str) -> list[str]:
    """Split a state text at spaces outside parentheses (``var_off=(0x0; 0xff)`` has one)."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for piece in text.split():
        cur.append(piece)
        depth = max(0, depth + piece.count("(") - piece.count(")"))
        if depth == 0:
            out.append(" ".join(cur))
            cur = []
    if cur:
        out.append(" ".join(cur))
    return out


def parse_state(text: str) -> VerifierState:
    """Parse one printed state (``"frame1: R1=ctx() R10=fp0 fp-8=mmmmmmmm refs=2"``).  The
    leading instruction index, if any, must already be removed.  Never raises."""
    regs: dict[int, RegState] = {}
    stack: dict[int, StackSlot] = {}
    refs: tuple[int, ...] = ()
    frame = 0
    cb = acb = False
    unknown: list[str] = []
    for tok in split_tokens(text):
        c = tok[0]
        if c == "R" and _REG_TOKEN.match(tok):
            r = parse_register(tok)
            if r.regno is not None:
                regs[r.regno] = r
                continue
        elif c == "f":
            num = tok[5:-1]
            if tok.startswith("frame") and tok.endswith(":") and num.isascii() and \
                    num.isdigit() and len(num) < 10:
                frame = int(num)
                continue
            slot = parse_stack_slot(tok)
            if slot is not None:
                stack[slot.offset] = slot
                continue
        elif tok.startswith("refs="):
            ids = [parse_int(x) for x in tok[5:].split(",")]
            if all(i is not None for i in ids):
                refs = tuple(i for i in ids if i is not None)
                continue
        elif tok == "cb":
            cb = True
            continue
        elif tok == "async_cb":
            acb = True
            continue
        unknown.append(tok)
    return VerifierState(raw=text, frame=frame, regs=regs, stack=stack, refs=refs,
                         in_callback=cb, in_async_callback=acb, unknown=tuple(unknown))

"""Causes of the 'reloc' family (BD7xx): the loader's rewriting of the program (CO-RE
relocations, map references) left something the verifier refuses."""

from __future__ import annotations

import re
from typing import Any

from ..catalogue import register
from ..model import Cause, Evidence, Match
from ._common import first_match, where
from .helpers import POISON_HELPER_ID

_POISON = re.compile(rf"invalid func unknown#{POISON_HELPER_ID}\b")


def _poisoned_at(ev: Evidence, insn: int | None) -> Any | None:
    """The poisoned CO-RE result for the instruction the verifier stopped at.  An ld_imm64
    is poisoned as two calls, so the error may name its second slot."""
    poisoned = [r for r in ev.core_relocations if getattr(r, "poisoned", False)]
    if insn is not None:
        for slot in (insn, insn - 1):
            for r in poisoned:
                if r.relo.insn == slot:
                    return r
    return poisoned[0] if len(poisoned) == 1 else None


def _core_relo_failed(ev: Evidence) -> Match | None:
    if first_match(_POISON, ev.log.error_lines) is None:
        return None
    at = ev.log.error_insn
    res = _poisoned_at(ev, at)
    loc = f"insn {at}{where(ev, at)}" if at is not None else "a reachable instruction"
    if res is None:
        return Match(f"{loc} depends on a CO-RE relocation this kernel could not satisfy "
                     "(the loader replaced it with an invalid call)",
                     details={"insn": at})
    from ...btf.core import kind_name
    reason = res.reason or f"{res.access} has no match in this kernel"
    return Match(f"{loc} depends on the CO-RE relocation {kind_name(res.kind)} "
                 f"{res.access}, which this kernel cannot satisfy: {reason}",
                 details={"access": res.access, "local_type": res.local_type,
                          "kind": kind_name(res.kind), "reason": res.reason,
                          "relo_insn": res.relo.insn})


_BAD_FD = re.compile(r"fd (-?\d+) is not pointing to valid bpf_map")
_MAP_VALUE = re.compile(r"invalid access to map value pointer, value_size=(\d+) off=(\d+)")
_DIRECT = re.compile(r"direct value offset of (\d+) is not allowed")
_NO_DIRECT = re.compile(r"no direct value access support for this map type")


def _map_reloc(ev: Evidence) -> Match | None:
    at = ev.log.error_insn
    loc = f" at insn {at}" if at is not None else ""
    hit = first_match(_BAD_FD, ev.log.error_lines)
    if hit is not None:
        fd = int(hit.group(1))
        return Match(f"the map reference{loc} carries fd {fd}, which is not a map: the map "
                     "was not created or its fd was closed before the load",
                     details={"fd": fd})
    hit = first_match(_MAP_VALUE, ev.log.error_lines)
    if hit is not None:
        size, off = int(hit.group(1)), int(hit.group(2))
        return Match(f"a global-variable reference{loc} points {off} bytes into a map value "
                     f"of {size} bytes", details={"value_size": size, "off": off})
    hit = first_match(_DIRECT, ev.log.error_lines) or first_match(_NO_DIRECT, ev.log.error_lines)
    if hit is not None:
        return Match(f"a direct reference into a map value{loc} is refused: {hit.string.strip()}",
                     details={"message": hit.string.strip()})
    return None


register(Cause(
    code="BD701", slug="core-relo-failed", family="reloc", priority=20,
    title="CO-RE relocation this kernel cannot satisfy",
    explanation=("A CO-RE access names a field, type or enum value of the kernel the program "
                 "was compiled against. When the running kernel lacks it, the loader (libbpf "
                 "or bpfdoctor) does not fail outright: it replaces the instruction with a "
                 "call to the invalid helper 195896080 (0xbad2310), so the program still "
                 "loads if that code is unreachable. The verifier reached it, so the access "
                 "would have happened on this kernel."),
    fix=("Guard the access so the verifier prunes it on kernels without the field:\n"
         "if (bpf_core_field_exists(t->state))\n    state = BPF_CORE_READ(t, state);\n"
         "else\n    state = BPF_CORE_READ((struct task_struct___new *)t, __state);"),
    matcher=_core_relo_failed))

register(Cause(
    code="BD702", slug="map-reloc", family="reloc", priority=50,
    title="Map reference the kernel refuses",
    explanation=("Map references in the program are 64-bit loads the loader patches with the "
                 "fd of the created map (or a pointer into a map value, for global "
                 "variables). The kernel refuses the load when the fd is not a map, or the "
                 "offset into the value lies outside it or the map type does not allow direct "
                 "value access."),
    fix=("Create every map the program uses before loading it and keep its fd open until\n"
         "the load returns; reference maps only through their symbols:\n"
         "struct { __uint(type, BPF_MAP_TYPE_ARRAY); ... } counts SEC(\".maps\");"),
    matcher=_map_reloc))

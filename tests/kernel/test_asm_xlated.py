"""The instruction printer against the two programs that print instructions for a living.

* **bpftool**: each program of tests/data/asm_*.bpf.c is loaded with ``bpftool prog loadall``;
  the raw bytes of ``bpftool prog dump xlated ... file`` decoded and passed through
  :func:`format_xlated` must reproduce bpftool's own text line for line.  bpftool v7.1 embeds
  the Linux 6.2 disassembler, so for instructions added since (cpu v4, per-cpu moves,
  may_goto, load-acquire) its text is older than ours; those lines are required to *differ*
  from ours, which keeps the exemption exact.
* **the running kernel**: the same load runs with the verifier log at level 2, which lists every
  instruction of the program as the kernel's ``print_bpf_insn()`` prints it.  Instructions
  taken straight from the ELF object must print identically, except the few that libbpf
  rewrites while relocating (map loads, calls to subprograms and kfuncs).

The loader of bpfdoctor itself will replace bpftool as the loading tool here later.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bpfdoctor.asm import (
    Instruction,
    KernelSymbols,
    decode,
    format_instruction,
    format_xlated,
    slot_offsets,
)
from bpfdoctor.asm import opcodes as op
from support.build import BUILD, compile_bpf, find_clang

DATA = Path(__file__).resolve().parents[1] / "data"
BPFFS = Path("/sys/fs/bpf")

OBJECTS = [("asm_alu", "v2"), ("asm_alu", "v3"), ("asm_alu", "v4"), ("asm_mem", "v3"),
           ("asm_mem", "v4"), ("asm_ldabs", "v4"), ("asm_raw", "v4")]

_LOG_BEGIN = re.compile(r"^libbpf: prog '(\w+)': -- BEGIN PROG LOAD LOG --$", re.M)
_LOG_END = "-- END PROG LOAD LOG --"
_LIVE_LINE = re.compile(r"^\s*(\d+): [.0-9]{10} (.*)$")
_TRACE_LINE = re.compile(r"^(\d+): (\([0-9a-f]{2}\) [^;]*?)\s*(?:;.*)?$")
_XLATED_LINE = re.compile(r"^\s*\d+: ")
_OPCODES_LINE = re.compile(r"^ {7}[0-9a-f]{2}( [0-9a-f]{2})*$")


# --------------------------------------------------------------------------- plumbing


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed")
    return path


def _run(*args: str) -> str:
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout + r.stderr


def _ensure_bpffs() -> None:
    if not os.path.ismount(BPFFS):
        _run("mount", "-t", "bpf", "bpf", str(BPFFS))


def _build(stem: str, cpu: str) -> Path:
    if find_clang() is None:
        pytest.skip("clang not installed")
    return compile_bpf(DATA / f"{stem}.bpf.c", out=BUILD / "asm" / f"{stem}.{cpu}.o",
                       extra=[f"-mcpu={cpu}"])


@dataclass
class Loaded:
    """An object loaded by bpftool: its pins and the verifier log of each program."""

    pins: dict[str, Path]
    logs: dict[str, str]


def _split_logs(output: str) -> dict[str, str]:
    logs = {}
    for m in _LOG_BEGIN.finditer(output):
        end = output.find(_LOG_END, m.end())
        assert end >= 0, f"unterminated verifier log of {m.group(1)}"
        logs[m.group(1)] = output[m.end():end]
    return logs


def _object_ids(pins: dict[str, Path]) -> dict[str, set[int]]:
    ids: dict[str, set[int]] = {"prog": set(), "map": set(), "btf": set()}
    for pin in pins.values():
        info = json.loads(_run(_tool("bpftool"), "prog", "show", "pinned", str(pin), "--json"))
        ids["prog"].add(info["id"])
        ids["map"].update(info.get("map_ids", []))
        if info.get("btf_id"):
            ids["btf"].add(info["btf_id"])
    return ids


def _wait_released(ids: dict[str, set[int]], timeout: float = 10.0) -> None:
    """Programs, then their maps and BTF, are freed after RCU grace periods: wait for it so
    that the leak check compares settled counts."""
    from bpfdoctor.sys.objects import btf_ids, map_ids, prog_ids

    listers = {"prog": prog_ids, "map": map_ids, "btf": btf_ids}
    deadline = time.monotonic() + timeout
    while True:
        alive = {k: ids[k] & set(listers[k]()) for k in ids}
        if not any(alive.values()):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"kernel objects still alive {timeout}s after unpinning: {alive}")
        time.sleep(0.05)


@contextlib.contextmanager
def loaded(obj: Path) -> Iterator[Loaded]:
    """``bpftool -d prog loadall`` into a fresh bpffs directory; unpin and wait on exit."""
    bpftool = _tool("bpftool")
    _ensure_bpffs()
    pindir = Path(tempfile.mkdtemp(prefix="bpfdoctor-asm-", dir=BPFFS))
    ids: dict[str, set[int]] = {}
    try:
        output = _run(bpftool, "-d", "prog", "loadall", str(obj), str(pindir))
        pins = {p.name: p for p in sorted(pindir.iterdir())}
        ids = _object_ids(pins)
        yield Loaded(pins, _split_logs(output))
    finally:
        for p in pindir.iterdir():
            p.unlink()
        pindir.rmdir()
        if ids:
            _wait_released(ids)


def _jited_ksyms(pin: Path) -> list[int]:
    """The program's functions' addresses (``bpf_prog_info.jited_ksyms``), which bpftool
    uses to name bpf-to-bpf call targets."""
    from bpfdoctor.sys.objects import obj_get

    fd = obj_get(pin)
    try:
        return _jited_ksyms_fd(fd)
    finally:
        fd.close()


def _bpftool_lines(text: str, opcodes: bool) -> list[str]:
    """bpftool's instruction lines (and hex lines with ``opcodes``), without the ``; source``
    and function-signature lines it prints from BTF."""
    pat = re.compile(f"{_XLATED_LINE.pattern}|{_OPCODES_LINE.pattern}") if opcodes \
        else _XLATED_LINE
    return [line.rstrip() for line in text.splitlines() if pat.match(line)]


def _newer_than_bpftool(ins: Instruction) -> bool:
    """Instruction forms that bpftool v7.1's disassembler (Linux 6.2) prints differently
    from 6.18: everything added by cpu v4 (6.6) and later."""
    code, cls, md, o = ins.opcode, ins.opcode & 7, ins.opcode & 0xE0, ins.opcode & 0xF0
    if cls in (op.InsnClass.ALU, op.InsnClass.ALU64):
        if code == op.InsnClass.ALU64 | op.AluOp.END:
            return True  # bswap
        if o in (op.AluOp.DIV, op.AluOp.MOD) and ins.off == op.OFF_SDIV_SMOD:
            return True
        if o == op.AluOp.MOV and code & op.SOURCE_MASK and ins.off in op.OFF_MOVSX:
            return True
        if code == op.InsnClass.ALU64 | op.AluOp.MOV | op.Source.X and ins.off in (
                op.OFF_ADDR_SPACE_CAST, op.OFF_ADDR_PERCPU):
            return True
    if cls == op.InsnClass.LDX and md == op.Mode.MEMSX:
        return True
    if cls == op.InsnClass.STX and md == op.Mode.ATOMIC and ins.imm in (
            op.AtomicOp.LOAD_ACQ, op.AtomicOp.STORE_REL):
        return True
    return code in (op.GOTOL, op.JCOND)


# --------------------------------------------------------------------------- ELF side


@dataclass
class ElfProgram:
    insns: list[Instruction]
    relocated: set[int]
    """Slots that libbpf patches before loading (a relocation points at them)."""


def _elf_programs(obj: Path) -> dict[str, ElfProgram]:
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile
    from elftools.elf.relocation import RelocationSection
    from elftools.elf.sections import SymbolTableSection

    with obj.open("rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        relocs: dict[int, set[int]] = {}
        for sec in elf.iter_sections():
            if isinstance(sec, RelocationSection):
                relocs.setdefault(sec["sh_info"], set()).update(
                    r["r_offset"] for r in sec.iter_relocations())
        out = {}
        for sym in symtab.iter_symbols():
            if sym["st_info"]["type"] != "STT_FUNC" or sym["st_info"]["bind"] != "STB_GLOBAL":
                continue
            shndx = sym["st_shndx"]
            sec = elf.get_section(shndx)
            if not sec["sh_flags"] & SH_FLAGS.SHF_EXECINSTR:
                continue
            start, size = sym["st_value"], sym["st_size"]
            out[sym.name] = ElfProgram(
                decode(sec.data()[start:start + size]),
                {(o - start) // 8 for o in relocs.get(shndx, ()) if start <= o < start + size})
        return out


def _kernel_listing(log: str) -> dict[int, str]:
    """Instruction index -> the kernel's text, from the level-2 verifier log (the
    "Live regs before insn" listing has them all; the trace repeats those it walks)."""
    seen: dict[int, set[str]] = {}
    for line in log.splitlines():
        m = _LIVE_LINE.match(line) or _TRACE_LINE.match(line)
        if m:
            seen.setdefault(int(m.group(1)), set()).add(m.group(2).rstrip())
    ambiguous = {i: t for i, t in seen.items() if len(t) != 1}
    assert not ambiguous, f"one instruction printed two ways: {ambiguous}"
    return {i: t.pop() for i, t in seen.items()}


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize(("stem", "cpu"), OBJECTS, ids=lambda v: str(v))
def test_format_xlated_matches_bpftool(stem: str, cpu: str, tmp_path: Path) -> None:
    bpftool = _tool("bpftool")
    obj = _build(stem, cpu)
    compared = newer = 0
    with loaded(obj) as lo:
        assert lo.pins, "bpftool pinned no program"
        symbols = KernelSymbols.load()  # now that it lists the new programs' functions
        for name, pin in lo.pins.items():
            raw = tmp_path / f"{name}.bin"
            _run(bpftool, "prog", "dump", "xlated", "pinned", str(pin), "file", str(raw))
            want = _bpftool_lines(_run(bpftool, "prog", "dump", "xlated", "pinned", str(pin),
                                       "opcodes"), opcodes=True)
            insns = decode(raw.read_bytes())
            got = format_xlated(insns, symbols=symbols, jited_ksyms=_jited_ksyms(pin),
                                opcodes=True)
            assert len(got) == len(want), (name, want, got)
            for k, ins in enumerate(insns):
                text_w, text_g = want[2 * k], got[2 * k]
                assert want[2 * k + 1] == got[2 * k + 1], (name, text_w)  # the raw bytes
                if _newer_than_bpftool(ins):
                    assert text_w != text_g, (name, "bpftool knows this form now", text_w)
                    newer += 1
                else:
                    assert text_g == text_w, name
                    compared += 1
            # the plain listing is the opcodes listing without the hex lines
            plain = _bpftool_lines(_run(bpftool, "prog", "dump", "xlated", "pinned", str(pin)),
                                   opcodes=False)
            assert plain == want[0::2]
    assert compared > 0


@pytest.mark.parametrize(("stem", "cpu"), OBJECTS, ids=lambda v: str(v))
def test_kernel_text_matches_verifier_log(stem: str, cpu: str) -> None:
    obj = _build(stem, cpu)
    programs = _elf_programs(obj)
    checked = 0
    with loaded(obj) as lo:
        assert set(lo.logs) == set(lo.pins) == set(programs)
        for name, prog in programs.items():
            listing = _kernel_listing(lo.logs[name])
            slots = slot_offsets(prog.insns)
            # libbpf appends called subprograms after the function itself
            assert set(slots) <= set(listing), name
            for slot, ins in zip(slots, prog.insns, strict=True):
                if slot in prog.relocated:
                    continue
                assert format_instruction(ins, pc=slot) == f"{slot}: {listing[slot]}", name
                checked += 1
    assert checked > 0


# --------------------------------------------------------------------------- our own loader

OWN_LOADER_OBJECTS = [("asm_alu", "v2"), ("asm_alu", "v3"), ("asm_alu", "v4"),
                      ("asm_mem", "v3"), ("asm_mem", "v4"), ("asm_ldabs", "v4"),
                      ("asm_raw", "v4")]


def _own_loader_sources() -> list[Path]:
    from support.build import example_sources

    return example_sources()


def _compare_with_bpftool(coll, bpftool: str) -> int:  # type: ignore[no-untyped-def]
    """For each program of a loaded Collection: our decode + format_xlated of the bytes the
    kernel holds must equal ``bpftool prog dump xlated id N opcodes``."""
    from bpfdoctor import sys as bsys

    symbols = KernelSymbols.load()
    compared = 0
    for name, prog in coll.programs.items():
        pid = prog.info().id
        want = _bpftool_lines(_run(bpftool, "prog", "dump", "xlated", "id", str(pid),
                                   "opcodes"), opcodes=True)
        insns = decode(bsys.prog_xlated(prog.fd))
        assert insns == prog.xlated()
        got = format_xlated(insns, symbols=symbols, jited_ksyms=_jited_ksyms_fd(prog.fd),
                            opcodes=True)
        assert len(got) == len(want), (name, want, got)
        for k, ins in enumerate(insns):
            assert want[2 * k + 1] == got[2 * k + 1], (name, want[2 * k])
            if _newer_than_bpftool(ins):
                assert want[2 * k] != got[2 * k]
            else:
                assert got[2 * k] == want[2 * k], name
                compared += 1
    return compared


def _jited_ksyms_fd(fd) -> list[int]:  # type: ignore[no-untyped-def]
    """``bpf_prog_info.jited_ksyms`` of an open program fd."""
    from bpfdoctor.sys.info import ProgInfoStruct, obj_get_info

    info = ProgInfoStruct()
    obj_get_info(fd, info)
    n = int(info.nr_jited_ksyms)
    if not n:
        return []
    addrs = (ctypes.c_uint64 * n)()
    obj_get_info(fd, ProgInfoStruct(nr_jited_ksyms=n, jited_ksyms=ctypes.addressof(addrs)))
    return list(addrs)


@pytest.mark.parametrize(("stem", "cpu"), OWN_LOADER_OBJECTS, ids=lambda v: str(v))
def test_own_loader_xlated_matches_bpftool(stem: str, cpu: str) -> None:
    """The same comparison for programs bpfdoctor's own loader put in the kernel."""
    from bpfdoctor import Collection, load_collection_spec

    bpftool = _tool("bpftool")
    with Collection(load_collection_spec(_build(stem, cpu))) as coll:
        assert coll.programs
        assert _compare_with_bpftool(coll, bpftool) > 0


@pytest.mark.parametrize("src", _own_loader_sources(), ids=lambda p: p.name)
def test_own_loader_examples_xlated_matches_bpftool(src: Path) -> None:
    from bpfdoctor import Collection, load_collection_spec

    bpftool = _tool("bpftool")
    spec = load_collection_spec(compile_bpf(src))
    with Collection(spec) as coll:
        assert _compare_with_bpftool(coll, bpftool) > 0

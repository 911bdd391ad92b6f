"""CO-RE relocations against the running kernel, with libbpf as the oracle.

* tests/data/core_*.bpf.c are built against a vmlinux.h that ``bpftool btf dump ... format c``
  writes from this kernel's BTF (into build/core, never committed), using libbpf's
  bpf_core_read.h macros, with local ``___flavor`` types that differ from this kernel.
* Programs that load are loaded twice, by ``bpftool prog loadall`` (libbpf) and by
  bpfdoctor's :class:`~bpfdoctor.loader.Collection`: the instructions the kernel holds
  afterwards (xlated) must be identical, map ids aside.
* Programs whose relocation must fail are refused by both, with the same errno, and at the
  same instruction: libbpf's log says ``N: <invalid CO-RE relocation>``, the raw kernel log
  ``N: (85) call unknown#195896080`` / ``invalid func unknown#195896080``.
* Relocations libbpf refuses outright (ambiguous kernel types) fail both loads with EINVAL.
* Real objects: the BPF programs embedded in a few libbpf-tools binaries relocate without
  error, and every program the libbpf reference loader loads, bpfdoctor loads to the same
  xlated instructions.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpfdoctor.asm import Instruction, decode
from bpfdoctor.asm.instruction import PSEUDO_MAP_FD, PSEUDO_MAP_VALUE
from bpfdoctor.btf import Struct, kernel
from bpfdoctor.btf.core import CoreRelocationError, CoreResult, kernel_targets, relocate
from bpfdoctor.elf import load_collection_spec, read_collection_spec
from bpfdoctor.errors import VerifierError
from bpfdoctor.loader import Collection
from bpfdoctor.sys import prog_xlated
from bpfdoctor.sys.objects import obj_get
from support.build import BUILD, compile_bpf, find_clang
from support.reference import build_reference_loader, run_reference

DATA = Path(__file__).resolve().parents[1] / "data"
OUT = BUILD / "core"
BPFFS = Path("/sys/fs/bpf")
POISON_MSG = "invalid func unknown#195896080"

TOOLS = ["bindsnoop", "runqslower", "tcpconnect", "execsnoop", "opensnoop", "biopattern"]
"""libbpf-tools with a spread of CO-RE use: bitfields, flavors, existence checks, tp_btf."""


# --------------------------------------------------------------------------- plumbing


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture(scope="module")
def objects() -> dict[str, Path]:
    """The core_*.bpf.c objects, built against this kernel's vmlinux.h (regenerated once per
    test module: a header from another kernel would test the wrong thing)."""
    bpftool = _tool("bpftool")
    if find_clang() is None:
        pytest.skip("clang is not installed")
    OUT.mkdir(parents=True, exist_ok=True)
    header = OUT / "vmlinux.h"
    tmp = OUT / f"vmlinux.h.{os.getpid()}.tmp"
    with tmp.open("wb") as f:
        subprocess.run([bpftool, "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format",
                        "c"], stdout=f, check=True)
    os.replace(tmp, header)
    return {src.name.removesuffix(".bpf.c"): compile_bpf(
                src, out=OUT / src.name.replace(".bpf.c", ".o"), extra=[f"-I{OUT}"])
            for src in sorted(DATA.glob("core_*.bpf.c"))}


def _same_program(ours: list[Instruction], theirs: list[Instruction]) -> bool:
    """Equal instruction for instruction, except the map ids the kernel shows in map loads."""
    if len(ours) != len(theirs):
        return False
    for a, b in zip(ours, theirs, strict=True):
        if a.is_ld_imm64 and a.src in (PSEUDO_MAP_FD, PSEUDO_MAP_VALUE):
            if (b.opcode, b.dst, b.src, b.imm_hi) != (a.opcode, a.dst, a.src, a.imm_hi):
                return False
        elif a != b:
            return False
    return True


@contextlib.contextmanager
def bpftool_loadall(obj: Path) -> Iterator[dict[str, list[Instruction]]]:
    """Load every program of ``obj`` with ``bpftool prog loadall``; yields each program's
    xlated instructions by name, and removes the pins afterwards."""
    bpftool = _tool("bpftool")
    if not os.path.ismount(BPFFS):
        pytest.skip("no bpffs mounted at /sys/fs/bpf")
    pindir = Path(tempfile.mkdtemp(prefix="bpfdoctor-core-", dir=BPFFS))
    try:
        r = subprocess.run([bpftool, "prog", "loadall", str(obj), str(pindir)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"bpftool could not load {obj}:\n{r.stderr[-4000:]}"
        xlated = {}
        for pin in sorted(pindir.iterdir()):
            fd = obj_get(pin)
            try:
                xlated[pin.name] = decode(prog_xlated(fd))
            finally:
                fd.close()
        yield xlated
    finally:
        for pin in pindir.iterdir():
            pin.unlink()
        pindir.rmdir()


def _reference_xlated(obj: Path, outdir: Path) -> list[dict[str, object]]:
    """The libbpf reference loader's verdicts, with the xlated instructions of each loaded
    program written under ``outdir``."""
    r = subprocess.run([str(build_reference_loader()), str(obj), "--xlated", str(outdir)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def _results(c: Collection, prog: str) -> list[CoreResult]:
    return c.programs[prog].core_relocations  # type: ignore[return-value]


# --------------------------------------------------------------------------- same xlated


@pytest.mark.parametrize("name", ["core_read", "core_prune"])
def test_relocated_programs_match_libbpf(objects: dict[str, Path], name: str) -> None:
    obj = objects[name]
    spec = load_collection_spec(obj)
    assert any(p.core_relos for p in spec.programs.values())
    with bpftool_loadall(obj) as theirs, Collection(spec) as ours:
        assert sorted(theirs) == sorted(ours.programs)
        for prog, loaded in ours.programs.items():
            mine = loaded.xlated()
            assert _same_program(mine, theirs[prog]), prog
            assert all(isinstance(r, CoreResult) for r in loaded.core_relocations)


def test_relocation_outcomes_on_this_kernel(objects: dict[str, Path]) -> None:
    """What the relocations of core_read resolve to, checked against this kernel's BTF."""
    vm = kernel.vmlinux()
    task = vm.find("task_struct", Struct)[0]
    regs = vm.type_by_id(vm.find("pt_regs", Struct)[0])
    di = next(m for m in regs.members if m.name == "di")  # type: ignore[attr-defined]
    with Collection(load_collection_spec(objects["core_read"])) as c:
        guarded = {r.access + "/" + r.kind.name: r for r in _results(c, "guarded_state")}
        exists = guarded["task_struct___old.state/FIELD_EXISTS"]
        assert (exists.orig, exists.new, exists.poisoned) == (1, 0, False)
        read = guarded["task_struct___old.state/FIELD_BYTE_OFFSET"]
        assert read.poisoned and read.reason == \
            "field 'state' does not exist in struct task_struct in this kernel"

        narrow = _results(c, "narrow_ctx")[0]
        assert (narrow.access, narrow.new) == ("pt_regs___narrow.di", di.offset_bits // 8)
        assert c.programs["narrow_ctx"].xlated()[0].opcode == 0x79  # u32 load widened

        types = {r.access + "/" + r.kind.name: r for r in _results(c, "types_enums")}
        assert types["struct task_struct/TYPE_ID_TARGET"].new == task
        assert types["struct task_struct/TYPE_SIZE"].new == vm.sizeof(task)
        assert types["struct core_test_absent/TYPE_EXISTS"].new == 0
        assert types["struct list_head___bad/TYPE_MATCHES"].new == 0
        assert types["struct list_head/TYPE_MATCHES"].new == 1
        iv = types["enum blake2b_iv::BLAKE2B_IV1/ENUMVAL_VALUE"]
        assert iv.new == 0xBB67AE8584CAA73B  # the BLAKE2b IV is a published constant


def test_pruned_candidates_like_libbpf(objects: dict[str, Path]) -> None:
    """vmlinux has a syscall_tp_t with 'args'; after 'ret' matched only the other one, libbpf
    (and so bpfdoctor) says 'args' does not exist.  The xlated comparison is in
    test_relocated_programs_match_libbpf[core_prune]."""
    cands = kernel_targets().candidates("syscall_tp_t", Struct.kind)
    assert len(cands) == 2
    assert any(m.name == "args" for c in cands
               for m in c.btf.type_by_id(c.type_id).members)  # type: ignore[attr-defined]
    with Collection(load_collection_spec(objects["core_prune"])) as c:
        by_access = {r.access: r for r in _results(c, "prune")}
        assert by_access["syscall_tp_t___p.ret"].new == 16
        args = by_access["syscall_tp_t___p.args"]
        assert args.new == 0 and args.candidates == 1
        assert args.reason and "ruled out by an earlier relocation" in args.reason


# --------------------------------------------------------------------------- failures


def test_unsatisfiable_relocations_rejected_like_libbpf(objects: dict[str, Path]) -> None:
    obj = objects["core_fail"]
    ref = {r["program"]: r for r in run_reference(obj, log=True)}
    spec = load_collection_spec(obj)
    assert sorted(ref) == sorted(spec.programs)
    for name in spec.programs:
        assert ref[name]["verdict"] == "fail", ref[name]
        with pytest.raises(VerifierError) as ei:
            Collection(spec, programs=[name])
        err = ei.value
        assert err.errno_name == ref[name]["errno"] == "EINVAL"
        assert err.verifier_message == POISON_MSG
        poisoned = [r for r in err.core_relocations if r.poisoned]
        assert poisoned and all(r.reason for r in poisoned)
        # the same instruction, by libbpf's rewritten log and by the kernel's own
        slots = {r.relo.insn for r in poisoned}
        ours_at = {int(line.split(":")[0]) for line in err.log
                   if line.endswith("call unknown#195896080")}
        theirs_at = {int(line.split(":")[0]) for line in str(ref[name]["log"]).splitlines()
                     if line.endswith(": <invalid CO-RE relocation>")}
        assert ours_at == theirs_at and ours_at <= slots, (name, ours_at, theirs_at, slots)
    pin = BPFFS / f"bpfdoctor-core-fail-{os.getpid()}"
    try:
        r = subprocess.run([_tool("bpftool"), "prog", "loadall", str(obj), str(pin)],
                           capture_output=True, text=True, timeout=120)
    finally:
        if pin.exists():
            shutil.rmtree(pin, ignore_errors=True)
    assert r.returncode != 0 and "failed to resolve CO-RE relocation" in r.stderr


def test_reasons_for_poisoned_relocations(objects: dict[str, Path]) -> None:
    spec = load_collection_spec(objects["core_fail"])
    reasons = {}
    for name in spec.programs:
        with pytest.raises(VerifierError) as ei:
            Collection(spec, programs=[name])
        reasons[name] = [r.reason for r in ei.value.core_relocations if r.poisoned]
    assert reasons["unguarded_state"] == [
        "field 'state' does not exist in struct task_struct in this kernel"]
    assert reasons["missing_enumval"] == [
        "enum value 'PIDTYPE_FUTURE___future' does not exist in enum pid_type in this kernel"]
    assert reasons["signed_ctx"] == [
        "pt_regs___signed.di is 8 bytes in this kernel, but the program accesses 4 bytes; "
        "only pointers and unsigned integers can be read at a different size"]


def test_ambiguous_relocations_refused_like_libbpf(objects: dict[str, Path]) -> None:
    obj = objects["core_ambiguous"]
    ref = {r["program"]: r for r in run_reference(obj, log=True)}
    spec = load_collection_spec(obj)
    for name in ("ambiguous_offset", "ambiguous_size"):
        assert ref[name]["errno"] == "EINVAL" and "ambiguity" in str(ref[name]["log"])
        with pytest.raises(CoreRelocationError) as ei:
            Collection(spec, programs=[name])
        assert ei.value.errno_name == "EINVAL" and "ambiguous" in str(ei.value)
    assert ref["agreeing_offset"]["verdict"] == "ok"
    with Collection(spec, programs=["agreeing_offset"]) as c:
        assert _results(c, "agreeing_offset")[0].new == 0


# --------------------------------------------------------------------------- caching


def test_kernel_targets_follow_the_vmlinux_cache() -> None:
    first = kernel_targets()
    assert kernel_targets() is first and first.vmlinux is kernel.vmlinux()
    kernel.clear_cache()
    second = kernel_targets()
    assert second is not first and second.vmlinux is kernel.vmlinux()
    assert second.vmlinux is not first.vmlinux


# --------------------------------------------------------------------------- libbpf-tools


def _embedded_bpf_objects(data: bytes) -> list[bytes]:
    """BPF ELF images inside an executable: an ELF header for machine 247 (EM_BPF), whose
    size is where its section header table ends (the last thing clang writes)."""
    out = []
    pos = data.find(b"\x7fELF", 1)
    while pos >= 0:
        hdr = data[pos:pos + 64]
        if len(hdr) == 64 and hdr[4] == 2 and hdr[5] == 1 and \
                struct.unpack_from("<H", hdr, 18)[0] == 247:
            (shoff,) = struct.unpack_from("<Q", hdr, 0x28)
            shentsize, shnum = struct.unpack_from("<HH", hdr, 0x3A)
            end = shoff + shentsize * shnum
            out.append(data[pos:pos + end])
            pos = data.find(b"\x7fELF", pos + end)
        else:
            pos = data.find(b"\x7fELF", pos + 1)
    return out


@pytest.mark.parametrize("tool", TOOLS)
def test_libbpf_tools_objects(tool: str, tmp_path: Path) -> None:
    binary = Path("/usr/sbin") / tool
    if not binary.exists():
        pytest.skip(f"{binary} not installed (libbpf-tools)")
    images = _embedded_bpf_objects(binary.read_bytes())
    assert images, f"no BPF object found in {binary}"
    relocated = 0
    for n, image in enumerate(images):
        obj = tmp_path / f"{tool}.{n}.bpf.o"
        obj.write_bytes(image)
        spec = read_collection_spec(image, str(obj))
        for prog in spec.programs.values():
            if prog.core_relos:  # every relocation resolves, poisoned or not
                _, results = relocate(prog.instructions, prog.core_relos, spec.btf,
                                      kernel_targets())
                relocated += len(results)
        for row in _reference_xlated(obj, tmp_path):
            if row["verdict"] != "ok":
                continue
            name = str(row["program"])
            with Collection(spec, programs=[name]) as c:
                theirs = decode(Path(str(row["xlated"])).read_bytes())
                assert _same_program(c.programs[name].xlated(), theirs), (tool, name)
    assert relocated, f"{tool} has no CO-RE relocations"

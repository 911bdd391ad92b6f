"""Externs against the running kernel, with libbpf as the oracle.

* verdict and errno of every program equal those of the libbpf 1.1 reference loader, for
  objects that load and for each way libbpf refuses externs (the whole object fails);
* the ``.kconfig`` map holds the same bytes as the one libbpf creates (``bpftool prog
  loadall``), and the BTF the kernel accepted has the same ``.ksyms``/``.kconfig`` DATASECs;
* the instructions the kernel holds after verification (xlated) equal those of the same
  programs loaded by bpftool, map ids aside;
* the programs compute what independent sources say (kernel config, uname, kallsyms);
* every fd the externs need is closed whether the load succeeds or fails;
* maps libbpf creates specially (map-in-map, prog arrays with initialisers, per-CPU, ring
  buffers, stack traces, bloom filters, numa_node, perf event arrays) come out as libbpf's,
  and pinning happens only under a pin path the caller gives.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpfdoctor import (
    Collection,
    LoadOptions,
    MapCreateError,
    VerifierError,
    load_collection_spec,
)
from bpfdoctor import btf as btfmod
from bpfdoctor import loader as loadermod
from bpfdoctor import sys as bsys
from bpfdoctor.asm import Instruction, decode
from bpfdoctor.check import check_object
from bpfdoctor.elf import RelocationError
from bpfdoctor.externs import ExternDeclError
from bpfdoctor.sys import FD
from support.reference import run_reference
from test_externs import build

BPFFS = Path("/sys/fs/bpf")
ERROR_VARIANTS = ["MISSING_KFUNC", "MISSING_KSYM", "MISSING_KCONFIG", "BAD_PROTO",
                  "BAD_KCONFIG_TYPE", "STRING_AS_INT", "UNKNOWN_VIRTUAL", "PLAIN_EXTERN"]
OPEN_ERRORS = {"BAD_KCONFIG_TYPE": ExternDeclError, "PLAIN_EXTERN": RelocationError}
"""Variants libbpf cannot even open (bpf_object__open fails); bpfdoctor's reader refuses
them with these errors."""
PARITY = [("extern_kconfig",), ("extern_ksyms",), ("extern_typed",),
          *(("extern_errors", v) for v in ERROR_VARIANTS)]
LOADABLE = [("extern_kconfig",), ("extern_ksyms", "LOADABLE_ONLY"),
            ("extern_typed", "LOADABLE_ONLY")]


def _id(v: tuple[str, ...]) -> str:
    return ".".join(v)


# --------------------------------------------------------------------------- bpftool


def _bpftool() -> str:
    path = shutil.which("bpftool")
    if path is None:
        pytest.skip("bpftool not installed")
    return path


def _run(*args: str) -> str:
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


@contextlib.contextmanager
def bpftool_loaded(obj: Path) -> Iterator[dict[str, dict]]:
    """``bpftool prog loadall`` (libbpf 1.1) into a fresh bpffs directory; yields each
    program's ``bpftool prog show`` JSON by name, and unpins and waits for the kernel to
    free everything on exit."""
    bpftool = _bpftool()
    if not os.path.ismount(BPFFS):
        _run("mount", "-t", "bpf", "bpf", str(BPFFS))
    pindir = Path(tempfile.mkdtemp(prefix="bpfdoctor-ext-", dir=BPFFS))
    progs: dict[str, dict] = {}
    try:
        _run(bpftool, "prog", "loadall", str(obj), str(pindir))
        for pin in sorted(pindir.iterdir()):
            progs[pin.name] = json.loads(_run(bpftool, "prog", "show", "pinned", str(pin),
                                              "--json"))
            progs[pin.name]["pin"] = str(pin)
        yield progs
    finally:
        for p in pindir.iterdir():
            p.unlink()
        pindir.rmdir()
        _wait_released(progs)


def _wait_released(progs: dict[str, dict], timeout: float = 10.0) -> None:
    ids = {("prog", p["id"]) for p in progs.values()}
    ids |= {("map", m) for p in progs.values() for m in p.get("map_ids", [])}
    ids |= {("btf", p["btf_id"]) for p in progs.values() if p.get("btf_id")}
    deadline = time.monotonic() + timeout
    while ids:
        alive = {("prog", i) for i in bsys.prog_ids()} | {("map", i) for i in bsys.map_ids()}
        alive |= {("btf", i) for i in bsys.btf_ids()}
        ids &= alive
        if ids and time.monotonic() > deadline:
            if all(kind == "map" for kind, _ in ids):
                # Seen twice on this 6.18 kernel: a prog array loaded by bpftool (libbpf 1.1)
                # stays alive with no fd and no pin; the oracle's side, not ours.
                import warnings

                warnings.warn(f"maps still held by the kernel after bpftool's load: {ids}",
                              stacklevel=1)
                return
            pytest.fail(f"kernel objects still alive after unpinning: {ids}")
        time.sleep(0.05)


def _map_value(map_id: int) -> tuple[bsys.MapInfo, bytes]:
    fd = bsys.map_get_fd_by_id(map_id)
    try:
        info = bsys.map_info(fd)
        return info, bsys.map_lookup_elem(fd, b"\0" * 4, info.value_size)
    finally:
        fd.close()


def _masked(insns: list[Instruction]) -> list[Instruction]:
    """Map loads carry the map id in the xlated image; two loads differ only there."""
    return [i.with_imm64(0, i.imm_hi) if i.is_map_load else i for i in insns]


# --------------------------------------------------------------------------- parity


@pytest.mark.parametrize("variant", PARITY, ids=_id)
def test_same_verdict_and_errno_as_libbpf(variant: tuple[str, ...]) -> None:
    obj = build(*variant)
    ref = run_reference(obj)
    ours = check_object(obj, options=LoadOptions())
    if len(ref) == 1 and ref[0]["program"] is None:
        assert variant[-1] in OPEN_ERRORS, ref
        assert isinstance(ours.error, OPEN_ERRORS[variant[-1]]), ours.error
        return
    assert ours.error is None, ours.error
    got = {p.name: (p.verdict, p.errno_name) for p in ours.programs}
    want = {r["program"]: (r["verdict"], r["errno"]) for r in ref}
    assert got == want


def test_extern_failure_names_the_extern() -> None:
    result = check_object(build("extern_errors", "MISSING_KFUNC"), options=LoadOptions())
    (uses, innocent) = result.programs
    for p in (uses, innocent):
        assert p.error is not None and p.error.extern == "bpfdoctor_no_such_kfunc"  # type: ignore[attr-defined]
        assert "vmlinux" in p.error.searched  # type: ignore[attr-defined]
    assert "used by uses_extern" in str(uses.message)


# --------------------------------------------------------------------------- against bpftool


def test_kconfig_map_equals_libbpfs() -> None:
    obj = build("extern_kconfig")
    with bpftool_loaded(obj) as progs:
        (map_id,) = {m for p in progs.values() for m in p["map_ids"]}
        ref_info, ref_value = _map_value(map_id)
    with Collection(load_collection_spec(obj)) as coll:
        m = coll.maps[".kconfig"]
        info = m.info()
        value = bsys.map_lookup_elem(m.fd, b"\0" * 4, info.value_size)
    assert value == ref_value
    for attr in ("type", "key_size", "value_size", "max_entries", "map_flags", "name"):
        assert getattr(info, attr) == getattr(ref_info, attr), attr
    assert info.btf_value_type_id == ref_info.btf_value_type_id


@pytest.mark.parametrize("variant", LOADABLE, ids=_id)
def test_xlated_equals_bpftools(variant: tuple[str, ...]) -> None:
    obj = build(*variant)
    with bpftool_loaded(obj) as progs:
        want = {}
        for name, p in progs.items():
            fd = bsys.prog_get_fd_by_id(p["id"])
            try:
                want[name] = decode(bsys.prog_xlated(fd))
            finally:
                fd.close()
    with Collection(load_collection_spec(obj)) as coll:
        got = {name: p.xlated() for name, p in coll.programs.items()}
    assert set(got) == set(want)
    for name in got:
        assert _masked(got[name]) == _masked(want[name]), name


@pytest.mark.parametrize("variant", [("extern_kconfig",), ("extern_ksyms", "LOADABLE_ONLY"),
                                     ("extern_typed", "LOADABLE_ONLY")], ids=_id)
def test_kernel_btf_equals_libbpfs(variant: tuple[str, ...]) -> None:
    """The BTF bpfdoctor loads for an object with externs is byte for byte the one libbpf
    loads (both read back from the kernel), while the spec keeps the object's own BTF."""
    obj = build(*variant)
    with bpftool_loaded(obj) as progs:
        btf_id = next(iter(progs.values()))["btf_id"]
        fd = bsys.btf_get_fd_by_id(btf_id)
        try:
            ref = bsys.btf_data(fd)
        finally:
            fd.close()
    spec = load_collection_spec(obj)
    assert spec.btf is not None
    original = btfmod.marshal(spec.btf)
    with Collection(spec) as coll:
        assert coll.btf_fd is not None
        assert not any("BTF" in w for w in coll.warnings), coll.warnings
        ours = bsys.btf_data(coll.btf_fd)
    assert ours == ref
    assert btfmod.marshal(spec.btf) == original != ours


# --------------------------------------------------------------------------- what programs see


def _kernel_config() -> dict[str, str]:
    for path in (f"/boot/config-{os.uname().release}", "/proc/config.gz"):
        with contextlib.suppress(OSError):
            raw = Path(path).read_bytes()
            text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
            return dict(re.findall(r"^(CONFIG_\w+)=(.*)$", text.decode(), re.M))
    pytest.skip("no kernel config to compare with")


def _run_all(coll: Collection, data: bytes = bytes(64)) -> dict[str, int]:
    return {n: bsys.prog_test_run(p.fd, data).retval for n, p in coll.programs.items()}


def test_kconfig_values_seen_by_programs() -> None:
    config = _kernel_config()
    release = re.match(r"(\d+)\.(\d+)\.(\d+)", os.uname().release)
    assert release is not None
    a, b, c = (int(x) for x in release.groups())
    with Collection(load_collection_spec(build("extern_kconfig"))) as coll:
        ret = _run_all(coll)
    assert ret["kernel_version"] == (a << 16) + (b << 8) + min(c, 255)
    assert ret["hz"] == int(config["CONFIG_HZ"])
    assert ret["jit_char"] == ord(config.get("CONFIG_BPF_JIT", "\0")[0])
    want_poison = int(config.get("CONFIG_ILLEGAL_POINTER_VALUE", "0"), 0) >> 48
    assert ret["pointer_poison_top"] == want_poison
    local = config.get("CONFIG_LOCALVERSION", '""').strip('"').encode()[:4].ljust(4, b"\0")
    assert ret["localversion"] == int.from_bytes(local, "little")
    assert ret["flags"] & 1 == (config.get("CONFIG_BPF_SYSCALL") == "y")


def test_ksyms_and_kfuncs_seen_by_programs() -> None:
    kallsyms = Path("/proc/kallsyms").read_text()
    m = re.search(r"^([0-9a-f]+) \w schedule$", kallsyms, re.M)
    assert m is not None
    obj = build("extern_ksyms", "LOADABLE_ONLY")
    with Collection(load_collection_spec(obj)) as coll:
        ret = _run_all(coll)
        assert any("bpfdoctor_no_such_kfunc" in w for w in coll.warnings)
    assert ret == {"sum_to_ten": 55, "rcu_section": 1, "weak_kfunc_guarded": 2,
                   "symbol_address": int(m.group(1), 16) & 0xFFFFFFFF}


def test_typed_externs_seen_by_programs() -> None:
    spec = load_collection_spec(build("extern_typed", "LOADABLE_ONLY"))
    with Collection(spec) as coll:
        # syscall programs take a context but no data, repeat count or output buffer
        run = bsys.prog_test_run(coll.programs["task_tgid"].fd, repeat=0, data_size_out=0,
                                 ctx_in=struct.pack("=i", os.getpid()), ctx_size_out=0)
    # bpf_task_from_pid() looks in the initial pid namespace, where the tests run here
    assert run.retval == os.getpid()


# --------------------------------------------------------------------------- fds


@pytest.fixture
def extra_extern_fd(monkeypatch: pytest.MonkeyPatch) -> list[FD]:
    """Make every extern resolution own one more fd (as a module BTF fd would be), to see
    that the Collection closes it."""
    owned: list[FD] = []
    real = loadermod.resolve_externs

    def resolve(*args, **kw):  # type: ignore[no-untyped-def]
        res = real(*args, **kw)
        fd = FD(os.open(os.devnull, os.O_RDONLY))
        res._fds.append(fd)
        owned.append(fd)
        return res

    monkeypatch.setattr(loadermod, "resolve_externs", resolve)
    return owned


def test_extern_fds_closed_after_success(extra_extern_fd: list[FD]) -> None:
    spec = load_collection_spec(build("extern_ksyms"))
    with Collection(spec, programs=["sum_to_ten"]) as coll:
        assert coll.externs is not None and not extra_extern_fd[0].closed
    assert extra_extern_fd[0].closed


def test_extern_fds_closed_after_failure(extra_extern_fd: list[FD]) -> None:
    spec = load_collection_spec(build("extern_ksyms"))
    with pytest.raises(VerifierError):
        Collection(spec, programs=["sum_to_ten", "weak_kfunc_unguarded"])
    assert extra_extern_fd and all(fd.closed for fd in extra_extern_fd)


# --------------------------------------------------------------------------- map features

MAP_FIELDS = ("type", "key_size", "value_size", "max_entries", "map_flags", "map_extra",
              "btf_key_type_id", "btf_value_type_id")


def _info_by_id(map_id: int) -> bsys.MapInfo:
    fd = bsys.map_get_fd_by_id(map_id)
    try:
        return bsys.map_info(fd)
    finally:
        fd.close()


def _slot_ids(fd: bsys.FDLike, slots: int) -> list[int | None]:
    """What a map-in-map or prog array holds, as the ids user space reads back."""
    out: list[int | None] = []
    for k in range(slots):
        v = bsys.map_lookup_elem(fd, struct.pack("=I", k), 4)
        out.append(None if v is None else struct.unpack("=I", v)[0])
    return out


def _fields(info: bsys.MapInfo) -> tuple[int, ...]:
    return tuple(getattr(info, f) for f in MAP_FIELDS)


def test_map_features_like_libbpf() -> None:
    obj = build("extern_map_features")
    with bpftool_loaded(obj) as progs:
        ref = {i.name: i for i in (_info_by_id(m) for p in progs.values()
                                   for m in p.get("map_ids", []))}
        # (libbpf's prog array cannot be compared: the kernel empties a prog array when
        # its last user-space reference goes, as bpftool exits)
        fd = bsys.map_get_fd_by_id(ref["outer"].id)
        try:
            ref_inner = [None if i is None else _info_by_id(i).name
                         for i in _slot_ids(fd, 4)]
        finally:
            fd.close()
    with Collection(load_collection_spec(obj)) as coll:
        ours = {m.info().name: m.info() for m in coll.maps.values()}
        inner = [None if i is None else _info_by_id(i).name
                 for i in _slot_ids(coll.maps["outer"].fd, 4)]
        ids = {p.id: n for n, p in coll.programs.items()}
        jumps = [None if i is None else ids[i] for i in _slot_ids(coll.maps["jumps"].fd, 2)]
        assert bsys.prog_test_run(coll.programs["tail_caller"].fd, bytes(64)).retval == 42
    assert set(ref) <= set(ours)
    for name, info in ref.items():
        assert _fields(ours[name]) == _fields(info), name
    assert inner == ref_inner == ["inner_a", None, "inner_b", None]
    assert _fields(ours["inner_a"]) == _fields(ours["inner_b"])
    assert jumps == [None, "tail_target"]


def test_prog_array_initialiser_with_one_program() -> None:
    """A known difference: libbpf 1.1, asked to load one program, still fills the prog array
    with the programs its 'values' name and fails with EBADF when those are not loaded;
    bpfdoctor leaves such slots empty, so each program can be checked on its own."""
    obj = build("extern_map_features")
    ref = {r["program"]: (r["verdict"], r["errno"]) for r in run_reference(obj)}
    ours = {p.name: (p.verdict, p.errno_name) for p in check_object(obj).programs}
    assert ref.pop("tail_target") == ours.pop("tail_target") == ("ok", None)
    assert set(ref.values()) == {("fail", "EBADF")}
    assert set(ours.values()) == {("ok", None)} and set(ours) == set(ref)


def test_pinning_only_under_a_given_path(tmp_path: Path) -> None:
    if not os.path.ismount(BPFFS):
        _run("mount", "-t", "bpf", "bpf", str(BPFFS))
    spec = load_collection_spec(build("extern_map_features", "PINNED"))
    with Collection(spec, programs=["use_maps"]) as coll:
        assert coll.maps["percpu"].pinned is None
        assert any("percpu" in w and "not pinned" in w for w in coll.warnings)
    assert not (BPFFS / "percpu").exists()
    pindir = Path(tempfile.mkdtemp(prefix="bpfdoctor-pin-", dir=BPFFS))
    try:
        opts = LoadOptions(pin_path=str(pindir))
        with Collection(spec, programs=["use_maps"], options=opts) as first:
            m = first.maps["percpu"]
            assert m.pinned == str(pindir / "percpu") and not m.reused
            with Collection(spec, programs=["use_maps"], options=opts) as second:
                again = second.maps["percpu"]
                assert again.reused and again.id == m.id
        changed = spec.copy()
        changed.maps["percpu"].max_entries = 3
        with pytest.raises(MapCreateError) as ei:
            Collection(changed, programs=["use_maps"], options=opts)
        assert ei.value.errno == errno.EINVAL and "max entries" in str(ei.value)
    finally:
        for p in pindir.iterdir():
            p.unlink()
        pindir.rmdir()

"""bpfdoctor.sys against the running kernel.

Expected values come from the kernel itself through a different path (``/proc/self/fdinfo``,
``/sys/kernel/btf/vmlinux``, ``bpftool``, ``stat()`` of a cgroup), from what the test put in,
or from documented kernel behaviour; never from an earlier run of this code.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpfdoctor import sys as bsys
from bpfdoctor.asm import Instruction, encode
from bpfdoctor.errors import SyscallError

# ----------------------------------------------------------------------------- helpers

EXIT = Instruction(0x95)


def mov64_imm(dst: int, imm: int) -> Instruction:
    return Instruction(0xB7, dst, 0, 0, imm)


def ldx_w(dst: int, src: int, off: int) -> Instruction:
    return Instruction(0x61, dst, src, off, 0)


def ld_map_fd(dst: int, fd: int) -> Instruction:
    return Instruction(0x18, dst, 1, 0, fd)  # BPF_PSEUDO_MAP_FD


RET0 = encode([mov64_imm(0, 0), EXIT])


def load(prog_type: bsys.ProgType = bsys.ProgType.SOCKET_FILTER, insns: bytes = RET0,
         **kw: object) -> bsys.FD:
    kw.setdefault("license", "GPL")
    return bsys.prog_load(prog_type=prog_type, insns=insns, **kw)  # type: ignore[arg-type]


def wait_gone(get_fd: object, obj_id: int, timeout: float = 5.0) -> None:
    """Wait until ``obj_id`` is released.  A program drops its references to maps and BTF
    only after an RCU grace period, so they outlive the program's fd by a little."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fd = get_fd(obj_id)  # type: ignore[operator]
        except SyscallError as e:
            assert e.errno == errno.ENOENT
            return
        fd.close()
        time.sleep(0.01)
    raise AssertionError(f"object {obj_id} still alive after {timeout}s")


def bpftool_json(*args: str) -> object:
    tool = shutil.which("bpftool")
    if tool is None:
        pytest.skip("bpftool not installed")
    out = subprocess.run([tool, "-j", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def btf_blob(types: bytes, strings: bytes) -> bytes:
    """A BTF blob: the 24-byte header (magic 0xeB9F, version 1) + type and string sections."""
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return hdr + types + strings


def btf_int(name_off: int) -> bytes:
    # struct btf_type {name_off, info = kind INT (1) << 24, size 4} + u32 encoding:
    # BTF_INT_SIGNED (1) << 24 | offset 0 << 16 | 32 bits
    return struct.pack("<III", name_off, 1 << 24, 4) + struct.pack("<I", (1 << 24) | 32)


@pytest.fixture
def bpffs_dir() -> Iterator[Path]:
    root = Path("/sys/fs/bpf")
    if not bsys.is_bpffs(root):
        root.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "bpf", "bpf", str(root)], capture_output=True)
        if r.returncode != 0 and not bsys.is_bpffs(root):
            pytest.skip(f"cannot mount bpffs: {r.stderr.decode().strip()}")
    d = root / f"bpfdoctor-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    d.mkdir()
    try:
        yield d
    finally:
        for p in d.iterdir():
            p.unlink()
        d.rmdir()


@pytest.fixture
def cgroup_dir() -> Iterator[Path]:
    candidates = [Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup")]
    root = next((p for p in candidates if (p / "cgroup.procs").exists()
                 and (p / "cgroup.controllers").exists()), None)
    if root is None:
        pytest.skip("no cgroup v2 hierarchy mounted")
    d = root / f"bpfdoctor-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    d.mkdir()
    try:
        yield d
    finally:
        d.rmdir()


@pytest.fixture
def tracefs() -> Path:
    root = bsys.tracefs_root()
    if root is None:
        subprocess.run(["mount", "-t", "tracefs", "tracefs", "/sys/kernel/tracing"],
                       capture_output=True)
        root = bsys.tracefs_root()
    if root is None:
        pytest.skip("tracefs not available")
    return root


# ----------------------------------------------------------------------------- basics


def test_kernel_available() -> None:
    ok, reason = bsys.kernel_available()
    assert ok, reason


def test_count_objects_tracks_a_map() -> None:
    before = bsys.count_objects()
    assert set(before) == {"programs", "maps", "links", "btf"}
    assert before["btf"] >= 1  # vmlinux BTF is always there on a BTF kernel
    with bsys.map_create(bsys.MapType.ARRAY, 4, 4, 1):
        during = bsys.count_objects()
        assert during["maps"] == before["maps"] + 1
        assert {k: v for k, v in during.items() if k != "maps"} == \
               {k: v for k, v in before.items() if k != "maps"}
    assert bsys.count_objects() == before


def test_open_objects_counts_this_process_fds() -> None:
    before = bsys.open_objects()
    with bsys.map_create(bsys.MapType.ARRAY, 4, 4, 1), load() as p:
        during = bsys.open_objects()
        assert during["maps"] == before["maps"] + 1
        assert during["programs"] == before["programs"] + 1
        rawtp = load(bsys.ProgType.RAW_TRACEPOINT)
        with bsys.raw_tracepoint_open("sys_enter", rawtp) as ln:
            rawtp.close()  # the link keeps the program alive without an fd in this process
            assert bsys.open_objects() == {**during, "links": before["links"] + 1}
            prog_id = bsys.link_info(ln).prog_id
        assert bsys.prog_info(p).id != prog_id
    assert bsys.open_objects() == before
    wait_gone(bsys.prog_get_fd_by_id, prog_id)


def test_fd_ownership_with_a_real_map() -> None:
    m = bsys.map_create(bsys.MapType.ARRAY, 4, 8, 2, name="owned")
    dup = m.dup()
    try:
        assert dup.fd != m.fd
        assert bsys.map_info(dup).id == bsys.map_info(m).id
    finally:
        m.close()
        m.close()  # idempotent
    assert m.closed
    assert bsys.map_info(dup).name == "owned"  # the dup keeps the map alive
    dup.close()


# ----------------------------------------------------------------------------- maps


def test_array_map_roundtrip_and_info() -> None:
    with bsys.map_create(bsys.MapType.ARRAY, 4, 8, 4, name="arr") as m:
        info = bsys.map_info(m)
        assert (info.type, info.key_size, info.value_size, info.max_entries, info.name) == \
               (bsys.MapType.ARRAY, 4, 8, 4, "arr")
        assert bsys.fdinfo(m)["map_id"] == str(info.id)
        shown = bpftool_json("map", "show", "id", str(info.id))
        assert isinstance(shown, dict)
        assert (shown["type"], shown["bytes_key"], shown["bytes_value"],
                shown["max_entries"]) == ("array", 4, 8, 4)

        key = struct.pack("<I", 2)
        assert bsys.map_lookup_elem(m, key, 8) == bytes(8)  # arrays are pre-zeroed
        bsys.map_update_elem(m, key, struct.pack("<Q", 0xDEADBEEF))
        assert bsys.map_lookup_elem(m, key, 8) == struct.pack("<Q", 0xDEADBEEF)
        assert bsys.map_lookup_elem(m, struct.pack("<I", 4), 8) is None  # out of range
        keys = bsys.map_keys(m, 4)
        assert [struct.unpack("<I", k)[0] for k in keys] == [0, 1, 2, 3]
        with pytest.raises(SyscallError) as ei:
            bsys.map_delete_elem(m, key)  # array elements cannot be deleted
        assert ei.value.errno == errno.EINVAL and ei.value.op == "BPF_MAP_DELETE_ELEM"


def test_hash_map_update_flags_delete_iterate() -> None:
    with bsys.map_create(bsys.MapType.HASH, 4, 4, 16) as m:
        k1, k2 = struct.pack("<I", 10), struct.pack("<I", 20)
        bsys.map_update_elem(m, k1, b"aaaa", bsys.ElemFlags.NOEXIST)
        with pytest.raises(SyscallError) as ei:
            bsys.map_update_elem(m, k1, b"bbbb", bsys.ElemFlags.NOEXIST)
        assert ei.value.errno == errno.EEXIST and ei.value.op == "BPF_MAP_UPDATE_ELEM"
        with pytest.raises(SyscallError) as ei:
            bsys.map_update_elem(m, k2, b"bbbb", bsys.ElemFlags.EXIST)
        assert ei.value.errno == errno.ENOENT
        bsys.map_update_elem(m, k2, b"cccc")
        assert bsys.map_lookup_elem(m, k1, 4) == b"aaaa"
        assert sorted(bsys.map_keys(m, 4)) == sorted([k1, k2])
        assert bsys.map_get_next_key(m, None, 4) in (k1, k2)
        assert bsys.map_delete_elem(m, k1) is True
        assert bsys.map_delete_elem(m, k1) is False
        assert bsys.map_lookup_elem(m, k1, 4) is None
        assert bsys.map_keys(m, 4) == [k2]


def test_hash_map_batch_ops() -> None:
    n = 50
    keys = [struct.pack("<I", i) for i in range(n)]
    values = [struct.pack("<Q", i * i) for i in range(n)]
    with bsys.map_create(bsys.MapType.HASH, 4, 8, 64) as m:
        assert bsys.map_update_batch(m, keys, values) == n
        seen: dict[bytes, bytes] = {}
        cursor: bytes | None = None
        for _ in range(100):
            batch = bsys.map_lookup_batch(m, 4, 8, 8, cursor=cursor)
            seen.update(zip(batch.keys, batch.values, strict=True))
            if batch.next is None:
                break
            cursor = batch.next
        assert seen == dict(zip(keys, values, strict=True))
        assert bsys.map_delete_batch(m, keys[:10]) == 10
        assert len(bsys.map_keys(m, 4)) == n - 10


def test_queue_map_push_pop() -> None:
    with bsys.map_create(bsys.MapType.QUEUE, 0, 4, 8) as q:
        for v in (b"1111", b"2222"):
            bsys.map_update_elem(q, None, v)
        assert bsys.map_lookup_elem(q, None, 4) == b"1111"  # peek
        assert bsys.map_lookup_and_delete_elem(q, None, 4) == b"1111"  # FIFO
        assert bsys.map_lookup_and_delete_elem(q, None, 4) == b"2222"
        assert bsys.map_lookup_and_delete_elem(q, None, 4) is None


def test_percpu_array_value_has_one_slot_per_possible_cpu() -> None:
    ncpu = bsys.possible_cpus()
    with bsys.map_create(bsys.MapType.PERCPU_ARRAY, 4, 4, 1) as m:
        key = struct.pack("<I", 0)
        # each per-CPU slot is rounded up to 8 bytes
        value = b"".join(struct.pack("<Q", 100 + c) for c in range(ncpu))
        bsys.map_update_elem(m, key, value)
        got = bsys.map_lookup_elem(m, key, 8 * ncpu)
        assert got is not None
        assert [struct.unpack_from("<I", got, 8 * c)[0] for c in range(ncpu)] == \
               [100 + c for c in range(ncpu)]


def test_ringbuf_map() -> None:
    size = os.sysconf("SC_PAGE_SIZE") * 4
    with bsys.map_create(bsys.MapType.RINGBUF, 0, 0, size, name="rb") as rb:
        info = bsys.map_info(rb)
        assert (info.type, info.max_entries, info.name) == (bsys.MapType.RINGBUF, size, "rb")
    with pytest.raises(SyscallError) as ei:
        bsys.map_create(bsys.MapType.RINGBUF, 0, 0, 4097)  # must be a power-of-2 of pages
    assert ei.value.errno == errno.EINVAL and ei.value.op == "BPF_MAP_CREATE"


def test_freeze_makes_map_read_only_for_syscalls() -> None:
    with bsys.map_create(bsys.MapType.ARRAY, 4, 4, 1) as m:
        bsys.map_freeze(m)
        with pytest.raises(SyscallError) as ei:
            bsys.map_update_elem(m, bytes(4), b"xxxx")
        assert ei.value.errno == errno.EPERM


def test_map_create_errors_are_typed() -> None:
    with pytest.raises(SyscallError) as ei:
        bsys.map_create(9999, 4, 4, 1)
    assert ei.value.errno == errno.EINVAL and ei.value.op == "BPF_MAP_CREATE"
    with pytest.raises(ValueError, match="15"):
        bsys.map_create(bsys.MapType.ARRAY, 4, 4, 1, name="x" * 16)


# ----------------------------------------------------------------------------- programs


def test_prog_load_info_and_xlated() -> None:
    with load(name="ret0") as p:
        info = bsys.prog_info(p)
        fdi = bsys.fdinfo(p)
        assert info.type == bsys.ProgType.SOCKET_FILTER
        assert info.name == "ret0"
        assert info.tag == fdi["prog_tag"]
        assert str(info.id) == fdi["prog_id"]
        assert info.verified_insns == 2
        assert info.gpl_compatible is True
        assert info.map_ids == ()
        assert info.created_by_uid == os.geteuid()
        shown = bpftool_json("prog", "show", "id", str(info.id))
        assert isinstance(shown, dict)
        assert (shown["tag"], shown["name"]) == (info.tag, "ret0")
        assert bsys.prog_xlated(p) == RET0
        assert info.xlated_prog_len == len(RET0)
        jit = bsys.prog_jited(p)
        assert len(jit) == info.jited_prog_len
        if Path("/proc/sys/net/core/bpf_jit_enable").read_text().strip() != "0":
            assert jit  # JIT on: machine code is there


def test_prog_info_gpl_compatible_false_for_proprietary_license() -> None:
    with load(license="Proprietary") as p:
        assert bsys.prog_info(p).gpl_compatible is False


def test_prog_info_map_ids() -> None:
    m = bsys.map_create(bsys.MapType.ARRAY, 4, 4, 1)
    map_id = bsys.map_info(m).id
    insns = encode([ld_map_fd(1, m.fd), mov64_imm(0, 0), EXIT])
    with load(insns=insns) as p:
        assert bsys.prog_info(p).map_ids == (map_id,)
    m.close()
    wait_gone(bsys.map_get_fd_by_id, map_id)


def test_prog_bind_map_adds_to_map_ids() -> None:
    m = bsys.map_create(bsys.MapType.ARRAY, 4, 4, 1)
    map_id = bsys.map_info(m).id
    with load() as p:
        assert bsys.prog_info(p).map_ids == ()
        bsys.prog_bind_map(p, m)
        assert bsys.prog_info(p).map_ids == (map_id,)
    m.close()
    wait_gone(bsys.map_get_fd_by_id, map_id)


def test_rejected_program_raises_with_verifier_log() -> None:
    with pytest.raises(bsys.ProgLoadError) as ei:
        load(insns=encode([EXIT]), log_level=1, log_size=1 << 16)
    e = ei.value
    assert isinstance(e, SyscallError)
    assert e.errno == errno.EACCES and e.op == "BPF_PROG_LOAD"
    assert "R0 !read_ok" in e.log
    assert "\0" not in e.log
    assert e.log_size == 1 << 16
    assert e.log_true_size == len(e.log.encode()) + 1  # the kernel counts the NUL
    assert not e.log_truncated


def test_log_level_without_buffer_reports_true_size() -> None:
    with pytest.raises(bsys.ProgLoadError) as full:
        load(insns=encode([EXIT]), log_level=1, log_size=4096)
    with pytest.raises(bsys.ProgLoadError) as sized:
        load(insns=encode([EXIT]), log_level=1)
    assert sized.value.errno == errno.EACCES and sized.value.log == ""
    assert sized.value.log_true_size == full.value.log_true_size > 0


def test_small_log_buffer_gives_enospc_even_for_a_good_program() -> None:
    insns = encode([mov64_imm(1, i) for i in range(20)] + [mov64_imm(0, 0), EXIT])
    with pytest.raises(bsys.ProgLoadError) as ei:
        load(insns=insns, log_level=2, log_size=256)
    e = ei.value
    assert e.errno == errno.ENOSPC
    assert e.log_true_size > 256
    assert 0 < len(e.log) < 256
    assert e.log_truncated
    assert "processed 22 insns" in e.log  # the rotating log keeps the end
    with load(insns=insns, log_level=2, log_size=e.log_true_size) as p:  # exactly enough
        assert bsys.prog_info(p).verified_insns == 22


def test_prog_flags_match_the_kernels_known_set() -> None:
    """The kernel rejects unknown prog_flags with EINVAL before the verifier runs (empty
    log); every ProgFlags member below TOKEN_FD must get past that check."""
    known = [f for f in bsys.ProgFlags if f != bsys.ProgFlags.TOKEN_FD]
    for flag in known:
        try:
            load(prog_flags=flag, log_level=1, log_size=4096).close()
        except bsys.ProgLoadError as e:  # e.g. SLEEPABLE: refused by the verifier itself
            assert e.log, f"{flag!r} rejected as unknown"
    unknown = max(known) << 1
    with pytest.raises(bsys.ProgLoadError) as ei:
        load(prog_flags=unknown, log_level=1, log_size=4096)
    assert ei.value.errno == errno.EINVAL and ei.value.log == ""


def test_prog_test_run_socket_filter() -> None:
    pkt = bytes(range(64))
    with load(insns=encode([mov64_imm(0, 42), EXIT])) as p:
        r = bsys.prog_test_run(p, pkt, repeat=3)
        assert r.retval == 42
        # the packet comes back whole; for a non-L2 program the kernel does not copy the
        # Ethernet header back (it was pulled off before the run)
        assert len(r.data_out) == len(pkt) and r.data_out[14:] == pkt[14:]
        assert bsys.prog_test_run(p, pkt, data_size_out=0).data_out == b""
    # r0 = skb->len (struct __sk_buff starts with __u32 len); a socket filter sees the packet
    # from the network header on, so the 14-byte Ethernet header does not count
    with load(insns=encode([ldx_w(0, 1, 0), EXIT])) as p:
        assert bsys.prog_test_run(p, pkt).retval == len(pkt) - 14
        assert bsys.prog_test_run(p, pkt + bytes(100)).retval == len(pkt) + 100 - 14


def test_enable_stats_counts_test_runs() -> None:
    with load() as p, bsys.enable_stats() as stats:
        assert not stats.closed
        bsys.prog_test_run(p, bytes(14), repeat=5)
        info = bsys.prog_info(p)
        assert info.run_cnt == 5
        assert info.run_time_ns > 0


def test_func_and_line_info_roundtrip() -> None:
    # [1] int, [2] FUNC_PROTO int(void), [3] FUNC "f" global
    strings = b"\0int\0f\0a.c\0r0 = 0\0"
    off = {s: strings.index(s.encode() + b"\0") for s in ("int", "f", "a.c", "r0 = 0")}
    types = (btf_int(off["int"])
             + struct.pack("<III", 0, 13 << 24, 1)
             + struct.pack("<III", off["f"], (12 << 24) | 1, 2))
    btf = bsys.btf_load(btf_blob(types, strings))
    btf_id = bsys.btf_info(btf).id
    func_info = struct.pack("<II", 0, 3)
    line_info = struct.pack("<IIII", 0, off["a.c"], off["r0 = 0"], (7 << 10) | 3)
    with load(btf_fd=btf, func_info=func_info, line_info=line_info) as p:
        info = bsys.prog_info(p)
        assert info.btf_id == btf_id
        assert (info.nr_func_info, info.nr_line_info) == (1, 1)
        assert bsys.prog_func_info(p) == (func_info,)
        assert bsys.prog_line_info(p) == (line_info,)
    btf.close()
    wait_gone(bsys.btf_get_fd_by_id, btf_id)


# ----------------------------------------------------------------------------- BTF


def test_btf_load_minimal_int() -> None:
    blob = btf_blob(btf_int(1), b"\0int\0")
    with bsys.btf_load(blob) as b:
        info = bsys.btf_info(b)
        assert (info.kernel_btf, info.btf_size, info.name) == (False, len(blob), "")
        assert bsys.btf_data(b) == blob
        dumped = bpftool_json("btf", "dump", "id", str(info.id))
        assert isinstance(dumped, dict)
        (t,) = dumped["types"]
        assert (t["kind"], t["name"], t["size"], t["nr_bits"], t["encoding"]) == \
               ("INT", "int", 4, 32, "SIGNED")


def test_btf_load_garbage() -> None:
    with pytest.raises(bsys.BTFLoadSyscallError) as ei:
        bsys.btf_load(b"\x00" * 32, log_level=1, log_size=4096)
    e = ei.value
    assert e.errno == errno.EINVAL and e.op == "BPF_BTF_LOAD"
    assert e.log and "\0" not in e.log
    assert e.log_true_size == len(e.log.encode()) + 1


def test_vmlinux_btf_by_id_matches_sysfs() -> None:
    vmlinux = Path("/sys/kernel/btf/vmlinux")
    if not vmlinux.exists():
        pytest.skip("no /sys/kernel/btf/vmlinux")
    for btf_id in bsys.btf_ids():
        with bsys.btf_get_fd_by_id(btf_id) as b:
            info = bsys.btf_info(b)
            if info.kernel_btf and info.name == "vmlinux":
                assert info.btf_size == vmlinux.stat().st_size
                assert bsys.btf_data(b) == vmlinux.read_bytes()
                return
    pytest.fail("no kernel BTF object named vmlinux")


# ----------------------------------------------------------------------------- ids, pinning


def test_ids_and_fd_by_id() -> None:
    with bsys.map_create(bsys.MapType.HASH, 4, 4, 1) as m, load() as p:
        map_id, prog_id = bsys.map_info(m).id, bsys.prog_info(p).id
        assert map_id in set(bsys.map_ids())
        assert prog_id in set(bsys.prog_ids())
        assert bsys.map_get_next_id(map_id - 1) == map_id
        assert bsys.prog_get_next_id(prog_id - 1) == prog_id
        with bsys.map_get_fd_by_id(map_id) as m2, bsys.prog_get_fd_by_id(prog_id) as p2:
            assert bsys.map_info(m2).id == map_id
            assert bsys.prog_info(p2).tag == bsys.prog_info(p).tag
    with pytest.raises(SyscallError) as ei:
        bsys.map_get_fd_by_id(map_id)
    assert ei.value.errno == errno.ENOENT and ei.value.op == "BPF_MAP_GET_FD_BY_ID"
    last = max(bsys.prog_ids(), default=0)
    assert bsys.prog_get_next_id(max(last, prog_id)) is None


def test_obj_pin_and_get(bpffs_dir: Path) -> None:
    pin = bpffs_dir / "m"
    with bsys.map_create(bsys.MapType.ARRAY, 4, 4, 1) as m:
        map_id = bsys.map_info(m).id
        bsys.obj_pin(m, pin)
        assert pin.exists()
        with pytest.raises(SyscallError) as ei:
            bsys.obj_pin(m, pin)
        assert ei.value.errno == errno.EEXIST and ei.value.op == "BPF_OBJ_PIN"
    with bsys.obj_get(pin) as again:  # the pin kept the map alive
        assert bsys.map_info(again).id == map_id
    with bsys.obj_get(pin, bsys.MapFlags.RDONLY) as ro:
        with pytest.raises(SyscallError) as ei:
            bsys.map_update_elem(ro, bytes(4), bytes(4))
        assert ei.value.errno == errno.EPERM
    pin.unlink()
    with pytest.raises(SyscallError) as ei:
        bsys.obj_get(pin)
    assert ei.value.errno == errno.ENOENT and str(pin) in str(ei.value)


def test_obj_pin_outside_bpffs_fails(tmp_path: Path) -> None:
    assert not bsys.is_bpffs(tmp_path)
    with bsys.map_create(bsys.MapType.ARRAY, 4, 4, 1) as m, pytest.raises(SyscallError) as ei:
        bsys.obj_pin(m, tmp_path / "x")
    assert ei.value.errno == errno.EPERM


# ----------------------------------------------------------------------------- attaching


def test_raw_tracepoint_open_sys_enter() -> None:
    before = bsys.count_objects()["links"]
    with load(bsys.ProgType.RAW_TRACEPOINT) as p, bsys.raw_tracepoint_open("sys_enter", p) as ln:
        assert bsys.count_objects()["links"] == before + 1
        prog_id = bsys.prog_info(p).id
        info = bsys.link_info(ln)
        assert info.type == bsys.LinkType.RAW_TRACEPOINT
        assert info.prog_id == prog_id
        assert info.details["tp_name"] == "sys_enter"
        assert bsys.fdinfo(ln)["link_id"] == str(info.id)
        assert info.id in set(bsys.link_ids())
    assert bsys.count_objects()["links"] == before
    wait_gone(bsys.prog_get_fd_by_id, prog_id)  # the link drops the program after RCU
    with load(bsys.ProgType.RAW_TRACEPOINT) as p, pytest.raises(SyscallError) as ei:
        bsys.raw_tracepoint_open("no_such_tracepoint_bpfdoctor", p)
    assert ei.value.errno == errno.ENOENT and ei.value.op == "BPF_RAW_TRACEPOINT_OPEN"


def test_raw_tracepoint_program_runs() -> None:
    with load(bsys.ProgType.RAW_TRACEPOINT) as p, bsys.enable_stats(), \
            bsys.raw_tracepoint_open("sys_enter", p):
        prog_id = bsys.prog_info(p).id
        for _ in range(5):
            os.getppid()
        assert bsys.prog_info(p).run_cnt >= 5
    wait_gone(bsys.prog_get_fd_by_id, prog_id)


def test_perf_event_tracepoint_ioctl_and_link(tracefs: Path) -> None:
    tp = bsys.tracepoint_id("raw_syscalls", "sys_enter")
    assert tp == int((tracefs / "events/raw_syscalls/sys_enter/id").read_text())
    with load(bsys.ProgType.TRACEPOINT) as p, bsys.enable_stats():
        prog_id = bsys.prog_info(p).id
        with bsys.perf_event_open_tracepoint(tp) as ev:
            bsys.perf_event_set_bpf(ev, p)
            bsys.perf_event_enable(ev)
            for _ in range(5):
                os.getppid()
            first = bsys.prog_info(p).run_cnt
            assert first >= 5
            bsys.perf_event_disable(ev)
        with bsys.perf_event_open_tracepoint(tp) as ev, \
                bsys.link_create(p, ev, bsys.AttachType.PERF_EVENT, cookie=7) as ln:
            for _ in range(5):
                os.getppid()
            assert bsys.prog_info(p).run_cnt >= first + 5
            info = bsys.link_info(ln)
            assert info.type == bsys.LinkType.PERF_EVENT
            assert info.details["tp_name"] == "sys_enter"
            assert info.details["cookie"] == 7
    wait_gone(bsys.prog_get_fd_by_id, prog_id)
    with pytest.raises(bsys.TracefsError):
        bsys.tracepoint_id("raw_syscalls", "no_such_event_bpfdoctor")


def test_perf_event_set_bpf_rejects_wrong_program_type(tracefs: Path) -> None:
    tp = bsys.tracepoint_id("raw_syscalls", "sys_enter")
    with load() as p, bsys.perf_event_open_tracepoint(tp) as ev, \
            pytest.raises(SyscallError) as ei:
        bsys.perf_event_set_bpf(ev, p)  # a socket filter cannot go on a tracepoint
    assert ei.value.errno == errno.EINVAL and ei.value.op == "PERF_EVENT_IOC_SET_BPF"


def test_cgroup_link_attach_query_detach(cgroup_dir: Path) -> None:
    cg = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        ingress = bsys.AttachType.CGROUP_INET_EGRESS  # non-zero: a real check of attach_type
        ret1 = encode([mov64_imm(0, 1), EXIT])
        with load(bsys.ProgType.CGROUP_SKB, ret1, expected_attach_type=ingress) as p:
            prog_id = bsys.prog_info(p).id
            with bsys.link_create(p, cg, ingress) as ln:
                info = bsys.link_info(ln)
                assert info.type == bsys.LinkType.CGROUP
                assert info.attach_type == ingress
                assert info.details["cgroup_id"] == cgroup_dir.stat().st_ino
                assert bsys.prog_query(cg, ingress).prog_ids == (prog_id,)
                with load(bsys.ProgType.CGROUP_SKB, ret1, expected_attach_type=ingress) as p2:
                    with pytest.raises(SyscallError) as ei:  # p2 is not the attached one
                        bsys.link_update(ln, p, old_prog_fd=p2,
                                         flags=bsys.AttachFlags.REPLACE)
                    assert ei.value.errno == errno.EPERM and ei.value.op == "BPF_LINK_UPDATE"
                    bsys.link_update(ln, p2)
                    p2_id = bsys.prog_info(p2).id
                    assert bsys.link_info(ln).prog_id == p2_id
                    assert bsys.prog_query(cg, ingress).prog_ids == (p2_id,)
                    bsys.link_update(ln, p, old_prog_fd=p2, flags=bsys.AttachFlags.REPLACE)
                assert bsys.prog_query(cg, ingress).prog_ids == (prog_id,)
                bsys.link_detach(ln)
                assert bsys.prog_query(cg, ingress).prog_ids == ()
                assert bsys.link_info(ln).details["cgroup_id"] == 0  # defunct, fd still valid
            bsys.prog_attach(p, cg, ingress)
            try:
                assert bsys.prog_query(cg, ingress).prog_ids == (prog_id,)
            finally:
                bsys.prog_detach(cg, ingress, p)
            assert bsys.prog_query(cg, ingress).prog_ids == ()
    finally:
        os.close(cg)
    wait_gone(bsys.prog_get_fd_by_id, p2_id)
    wait_gone(bsys.prog_get_fd_by_id, prog_id)

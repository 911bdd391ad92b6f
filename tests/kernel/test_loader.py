"""The loader against the real kernel: maps, global data, programs, logs, cleanup."""

from __future__ import annotations

import errno
import struct
from pathlib import Path

import pytest

from bpfdoctor import Collection, LoadOptions, VerifierError, load_collection_spec
from bpfdoctor import sys as bsys
from bpfdoctor.errors import SyscallError
from bpfdoctor.sys import MapFlags
from support.build import BUILD, compile_bpf
from support.kernel import counts_after

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture(scope="module")
def basic_spec():
    obj = compile_bpf(DATA / "loader_basic.bpf.c", BUILD / "tests" / "loader_basic.bpf.o")
    return load_collection_spec(obj)


def test_collection_loads_and_closes(basic_spec) -> None:
    before = bsys.count_objects()
    with Collection(basic_spec) as coll:
        assert set(coll.programs) == {"count_len", "other"}
        assert set(coll.maps) == {"counts", ".data", ".rodata", ".bss", ".data.custom"}
        during = bsys.count_objects()
        assert during["programs"] == before["programs"] + 2
        assert during["maps"] == before["maps"] + 5
        info = coll.programs["count_len"].info()
        assert info.name == "count_len"
        assert set(info.map_ids) == {m.id for m in coll.maps.values()}
        assert info.nr_func_info == 3  # count_len, shared, bump
    assert counts_after(before) == before


def test_global_data_in_kernel(basic_spec) -> None:
    with Collection(basic_spec, programs=["count_len"]) as coll:
        data = bsys.map_lookup_elem(coll.maps[".data"].fd, b"\0" * 4, 8)
        assert struct.unpack("<Q", data)[0] == 1
        ro = coll.maps[".rodata"]
        assert ro.info().map_flags & MapFlags.RDONLY_PROG
        # frozen: user space may no longer write it
        with pytest.raises(SyscallError) as ei:
            bsys.map_update_elem(ro.fd, b"\0" * 4, b"\0" * ro.spec.value_size)
        assert ei.value.errno == errno.EPERM


def test_program_runs_and_touches_maps(basic_spec) -> None:
    with Collection(basic_spec, programs=["count_len"]) as coll:
        pkt = bytes(range(64))  # skb->len == 50: test runs strip the 14-byte Ethernet header
        bsys.prog_test_run(coll.programs["count_len"].fd, pkt, repeat=3)
        v = bsys.map_lookup_elem(coll.maps["counts"].fd, struct.pack("<I", 50), 8)
        assert v is not None and struct.unpack("<Q", v)[0] == 3  # created as 1, then +1, +1
        hits = struct.unpack("<Q", bsys.map_lookup_elem(coll.maps[".data"].fd, b"\0" * 4, 8))
        assert hits[0] == 1 + 3


def test_only_needed_maps_created(basic_spec) -> None:
    with Collection(basic_spec, programs=["other"]) as coll:
        assert set(coll.maps) == {".rodata"}


def test_line_info_reaches_kernel(basic_spec) -> None:
    with Collection(basic_spec, programs=["other"]) as coll:
        info = coll.programs["other"].info()
        assert info.nr_line_info == len(basic_spec.programs["other"].line_info) > 0


def test_verifier_error_carries_log() -> None:
    spec = load_collection_spec(compile_bpf(DATA / "null_deref.bpf.c",
                                            BUILD / "tests" / "null_deref.bpf.o"))
    with pytest.raises(VerifierError) as ei:
        Collection(spec)
    e = ei.value
    assert e.errno == errno.EACCES and e.program == "f"
    assert any("invalid mem access" in line for line in e.log)
    assert "invalid mem access" in str(e)
    assert any(line.startswith("processed ") for line in e.log)  # stats were asked for
    assert any("@ null_deref.bpf.c:" in line for line in e.log)  # line info reached the kernel
    assert not e.truncated
    # the library diagnoses on demand, with the C line from the object's line info
    d = e.diagnosis
    assert d.slug == "null-check-missing" and d.registers["R0"].startswith("map_value_or_null")
    assert d.source is not None and d.source.text == "return *v;"

    # A log buffer too small for the whole story keeps its tail and says so; errno is kept.
    with pytest.raises(VerifierError) as ei:
        Collection(spec, options=LoadOptions(initial_log_size=128, max_log_size=256))
    assert ei.value.truncated and ei.value.errno == errno.EACCES


def test_stats_on_success(basic_spec) -> None:
    with Collection(basic_spec, programs=["other"], options=LoadOptions(stats=True)) as coll:
        st = coll.programs["other"].stats
        assert st.insns_processed and st.insns_processed > 0
        assert st.verification_us is not None
        assert coll.programs["other"].info().verified_insns == st.insns_processed


def test_failure_midway_leaves_nothing(basic_spec) -> None:
    """A map creation that fails after others were created closes what was made."""
    spec = basic_spec.copy()
    last = list(spec.maps)[-1]  # created last, after four others
    spec.maps[last].value_size = 0  # the kernel refuses a 0-byte value
    before = bsys.count_objects()
    from bpfdoctor import MapCreateError

    with pytest.raises(MapCreateError) as ei:
        Collection(spec)
    assert ei.value.errno == errno.EINVAL and ei.value.map == last
    assert counts_after(before) == before

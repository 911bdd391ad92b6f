"""The bundled examples, checked against libbpf (the reference loader), not against bpfdoctor.

* Every program of every good example (``examples/*.bpf.c``) loads with libbpf on this
  kernel, except ``legacy_maps``, whose object libbpf 1.x refuses to open.
* Every failure example (``examples/failures/*.bpf.c``) declares ``// EXPECT: <errno>
  <text>``; each of its programs must fail with that errno and the kernel's verifier log must
  contain the text.  So the examples themselves are verified, and the parity tests that
  compare bpfdoctor with libbpf compare against programs known to fail for the stated reason.
* The reference loader is itself checked: loading programs one at a time (a bad program does
  not take its good neighbour down), ``--program``, open errors, errno naming, and agreement
  with bpftool on the failure examples.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from bpfdoctor.errors import errno_name
from support.build import EXAMPLES, compile_bpf, example_sources
from support.reference import build_reference_loader, run_reference

GOOD = example_sources()
FAILURES = example_sources("failures")

# The only good example libbpf cannot open; bpfdoctor supports it (see its header comment).
LEGACY = "legacy_maps.bpf.c"

_EXPECT_RE = re.compile(r"^//\s*EXPECT:\s*(E[A-Z0-9]+)\s+(\S.*?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Expectation:
    errno: str
    text: str


def expectation(src: Path) -> Expectation:
    """The ``// EXPECT:`` line of a failure example; a file without one is a broken example."""
    head = "\n".join(src.read_text().splitlines()[:5])
    m = _EXPECT_RE.search(head)
    assert m, f"{src.name}: no '// EXPECT: <errno> <text>' line in its first 5 lines"
    return Expectation(m.group(1), m.group(2))


def verifier_messages(log: str) -> list[str]:
    """The lines of a libbpf log that the kernel verifier wrote itself.

    Line-info echoes (``; <source line> @ file.c:N``) are dropped: they quote the C source,
    so an EXPECT text that merely appears in a comment must not count as the kernel's verdict.
    """
    m = re.search(r"-- BEGIN PROG LOAD LOG --\n(.*?)-- END PROG LOAD LOG --", log, re.DOTALL)
    body = m.group(1) if m else ""
    return [line for line in body.splitlines() if not line.startswith(";")]


def _id(p: Path) -> str:
    return p.name


# ---- the examples ------------------------------------------------------------------------


def test_example_set_is_complete() -> None:
    """The examples the docs and the parity tests rely on exist (a rename would silently
    shrink the parametrized tests below)."""
    good = {p.name for p in GOOD}
    bad = {p.name for p in FAILURES}
    assert {"tracepoint.bpf.c", "socket_filter.bpf.c", "xdp.bpf.c", "raw_tp.bpf.c",
            "maps.bpf.c", "globals.bpf.c", "subprog.bpf.c", LEGACY, "kprobe.bpf.c"} <= good
    assert len(bad) >= 12, sorted(bad)


@pytest.mark.parametrize("src", GOOD + FAILURES, ids=_id)
def test_example_header(src: Path) -> None:
    """Each example starts with an SPDX line, says what it shows and what verdict to expect,
    and has a license section (the kernel reads it for gpl_only helpers)."""
    text = src.read_text()
    assert text.startswith("// SPDX-License-Identifier: ")
    assert "Expected verdict:" in text
    assert re.search(r'char LICENSE\[\] SEC\("license"\) = "[^"]+";', text)


@pytest.mark.parametrize("src", [p for p in GOOD if p.name != LEGACY], ids=_id)
def test_good_example_loads_with_libbpf(src: Path) -> None:
    rows = run_reference(compile_bpf(src), log=True)
    assert rows, f"{src.name}: libbpf found no programs"
    for row in rows:
        assert row["program"] is not None, row
        assert (row["verdict"], row["errno"]) == ("ok", None), f"{row['program']}:\n{row['log']}"


def test_legacy_maps_refused_by_libbpf() -> None:
    """libbpf 1.x dropped SEC("maps") definitions: the object cannot even be opened."""
    rows = run_reference(compile_bpf(EXAMPLES / LEGACY), log=True)
    assert len(rows) == 1
    row = rows[0]
    assert (row["program"], row["verdict"]) == (None, "error")
    assert row["errno_num"] == 95  # EOPNOTSUPP == ENOTSUP on Linux
    assert "legacy map definitions" in row["log"]


@pytest.mark.parametrize("src", FAILURES, ids=_id)
def test_failure_example_fails_for_its_reason(src: Path) -> None:
    want = expectation(src)
    rows = run_reference(compile_bpf(src), log=True)
    assert rows and all(r["program"] is not None for r in rows), rows
    for row in rows:
        assert row["verdict"] == "fail", f"{src.name}: {row['program']} loaded"
        assert row["errno"] == want.errno, f"{row['program']}:\n{row['log']}"
        messages = verifier_messages(row["log"])
        assert any(want.text in line for line in messages), (
            f"{src.name}: {want.text!r} not in the verifier's own lines:\n" + "\n".join(messages)
        )


# ---- the reference loader itself ---------------------------------------------------------

# A hash map, not an array: recent kernels know an array lookup with a constant in-range key
# cannot return NULL, and would accept bad_prog.
MIXED = """\
// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counter SEC(".maps");

SEC("socket")
int good_prog(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&counter, &zero);

	if (v)
		*v += 1;
	return 0;
}

SEC("socket")
int bad_prog(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&counter, &zero);

	*v += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.fixture(scope="module")
def mixed_obj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("mixed")
    src = d / "mixed.bpf.c"
    src.write_text(MIXED)
    return compile_bpf(src, out=d / "mixed.bpf.o")


def test_reference_loads_each_program_on_its_own(mixed_obj: Path) -> None:
    """A failing program must not hide the verdict of its neighbour: plain
    bpf_object__load() would stop at the first failure and report nothing for the rest."""
    rows = run_reference(mixed_obj)
    got = {r["program"]: (r["section"], r["verdict"], r["errno"]) for r in rows}
    assert got == {"good_prog": ("socket", "ok", None), "bad_prog": ("socket", "fail", "EACCES")}
    assert all("log" not in r for r in rows), "libbpf output leaked without --log"
    assert all(r["object"] == str(mixed_obj) for r in rows)


def test_reference_program_filter(mixed_obj: Path) -> None:
    rows = run_reference(mixed_obj, program="bad_prog", log=True)
    assert [r["program"] for r in rows] == ["bad_prog"]
    assert "invalid mem access 'map_value_or_null'" in rows[0]["log"]
    r = subprocess.run([str(build_reference_loader()), str(mixed_obj), "--program", "nope"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "nope" in r.stderr


def test_reference_open_errors(tmp_path: Path) -> None:
    missing = run_reference(tmp_path / "missing.o")
    assert [(r["program"], r["verdict"], r["errno"]) for r in missing] == [
        (None, "error", "ENOENT")]
    junk = tmp_path / "junk.o"
    junk.write_bytes(b"this is not an ELF file\n" * 4)
    rows = run_reference(junk, log=True)
    assert len(rows) == 1 and rows[0]["verdict"] == "error"
    assert rows[0]["errno_num"], rows  # libbpf reports *some* errno for a non-ELF file
    assert rows[0]["log"], "libbpf's reason for refusing the file was not captured"


def test_reference_usage_error() -> None:
    r = subprocess.run([str(build_reference_loader())], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr


@pytest.mark.parametrize("src", FAILURES, ids=_id)
def test_reference_errno_names_match_bpfdoctor(src: Path) -> None:
    """The C loader's errno names and bpfdoctor's errno_name() agree, so parity tests can
    compare names as strings."""
    for row in run_reference(compile_bpf(src)):
        assert row["errno"] == errno_name(row["errno_num"])


# ---- an independent second opinion: bpftool ---------------------------------------------


def _bpffs() -> Path | None:
    root = Path("/sys/fs/bpf")
    if root.is_dir() and os.path.ismount(root):
        return root
    return None


@pytest.mark.parametrize("src", FAILURES, ids=_id)
def test_bpftool_agrees_failure_examples_fail(src: Path, tmp_path: Path) -> None:
    """bpftool (its own loading code path, same libbpf) refuses each failure example with the
    same verifier message; the pin path is only created on success and removed if it is."""
    bpftool = shutil.which("bpftool")
    root = _bpffs()
    if bpftool is None or root is None:
        pytest.skip("needs bpftool and a mounted bpffs at /sys/fs/bpf")
    want = expectation(src)
    pin = root / f"bpfdoctor-ref-{os.getpid()}-{src.name.removesuffix('.bpf.c')}"
    try:
        r = subprocess.run([bpftool, "-d", "prog", "loadall", str(compile_bpf(src)), str(pin)],
                           capture_output=True, text=True, timeout=120)
    finally:
        if pin.exists():
            shutil.rmtree(pin, ignore_errors=True)
    assert r.returncode != 0, f"bpftool loaded {src.name}"
    assert any(want.text in line for line in verifier_messages(r.stderr)), r.stderr[-3000:]

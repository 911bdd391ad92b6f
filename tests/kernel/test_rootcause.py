"""Root causes of load failures that come without a verifier log, on the real kernel: the
evidence is this process's capabilities and trivial probes of the same kind, never a guess."""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bpfdoctor import Collection, LoadError, load_collection_spec
from bpfdoctor.check import check_object
from bpfdoctor.loader import LoadOptions
from bpfdoctor.sys import ProgType
from support.build import EXAMPLES, compile_bpf
from support.corpus import corpus_objects

VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def shared_dir():
    """A directory the unprivileged user can read (pytest's tmp_path is root-only)."""
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="bpfdoctor-unpriv-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_map_sized_at_runtime_example() -> None:
    spec = load_collection_spec(compile_bpf(EXAMPLES / "env" / "map_sized_at_runtime.bpf.c"))
    with pytest.raises(LoadError) as ei:
        Collection(spec, options=LoadOptions(all_maps=True)).close()
    ei.value.program_spec = spec.programs["count_stack"]
    ei.value.collection_spec = spec
    d = ei.value.diagnosis
    assert d.slug == "map-create-invalid", (d.slug, d.summary)
    assert d.details["map"] == "stacks"
    assert d.details["zero_fields"] == ["value_size", "max_entries"]
    assert any(e.endswith(": loads") for e in d.evidence), d.evidence


def test_corpus_failures_all_have_a_specific_cause() -> None:
    """Every libbpf-tools program that fails on this kernel is named: none is `unknown`,
    and the log-less EPERM ones carry probe evidence that a trivial program of the same kind
    is refused too (checked again here, independently)."""
    slugs: collections.Counter[str] = collections.Counter()
    for obj in corpus_objects():
        res = check_object(obj)
        for p in res.programs:
            if p.verdict != "fail":
                continue
            d = p.diagnosis
            slugs[d.slug] += 1
            if d.slug == "attach-kind-refused":
                assert p.errno_name in ("EPERM", "EACCES") and "no log" in d.summary, p
                assert d.details["probe"].endswith(p.errno_name), d.details
            if d.slug == "map-create-invalid":
                assert d.details["zero_fields"], d.details
    assert slugs and "unknown" not in slugs, slugs
    if "attach-kind-refused" in slugs:
        # the evidence is true: a trivial fentry program is refused on this kernel
        from bpfdoctor.probe.rootcause import probe_kind
        from bpfdoctor.sys import AttachType

        r = probe_kind.__wrapped__(ProgType.TRACING, AttachType.TRACE_FENTRY)
        assert r is not None and not r.ok and r.errno_name == "EPERM"


def _unprivileged(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("setpriv (util-linux) is needed for the unprivileged tests")
    return subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                           "--inh-caps=-all", "--bounding-set=-all", *cmd],
                          capture_output=True, text=True, timeout=120, **kw)


def test_permission_without_capabilities(shared_dir: Path) -> None:
    """As nobody without capabilities, a load is refused with EPERM before verification and
    the diagnosis names the missing capabilities (not memlock)."""
    obj = compile_bpf(EXAMPLES / "xdp.bpf.c", shared_dir / "xdp.bpf.o")
    os.chmod(obj, 0o644)
    code = ("import json,sys\n"
            "from bpfdoctor import Collection, LoadError, load_collection_spec\n"
            "spec = load_collection_spec(sys.argv[1])\n"
            "name = next(iter(spec.programs))\n"
            "try:\n"
            "    Collection(spec, programs=[name]).close(); print('{}')\n"
            "except LoadError as e:\n"
            "    e.program_spec = spec.programs[name]; e.collection_spec = spec\n"
            "    d = e.diagnosis\n"
            "    print(json.dumps({'slug': d.slug, 'summary': d.summary, 'errno': e.errno,"
            " 'details': d.details}))\n")
    env = {**os.environ, "HOME": str(shared_dir), "BPFDOCTOR_NO_CACHE": "1"}
    p = _unprivileged([sys.executable, "-c", code, str(obj)], env=env, cwd=shared_dir)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["slug"] == "permission", out
    assert "CAP_BPF" in out["details"]["missing_capabilities"]
    assert "CAP_NET_ADMIN" in out["details"]["missing_capabilities"]  # xdp is a net type
    assert "memlock" not in out["summary"].lower()


def test_check_cli_without_capabilities(shared_dir: Path) -> None:
    """The command itself: a clear message about privileges, exit 2, no traceback."""
    obj = compile_bpf(EXAMPLES / "xdp.bpf.c", shared_dir / "xdp.bpf.o")
    os.chmod(obj, 0o644)
    env = {**os.environ, "HOME": str(shared_dir)}
    p = _unprivileged([str(VENV_BIN / "bpfdoctor"), "check", str(obj)], env=env, cwd=shared_dir)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    assert "EPERM" in p.stderr and "CAP_BPF" in p.stderr


def test_low_memlock_is_not_charged_here(tmp_path: Path) -> None:
    """With RLIMIT_MEMLOCK at 0 the maps and programs still load: this kernel (>= 5.11)
    charges memory cgroups, not memlock, so bpfdoctor must not blame memlock."""
    obj = compile_bpf(EXAMPLES / "maps.bpf.c", tmp_path / "maps.bpf.o")
    prlimit = shutil.which("prlimit")
    assert prlimit is not None
    p = subprocess.run([prlimit, "--memlock=0:0", str(VENV_BIN / "bpfdoctor"), "check",
                        "--json", str(obj)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, (p.stdout, p.stderr)
    progs = json.loads(p.stdout)["objects"][0]["programs"]
    assert progs and all(r["verdict"] == "ok" for r in progs)

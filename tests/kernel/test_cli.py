"""`bpfdoctor check` end to end: rows, JSON contract, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.build import BUILD, compile_bpf

DATA = Path(__file__).parent.parent / "data"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bpfdoctor", *args], capture_output=True,
                          text=True, timeout=120)


def _basic() -> Path:
    return compile_bpf(DATA / "loader_basic.bpf.c", BUILD / "tests" / "loader_basic.bpf.o")


def test_check_ok_text() -> None:
    r = run("check", str(_basic()))
    assert r.returncode == 0, r.stderr
    assert "count_len" in r.stdout and "other" in r.stdout and "ok" in r.stdout


def test_check_json_contract() -> None:
    r = run("check", "--json", str(_basic()))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["version"] == 1 and doc["kernel"]
    (obj,) = doc["objects"]
    assert obj["error"] is None
    progs = {p["name"]: p for p in obj["programs"]}
    assert set(progs) == {"count_len", "other"}
    p = progs["count_len"]
    assert p["section"] == "socket" and p["type"] == "socket_filter"
    assert p["verdict"] == "ok" and p["errno"] is None and p["diagnosis"] is None
    assert set(p["stats"]) >= {"insns_processed", "states", "peak_states", "verification_us",
                               "xlated_bytes"}
    assert p["stats"]["insns_processed"] > 0 and p["stats"]["xlated_bytes"] > 0


def test_check_program_filter() -> None:
    r = run("check", "--json", "--program", "other", str(_basic()))
    doc = json.loads(r.stdout)
    assert [p["name"] for p in doc["objects"][0]["programs"]] == ["other"]
    r = run("check", "--program", "nope", str(_basic()))
    assert r.returncode == 2 and "nope" in r.stdout + r.stderr


def test_check_failure_exit_1() -> None:
    obj = compile_bpf(DATA / "null_deref.bpf.c", BUILD / "tests" / "null_deref.bpf.o")
    r = run("check", "--json", str(obj))
    assert r.returncode == 1, r.stderr
    p = json.loads(r.stdout)["objects"][0]["programs"][0]
    assert p["verdict"] == "fail" and p["errno"] == "EACCES"
    assert p["message"] == "R0 invalid mem access 'map_value_or_null'"
    r = run("check", str(obj))
    assert r.returncode == 1 and "FAIL" in r.stdout
    assert "R0 invalid mem access 'map_value_or_null'" in r.stdout


def test_bad_inputs_exit_2_without_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.o"
    junk.write_bytes(b"\x7fELF" + b"\x02\x01" + b"\0" * 20)
    cases = [str(DATA / "loader_basic.bpf.c"), str(junk), str(tmp_path / "missing.o")]
    for path in cases:
        r = run("check", path)
        assert r.returncode == 2, (path, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr + r.stdout
    r = run("check", "--json", str(junk))
    doc = json.loads(r.stdout)
    assert doc["objects"][0]["error"]["type"] == "truncated"


def test_usage_error_exit_2() -> None:
    r = run("check")
    assert r.returncode == 2


def test_without_privileges_exit_2() -> None:
    """As an unprivileged user the check cannot load anything: a clear message, exit 2."""
    import shutil

    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed for this test"
    r = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                        "--inh-caps=-all", sys.executable, "-m", "bpfdoctor", "check",
                        str(_basic())], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "EPERM" in r.stderr and "CAP_BPF" in r.stderr
    assert "Traceback" not in r.stderr

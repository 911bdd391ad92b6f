"""``bpfdoctor env`` on the real machine, as root and as nobody without capabilities."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from bpfdoctor.probe.rootcause import TRACING_KINDS, probe_kind

BIN = Path(sys.executable).parent / "bpfdoctor"


def _run(*args: str, prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(prefix or []), str(BIN), "env", *args], capture_output=True,
                          text=True, timeout=120, cwd="/")


def test_env_json_as_root() -> None:
    p = _run("--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["version"] == 1
    f = {x["name"]: x for x in doc["findings"]}
    assert {"status", "value", "why", "fix"} <= set(f["CAP_BPF"])
    assert f["bpf() system call"]["status"] == "ok"
    assert f["CAP_BPF"]["status"] == "ok"
    # The tracing-kinds finding agrees with an independent probe of each kind.
    refused = {kind for (pt, at), (kind, _) in TRACING_KINDS.items()
               if (r := probe_kind.__wrapped__(pt, at)) is not None and not r.ok}
    value = f["tracing program kinds"]["value"]
    for kind in refused:
        assert f"{kind} (" in value, (kind, value)
    if not refused:
        assert value == "all load"
    assert "charged" in f["RLIMIT_MEMLOCK"]["value"]


def test_env_without_capabilities() -> None:
    setpriv = shutil.which("setpriv")
    assert setpriv is not None
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
              "--bounding-set=-all"]
    p = _run("--json", prefix=prefix)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    f = {x["name"]: x for x in json.loads(p.stdout)["findings"]}
    assert f["bpf() system call"]["status"] == "problem"
    assert f["CAP_BPF"]["status"] == "problem" and f["CAP_BPF"]["value"] == "none"
    assert "bounding set" in f["CAP_BPF"]["fix"]
    strict = _run("--strict", prefix=prefix)
    assert strict.returncode == 1 and "Traceback" not in strict.stderr

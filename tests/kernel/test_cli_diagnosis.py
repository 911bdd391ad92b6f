"""The diagnosis surfaces: check --json/--sarif carry it, explain prints causes and diagnoses
pasted logs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bpfdoctor.diagnose import causes
from support.build import BUILD, compile_bpf

DATA = Path(__file__).parent.parent / "data"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bpfdoctor", *args], capture_output=True,
                          text=True, timeout=120, input=stdin)


def _null_deref() -> Path:
    return compile_bpf(DATA / "null_deref.bpf.c", BUILD / "tests" / "null_deref.bpf.o")


def test_check_json_diagnosis_fields() -> None:
    r = run("check", "--json", str(_null_deref()))
    assert r.returncode == 1, r.stderr
    p = json.loads(r.stdout)["objects"][0]["programs"][0]
    d = p["diagnosis"]
    assert set(d) >= {"code", "slug", "title", "summary", "explanation", "fix", "source",
                      "insn", "verifier_message", "evidence"}
    assert d["verifier_message"] == "R0 invalid mem access 'map_value_or_null'"
    src = (DATA / "null_deref.bpf.c").read_text().splitlines()
    assert d["source"]["file"].endswith("null_deref.bpf.c")
    assert src[d["source"]["line"] - 1].strip() == "return *v;"
    assert d["evidence"] and d["code"].startswith("BD")


def test_check_sarif() -> None:
    r = run("check", "--sarif", str(_null_deref()))
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["version"] == "2.1.0"
    run0 = doc["runs"][0]
    (res,) = run0["results"]
    rule_ids = {rule["id"] for rule in run0["tool"]["driver"]["rules"]}
    assert res["ruleId"] in rule_ids
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("null_deref.bpf.c")
    assert loc["region"]["startLine"] > 0
    assert run("check", "--sarif", "--json", str(_null_deref())).returncode == 2


def test_explain_codes_and_slugs() -> None:
    from click.testing import CliRunner

    from bpfdoctor.cli import main

    runner = CliRunner()
    for c in causes():
        for key in (c.code, c.slug, c.code.lower()):
            r = runner.invoke(main, ["explain", key])
            assert r.exit_code == 0, (key, r.output)
            assert c.title in r.output and c.slug in r.output
    r = run("explain", "--json", "unknown")
    assert json.loads(r.stdout)["code"] == "BD999"
    assert run("explain", "BD000").returncode == 2


def test_explain_pasted_logs_stdin_and_file(tmp_path: Path) -> None:
    from bpfdoctor import Collection, VerifierError, load_collection_spec

    spec = load_collection_spec(_null_deref())
    try:
        Collection(spec).close()
        raise AssertionError("expected the null dereference to be rejected")
    except VerifierError as e:
        log = "\n".join(e.log)
    wrapped = ("libbpf: prog 'f': BPF program load failed: Permission denied\n"
               "libbpf: prog 'f': -- BEGIN PROG LOAD LOG --\n" + log +
               "\n-- END PROG LOAD LOG --\n")
    r = run("explain", "--json", "-", stdin=wrapped)
    assert r.returncode == 1, r.stderr
    (entry,) = json.loads(r.stdout)["logs"]
    assert entry["program"] == "f" and entry["format"].startswith("libbpf")
    assert entry["diagnosis"]["verifier_message"] == "R0 invalid mem access 'map_value_or_null'"
    f = tmp_path / "paste.txt"
    f.write_text(log)
    r = run("explain", "--json", "--object", str(_null_deref()), str(f))
    d = json.loads(r.stdout)["logs"][0]["diagnosis"]
    assert d["source"]["file"].endswith("null_deref.bpf.c")


def test_explain_garbage_keeps_raw_text(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00\xffnot a verifier log at all\n\x01\x02")
    r = run("explain", "--json", str(junk))
    assert "Traceback" not in r.stderr
    assert r.returncode in (1, 2)
    if r.returncode == 1:
        d = json.loads(r.stdout)["logs"][0]["diagnosis"]
        assert d["slug"] == "unknown"

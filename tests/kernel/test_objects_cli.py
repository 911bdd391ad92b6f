"""Object-level diagnoses on real objects built here: the wrong target, the wrong byte order,
stripped BTF, a SEC typo, text and truncated files.  Each gets its slug and a clear message
with the right exit code from the command, never a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bpfdoctor.check import check_object
from support.build import EXAMPLES, compile_bpf

BIN = Path(sys.executable).parent / "bpfdoctor"
SIMPLE = (b'#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n'
          b'SEC("socket") int keep(struct __sk_buff *skb) { return skb->len; }\n'
          b'char LICENSE[] SEC("license") = "GPL";\n')


@pytest.fixture
def src(tmp_path: Path) -> Path:
    p = tmp_path / "simple.bpf.c"
    p.write_bytes(SIMPLE)
    return p


def _cli(obj: Path) -> tuple[int, dict]:
    p = subprocess.run([str(BIN), "check", "--json", str(obj)], capture_output=True,
                       text=True, timeout=120)
    assert "Traceback" not in p.stderr, p.stderr
    return p.returncode, json.loads(p.stdout)


def _object_slug(obj: Path) -> tuple[str, str]:
    res = check_object(obj)
    assert res.error is not None, obj
    d = res.diagnosis
    assert d is not None, res.error
    return d.slug, d.summary


def test_x86_object(tmp_path: Path, src: Path) -> None:
    obj = compile_bpf(src, tmp_path / "x86.o", extra=["-target", "x86_64-linux-gnu"])
    slug, summary = _object_slug(obj)
    assert slug == "elf-not-bpf" and "-target bpf" in summary
    rc, doc = _cli(obj)
    assert rc == 2
    assert doc["objects"][0]["error"]["diagnosis"]["slug"] == "elf-not-bpf"


def test_big_endian_object(tmp_path: Path, src: Path) -> None:
    obj = compile_bpf(src, tmp_path / "eb.o", extra=["-target", "bpfeb"])
    slug, summary = _object_slug(obj)
    assert slug == "elf-endianness", summary
    assert _cli(obj)[0] == 2


def test_stripped_object(tmp_path: Path) -> None:
    strip = shutil.which("llvm-strip-19") or shutil.which("llvm-strip")
    assert strip is not None, "llvm-strip (llvm-19) is installed by make test"
    obj = compile_bpf(EXAMPLES / "maps.bpf.c", tmp_path / "maps.o", extra=[])
    stripped = tmp_path / "stripped.o"
    subprocess.run([strip, "--strip-all", str(obj), "-o", str(stripped)], check=True)
    slug, summary = _object_slug(stripped)
    assert slug == "elf-stripped" and "llvm-strip -g" in summary, (slug, summary)
    assert _cli(stripped)[0] == 2


def test_sec_typo_did_you_mean(tmp_path: Path) -> None:
    src = tmp_path / "typo.bpf.c"
    src.write_text('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n'
                   'SEC("tracepont/syscalls/sys_enter_openat")\n'
                   'int on_open(void *ctx) { return 0; }\n'
                   'char LICENSE[] SEC("license") = "GPL";\n')
    obj = compile_bpf(src, tmp_path / "typo.o", extra=[])
    (p,) = check_object(obj).programs
    assert p.verdict == "fail" and p.diagnosis.slug == "section-unknown"
    assert p.diagnosis.details["did_you_mean"][0] == "tracepoint/syscalls/sys_enter_openat"
    rc, doc = _cli(obj)
    assert rc == 1
    assert doc["objects"][0]["programs"][0]["diagnosis"]["slug"] == "section-unknown"


@pytest.mark.parametrize("content", [b"int main(void) { return 0; }\n", b""])
def test_not_elf(tmp_path: Path, content: bytes) -> None:
    f = tmp_path / "prog.o"
    f.write_bytes(content)
    assert _object_slug(f)[0] == "elf-not-bpf"
    assert _cli(f)[0] == 2


def test_truncated(tmp_path: Path, src: Path) -> None:
    obj = compile_bpf(src, tmp_path / "full.o", extra=[])
    cut = tmp_path / "cut.o"
    cut.write_bytes(obj.read_bytes()[:300])
    assert _object_slug(cut)[0] == "elf-corrupt"
    assert _cli(cut)[0] == 2

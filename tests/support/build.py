"""Compile the C examples for tests, cached under build/ by source mtime.

Tests call :func:`compile_bpf` instead of relying on ``make`` having run, so ``pytest`` alone
works on a machine with clang.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BUILD = ROOT / "build"


def find_clang() -> str | None:
    for name in ("clang-19", "clang-20", "clang-18", "clang"):
        p = shutil.which(name)
        if p:
            return p
    return None


def bpf_cflags() -> list[str]:
    flags = ["-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86", "-Wall", "-Wno-unused-value",
             f"-I{EXAMPLES / 'include'}"]
    multiarch = Path("/usr/include/x86_64-linux-gnu")
    if multiarch.is_dir():
        flags.append(f"-I{multiarch}")
    return flags


def compile_bpf(src: str | os.PathLike[str], out: str | os.PathLike[str] | None = None,
                extra: list[str] | None = None) -> Path:
    """Compile one BPF C file; returns the object path.  Raises RuntimeError with clang's
    output if it fails, and skips nothing: a missing clang is the caller's decision."""
    src = Path(src).resolve()
    if out is None:
        rel = src.relative_to(EXAMPLES) if src.is_relative_to(EXAMPLES) else Path(src.name)
        out = BUILD / "examples" / rel.with_suffix(".o")
    out = Path(out)
    newest = max([src.stat().st_mtime] +
                 [h.stat().st_mtime for h in (EXAMPLES / "include").glob("*.h")])
    if out.exists() and out.stat().st_mtime >= newest and not extra:
        return out
    clang = find_clang()
    if clang is None:
        raise RuntimeError("clang not found: run `make test` (it installs clang-19)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    r = subprocess.run([clang, *bpf_cflags(), *(extra or []), "-c", str(src), "-o", str(tmp)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"clang failed on {src}:\n{r.stderr}")
    os.replace(tmp, out)
    return out


def example_sources(sub: str = "") -> list[Path]:
    return sorted((EXAMPLES / sub).glob("*.bpf.c"))

"""The libbpf reference loader: an independent oracle for what the kernel says about a program.

``tests/reference/libbpf_loader.c`` is compiled against the system libbpf (libbpf-dev) and
loads every program of an object on its own, printing one JSON line per program.  Tests
compare bpfdoctor's verdicts with it, so "does this load?" is never answered by our own code
alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .build import BUILD, ROOT

SOURCE = ROOT / "tests" / "reference" / "libbpf_loader.c"
BINARY = BUILD / "libbpf_loader"


class ReferenceLoaderError(RuntimeError):
    """The oracle itself could not be built or did not answer; never a verdict on a program."""


def build_reference_loader() -> Path:
    """Compile the reference loader once (rebuilt when its source is newer) and return it.

    The binary goes to a temporary name first and is renamed into place, so parallel test
    processes never run a half-written executable.
    """
    if BINARY.exists() and BINARY.stat().st_mtime >= SOURCE.stat().st_mtime:
        return BINARY
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise ReferenceLoaderError("no C compiler (gcc) found to build the libbpf loader")
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    tmp = BINARY.with_name(f"{BINARY.name}.{os.getpid()}.tmp")
    cmd = [cc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(tmp), str(SOURCE), "-lbpf"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise ReferenceLoaderError(
            f"building the libbpf reference loader failed (is libbpf-dev installed?):\n"
            f"{' '.join(cmd)}\n{r.stderr}"
        )
    os.replace(tmp, BINARY)
    return BINARY


def run_reference(obj: str | os.PathLike[str], *, log: bool = False,
                  program: str | None = None, xlated_dir: str | os.PathLike[str] | None = None,
                  timeout: float = 120.0) -> list[dict[str, Any]]:
    """Run the libbpf loader on ``obj``; one dict per program, in libbpf's program order.

    Each dict has ``object``, ``program``, ``section``, ``verdict`` (``"ok"``/``"fail"``),
    ``errno`` (a name such as ``"EACCES"``, or ``None``) and ``errno_num``; with ``log=True``
    also ``log``, everything libbpf printed, including the verifier log of a failed load.
    With ``xlated_dir`` (created if missing) every program that loads has the instructions
    the kernel holds for it written to ``<xlated_dir>/<program>.xlated``, and its dict gets
    ``xlated``, that path (see :func:`read_xlated`).
    If libbpf cannot open the object the list has one dict with ``program`` ``None`` and
    ``verdict`` ``"error"``.
    """
    exe = build_reference_loader()
    cmd = [str(exe), os.fspath(obj)]
    if program is not None:
        cmd += ["--program", program]
    if log:
        cmd.append("--log")
    if xlated_dir is not None:
        Path(xlated_dir).mkdir(parents=True, exist_ok=True)
        cmd += ["--xlated", os.fspath(xlated_dir)]
    r = subprocess.run(cmd, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise ReferenceLoaderError(
            f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.decode(errors='replace')}"
        )
    out = r.stdout.decode(errors="replace")
    try:
        return [json.loads(line) for line in out.splitlines() if line.strip()]
    except json.JSONDecodeError as e:
        raise ReferenceLoaderError(f"unparsable output from {exe}: {e}\n{out[:2000]}") from e


def read_xlated(row: dict[str, Any]) -> bytes | None:
    """The xlated instructions libbpf's load of ``row``'s program left in the kernel, or
    ``None`` when the row has none (the program failed, or no ``xlated_dir`` was given)."""
    path = row.get("xlated")
    return Path(path).read_bytes() if path else None

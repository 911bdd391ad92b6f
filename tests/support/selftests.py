"""The kernel's own verifier selftests as a benchmark for the diagnosis catalogue.

``tools/testing/selftests/bpf/progs/verifier_*.c`` (Debian's ``linux-source-6.12``) are BPF
programs annotated, through BTF decl tags, with what the verifier must say about them
(``bpf_misc.h``: ``__failure`` is the tag ``comment:test_expect_failure``, ``__msg("x")`` is
``comment:test_expect_msg=<counter>=x``).  The privileged ``__failure`` programs are a corpus of
verifier rejections written by the people who wrote the verifier, each with the expected
message: the fairest test of whether our catalogue names the cause.

This module prepares the tree (extract, generate headers, compile as the selftests Makefile
does, all cached under ``build/selftests``), reads the annotations and loads each failing
program with bpfdoctor.  Every object is run in a child process, so a verifier run that
hangs or a loader bug costs one file, and the kernel objects of a killed child go away with it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .build import BUILD, find_clang

if TYPE_CHECKING:
    from bpfdoctor.btf import Spec as BTFSpec

SOURCE_TARBALL = Path("/usr/src/linux-source-6.12.tar.xz")
TOP = "linux-source-6.12"
CACHE = BUILD / "selftests"
SELFTESTS = f"{TOP}/tools/testing/selftests/bpf"
PROGS = f"{SELFTESTS}/progs"

_TAG = "comment:"
_FAILURE = "comment:test_expect_failure"
_MSG = "comment:test_expect_msg="
_LOG_LEVEL = "comment:test_log_level="
_FLAGS = "comment:test_prog_flags="
_DESCRIPTION = "comment:test_description="
_AUXILIARY = "comment:test_auxiliary"

# Program flags the test loader understands by name (test_loader.c); it also sets
# BPF_F_TEST_RND_HI32 and BPF_F_TEST_REG_INVARIANTS on every program when the kernel has them.
PROG_FLAGS = {
    "BPF_F_STRICT_ALIGNMENT": 1, "BPF_F_ANY_ALIGNMENT": 2, "BPF_F_TEST_RND_HI32": 4,
    "BPF_F_TEST_STATE_FREQ": 8, "BPF_F_SLEEPABLE": 16, "BPF_F_XDP_HAS_FRAGS": 32,
    "BPF_F_TEST_REG_INVARIANTS": 128,
}
DEFAULT_FLAGS = PROG_FLAGS["BPF_F_TEST_RND_HI32"] | PROG_FLAGS["BPF_F_TEST_REG_INVARIANTS"]


class SelftestsUnavailable(RuntimeError):
    """The kernel source package (or clang, or bpftool) this benchmark needs is missing."""


# ---------------------------------------------------------------------------------------
# Preparing the tree


@dataclass
class Tree:
    root: Path

    @property
    def selftests(self) -> Path:
        return self.root / SELFTESTS

    @property
    def progs(self) -> Path:
        return self.root / PROGS

    @property
    def include(self) -> Path:
        """Our stand-in for the Makefile's ``$(INCLUDE_DIR)``: ``bpf/*.h`` with the generated
        ``bpf_helper_defs.h``, and ``vmlinux.h``."""
        return self.root / "include"

    @property
    def objects(self) -> Path:
        return self.root / "obj"

    def sources(self, only: Sequence[str] | None = None) -> list[Path]:
        files = sorted(self.progs.glob("verifier_*.c"))
        if only:
            want = {Path(o).name if o.endswith(".c") else f"{o}.c" for o in only}
            want |= {f"verifier_{w}" for w in want}
            files = [f for f in files if f.name in want]
        return files


def _wanted_member(name: str) -> bool:
    """The members of the kernel tarball the verifier selftests need to compile."""
    if name.startswith(f"{PROGS}/"):
        return True
    if name.startswith(f"{SELFTESTS}/") and name.count("/") == 4 and name.endswith(".h"):
        return True
    return (name.startswith((f"{TOP}/tools/include/", f"{TOP}/tools/lib/bpf/"))
            or name in (f"{SELFTESTS}/Makefile", f"{TOP}/scripts/bpf_doc.py"))


def prepare(root: Path = CACHE, tarball: Path = SOURCE_TARBALL) -> Tree:
    """Extract and generate what compiling the selftests needs, once (a stamp file marks a
    complete extraction, so an interrupted one is redone)."""
    tree = Tree(root)
    stamp = root / ".extracted"
    if not stamp.exists():
        if not tarball.exists():
            raise SelftestsUnavailable(
                f"{tarball} is missing: `apt-get install -y linux-source-6.12` "
                "(scripts/bootstrap.sh installs it)")
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball, "r:xz") as tf:
            members = [m for m in tf if _wanted_member(m.name)]
            tf.extractall(root, members=members, filter="data")
        stamp.write_text(f"{tarball}\n")
    _generate_headers(tree)
    return tree


def _generate_headers(tree: Tree) -> None:
    bpf_dir = tree.include / "bpf"
    bpf_dir.mkdir(parents=True, exist_ok=True)
    libbpf = tree.root / TOP / "tools/lib/bpf"
    for h in libbpf.glob("*.h"):
        dst = bpf_dir / h.name
        if not dst.exists():
            dst.write_bytes(h.read_bytes())
    defs = bpf_dir / "bpf_helper_defs.h"
    if not defs.exists():
        r = subprocess.run([sys.executable, str(tree.root / TOP / "scripts/bpf_doc.py"),
                            "--header", "--file",
                            str(tree.root / TOP / "tools/include/uapi/linux/bpf.h")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SelftestsUnavailable(f"bpf_doc.py failed: {r.stderr.strip()}")
        defs.write_text(r.stdout)
    vmlinux_h = tree.include / "vmlinux.h"
    if not vmlinux_h.exists():
        r = subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux",
                            "format", "c"], capture_output=True, text=True)
        if r.returncode != 0:
            raise SelftestsUnavailable(f"bpftool btf dump failed: {r.stderr.strip()}")
        vmlinux_h.write_text(r.stdout)


# ---------------------------------------------------------------------------------------
# Compiling


def _sys_includes(clang: str) -> list[str]:
    """The Makefile's ``get_sys_includes``: clang's own native search path, appended with
    ``-idirafter`` so a ``--target=bpf`` build finds ``<stdint.h>`` and the multiarch dirs."""
    r = subprocess.run([clang, "-v", "-E", "-x", "c", "-"], input="", capture_output=True,
                       text=True)
    dirs, inside = [], False
    for line in r.stderr.splitlines():
        if line.startswith("#include <...> search starts here"):
            inside = True
        elif line.startswith("End of search list"):
            break
        elif inside:
            dirs.append(line.strip())
    return [a for d in dirs for a in ("-idirafter", d)]


def cflags(tree: Tree, clang: str) -> list[str]:
    """``TRUNNER_BPF_CFLAGS`` of the default ``test_progs`` runner plus the build rule's own
    ``-O2 --target=bpf -mcpu=v3``; ``-Werror`` is dropped (a newer clang warning is not a
    reason to lose a file)."""
    st = tree.selftests
    return ["-g", "-Wall", "-D__TARGET_ARCH_x86", "-mlittle-endian",
            f"-I{tree.include}", f"-I{st}", f"-I{tree.root / TOP / 'tools/include/uapi'}",
            "-Wno-compare-distinct-pointer-types", *_sys_includes(clang),
            "-DENABLE_ATOMICS_TESTS", "-O2", "--target=bpf", "-mcpu=v3"]


@dataclass
class CompileResult:
    source: Path
    obj: Path | None
    error: str = ""


def _compile_one(src: Path, out: Path, clang: str, flags: list[str]) -> CompileResult:
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return CompileResult(src, out)
    failed = out.with_suffix(".failed")
    if failed.exists() and failed.stat().st_mtime >= src.stat().st_mtime:
        return CompileResult(src, None, failed.read_text())
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    r = subprocess.run([clang, *flags, "-c", str(src), "-o", str(tmp)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        errors = [ln for ln in r.stderr.splitlines() if "error:" in ln]
        msg = "\n".join(errors[:3]) or r.stderr.strip()[-500:]
        failed.write_text(msg)
        tmp.unlink(missing_ok=True)
        return CompileResult(src, None, msg)
    os.replace(tmp, out)
    return CompileResult(src, out)


def compile_all(tree: Tree, sources: Iterable[Path], jobs: int = 2) -> list[CompileResult]:
    """Compile each source to ``obj/NAME.o`` (cached by mtime, failures too)."""
    clang = find_clang()
    if clang is None:
        raise SelftestsUnavailable("clang not found (scripts/bootstrap.sh installs clang-19)")
    flags = cflags(tree, clang)
    tree.objects.mkdir(parents=True, exist_ok=True)
    srcs = list(sources)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
        return list(ex.map(lambda s: _compile_one(
            s, tree.objects / f"{s.stem}.o", clang, flags), srcs))


# ---------------------------------------------------------------------------------------
# Annotations


@dataclass
class TestSpec:
    """What ``bpf_misc.h``'s tags say about one program."""

    name: str
    failure: bool = False
    messages: list[str] = field(default_factory=list)
    log_level: int = 0
    flags: int = DEFAULT_FLAGS
    description: str = ""
    auxiliary: bool = False
    tags: list[str] = field(default_factory=list)


def _apply_flags(value: str, flags: int) -> int:
    """``__flag(X)`` sets X, ``__flag(!X)`` clears it (test_loader's ``update_flags``)."""
    clear = value.startswith("!")
    name = value[1:] if clear else value
    bit = PROG_FLAGS.get(name)
    if bit is None:
        try:
            bit = int(name, 0)
        except ValueError:
            return flags
    return flags & ~bit if clear else flags | bit


def _message_order(value: str) -> tuple[int, str]:
    """``N=text`` (N is ``__COUNTER__``, the order of the tags in the source)."""
    counter, sep, text = value.partition("=")
    if sep and counter.isdigit():
        return int(counter), text
    return 0, value


def annotations(btf: BTFSpec) -> dict[str, TestSpec]:
    """Read the ``comment:`` decl tags on functions from an object's BTF, by function name."""
    from bpfdoctor.btf.types import DeclTag, Func

    out: dict[str, TestSpec] = {}
    msgs: dict[str, list[tuple[int, str]]] = {}
    for t in btf.types:
        if not isinstance(t, DeclTag) or t.component_idx != -1 or not t.name.startswith(_TAG):
            continue
        target = btf.types[t.type]
        if not isinstance(target, Func):
            continue
        ts = out.setdefault(target.name, TestSpec(target.name))
        tag = t.name
        ts.tags.append(tag)
        if tag == _FAILURE:
            ts.failure = True
        elif tag == _AUXILIARY:
            ts.auxiliary = True
        elif tag.startswith(_MSG):
            msgs.setdefault(target.name, []).append(_message_order(tag[len(_MSG):]))
        elif tag.startswith(_LOG_LEVEL):
            try:
                ts.log_level = int(tag[len(_LOG_LEVEL):], 0)
            except ValueError:
                pass
        elif tag.startswith(_FLAGS):
            ts.flags = _apply_flags(tag[len(_FLAGS):], ts.flags)
        elif tag.startswith(_DESCRIPTION):
            ts.description = tag[len(_DESCRIPTION):]
    for name, ms in msgs.items():
        out[name].messages = [text for _, text in sorted(ms)]
    return out


def _pattern(msg: str) -> re.Pattern[str]:
    """test_loader's pattern: literal text with ``{{regex}}`` parts."""
    parts, rest = [], msg
    while "{{" in rest:
        lit, _, tail = rest.partition("{{")
        rx, _, rest = tail.partition("}}")
        parts.append(re.escape(lit))
        parts.append(rx)
    parts.append(re.escape(rest))
    return re.compile("".join(parts))


def messages_found(log: str, messages: Sequence[str]) -> bool:
    """Whether every expected message occurs in the log, in order (as test_loader checks)."""
    pos = 0
    for m in messages:
        try:
            found = _pattern(m).search(log, pos)
        except re.error:
            idx = log.find(m, pos)
            if idx < 0:
                return False
            pos = idx + len(m)
            continue
        if found is None:
            return False
        pos = found.end()
    return True


# ---------------------------------------------------------------------------------------
# Loading (in a child process per object)


@dataclass
class Outcome:
    """One ``__failure`` program as bpfdoctor saw it."""

    file: str
    program: str
    verdict: str  # "fail" | "ok" | "timeout" | "error"
    errno: str | None = None
    code: str | None = None
    slug: str | None = None
    verifier_message: str | None = None
    expected: list[str] = field(default_factory=list)
    expected_found: bool = False
    log_lines: int = 0
    seconds: float = 0.0
    note: str = ""

    @property
    def refused_silently(self) -> bool:
        """EPERM with an empty log: the kernel refused before the verifier ran (this machine
        rejects fentry/fexit/lsm loads so), so there is nothing for the catalogue to read."""
        return self.verdict == "fail" and self.errno == "EPERM" and self.log_lines == 0


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Timeout()


def run_object(obj: Path, timeout: float = 20.0,
               programs: Sequence[str] | None = None) -> tuple[int, list[Outcome]]:
    """Load every privileged ``__failure`` program of one object; returns (number of
    programs in the object, outcomes).  Each load is bounded by SIGALRM: the verifier checks
    for pending signals and gives up with EAGAIN, and the handler stops our loader."""
    from bpfdoctor.check import check_program
    from bpfdoctor.elf import load_collection_spec
    from bpfdoctor.loader import LOG_LEVEL_1, LOG_STATS, LoadOptions

    spec = load_collection_spec(str(obj))
    tests = annotations(spec.btf) if spec.btf is not None else {}
    outcomes: list[Outcome] = []
    old = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        for name, ps in spec.programs.items():
            ts = tests.get(name)
            if ts is None or not ts.failure or (programs and name not in programs):
                continue
            ps.flags |= ts.flags
            level = max(ts.log_level & 3, LOG_LEVEL_1) | LOG_STATS
            opts = LoadOptions(all_maps=True, retry_log_level=level)
            oc = Outcome(file=obj.stem, program=name, verdict="error", expected=ts.messages)
            start = time.monotonic()
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                res, _ = check_program(spec, ps, opts)
            except _Timeout:
                oc.verdict, oc.note = "timeout", f"no verdict in {timeout:g}s"
                continue
            except Exception as e:  # a loader bug is a finding, not a reason to stop
                oc.note = f"{type(e).__name__}: {e}"
                continue
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                oc.seconds = round(time.monotonic() - start, 3)
                outcomes.append(oc)
            oc.verdict = res.verdict
            oc.errno = res.errno_name
            log = "\n".join(res.log)
            oc.log_lines = len(res.log)
            oc.expected_found = messages_found(log, ts.messages)
            d = res.diagnosis
            if d is not None:
                oc.code, oc.slug = d.code, d.slug
                oc.verifier_message = d.verifier_message
            if oc.verifier_message is None:
                oc.verifier_message = res.message
    finally:
        signal.signal(signal.SIGALRM, old)
    return len(spec.programs), outcomes


@dataclass
class ObjectRun:
    file: str
    programs: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    error: str = ""


def run_isolated(obj: Path, timeout: float = 20.0, file_timeout: float = 180.0,
                 programs: Sequence[str] | None = None) -> ObjectRun:
    """:func:`run_object` in a child process (``python -m support.selftests OBJ``)."""
    cmd = [sys.executable, "-m", "support.selftests", str(obj), "--timeout", str(timeout)]
    for p in programs or ():
        cmd += ["--program", p]
    env = dict(os.environ)
    tests_dir = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [tests_dir, env.get("PYTHONPATH")]))
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=file_timeout, env=env)
    except subprocess.TimeoutExpired:
        return ObjectRun(obj.stem, error=f"child killed after {file_timeout:g}s")
    if r.returncode != 0:
        tail = r.stderr.strip().splitlines()[-1:] or [f"exit {r.returncode}"]
        return ObjectRun(obj.stem, error=tail[0])
    data = json.loads(r.stdout)
    return ObjectRun(obj.stem, programs=data["programs"],
                     outcomes=[Outcome(**o) for o in data["outcomes"]])


def _main(argv: Sequence[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="child of run_isolated: one object, JSON out")
    ap.add_argument("obj", type=Path)
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--program", action="append", default=[])
    a = ap.parse_args(argv)
    n, outcomes = run_object(a.obj, a.timeout, a.program)
    json.dump({"programs": n, "outcomes": [asdict(o) for o in outcomes]}, sys.stdout)
    return 0


# ---------------------------------------------------------------------------------------
# Summary


def summarize(runs: Sequence[ObjectRun], top: int = 25) -> dict:
    """Totals, slug counts and the most frequent verifier messages left ``unknown``."""
    outcomes = [o for r in runs for o in r.outcomes]
    failed = [o for o in outcomes if o.verdict == "fail"]
    named = [o for o in failed if o.slug and o.slug != "unknown"]
    unknown = [o for o in failed if not o.slug or o.slug == "unknown"]
    silent = [o for o in failed if o.refused_silently]
    by_msg: dict[str, list[Outcome]] = {}
    for o in unknown:
        by_msg.setdefault(normalize_message(o.verifier_message or ""), []).append(o)
    top_unknown = sorted(by_msg.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return {
        "programs": sum(r.programs for r in runs),
        "failure_programs": len(outcomes),
        "failed": len(failed),
        "loaded_ok": sum(o.verdict == "ok" for o in outcomes),
        "timeouts": sum(o.verdict == "timeout" for o in outcomes),
        "errors": sum(o.verdict == "error" for o in outcomes),
        "expected_msg_found": sum(o.expected_found for o in failed),
        "named": len(named),
        "share_named": round(len(named) / len(failed), 4) if failed else 0.0,
        "refused_silently": len(silent),
        "share_named_verifier_spoke":
            round(len(named) / (len(failed) - len(silent)), 4) if len(failed) > len(silent)
            else 0.0,
        "slugs": dict(Counter(o.slug or "none" for o in failed).most_common()),
        "errnos": dict(Counter(o.errno or "none" for o in failed).most_common()),
        "unknown_messages": [
            {"message": msg, "count": len(os_), "example": f"{os_[0].file}:{os_[0].program}",
             "raw": os_[0].verifier_message}
            for msg, os_ in top_unknown[:top]
        ],
        "all_unknown_messages": [
            {"message": msg, "count": len(os_),
             "programs": [f"{o.file}:{o.program}" for o in os_]}
            for msg, os_ in top_unknown
        ],
    }


_NUM = re.compile(r"(?<![A-Za-z_0-9])-?(0x[0-9a-f]+|\d+)")


def normalize_message(msg: str) -> str:
    """The message with numbers (offsets, sizes, registers' numbers) folded to ``N``, so the
    same rejection on different instructions counts once."""
    return _NUM.sub("N", msg.strip())


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

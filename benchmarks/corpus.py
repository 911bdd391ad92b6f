#!/usr/bin/env python3
"""bpfdoctor against libbpf on the libbpf-tools corpus: verdicts, errnos, xlated programs.

Every BPF object embedded in Debian's libbpf-tools binaries is extracted (build/corpus/),
then each program is loaded on its own by the libbpf reference loader
(tests/reference/libbpf_loader.c) and by ``bpfdoctor.check.check_object``.  Printed: one
line per object, the totals, our failures by the step that failed, and every mismatch with
its category; with ``--xlated`` also, for programs both load, whether the kernel holds the
same instructions for both (map ids aside), and the first instruction that differs.

Usage: benchmarks/corpus.py [--xlated] [--json OUT] [--only TOOL]... [--distinct]
Exit status: 0 all agree, 1 some mismatch, 2 the corpus or the oracle is unavailable.
Needs root (bpf()) and the libbpf-tools package (scripts/bootstrap.sh installs it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from bpfdoctor.corpus import CorpusError  # noqa: E402
from support.corpus import (  # noqa: E402
    STAGES,
    ObjectOutcome,
    ProgramOutcome,
    compare_object,
    corpus_objects,
)
from support.reference import ReferenceLoaderError, build_reference_loader  # noqa: E402

EXAMPLES_PER_CATEGORY = 3
MESSAGE_WIDTH = 110


def _select(objs: list[Path], only: list[str]) -> list[Path]:
    if not only:
        return objs
    wanted = {o.removesuffix(".bpf.o") for o in only}
    return [p for p in objs if p.name.split(".", 1)[0] in wanted
            or p.name.removesuffix(".bpf.o") in wanted]


def _short(text: str | None, obj: str, width: int = MESSAGE_WIDTH) -> str:
    """A message without the object path it usually starts with, cut to ``width``."""
    s = (text or "").replace(f"{obj}: ", "").replace("\n", " ")
    return s if len(s) <= width else s[: width - 1] + "…"


def _verdict(v: str, errno: str | None) -> str:
    return f"{v}/{errno}" if errno else v


def _counts(progs: Iterable[ProgramOutcome]) -> dict[str, int]:
    c: Counter[str] = Counter()
    for p in progs:
        c["programs"] += 1
        c[f"libbpf_{p.libbpf_verdict}"] += 1
        c[f"ours_{p.ours_verdict}"] += 1
        c["agree"] += p.agrees
        if p.xlated_same is not None:
            c["xlated_compared"] += 1
            c["xlated_same"] += p.xlated_same
    return dict(c)


def _object_line(res: ObjectOutcome, xlated: bool) -> str:
    c = _counts(res.programs)
    line = (f"{res.name:28s} {c.get('programs', 0):5d} {c.get('libbpf_ok', 0):4d}"
            f"{c.get('libbpf_fail', 0) + c.get('libbpf_error', 0):5d} {c.get('ours_ok', 0):4d}"
            f"{c.get('ours_fail', 0) + c.get('ours_error', 0):5d} {c.get('agree', 0):6d}")
    if xlated:
        line += f" {c.get('xlated_same', 0):4d}/{c.get('xlated_compared', 0):<4d}"
    return line


def _header(xlated: bool) -> str:
    h = (f"{'object':28s} {'progs':>5s} {'lbOK':>4s} {'lbF':>4s} {'ours':>4s} {'oF':>4s} "
         f"{'agree':>6s}")
    return h + ("  xlated same" if xlated else "")


def report(results: list[ObjectOutcome], *, xlated: bool, elapsed: float,
           out: TextIO = sys.stdout) -> bool:
    """Print the report; True when everything agrees."""
    progs = [p for r in results for p in r.programs]
    total = _counts(progs)
    n, agree = total.get("programs", 0), total.get("agree", 0)
    distinct = len({Path(r.path).read_bytes() for r in results})

    def w(s: str = "") -> None:
        print(s, file=out)

    w(_header(xlated))
    for r in results:
        w(_object_line(r, xlated))
    w()
    w(f"objects: {len(results)} ({distinct} distinct), programs: {n}, in {elapsed:.1f}s")
    w(f"libbpf:    {total.get('libbpf_ok', 0)} ok, {total.get('libbpf_fail', 0)} fail")
    w(f"bpfdoctor: {total.get('ours_ok', 0)} ok, {total.get('ours_fail', 0)} fail")
    w(f"agreements (verdict and errno): {agree}/{n}")
    if xlated:
        w(f"xlated identical (map ids aside): {total.get('xlated_same', 0)}/"
          f"{total.get('xlated_compared', 0)} programs both loaded")

    stages = Counter(p.ours_stage or "?" for p in progs if p.ours_verdict in ("fail", "error"))
    if stages:
        w()
        w("our failures by the step that failed:")
        for stage, count in stages.most_common():
            w(f"  {count:4d}  {stage:10s} {STAGES.get(stage, '')}")

    by_cat: dict[str, list[ProgramOutcome]] = defaultdict(list)
    for p in progs:
        if p.mismatch:
            by_cat[p.mismatch].append(p)
    if by_cat:
        w()
        w("mismatch categories:")
        for cat, items in sorted(by_cat.items(), key=lambda kv: -len(kv[1])):
            w(f"  {len(items):4d}  {cat}")
            for p in _examples(items):
                w(f"          e.g. {Path(p.object).name} {p.program}: libbpf "
                  f"{_verdict(p.libbpf_verdict, p.libbpf_errno)}, ours "
                  f"{_verdict(p.ours_verdict, p.ours_errno)}")
                _messages(w, p, "               ")
        w()
        w("mismatches:")
        w(f"  {'object':24s} {'program':34s} {'libbpf':14s} {'ours':14s} our error class")
        for p in progs:
            if p.mismatch:
                w(f"  {Path(p.object).name:24s} {p.program or '-':34s} "
                  f"{_verdict(p.libbpf_verdict, p.libbpf_errno):14s} "
                  f"{_verdict(p.ours_verdict, p.ours_errno):14s} {p.ours_error or '-'}")
                _messages(w, p, "      ")

    xdiffs = [p for p in progs if p.xlated_same is False]
    if xdiffs:
        w()
        w("xlated differences (first differing instruction):")
        for p in xdiffs:
            w(f"  {Path(p.object).name} {p.program}: {p.xlated}")
    return agree == n and not xdiffs


def _messages(w: Callable[[str], None], p: ProgramOutcome, indent: str) -> None:
    """The two loaders' reasons under a mismatch line, where they have one."""
    if p.ours_message:
        w(f"{indent}ours:   {_short(p.ours_message, p.object)}")
    if p.libbpf_message:
        w(f"{indent}libbpf: {_short(p.libbpf_message, p.object)}")


def _examples(items: list[ProgramOutcome]) -> list[ProgramOutcome]:
    """Up to three examples, from different objects where possible."""
    picked: list[ProgramOutcome] = []
    seen: set[str] = set()
    for p in items:
        if p.object not in seen:
            picked.append(p)
            seen.add(p.object)
        if len(picked) == EXAMPLES_PER_CATEGORY:
            break
    return picked


def _json(results: list[ObjectOutcome], xlated: bool) -> dict[str, Any]:
    progs = [p for r in results for p in r.programs]
    return {
        "totals": _counts(progs),
        "xlated": xlated,
        "programs": [p.to_json() for p in progs],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--xlated", action="store_true",
                    help="also compare the xlated instructions of programs both load")
    ap.add_argument("--json", metavar="OUT", help="write every program's outcome as JSON")
    ap.add_argument("--only", metavar="TOOL", action="append", default=[],
                    help="only this tool's object (repeatable), e.g. --only execsnoop")
    ap.add_argument("--distinct", action="store_true",
                    help="skip tools that are symlinks to another tool (identical objects)")
    args = ap.parse_args(argv)

    try:
        objs = _select(corpus_objects(distinct=args.distinct), args.only)
        build_reference_loader()
    except (CorpusError, ReferenceLoaderError) as e:
        print(f"corpus: {e}", file=sys.stderr)
        return 2
    if not objs:
        print(f"corpus: no object matches {', '.join(args.only)}", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="bpfdoctor-corpus-") as work:
        for obj in objs:
            try:
                results.append(compare_object(obj, xlated=args.xlated, workdir=work))
            except ReferenceLoaderError as e:
                print(f"corpus: the libbpf oracle failed on {obj.name}: {e}", file=sys.stderr)
                return 2
            if sys.stderr.isatty():
                print(f"  {obj.name} ...", file=sys.stderr, end="\r", flush=True)
    elapsed = time.perf_counter() - t0
    ok = report(results, xlated=args.xlated, elapsed=elapsed)
    if args.json:
        Path(args.json).write_text(json.dumps(_json(results, args.xlated), indent=1) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

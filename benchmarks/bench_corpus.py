#!/usr/bin/env python3
"""Speed on the libbpf-tools corpus: bpfdoctor against libbpf, measured in the same run.

Two comparisons, each run ``--repeat`` times after one warm-up (best and median shown):

* corpus: one fresh Python process running ``bpfdoctor.check.check_object`` on every
  object of the corpus (each program loaded on its own, no verifier log unless it fails,
  like libbpf), against the libbpf reference loader run once per object (its own process
  each, which is how it is built: it also loads each program on its own).  Both are wall
  times of whole processes, interpreter start-up and kernel BTF parsing included.
* vmlinux BTF: time until the kernel's BTF is ready for CO-RE, in a fresh process:
  bpfdoctor's ``btf.kernel.vmlinux()`` plus one ``find()``, against libbpf's
  ``btf__load_vmlinux_btf()`` plus one ``btf__find_by_name_kind()`` in a tiny C program
  (built here with gcc -lbpf).  Timed inside each process, from before the import (ours) or
  the call (libbpf) to after the lookup; whole-process times are shown too.

Targets (from the CO-RE/externs issue): corpus <= 1.2x libbpf, BTF <= 2x libbpf.
Usage: benchmarks/bench_corpus.py [--repeat N] [--distinct]   (needs root, libbpf-tools)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from bpfdoctor.corpus import CorpusError  # noqa: E402
from support.build import BUILD  # noqa: E402
from support.corpus import corpus_objects  # noqa: E402
from support.reference import ReferenceLoaderError, build_reference_loader  # noqa: E402

CORPUS_TARGET = 1.2
BTF_TARGET = 2.0

# Run in a fresh interpreter: checks every object, prints its own timing and counts as JSON.
OURS_CORPUS = """
import json, sys, time
t0 = time.perf_counter()
from bpfdoctor.check import check_object
from bpfdoctor.loader import LoadOptions
n = ok = 0
for path in sys.argv[1:]:
    res = check_object(path, options=LoadOptions(all_maps=True))
    n += len(res.programs)
    ok += sum(p.verdict == "ok" for p in res.programs)
print(json.dumps({"seconds": time.perf_counter() - t0, "programs": n, "ok": ok}))
"""

OURS_BTF = """
import json, time
t0 = time.perf_counter()
from bpfdoctor.btf import kernel
from bpfdoctor.btf.types import Kind
ids = kernel.vmlinux().find("task_struct", Kind.STRUCT)
print(json.dumps({"seconds": time.perf_counter() - t0, "found": len(ids)}))
"""

LIBBPF_BTF = r"""
#include <stdio.h>
#include <time.h>
#include <bpf/btf.h>

int main(void)
{
    struct timespec a, b;
    struct btf *btf;
    int id;

    clock_gettime(CLOCK_MONOTONIC, &a);
    btf = btf__load_vmlinux_btf();
    if (!btf)
        return 1;
    id = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("{\"seconds\": %.9f, \"found\": %d}\n",
           (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, id > 0);
    btf__free(btf);
    return 0;
}
"""


def build_btf_probe() -> Path:
    """Compile the libbpf BTF-loading probe into build/bench/ (rebuilt when this file
    changes)."""
    exe = BUILD / "bench" / "libbpf_btf_load"
    if exe.exists() and exe.stat().st_mtime >= Path(__file__).stat().st_mtime:
        return exe
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise SystemExit("bench_corpus: gcc not found")
    exe.parent.mkdir(parents=True, exist_ok=True)
    src = exe.with_suffix(".c")
    src.write_text(LIBBPF_BTF)
    tmp = exe.with_name(f"{exe.name}.{os.getpid()}.tmp")
    r = subprocess.run([cc, "-O2", "-Wall", "-o", str(tmp), str(src), "-lbpf"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"bench_corpus: building the libbpf BTF probe failed:\n{r.stderr}")
    os.replace(tmp, exe)
    return exe


def _timed(cmd: list[str]) -> tuple[float, dict[str, Any]]:
    """Wall time of the process and the JSON its last output line holds (if any)."""
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"bench_corpus: {' '.join(cmd[:3])}... exited {r.returncode}:\n"
                         f"{r.stderr[-2000:]}")
    lines = r.stdout.strip().splitlines()
    try:
        return wall, json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        return wall, {}


def _runs(fn: Callable[[], tuple[float, float | None]], repeat: int
          ) -> tuple[list[float], list[float]]:
    fn()  # warm-up: page cache, kernel BTF, our bytecode caches
    walls, inner = [], []
    for _ in range(repeat):
        w, i = fn()
        walls.append(w)
        if i is not None:
            inner.append(i)
    return walls, inner


def _fmt(xs: list[float]) -> str:
    return f"{min(xs) * 1000:9.1f} ms (median {statistics.median(xs) * 1000:9.1f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--distinct", action="store_true",
                    help="skip tools that are symlinks to another tool (identical objects)")
    args = ap.parse_args(argv)
    try:
        objs = [str(p) for p in corpus_objects(distinct=args.distinct)]
        ref = str(build_reference_loader())
    except (CorpusError, ReferenceLoaderError) as e:
        print(f"bench_corpus: {e}", file=sys.stderr)
        return 2
    probe = str(build_btf_probe())
    py = sys.executable
    counts: dict[str, int] = {}

    def ours_corpus() -> tuple[float, float | None]:
        wall, out = _timed([py, "-c", OURS_CORPUS, *objs])
        counts.update(programs=out.get("programs", 0), ours_ok=out.get("ok", 0))
        return wall, out.get("seconds")

    def libbpf_corpus() -> tuple[float, float | None]:
        t0 = time.perf_counter()
        ok = n = 0
        for o in objs:
            r = subprocess.run([ref, o], capture_output=True, text=True, check=True)
            rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
            n += len(rows)
            ok += sum(row["verdict"] == "ok" for row in rows)
        counts.update(libbpf_programs=n, libbpf_ok=ok)
        return time.perf_counter() - t0, None

    def ours_btf() -> tuple[float, float | None]:
        wall, out = _timed([py, "-c", OURS_BTF])
        return wall, out.get("seconds")

    def libbpf_btf() -> tuple[float, float | None]:
        wall, out = _timed([probe])
        return wall, out.get("seconds")

    oc_wall, oc_in = _runs(ours_corpus, args.repeat)
    lc_wall, _ = _runs(libbpf_corpus, args.repeat)
    ob_wall, ob_in = _runs(ours_btf, args.repeat)
    lb_wall, lb_in = _runs(libbpf_btf, args.repeat)

    print(f"corpus: {len(objs)} objects, {counts.get('programs')} programs "
          f"(bpfdoctor {counts.get('ours_ok')} ok, libbpf {counts.get('libbpf_ok')} ok of "
          f"{counts.get('libbpf_programs')}); best of {args.repeat} after a warm-up")
    print(f"  bpfdoctor, one process        {_fmt(oc_wall)}   in-process {_fmt(oc_in)}")
    print(f"  libbpf loader, per object     {_fmt(lc_wall)}")
    print("vmlinux BTF ready for CO-RE (fresh process; in-process time, then whole process)")
    print(f"  bpfdoctor vmlinux()+find()    {_fmt(ob_in)}   process {_fmt(ob_wall)}")
    print(f"  libbpf btf__load_vmlinux_btf  {_fmt(lb_in)}   process {_fmt(lb_wall)}")
    corpus_ratio = min(oc_wall) / min(lc_wall)
    btf_ratio = min(ob_in) / min(lb_in)
    print(f"ratio corpus bpfdoctor/libbpf: {corpus_ratio:.2f}x (target <= {CORPUS_TARGET}x: "
          f"{'met' if corpus_ratio <= CORPUS_TARGET else 'NOT met'})")
    print(f"ratio BTF    bpfdoctor/libbpf: {btf_ratio:.2f}x (target <= {BTF_TARGET}x: "
          f"{'met' if btf_ratio <= BTF_TARGET else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

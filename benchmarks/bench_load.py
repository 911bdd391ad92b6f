#!/usr/bin/env python3
"""Load speed: bpfdoctor against libbpf, measured in the same run.

For every bundled example object, every program is loaded on its own with the maps it uses
(what `bpfdoctor check` does), then unloaded.  The reference is the libbpf C loader from
tests/reference (gcc -lbpf), which does the same per program.  Reported:

* in-process: bpfdoctor's parse + load of all objects in one Python process, against the
  libbpf loader's wall time over the same objects (one process per object, as it is built);
* end to end: the `bpfdoctor check --json` command (interpreter start-up included) against
  the same libbpf runs;
* parse only: bpfdoctor's ELF/BTF reading of all objects (no syscalls).

Usage: benchmarks/bench_load.py [--repeat N]   (needs root and the bpf() syscall)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))

from _timing import timed  # noqa: E402

from bpfdoctor.check import check_object  # noqa: E402
from bpfdoctor.elf import load_collection_spec  # noqa: E402
from bpfdoctor.loader import LoadOptions  # noqa: E402
from support.build import compile_bpf, example_sources  # noqa: E402
from support.reference import build_reference_loader  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    objs = [compile_bpf(s) for s in example_sources() + example_sources("failures")]
    ref = build_reference_loader()
    nprogs = sum(len(load_collection_spec(o).programs) for o in objs)

    def ours() -> None:
        for o in objs:
            check_object(o, options=LoadOptions(all_maps=True))

    def libbpf() -> None:
        for o in objs:
            subprocess.run([str(ref), str(o)], capture_output=True, check=True)

    def cli() -> None:
        subprocess.run([sys.executable, "-m", "bpfdoctor", "check", "--json", *map(str, objs)],
                       capture_output=True)

    def parse() -> None:
        for o in objs:
            load_collection_spec(o)

    ours()  # warm caches (kernel BTF, page cache) for both sides alike
    libbpf()
    rows = [("in-process load", timed(ours, args.repeat)),
            ("libbpf loader", timed(libbpf, args.repeat)),
            ("bpfdoctor check CLI", timed(cli, args.repeat)),
            ("parse only", timed(parse, args.repeat))]
    print(f"{len(objs)} objects, {nprogs} programs, best/median of {args.repeat} runs")
    for name, (best, med) in rows:
        print(f"  {name:22s} {best * 1000:8.1f} ms  (median {med * 1000:8.1f} ms)")
    lib = rows[1][1][0]
    print(f"ratio in-process / libbpf: {rows[0][1][0] / lib:.2f}x")
    print(f"ratio CLI / libbpf:        {rows[2][1][0] / lib:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

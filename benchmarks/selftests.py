#!/usr/bin/env python3
"""How much of the kernel's own verifier selftests does the diagnosis catalogue name?

The population is every program of ``tools/testing/selftests/bpf/progs/verifier_*.c``
(Debian ``linux-source-6.12``) tagged ``__failure`` (privileged).  Each is compiled as the
selftests Makefile does, loaded on its own by bpfdoctor (``check_program``, all maps created,
the test's ``__flag`` and ``__log_level`` applied) and its diagnosis recorded.  The headline
is the share of failed loads whose diagnosis is not ``unknown``; the list of the most frequent
verifier messages left ``unknown`` is the work list for the catalogue.  ``expected __msg
found`` checks the harness itself: the verifier must say what the test expects.

Usage: benchmarks/selftests.py [--json OUT] [--only FILE ...] [--jobs N] [--timeout S]
(needs root, the bpf() syscall, clang, bpftool and ``apt-get install linux-source-6.12``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.selftests import (  # noqa: E402
    ObjectRun,
    SelftestsUnavailable,
    compile_all,
    prepare,
    run_isolated,
    summarize,
)


def _print_report(s: dict, compiled: int, total: int, failed_compile: list[tuple[str, str]],
                  seconds: float, runs: list[ObjectRun]) -> None:
    print(f"verifier_*.c files:       {total}, compiled {compiled}, "
          f"did not compile with clang {len(failed_compile)}")
    for name, err in failed_compile:
        print(f"  {name}: {err.splitlines()[0] if err else '?'}")
    broken = [r for r in runs if r.error]
    if broken:
        print(f"objects the harness could not run: {len(broken)}")
        for r in broken:
            print(f"  {r.file}: {r.error}")
    print(f"programs:                 {s['programs']}")
    print(f"__failure programs:       {s['failure_programs']}")
    print(f"  failed to load:         {s['failed']}")
    print(f"  loaded (unexpected):    {s['loaded_ok']}")
    print(f"  timeouts / harness err: {s['timeouts']} / {s['errors']}")
    print(f"  expected __msg in log:  {s['expected_msg_found']} of {s['failed']}")
    print(f"named (slug != unknown):  {s['named']} of {s['failed']} = "
          f"{100 * s['share_named']:.1f}%")
    print(f"  of those whose load the kernel refused silently (EPERM, empty log): "
          f"{s['refused_silently']}; named among the rest: "
          f"{100 * s['share_named_verifier_spoke']:.1f}%")
    print(f"wall time:                {seconds:.1f}s")
    print("\nslugs:")
    for slug, n in s["slugs"].items():
        print(f"  {n:5d}  {slug}")
    print("\nerrnos:")
    for e, n in s["errnos"].items():
        print(f"  {n:5d}  {e}")
    print(f"\ntop {len(s['unknown_messages'])} verifier messages left unknown:")
    for u in s["unknown_messages"]:
        print(f"  {u['count']:4d}  {u['message'][:110]}")
        print(f"        e.g. {u['example']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="write the full results (every outcome) here")
    ap.add_argument("--only", action="append", default=[],
                    help="a verifier_*.c file (name, with or without verifier_ and .c)")
    ap.add_argument("--jobs", type=int, default=2, help="objects loaded at once (default 2)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per program load")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args(argv)

    start = time.monotonic()
    try:
        tree = prepare()
        sources = tree.sources(a.only)
        if not sources:
            print(f"no verifier_*.c matches {a.only}", file=sys.stderr)
            return 0
        compiled = compile_all(tree, sources, jobs=a.jobs)
    except SelftestsUnavailable as e:
        print(f"selftests unavailable: {e}", file=sys.stderr)
        return 0
    objs = [c.obj for c in compiled if c.obj is not None]
    not_compiled = [(c.source.name, c.error) for c in compiled if c.obj is None]
    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        runs = list(ex.map(lambda o: run_isolated(o, timeout=a.timeout), objs))
    seconds = time.monotonic() - start
    s = summarize(runs, top=a.top)
    _print_report(s, len(objs), len(sources), not_compiled, seconds, runs)
    if a.json:
        out = {"summary": {k: v for k, v in s.items() if k != "all_unknown_messages"},
               "unknown_messages": s["all_unknown_messages"],
               "not_compiled": [{"file": n, "error": e} for n, e in not_compiled],
               "harness_errors": [{"file": r.file, "error": r.error} for r in runs if r.error],
               "outcomes": [asdict(o) for r in runs for o in r.outcomes],
               "seconds": round(seconds, 1)}
        a.json.write_text(json.dumps(out, indent=1) + "\n")
        print(f"\nwrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

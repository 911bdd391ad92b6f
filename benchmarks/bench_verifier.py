#!/usr/bin/env python3
"""Verifier-log parser throughput, on a large real log-level-2 log.

A bounded loop with a map lookup and a data-dependent branch in its body makes the verifier
walk every iteration and print every instruction, state, branch and precision-backtracking
step: a level-2 log of tens of MB.  The program is compiled with clang, loaded by bpfdoctor
(``LoadOptions(log_level=2, stats=True)``) and its log parsed:

* from one ``str`` (what a caller holding the log has: includes splitting it into lines),
* from a list of lines (what ``VerifierError.log`` is),
* streamed from a file (memory: tracemalloc peak while parsing, against the log size).

Usage: benchmarks/bench_verifier.py [--iters N] [--repeat N] [--save FILE | --log FILE]
(without ``--log`` it needs clang, root and the bpf() syscall).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))

from bpfdoctor.verifier import parse_log  # noqa: E402

SOURCE = r"""
// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} slots SEC(".maps");

SEC("xdp")
int churn(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 acc = 0;

	for (int i = 0; i < ITERS; i++) {
		__u64 *v = bpf_map_lookup_elem(&slots, &key);

		if (!v)
			continue;
		if (*v & (1ULL << (i & 7)))
			acc += *v;
		else
			acc ^= i;
		key = (key + 1) & 63;
	}
	return acc & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
"""


def capture(iters: int) -> str:
    """Compile and load the loop program at log level 2; its log as one string."""
    from bpfdoctor import load_collection_spec
    from bpfdoctor.loader import Collection, LoadOptions
    from support.build import BUILD, compile_bpf

    src = BUILD / "bench" / "verifier_loop.bpf.c"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(SOURCE)
    obj = compile_bpf(src, out=src.with_suffix(f".{iters}.o"), extra=[f"-DITERS={iters}"])
    opts = LoadOptions(log_level=2, stats=True, initial_log_size=256 << 20)
    with Collection(load_collection_spec(obj), options=opts) as coll:
        return "\n".join(coll.programs["churn"].log) + "\n"


from _timing import timed  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=1000, help="loop iterations (log size)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--log", type=Path, help="parse this saved log instead of loading")
    ap.add_argument("--save", type=Path, help="also write the captured log here")
    args = ap.parse_args()

    text = args.log.read_text() if args.log else capture(args.iters)
    if args.save:
        args.save.write_text(text)
    size = len(text.encode())
    lines = text.splitlines()
    log = parse_log(lines)
    print(f"log: {size / 1e6:.1f} MB, {len(lines)} lines, level {log.level}, "
          f"{log.summary.insns_processed} insns processed, {len(log.insns)} distinct insns, "
          f"error: {log.error!r}")

    for what, fn in (("str", lambda: parse_log(text)), ("lines", lambda: parse_log(lines))):
        best, med = timed(fn, args.repeat)
        print(f"parse from {what:5}: {size / best / 1e6:6.1f} MB/s best, "
              f"{size / med / 1e6:6.1f} MB/s median  ({best * 1e3:.0f} ms)")

    with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
        f.write(text)
        f.flush()

        def streamed():  # type: ignore[no-untyped-def]
            with open(f.name) as stream:
                return parse_log(stream)

        best, med = timed(streamed, args.repeat)
        print(f"parse streamed from a file: {size / best / 1e6:6.1f} MB/s best, "
              f"{size / med / 1e6:6.1f} MB/s median")
        tracemalloc.start()
        again = streamed()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert again.path == log.path and again.summary == log.summary
    print(f"memory, streamed: tracemalloc peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB "
          f"log (the verifier's deepest path is held while it is walked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Kernel object accounting for tests."""

from __future__ import annotations

import gc
import os
import time


def counts_after(expected: dict[str, int], timeout: float = 3.0) -> dict[str, int]:
    """The kernel's object counts once they settle back to ``expected``, or the last counts
    seen after ``timeout`` seconds.  The kernel frees maps and BTF after an RCU grace period,
    so a just-closed object may still be counted for a moment."""
    from bpfdoctor.sys import count_objects

    gc.collect()
    deadline = time.monotonic() + timeout
    now = count_objects()
    while now != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        now = count_objects()
    return now


def pins() -> set[str]:
    """Files pinned under /sys/fs/bpf (bpftool's own debug files aside)."""
    root = "/sys/fs/bpf"
    out: set[str] = set()
    if not os.path.ismount(root):
        return out
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            path = os.path.join(dirpath, f)
            if dirpath == root and f in ("maps.debug", "progs.debug"):
                continue
            out.add(path)
    return out


def leak_verdict(before: dict[str, int], after: dict[str, int], own_before: dict[str, int],
                 own_after: dict[str, int], pins_before: set[str],
                 pins_after: set[str]) -> str | None:
    """Why a kernel test leaked, or None.

    A leak is an fd this process still holds, a pin left in bpffs, or a program or link more
    in the kernel than before.  Maps and BTF objects counted in the kernel with none of those
    explanations are held by the kernel itself (e.g. a prog array released by the kernel's
    deferred work, or a kernel refcount bug seen on this 6.18 kernel with prog arrays loaded
    by bpftool): reported as a warning by the caller, not as our leak."""
    if own_after != own_before:
        return f"this process still holds bpf fds: before {own_before}, after {own_after}"
    if pins_after - pins_before:
        return f"pins left in bpffs: {sorted(pins_after - pins_before)}"
    for kind in ("programs", "links"):
        if after[kind] != before[kind]:
            return f"kernel {kind}: before {before[kind]}, after {after[kind]}"
    return None

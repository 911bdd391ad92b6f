"""Kernel object accounting for tests."""

from __future__ import annotations

import gc
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

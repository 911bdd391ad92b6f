"""Verdict classification of probe results (no kernel needed)."""

from __future__ import annotations

import errno

from bpfdoctor.probe.features import verdict
from bpfdoctor.probe.minimal import ProbeResult


def test_verdicts() -> None:
    assert verdict(ProbeResult("x", True)) == "supported"
    assert verdict(ProbeResult("x", False, errno.EPERM)) == "refused"
    assert verdict(ProbeResult("x", False, errno.EINVAL)) == "unsupported"
    assert verdict(ProbeResult("x", False, 524)) == "unsupported"
    assert verdict(ProbeResult("x", False, errno.E2BIG)) == "unknown"
    assert verdict(ProbeResult("x (not probed)", False)) == "not probed"

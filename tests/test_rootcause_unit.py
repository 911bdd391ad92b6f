"""Capability arithmetic of the root-cause analysis (no kernel needed)."""

from __future__ import annotations

from bpfdoctor.probe import rootcause as rc
from bpfdoctor.sys import ProgType

STATUS = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t{:016x}\n"


def test_effective_caps_parses_status() -> None:
    assert rc.effective_caps(STATUS.format(0)) == set()
    assert rc.effective_caps(STATUS.format(1 << 39 | 1 << 38)) == {38, 39}
    assert rc.effective_caps("garbage") == set()


def test_missing_caps_per_type() -> None:
    none: set[int] = set()
    assert rc.missing_caps(ProgType.SOCKET_FILTER, none) == ["CAP_BPF"]
    assert rc.missing_caps(ProgType.XDP, none) == ["CAP_BPF", "CAP_NET_ADMIN"]
    assert rc.missing_caps(ProgType.KPROBE, {rc.CAP_BPF}) == ["CAP_PERFMON"]
    assert rc.missing_caps(ProgType.TRACING, {rc.CAP_BPF, rc.CAP_PERFMON}) == []
    # CAP_SYS_ADMIN stands in for all of them
    assert rc.missing_caps(ProgType.XDP, {rc.CAP_SYS_ADMIN}) == []

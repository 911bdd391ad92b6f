"""``bpfdoctor env`` findings from fake /proc and /sys trees (no kernel needed)."""

from __future__ import annotations

import gzip
from pathlib import Path

from bpfdoctor.probe import env
from bpfdoctor.probe.rootcause import CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON


def _tree(tmp: Path, *, caps: int, config: str | None, lockdown: str | None) -> Path:
    (tmp / "proc/self").mkdir(parents=True)
    (tmp / "proc/sys/kernel").mkdir(parents=True)
    (tmp / "proc/self/status").write_text(
        f"Name:\tx\nCapPrm:\t{caps:016x}\nCapEff:\t{caps:016x}\n"
        f"CapBnd:\t{(1 << 41) - 1:016x}\nSeccomp:\t2\n")
    (tmp / "proc/self/uid_map").write_text("0 100000 65536\n")
    (tmp / "proc/self/mountinfo").write_text(
        "22 1 0:20 / /sys/fs/bpf rw - bpf bpf rw\n")
    (tmp / "proc/sys/kernel/unprivileged_bpf_disabled").write_text("2\n")
    if config is not None:
        (tmp / "proc/config.gz").write_bytes(gzip.compress(config.encode()))
    if lockdown is not None:
        (tmp / "sys/kernel/security").mkdir(parents=True)
        (tmp / "sys/kernel/security/lockdown").write_text(lockdown)
        (tmp / "sys/kernel/security/lsm").write_text("lockdown,capability,bpf")
    return tmp


def _by_name(findings: list[env.Finding]) -> dict[str, env.Finding]:
    return {f.name: f for f in findings}


def test_unprivileged_container(tmp_path: Path) -> None:
    root = _tree(tmp_path, caps=0, config="CONFIG_BPF_SYSCALL=y\n# CONFIG_KPROBES is not set\n",
                 lockdown="none integrity [confidentiality]\n")
    f = _by_name(env.environment(root, probes=False))
    assert f["CAP_BPF"].status == "problem" and "bounding" in f["CAP_BPF"].value
    assert "grant it" in f["CAP_BPF"].fix
    assert f["CAP_NET_ADMIN"].status == "problem"
    assert f["CONFIG_BPF_SYSCALL"].status == "ok"
    assert f["CONFIG_KPROBES"].status == "warn" and f["CONFIG_KPROBES"].value == "n"
    assert f["lockdown"].value == "confidentiality" and f["lockdown"].status == "warn"
    assert f["seccomp"].status == "warn"
    assert f["user namespace"].status == "warn"
    assert f["bpf mount"].status == "ok" and f["tracefs mount"].status == "warn"
    assert "kernel BTF" in f and f["kernel BTF"].status == "warn"


def test_privileged_and_no_securityfs(tmp_path: Path) -> None:
    caps = 1 << CAP_BPF | 1 << CAP_PERFMON | 1 << CAP_NET_ADMIN
    root = _tree(tmp_path, caps=caps, config=None, lockdown=None)
    f = _by_name(env.environment(root, probes=False))
    assert all(f[n].status == "ok" for n in ("CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN"))
    assert f["kernel config"].status == "warn"
    assert f["lockdown / LSMs"].status == "warn" and "securityfs" in f["lockdown / LSMs"].fix

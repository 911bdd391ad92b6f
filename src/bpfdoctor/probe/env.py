"""``bpfdoctor env``: what on this machine helps or stops BPF programs, each finding with why
it matters and what to do.

The report is built from the same facts the root-cause analysis uses (capabilities, probes of
program kinds, memlock charging), so what ``env`` says and what a diagnosis says agree.
Readers take a ``root`` so tests can point them at a fake ``/proc`` and ``/sys`` tree.
"""

from __future__ import annotations

import gzip
import os
import resource
from dataclasses import asdict, dataclass
from pathlib import Path

from ..sys import ProgType
from . import rootcause as rc

OK, WARN, PROBLEM = "ok", "warn", "problem"


@dataclass
class Finding:
    name: str
    status: str
    """``ok``, ``warn`` (some programs or tools will not work) or ``problem`` (loading BPF
    at all, or a common kind of program, will fail)."""
    value: str
    why: str = ""
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _read(root: Path, path: str) -> str | None:
    try:
        return (root / path.lstrip("/")).read_text().strip()
    except OSError:
        return None


def kernel_config(root: Path = Path("/"), release: str | None = None) -> dict[str, str] | None:
    """``CONFIG_*`` values from ``/boot/config-<release>`` or ``/proc/config.gz``."""
    release = release or os.uname().release
    for p in (root / "boot" / f"config-{release}", root / "proc" / "config.gz"):
        try:
            raw = p.read_bytes()
        except OSError:
            continue
        text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("latin-1")
        out = {}
        for line in text.splitlines():
            if line.startswith("CONFIG_") and "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
            elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
                out[line[2:].split()[0]] = "n"
        return out
    return None


# Config options: (name, status when not set, why it matters, what to do).
_CONFIG: list[tuple[str, str, str, str]] = [
    ("CONFIG_BPF_SYSCALL", PROBLEM, "without it there is no bpf() system call at all",
     "use a kernel built with CONFIG_BPF_SYSCALL=y"),
    ("CONFIG_BPF_JIT", WARN, "programs run in the interpreter (slower; some features need "
     "the JIT: trampolines, kfuncs, bpf-to-bpf calls with tail calls)", "enable the BPF JIT"),
    ("CONFIG_DEBUG_INFO_BTF", WARN, "no kernel BTF: CO-RE relocations, fentry/fexit, tp_btf, "
     "lsm and kfuncs cannot work", "use a kernel with CONFIG_DEBUG_INFO_BTF=y, or ship BTF "
     "for this kernel (BTFHub)"),
    ("CONFIG_KPROBES", WARN, "kprobe/kretprobe programs load but cannot be attached",
     "use fentry/fexit or tracepoints, or a kernel with CONFIG_KPROBES=y"),
    ("CONFIG_FUNCTION_TRACER", WARN, "fentry/fexit need ftrace", "enable CONFIG_FTRACE"),
    ("CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS", WARN, "fentry/fexit trampolines need direct "
     "calls", "use a kernel with it enabled"),
    ("CONFIG_BPF_EVENTS", WARN, "tracepoint, kprobe and perf_event programs cannot attach",
     "enable CONFIG_BPF_EVENTS"),
    ("CONFIG_CGROUP_BPF", WARN, "cgroup programs are unavailable", "enable CONFIG_CGROUP_BPF"),
    ("CONFIG_BPF_LSM", WARN, "BPF LSM programs are unavailable", "enable CONFIG_BPF_LSM and add "
     "'bpf' to the lsm= boot parameter"),
]


def _config_findings(cfg: dict[str, str] | None) -> list[Finding]:
    if cfg is None:
        return [Finding("kernel config", WARN, "not found",
                        "without it, .kconfig externs and this report's config checks cannot "
                        "be answered", "provide /boot/config-$(uname -r) or /proc/config.gz")]
    out = []
    for name, bad, why, fix in _CONFIG:
        v = cfg.get(name, "n")
        ok = v in ("y", "m")
        out.append(Finding(name, OK if ok else bad, v, "" if ok else why, "" if ok else fix))
    return out


def capability_findings(status: str) -> list[Finding]:
    """CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_RESOURCE: effective,
    permitted and bounding sets from the text of ``/proc/self/status``."""
    eff, prm, bnd = (rc.caps_from_status(status, f) for f in ("CapEff", "CapPrm", "CapBnd"))
    out = []
    for cap, name in sorted(rc.CAP_NAMES.items()):
        sets = [n for n, s in (("effective", eff), ("permitted", prm), ("bounding", bnd))
                if cap in s]
        value = ", ".join(sets) or "none"
        if cap in eff or (rc.CAP_SYS_ADMIN in eff and cap != rc.CAP_SYS_RESOURCE):
            out.append(Finding(name, OK, value))
            continue
        if cap == rc.CAP_SYS_RESOURCE:
            # Only matters where memlock is charged; the RLIMIT_MEMLOCK finding says if it is.
            out.append(Finding(name, OK, value, "cannot raise RLIMIT_MEMLOCK (matters only "
                               "where the kernel charges it, see RLIMIT_MEMLOCK)"))
            continue
        why = {rc.CAP_BPF: "no program or map can be created (unless CAP_SYS_ADMIN)",
               rc.CAP_PERFMON: "tracing programs (kprobe, tracepoint, fentry, lsm) are refused",
               rc.CAP_NET_ADMIN: "networking programs (xdp, tc, cgroup) are refused",
               rc.CAP_SYS_ADMIN: "some commands (e.g. iterating all objects, bpf_stats) "
                                 "need it"}[cap]
        fix = ("it is in the bounding set: grant it (setcap, --cap-add)" if cap in bnd else
               "it is not in the bounding set: the container or parent process dropped it")
        out.append(Finding(name, PROBLEM if cap in (rc.CAP_BPF, rc.CAP_PERFMON,
                                                    rc.CAP_NET_ADMIN) else WARN,
                           value, why, fix))
    return out


def memlock_charged() -> bool | None:
    """Whether this kernel charges BPF memory to RLIMIT_MEMLOCK, probed as cilium/ebpf's
    rlimit package does: with the soft limit at 0 a tiny map is created only if memlock is
    not charged (memory cgroup accounting, Linux >= 5.11).  The limit is restored in all
    cases; ``None`` when the probe cannot tell (bpf() not usable)."""
    from ..sys import MapType
    from .minimal import probe_map

    soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    try:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, hard))
    except (ValueError, OSError):
        return None
    try:
        r = probe_map(MapType.ARRAY)
    finally:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (soft, hard))
    if r.ok:
        return False
    if r.errno == 1:  # EPERM: charged (or no privilege at all: decided by the caller)
        return True
    return None


def _mounts(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    text = _read(root, "/proc/self/mountinfo") or ""
    for line in text.splitlines():
        parts = line.split(" - ", 1)
        if len(parts) != 2:
            continue
        fstype = parts[1].split()[0]
        mnt = parts[0].split()[4] if len(parts[0].split()) > 4 else "?"
        out.setdefault(fstype, mnt)
    return out


_MOUNTS = [("bpf", "/sys/fs/bpf", "pinning maps and programs needs bpffs"),
           ("tracefs", "/sys/kernel/tracing", "tracepoint ids and kprobe events live there"),
           ("securityfs", "/sys/kernel/security", "lockdown mode and active LSMs are read "
            "from it"),
           ("debugfs", "/sys/kernel/debug", "older tools read tracing from "
            "/sys/kernel/debug/tracing")]


def environment(root: Path = Path("/"), *, probes: bool = True) -> list[Finding]:
    """Every finding, in report order.  ``probes=False`` skips anything that calls bpf()
    (for fake trees in tests)."""
    out: list[Finding] = []
    uname = os.uname()
    out.append(Finding("kernel", OK, f"{uname.release} ({uname.machine})"))
    if probes:
        from ..sys import kernel_available

        ok, reason = kernel_available()
        out.append(Finding("bpf() system call", OK if ok else PROBLEM,
                           "works" if ok else "refused", "" if ok else reason,
                           "" if ok else "see the capability findings below"))
    out += _config_findings(kernel_config(root, uname.release))
    btf = root / "sys/kernel/btf/vmlinux"
    if btf.exists():
        mods = [p.name for p in (root / "sys/kernel/btf").iterdir() if p.name != "vmlinux"]
        out.append(Finding("kernel BTF", OK, f"vmlinux, {len(mods)} module(s)"))
    else:
        out.append(Finding("kernel BTF", WARN, "missing", "CO-RE, fentry/fexit, tp_btf, lsm "
                           "and kfuncs need /sys/kernel/btf/vmlinux",
                           "use a kernel with CONFIG_DEBUG_INFO_BTF=y"))
    jit = _read(root, "/proc/sys/net/core/bpf_jit_enable")
    out.append(Finding("net.core.bpf_jit_enable", OK if jit in ("1", "2") else WARN,
                       jit or "unreadable", "" if jit in ("1", "2") else
                       "programs run in the interpreter",
                       "" if jit in ("1", "2") else "sysctl net.core.bpf_jit_enable=1"))
    unpriv = _read(root, "/proc/sys/kernel/unprivileged_bpf_disabled")
    out.append(Finding("kernel.unprivileged_bpf_disabled", OK, unpriv or "unreadable",
                       "non-root users cannot load any program" if unpriv in ("1", "2")
                       else ""))
    stats = _read(root, "/proc/sys/kernel/bpf_stats_enabled")
    out.append(Finding("kernel.bpf_stats_enabled", OK, stats or "unreadable",
                       "run-time statistics are collected (small overhead)"
                       if stats == "1" else ""))
    paranoid = _read(root, "/proc/sys/kernel/perf_event_paranoid")
    out.append(Finding("kernel.perf_event_paranoid", OK, paranoid or "unreadable",
                       "non-root perf_event_open (tracepoint/kprobe attach) is restricted"
                       if paranoid and paranoid.lstrip("-").isdigit() and int(paranoid) > 1
                       else ""))
    lockdown = _read(root, "/sys/kernel/security/lockdown")
    lsm = _read(root, "/sys/kernel/security/lsm")
    if lockdown is None and lsm is None:
        out.append(Finding("lockdown / LSMs", WARN, "securityfs not readable",
                           "lockdown and LSM policy can refuse BPF loads; cannot tell here",
                           "mount -t securityfs securityfs /sys/kernel/security"))
    else:
        mode = (lockdown or "").split("[")[-1].split("]")[0] if lockdown else "unknown"
        out.append(Finding("lockdown", WARN if mode == "confidentiality" else OK, mode,
                           "reading kernel memory (bpf_probe_read_kernel) is forbidden"
                           if mode == "confidentiality" else ""))
        out.append(Finding("active LSMs", OK, lsm or "unknown"))
    status = _read(root, "/proc/self/status") or ""
    out += capability_findings(status)
    seccomp = next((ln.split()[1] for ln in status.splitlines()
                    if ln.startswith("Seccomp:")), None)
    if seccomp == "2":
        out.append(Finding("seccomp", WARN, "filter", "a seccomp filter may block bpf() "
                           "(container default profiles do)", "allow bpf in the profile"))
    uid_map = _read(root, "/proc/self/uid_map")
    if uid_map and uid_map.split()[:3] != ["0", "0", "4294967295"]:
        out.append(Finding("user namespace", WARN, uid_map.splitlines()[0],
                           "capabilities in a user namespace do not allow loading BPF "
                           "(except through a BPF token)", "run in the initial namespace"))
    soft, _hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    lim = "unlimited" if soft == resource.RLIM_INFINITY else f"{soft} bytes"
    charged = memlock_charged() if probes else None
    if charged is False:
        out.append(Finding("RLIMIT_MEMLOCK", OK, f"{lim}, not charged by this kernel",
                           "BPF memory is accounted to the memory cgroup; raising ulimit -l "
                           "does not change anything here"))
    elif charged:
        low = soft != resource.RLIM_INFINITY and soft < 64 << 20
        out.append(Finding("RLIMIT_MEMLOCK", WARN if low else OK, f"{lim}, charged",
                           "maps and programs count against it (kernel before 5.11)",
                           "ulimit -l unlimited (needs CAP_SYS_RESOURCE)" if low else ""))
    else:
        out.append(Finding("RLIMIT_MEMLOCK", OK, f"{lim} (charging not probed)"))
    mounts = _mounts(root)
    for fstype, where, why in _MOUNTS:
        if fstype in mounts:
            out.append(Finding(f"{fstype} mount", OK, mounts[fstype]))
        else:
            out.append(Finding(f"{fstype} mount", WARN, "not mounted", why,
                               f"mount -t {fstype} {fstype if fstype != 'bpf' else 'bpf'} "
                               f"{where}"))
    if probes and not rc.missing_caps(ProgType.TRACING):
        refused = []
        for (pt, at), (kind, _t) in rc.TRACING_KINDS.items():
            r = rc.probe_kind(pt, at)
            if r is not None and not r.ok:
                refused.append(f"{kind} ({r.errno_name})")
        out.append(Finding("tracing program kinds", WARN if refused else OK,
                           "refused: " + ", ".join(refused) if refused else "all load",
                           "trivial programs of these kinds are refused by this kernel"
                           if refused else "",
                           "use tp_btf/raw_tp/tracepoint programs" if refused else ""))
    return out

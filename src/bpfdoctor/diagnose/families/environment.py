"""Causes in the machine, not the program: missing capabilities, a kernel that refuses a whole
kind of program, a map shape the kernel will not create.  These failures come with no
verifier log; the evidence is the process's capabilities and minimal probes of the same kind
loaded into the running kernel (:mod:`bpfdoctor.probe.rootcause`)."""

from __future__ import annotations

from ...errors import MapCreateError, errno_name
from ...probe import rootcause as rc
from ...sys import MapType
from ..catalogue import register
from ..model import Cause, Evidence, Match


def _logless_program_refusal(ev: Evidence) -> bool:
    e = ev.error
    return (e is not None and e.stage == "program" and ev.program is not None
            and ev.errno in rc.LOGLESS_ERRNOS and not ev.message)


def _permission(ev: Evidence) -> Match | None:
    e = ev.error
    if e is None or ev.errno not in rc.LOGLESS_ERRNOS or ev.message or ev.program is None:
        return None
    # Maps and BTF need CAP_BPF too: a map created before the program fails first.
    missing = rc.missing_caps(ev.program.type)
    if not missing:
        return None
    unpriv = rc.unprivileged_disabled()
    facts = [f"this process lacks {', '.join(missing)} (effective capabilities from "
             "/proc/self/status)"]
    if unpriv is not None:
        facts.append(f"kernel.unprivileged_bpf_disabled = {unpriv}")
    what = f"map '{e.map}'" if e.stage == "map" and e.map else "the program"
    return Match(f"the kernel refused to create {what} ({errno_name(ev.errno)}) "
                 f"before verifying anything: {ev.program.name} needs {', '.join(missing)}, which "
                 "this process does not have", insn=None, evidence=facts,
                 details={"missing_capabilities": missing,
                          "unprivileged_bpf_disabled": unpriv})


def _kind_refused(ev: Evidence) -> Match | None:
    if not _logless_program_refusal(ev):
        return None
    assert ev.program is not None and ev.errno is not None
    if rc.missing_caps(ev.program.type):
        return None
    r = rc.kind_refusal(ev.program.type, ev.program.attach_type, ev.errno)
    if r is None:
        return None
    loads = [(n, s) for n, s in r.siblings if s.ok]
    refused = [(n, s) for n, s in r.siblings if not s.ok]
    summary = (f"this kernel refuses every {r.kind} program: a trivial one ({r.probe.what}) "
               f"fails with the same {r.probe.errno_name} and no log, although this process "
               "has the capabilities the type needs")
    if loads:
        summary += f"; {', '.join(n for n, _ in loads)} programs load"
    evidence = [r.probe.describe()] + [s.describe() for _, s in refused + loads]
    if r.lsms is not None:
        evidence.append(f"active LSMs: {', '.join(r.lsms)}")
    return Match(summary, insn=None, evidence=evidence,
                 details={"kind": r.kind, "errno": r.probe.errno_name,
                          "probe": r.probe.describe(),
                          "loads": [n for n, _ in loads],
                          "refused": [n for n, _ in refused], "lsms": r.lsms})


def _map_create_invalid(ev: Evidence) -> Match | None:
    e = ev.error
    if not isinstance(e, MapCreateError) or e.errno is None or not e.map:
        return None
    if ev.spec is None or e.map not in ev.spec.maps:
        return None
    m = ev.spec.maps[e.map]
    r = rc.map_shape_refusal(m.type, m.key_size, m.value_size, m.max_entries, m.flags,
                             e.errno)
    if r is None:
        return None
    try:
        tname = MapType(m.type).name.lower()
    except ValueError:
        tname = f"type {m.type}"
    if r.fields:
        summary = (f"map '{e.map}' ({tname}) has {' and '.join(r.fields)} 0 in the object: "
                   "the tool that owns it sets them at run time (bpf_map__set_max_entries / "
                   "bpf_map__set_value_size) before loading, so the object cannot be loaded "
                   "as it is on disk")
    else:
        summary = (f"map '{e.map}' ({tname}, key {m.key_size}, value {m.value_size}, "
                   f"max_entries {m.max_entries}, flags {m.flags:#x}) has a shape this "
                   "kernel refuses for the type")
    return Match(summary, insn=None, evidence=[r.default_probe.describe(),
                                               r.own_probe.describe()],
                 details={"map": e.map, "type": tname, "zero_fields": r.fields,
                          "key_size": m.key_size, "value_size": m.value_size,
                          "max_entries": m.max_entries, "flags": m.flags})


register(Cause(
    code="BD802", slug="permission", family="environment", priority=4,
    title="Missing privileges for this program type",
    explanation=("Loading BPF programs needs CAP_BPF (or CAP_SYS_ADMIN); tracing kinds also "
                 "need CAP_PERFMON and networking kinds CAP_NET_ADMIN. Without them the "
                 "kernel refuses the load with EPERM before the verifier runs, so there is "
                 "no log. Unprivileged loading is limited to socket filters and cgroup skb "
                 "programs, and only where kernel.unprivileged_bpf_disabled is 0."),
    fix=("Run the loader as root, or grant the capabilities it needs:\n"
         "  setcap cap_bpf,cap_perfmon,cap_net_admin+ep ./loader\n"
         "  # in a container: add CAP_BPF/CAP_PERFMON (docker --cap-add)"),
    matcher=_permission))

register(Cause(
    code="BD809", slug="attach-kind-refused", family="environment", priority=6,
    title="This kernel refuses this kind of program",
    explanation=("The kernel refused the program before verifying it, and a trivial program "
                 "of the same kind (r0 = 0; exit, attached to a target every such kernel "
                 "has) is refused in the same way, with the capabilities the type needs. So "
                 "the program is not at fault: the kernel build or its security policy (an "
                 "LSM, a vendor restriction on BPF trampolines) forbids this program kind on "
                 "this machine. Raising memlock or changing the code will not help."),
    fix=("Use a kind this kernel accepts for the same hook (the evidence lists which ones "
         "load): e.g. instead of fentry/fexit use a tp_btf or raw_tp program on a nearby "
         "tracepoint, or a tracepoint program; or run on a kernel that allows it.\n"
         "  SEC(\"tp_btf/sched_switch\") int BPF_PROG(on_switch, bool preempt, ...)"),
    matcher=_kind_refused))

register(Cause(
    code="BD807", slug="map-create-invalid", family="environment", priority=5,
    title="The kernel refuses this map's definition",
    explanation=("The kernel creates maps of this type (the smallest one is created in a "
                 "probe), but not with the key size, value size, max_entries or flags the "
                 "object declares. A common case is max_entries 0: tools size such maps at "
                 "run time (number of CPUs, a command-line option) before loading, so the "
                 "object on disk alone cannot be loaded."),
    fix=("Give the map a size in the object, or set it before loading:\n"
         "  struct { __uint(type, BPF_MAP_TYPE_STACK_TRACE); __uint(max_entries, 1024); ... }\n"
         "  /* or in user space: bpf_map__set_max_entries(skel->maps.m, n); */"),
    matcher=_map_create_invalid))

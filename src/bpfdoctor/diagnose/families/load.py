"""Causes found before the program reaches the verifier: the attach target a tracing program
names is not in this kernel, or an extern (kfunc, ksym, kconfig value) cannot be resolved.
These failures have no verifier log; the typed error the loader raised is the evidence."""

from __future__ import annotations

from ...externs import ExternResolutionError
from ...loader import AttachTargetError
from ...spec import ExternKind
from ..catalogue import register
from ..model import Cause, Evidence, Match


def _attach_target(ev: Evidence) -> Match | None:
    e = ev.error
    if not isinstance(e, AttachTargetError):
        return None
    sec = ev.program.section if ev.program is not None else (e.section or "?")
    what = f"'{e.target}'" if e.target else "its target"
    from ...probe.targets import close_targets

    near = close_targets(sec, e.target or "")
    hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
    evidence = [e.message]
    if near:
        evidence.append(f"closest names in this kernel's BTF: {', '.join(near)}")
    return Match(f"SEC(\"{sec}\") attaches to {what}, which this kernel does not have: "
                 f"{e.message}{hint}", insn=0,
                 evidence=evidence, details={"target": e.target, "section": sec,
                                             "did_you_mean": near})


def _extern(ev: Evidence) -> Match | None:
    e = ev.error
    if not isinstance(e, ExternResolutionError):
        return None
    kind = None
    if ev.spec is not None and e.extern in ev.spec.externs:
        kind = ev.spec.externs[e.extern].kind
    where = f" (looked in {', '.join(e.searched)})" if e.searched else ""
    noun = {ExternKind.KFUNC: "kernel function (kfunc)", ExternKind.KSYM: "kernel symbol",
            ExternKind.KCONFIG: "kernel config value"}.get(kind, "extern")  # type: ignore[arg-type]
    return Match(f"the object needs the {noun} '{e.extern}', which this kernel does not "
                 f"provide{where}: {e.message}", insn=None, evidence=[e.message],
                 details={"extern": e.extern, "kind": kind.name.lower() if kind else None,
                          "searched": e.searched})


register(Cause(
    code="BD801", slug="attach-target-missing", family="load", priority=5,
    title="The attach target does not exist in this kernel",
    explanation=("fentry/fexit/fmod_ret, lsm, tp_btf and iter programs name the kernel "
                 "function, LSM hook, raw tracepoint or iterator they attach to in their "
                 "section name, and the loader must find it in the kernel's BTF (vmlinux or a "
                 "module) before the kernel will verify the program. This kernel has no such "
                 "function: it was renamed, inlined, compiled out by the kernel config, lives "
                 "in a module that is not loaded, or the name has a typo."),
    fix=("Check the name against the running kernel (bpftool btf dump file "
         "/sys/kernel/btf/vmlinux | grep NAME), load the module that provides it, or make the "
         "program optional and fall back to another hook:\n"
         "  SEC(\"?fentry/new_name\") int BPF_PROG(prog_new, ...) { ... }\n"
         "  /* user space: enable the program whose target exists */"),
    matcher=_attach_target))

register(Cause(
    code="BD703", slug="extern-unresolved", family="load", priority=5,
    title="An extern the object needs is not in this kernel",
    explanation=("Objects declare kernel functions (kfuncs), kernel symbols (__ksym) and "
                 "config values (__kconfig) as externs; the loader resolves them against "
                 "the running kernel's BTF, /proc/kallsyms and kernel config before loading. "
                 "A strong (non-__weak) extern that cannot be found fails the whole object, "
                 "as it does under libbpf."),
    fix=("Declare it __weak and check for it at run time, so older kernels still load:\n"
         "  extern int bpf_foo(void) __ksym __weak;\n"
         "  if (bpf_ksym_exists(bpf_foo)) bpf_foo();"),
    matcher=_extern))

"""Attach targets this kernel has, and the closest ones to a name it does not have.

A tracing program names its target in the section (``fentry/vfs_fsynk``); when the kernel has
no such function, the most useful next sentence is which functions it *does* have by a close
name (a typo, a rename such as ``blk_account_io_start`` → ``__blk_account_io_start``, a
``.isra``/``.constprop`` clone).  Names come from the running kernel's BTF."""

from __future__ import annotations

import difflib
from functools import cache

from ..btf.types import Kind

# Section prefix → (BTF kind, prefix the kernel puts before the section's name).
_TARGET_KINDS: dict[str, tuple[Kind, str]] = {
    "fentry": (Kind.FUNC, ""), "fexit": (Kind.FUNC, ""), "fmod_ret": (Kind.FUNC, ""),
    "fentry.s": (Kind.FUNC, ""), "fexit.s": (Kind.FUNC, ""), "fmod_ret.s": (Kind.FUNC, ""),
    "tp_btf": (Kind.TYPEDEF, "btf_trace_"), "lsm": (Kind.FUNC, "bpf_lsm_"),
    "lsm.s": (Kind.FUNC, "bpf_lsm_"), "lsm_cgroup": (Kind.FUNC, "bpf_lsm_"),
    "iter": (Kind.FUNC, "bpf_iter_"), "iter.s": (Kind.FUNC, "bpf_iter_"),
}


@cache
def btf_names(kind: Kind, prefix: str) -> tuple[str, ...]:
    """Names of vmlinux BTF types of ``kind`` starting with ``prefix`` (prefix removed)."""
    from ..btf.kernel import vmlinux

    spec = vmlinux()
    out = []
    for i in range(spec.first_id, spec.type_count):
        if spec.kind_of(i) == kind:
            n = spec.name_of(i)
            if n.startswith(prefix):
                out.append(n[len(prefix):])
    return tuple(sorted(set(out)))


def close_targets(section: str, target: str, n: int = 3) -> list[str]:
    """Up to ``n`` existing targets of the section's kind closest to ``target`` (may be
    empty: nothing close).  ``[]`` for sections that do not name a BTF target, or when the
    kernel's BTF cannot be read."""
    kind = _TARGET_KINDS.get(section.lstrip("?").split("/", 1)[0])
    if kind is None or not target:
        return []
    try:
        names = btf_names(*kind)
    except (OSError, ValueError, LookupError):
        return []
    except Exception as e:  # a typed bpfdoctor error (no BTF here)
        from ..errors import BpfDoctorError

        if isinstance(e, BpfDoctorError):
            return []
        raise
    # clones and wrappers first: `x` may exist as `__x`, `x.isra.0`, `do_x`
    affix = [c for c in names if c != target and target in c and len(c) <= len(target) + 8]
    # Fuzzy: very close overall, or close and sharing the first half of the name (renames
    # keep the subsystem prefix: migrate_misplaced_page → migrate_misplaced_folio; a shared
    # suffix such as `_file_open` alone is not evidence).
    half = max(1, len(target) // 2)
    fuzzy = [c for c in difflib.get_close_matches(target, names, n=n * 4, cutoff=0.8)
             if c.startswith(target[:half])
             or difflib.SequenceMatcher(None, target, c).ratio() >= 0.9][:n]
    out: list[str] = []
    for c in sorted(affix, key=len) + fuzzy:
        if c not in out:
            out.append(c)
    return out[:n]

"""``bpfdoctor check --json``: a stable, versioned document.  Fields may be added; renaming or
removing one bumps ``version``."""

from __future__ import annotations

import json
import platform
from collections.abc import Iterable
from typing import Any

from ..check import ObjectResult, ProgramResult

VERSION = 1


def program_dict(p: ProgramResult) -> dict[str, Any]:
    s = p.stats
    return {
        "name": p.name,
        "section": p.section,
        "type": p.type,
        "attach": p.attach,
        "verdict": p.verdict,
        "errno": p.errno_name,
        "message": p.message,
        "stats": {
            "insns_processed": s.insns_processed,
            "states": s.total_states,
            "peak_states": s.peak_states,
            "max_states_per_insn": s.max_states_per_insn,
            "verification_us": s.verification_us,
            "stack_depth": list(s.stack_depth),
            "xlated_bytes": p.xlated_bytes,
            "verified_insns": p.verified_insns,
        },
        "log_truncated": p.truncated,
        "diagnosis": p.diagnosis.to_dict() if p.diagnosis is not None else None,
    }


def object_dict(o: ObjectResult) -> dict[str, Any]:
    err = None
    if o.error is not None:
        d = o.diagnosis
        err = {"type": o.error.kind, "message": str(o.error),
               "diagnosis": d.to_dict() if d is not None else None}
    return {
        "path": o.path,
        "error": err,
        "programs": [program_dict(p) for p in o.programs],
        "warnings": list(o.warnings),
    }


def document(objects: Iterable[ObjectResult]) -> dict[str, Any]:
    return {"version": VERSION, "kernel": platform.release(),
            "objects": [object_dict(o) for o in objects]}


def dumps(objects: Iterable[ObjectResult]) -> str:
    return json.dumps(document(objects), indent=2)

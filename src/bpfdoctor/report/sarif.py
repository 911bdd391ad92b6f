"""``bpfdoctor check --sarif``: SARIF 2.1.0, so code scanning (e.g. GitHub's) shows each
diagnosis on the C line of a pull request.  One rule per diagnosis code that occurs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from .. import __version__
from ..check import ObjectResult
from ..diagnose import lookup


def _uri(path: str) -> str:
    """A path relative to the working directory when it lies below it (what code scanning
    matches against the repository), else the path as recorded."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def document(objects: Iterable[ObjectResult]) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for o in objects:
        if o.error is not None:
            results.append({"ruleId": "object-error", "level": "error",
                            "message": {"text": str(o.error)},
                            "locations": [{"physicalLocation": {
                                "artifactLocation": {"uri": _uri(o.path)}}}]})
            rules.setdefault("object-error", {
                "id": "object-error", "name": "object-error",
                "shortDescription": {"text": "The object file cannot be used"}})
            continue
        for p in o.programs:
            d = p.diagnosis
            if p.verdict != "fail" or d is None:
                continue
            cause = lookup(d.code)
            rules.setdefault(d.code, {
                "id": d.code, "name": d.slug,
                "shortDescription": {"text": d.title},
                "fullDescription": {"text": cause.explanation if cause else d.explanation},
                "help": {"text": d.fix}})
            loc: dict[str, Any] = {"artifactLocation": {"uri": _uri(o.path)}}
            if d.source is not None and d.source.file and d.source.line:
                loc = {"artifactLocation": {"uri": _uri(d.source.file)},
                       "region": {"startLine": d.source.line}}
            results.append({
                "ruleId": d.code, "level": "error",
                "message": {"text": f"{p.name}: {d.summary}"},
                "locations": [{"physicalLocation": loc}],
                "properties": {"program": p.name, "section": p.section, "object": o.path,
                               "errno": p.errno_name, "slug": d.slug, "insn": d.insn},
            })
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "bpfdoctor", "version": __version__,
                                      "rules": list(rules.values())}},
                  "results": results}],
    }


def dumps(objects: Iterable[ObjectResult]) -> str:
    return json.dumps(document(objects), indent=2)

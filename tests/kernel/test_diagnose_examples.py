"""Every failing example is diagnosed on the real kernel with the slug its file declares, at
the C line it marks.

Each file under examples/failures/ carries ``// DIAG: <slug>`` near the top and marks the
faulty line with a ``BUG`` comment (exactly one).  A file without a DIAG line is reported, not
skipped: every failure example must have a diagnosis."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bpfdoctor import Collection, LoadError, load_collection_spec
from bpfdoctor.diagnose import diagnose_error
from bpfdoctor.loader import LoadOptions
from support.build import compile_bpf, example_sources

FAILURES = example_sources("failures")
_DIAG = re.compile(r"^//\s*DIAG:\s*([a-z0-9-]+)\s*$", re.M)


def _expected(src: Path) -> tuple[str, int | None]:
    text = src.read_text()
    m = _DIAG.search(text)
    assert m, f"{src.name}: no '// DIAG: <slug>' line"
    bug = [i for i, line in enumerate(text.splitlines(), 1)
           if "BUG" in line and not line.lstrip().startswith(("//", "/*", "*"))]
    return m.group(1), (bug[0] if len(bug) == 1 else None)


@pytest.mark.parametrize("src", FAILURES, ids=lambda p: p.name)
def test_example_diagnosis(src: Path) -> None:
    slug, line = _expected(src)
    spec = load_collection_spec(compile_bpf(src))
    (name,) = spec.programs
    with pytest.raises(LoadError) as ei:
        Collection(spec, programs=[name], options=LoadOptions(all_maps=True)).close()
    d = diagnose_error(ei.value, spec.programs[name], spec)
    assert d.slug == slug, (d.slug, d.summary, ei.value.log[-6:])
    assert d.code.startswith("BD") and d.summary and d.fix and d.explanation
    if line is not None:
        assert d.source is not None and d.source.line == line, (d.source, line)
        assert d.source.file and d.source.file.endswith(src.name)

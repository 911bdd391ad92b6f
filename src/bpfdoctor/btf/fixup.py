"""Fill in what clang leaves out of DATASECs before the kernel sees them.

clang writes every DATASEC with size 0 and the offsets of global (non-static) variables as 0:
it only knows them once the object is laid out.  The kernel rejects such a DATASEC, so a
loader takes the section sizes and symbol values from the ELF file and patches them in, as
libbpf does when it opens an object.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import BTFError
from .spec import Spec
from .types import Datasec, Kind, Linkage, Var

EXTERN_SECTIONS = frozenset({".kconfig", ".ksyms"})
"""DATASECs that describe externs, not ELF sections: the loader lays them out itself."""


def fixup_datasecs(spec: Spec, section_sizes: Mapping[str, int],
                   symbol_offsets: Mapping[str, int]) -> list[int]:
    """Patch, in ``spec``, every DATASEC whose size is 0.

    ``section_sizes`` maps ELF section names to their sizes; ``symbol_offsets`` maps variable
    (symbol) names to their ``st_value`` in their section.  A DATASEC with size 0 gets the
    section's size and the offsets of its global variables (static ones already carry theirs);
    every DATASEC's variables are then sorted by offset, which the kernel requires.  Returns
    the ids of the DATASECs it changed.  ``BTFError`` (naming the section or symbol) when the
    ELF data needed is missing.
    """
    changed = []
    for i in range(spec.first_id, spec.type_count):
        if spec.kind_of(i) != Kind.DATASEC:
            continue
        ds = spec.type_by_id(i)
        assert isinstance(ds, Datasec)
        if ds.name in EXTERN_SECTIONS:
            continue
        before = [(v.type, v.offset, v.size) for v in ds.vars]
        fix_offsets = False
        if ds.size == 0:
            size = section_sizes.get(ds.name, 0)
            if not size:
                raise BTFError("DATASEC has size 0 and the object has no such section (or it "
                               "is empty)", section=ds.name)
            ds.size = size
            fix_offsets = True
        for vs in ds.vars:
            var = spec.type_by_id(vs.type)
            if not isinstance(var, Var):
                raise BTFError(f"DATASEC entry refers to type {vs.type}, a {var.kind.name}, "
                               "not a VAR", section=ds.name)
            if var.linkage in (Linkage.STATIC, Linkage.EXTERN):
                continue
            if fix_offsets:
                try:
                    vs.offset = symbol_offsets[var.name]
                except KeyError:
                    raise BTFError("variable has no ELF symbol", section=ds.name,
                                   symbol=var.name) from None
        ds.vars.sort(key=lambda v: v.offset)
        if fix_offsets or before != [(v.type, v.offset, v.size) for v in ds.vars]:
            changed.append(i)
    return changed

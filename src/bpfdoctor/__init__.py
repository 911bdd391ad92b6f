"""bpfdoctor: load clang-built eBPF objects from pure Python and explain why they fail.

The library is the product; the ``bpfdoctor`` command is a thin layer over it::

    spec = bpfdoctor.load_collection_spec("tracer.bpf.o")   # parse only, no syscalls
    try:
        with bpfdoctor.Collection(spec) as coll:             # create maps, load programs
            coll.maps["counts"]; coll.programs["trace_openat"]
    except bpfdoctor.VerifierError as e:
        print(e, e.errno, e.log)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (
    BpfDoctorError,
    BTFError,
    BTFLoadError,
    EndiannessError,
    LinkError,
    LoadError,
    MapCreateError,
    MapSpecError,
    MissingBTFError,
    NotELFError,
    ObjectError,
    RelocationError,
    SectionError,
    SyscallError,
    TruncatedError,
    VerifierError,
    WrongMachineError,
)

TYPE_CHECKING = False  # typing is not imported at run time: `import bpfdoctor` stays cheap
if TYPE_CHECKING:
    from .btf.core import CoreRelocationError, CoreResult
    from .elf import load_collection_spec, read_collection_spec
    from .externs import ExternDeclError, ExternResolutionError
    from .loader import Collection, LoadOptions, Map, Program
    from .spec import CollectionSpec, MapSpec, ProgramSpec

_LAZY = {
    "CoreRelocationError": "btf.core", "CoreResult": "btf.core",
    "ExternDeclError": "externs", "ExternResolutionError": "externs",
    "load_collection_spec": "elf", "read_collection_spec": "elf",
    "Collection": "loader", "LoadOptions": "loader", "Map": "loader", "Program": "loader",
    "CollectionSpec": "spec", "MapSpec": "spec", "ProgramSpec": "spec",
}


def __getattr__(name: str) -> object:
    # Imported on first use so that `import bpfdoctor` (e.g. for the error classes) stays cheap.
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'bpfdoctor' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{mod}", __name__), name)


__all__ = [
    "BTFError",
    "BTFLoadError",
    "BpfDoctorError",
    "Collection",
    "CollectionSpec",
    "CoreRelocationError",
    "CoreResult",
    "EndiannessError",
    "ExternDeclError",
    "ExternResolutionError",
    "LinkError",
    "LoadError",
    "LoadOptions",
    "Map",
    "MapCreateError",
    "MapSpec",
    "MapSpecError",
    "MissingBTFError",
    "NotELFError",
    "ObjectError",
    "Program",
    "ProgramSpec",
    "RelocationError",
    "SectionError",
    "SyscallError",
    "TruncatedError",
    "VerifierError",
    "WrongMachineError",
    "load_collection_spec",
    "read_collection_spec",
]

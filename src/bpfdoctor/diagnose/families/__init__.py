"""Cause families; importing this package registers them all in the catalogue."""

from . import helpers, limits, load, memory, meta, program, refs, reloc, stack  # noqa: F401

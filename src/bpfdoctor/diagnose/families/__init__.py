"""Cause families; importing this package registers them all in the catalogue.

Every module of this package is a family and is imported here (sorted by name, so the order
is stable); the engine's order comes from each cause's ``priority``, not from import order."""

import importlib
import pkgutil

for _m in sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")):
    importlib.import_module(f"{__name__}.{_m}")

"""The registry of causes.  Family modules (``memory``, ``helpers``, ...) register their causes
on import; codes and slugs are stable and unique."""

from __future__ import annotations

from .model import Cause

_CAUSES: dict[str, Cause] = {}
_BY_SLUG: dict[str, Cause] = {}


def register(cause: Cause) -> Cause:
    if cause.code in _CAUSES or cause.slug in _BY_SLUG:
        raise ValueError(f"duplicate diagnosis code or slug: {cause.code} {cause.slug}")
    _CAUSES[cause.code] = cause
    _BY_SLUG[cause.slug] = cause
    return cause


def _load_families() -> None:
    from . import families  # noqa: F401  (registers every family)


def causes() -> list[Cause]:
    """Every cause, in the order the engine tries them."""
    _load_families()
    return sorted(_CAUSES.values(), key=lambda c: (c.priority, c.code))


def lookup(code_or_slug: str) -> Cause | None:
    """A cause by code (``BD101``, case-insensitive) or slug (``null-check-missing``)."""
    _load_families()
    key = code_or_slug.strip()
    return _CAUSES.get(key.upper()) or _BY_SLUG.get(key.lower())

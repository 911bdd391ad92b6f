"""The BTF string section: NUL-terminated names addressed by byte offset.

Offsets of a split BTF (a kernel module's) continue after its base's string section, so a
table optionally chains to the base table.  New strings are only ever appended: existing
offsets stay valid, which is what lets ``.BTF.ext`` records and untouched types keep theirs.

The table reads the section in place, from the buffer the BTF was parsed from (``data``
between ``lo`` and ``hi``), so parsing vmlinux does not copy its 2 MB of strings.
"""

from __future__ import annotations

from ..errors import BTFError


class StringTable:
    """Strings of one BTF blob (its own part only, when split)."""

    __slots__ = ("_added", "_base", "_data", "_hi", "_lo", "_new", "start")

    def __init__(self, data: bytes, base: StringTable | None = None, *, lo: int = 0,
                 hi: int | None = None) -> None:
        self._data = data
        self._lo = lo
        self._hi = len(data) if hi is None else hi
        self._base = base
        self.start = base.total if base is not None else 0
        """First offset this table owns (non-zero only for split BTF)."""
        self._added = bytearray()
        self._new: dict[str, int] = {}

    @property
    def base(self) -> StringTable | None:
        return self._base

    @property
    def parsed_len(self) -> int:
        """Length of the section as parsed (before any string was appended)."""
        return self._hi - self._lo

    @property
    def total(self) -> int:
        """One past the last valid offset, counting the base's strings."""
        return self.start + self.parsed_len + len(self._added)

    def own_bytes(self) -> bytes:
        """This table's section contents, as :func:`marshal` writes them."""
        return self._data[self._lo:self._hi] + bytes(self._added)

    def get(self, off: int) -> str:
        """The string starting at ``off``; ``BTFError`` when ``off`` is out of range."""
        if off < self.start:
            if self._base is None or off < 0:
                raise BTFError(f"string offset {off} is negative")
            return self._base.get(off)
        pos = self._lo + off - self.start
        if pos < self._hi:
            end = self._data.find(b"\0", pos, self._hi)
            raw = self._data[pos:end]  # parse() checked that the section ends in NUL
        else:
            pos -= self._hi
            if pos >= len(self._added):
                raise BTFError(
                    f"string offset {off} is past the end of the string section "
                    f"({self.total} bytes)")
            raw = bytes(self._added[pos:self._added.index(0, pos)])
        return raw.decode("utf-8", "replace")

    def offsets_of(self, s: str) -> list[int]:
        """Every offset, in this table and its bases, where the string ``s`` can be read
        (including where it is the tail of a longer string: BTF allows such offsets)."""
        needle = s.encode("utf-8", "replace") + b"\0"
        found = []
        tab: StringTable | None = self
        while tab is not None:
            data, lo, hi = tab._data, tab._lo, tab._hi
            pos = data.find(needle, lo, hi)
            while pos >= 0:
                found.append(tab.start + pos - lo)
                pos = data.find(needle, pos + 1, hi)
            pos = tab._added.find(needle)
            while pos >= 0:
                found.append(tab.start + tab.parsed_len + pos)
                pos = tab._added.find(needle, pos + 1)
            tab = tab._base
        return found

    def valid(self, off: int, expect: str) -> bool:
        """Whether ``off`` is in range and names exactly ``expect`` (a marshal hint check)."""
        if off < 0 or off >= self.total:
            return False
        return self.get(off) == expect

    def add(self, s: str) -> int:
        """The offset of ``s``, appending it if the table does not hold it yet.

        The empty string is offset 0 (of the base table, for split BTF), as every BTF
        producer writes it.  Only this table's own strings are searched, not the base's.
        """
        if not s:
            return 0
        off = self._new.get(s)
        if off is not None:
            return off
        raw = s.encode("utf-8")
        if b"\0" in raw:
            raise BTFError(f"BTF name {s!r} contains a NUL byte")
        data, lo, hi = self._data, self._lo, self._hi
        if data.startswith(raw + b"\0", lo, hi):
            off = self.start
        else:
            pos = data.find(b"\0" + raw + b"\0", lo, hi)
            if pos >= 0:
                off = self.start + pos + 1 - lo
            else:
                off = self.total
                self._added += raw + b"\0"
        self._new[s] = off
        return off

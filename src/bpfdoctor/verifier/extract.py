"""Find verifier logs in text a user pasted, and strip what the loading tool wrapped them in.

Recognised wrappings (several may appear in one paste; each log found is returned):

``libbpf``
    libbpf 1.x, and so bpftool -d and every libbpf-based tool, prints one block per program
    that failed::

        libbpf: prog 'count_openat': BPF program load failed: Permission denied
        libbpf: prog 'count_openat': -- BEGIN PROG LOAD LOG --
        <log>
        -- END PROG LOAD LOG --

``libbpf-legacy``
    libbpf before 0.7: ``load bpf program failed: <errno>``, ``-- BEGIN DUMP LOG ---``, an
    empty ``libbpf:`` line, the log, ``libbpf: -- END LOG --``, then ``failed to load
    program '<name>'``.

``cilium``
    cilium/ebpf's ``%+v`` (or ``%-v``) of a ``VerifierError``: ``<context>: <errno text>:``
    then every log line indented by one tab, then optional ``(N line(s) omitted)`` and
    ``(truncated)`` lines.  The context names the program (``program count_openat:``).

``bcc``
    ``bpf: Failed to load program: <errno text>``, the log, then ``HINT: ...`` paragraphs
    and, from Python, ``Exception: Failed to load BPF program b'<name>': ...``.

``kernel``
    Anything else is taken to be the kernel's log itself.

Lines are returned with trailing white space removed and without leading or trailing
blank lines, as cilium/ebpf stores them, so every wrapping of one log gives the same lines.
"""

from __future__ import annotations

import errno as _errno
import os
import re
from dataclasses import dataclass

_LIBBPF_BEGIN = re.compile(r"prog '([^']*)': -- BEGIN PROG LOAD LOG --\s*\Z")
_LIBBPF_END = "-- END PROG LOAD LOG --"
_LIBBPF_FAILED = re.compile(r"prog '([^']*)': (?:BPF program load failed|failed to load): (.+)")
_LEGACY_BEGIN = "-- BEGIN DUMP LOG ---"
_LEGACY_END = "-- END LOG --"
_LEGACY_FAILED = re.compile(r"load bpf program failed: (.+)")
_LEGACY_NAME = re.compile(r"failed to load program '([^']*)'")
_BCC_BEGIN = re.compile(r"bpf: Failed to load program: (.+?)\s*\Z")
_BCC_NAME = re.compile(r"Failed to load BPF program b?['\"]([^'\"]*)['\"]")
_BCC_STOP = ("HINT: ", "Traceback (most recent call last):")
_CILIUM_HEAD = re.compile(r"(?P<ctx>.*?): (?P<err>[^:\t]+):\s*\Z")
_CILIUM_PROGRAM = re.compile(r"\bprogram (\S+?):")
_CILIUM_OMITTED = re.compile(r"\((\d{1,12}) line\(s\) omitted\)\Z", re.ASCII)
_NEG_ERRNO = re.compile(r"-(\d{1,9})\Z", re.ASCII)


@dataclass(frozen=True)
class ExtractedLog:
    """One verifier log found in a paste."""

    program: str | None
    """Program name, when the wrapping says it."""
    format: str
    """``kernel``, ``libbpf``, ``libbpf-legacy``, ``cilium`` or ``bcc``."""
    lines: list[str]
    errno_text: str | None
    """The error the tool reported (``Permission denied``, ``permission denied``, ``-13``)."""
    truncated: bool = False
    """The tool said it truncated the log (cilium/ebpf's ``(truncated)``)."""
    omitted: int = 0
    """Lines the tool left out (cilium/ebpf's ``(N line(s) omitted)``)."""

    @property
    def errno(self) -> int | None:
        """``errno_text`` as a number, when it is a strerror() text or ``-N``."""
        return errno_from_text(self.errno_text)


def errno_from_text(text: str | None) -> int | None:
    """``"Permission denied"``/``"permission denied"``/``"-13"``/``"EACCES"`` -> 13."""
    if not text:
        return None
    t = text.strip()
    m = _NEG_ERRNO.match(t)
    if m:
        return int(m.group(1))
    if t.isupper() and hasattr(_errno, t):
        return int(getattr(_errno, t))
    low = t.lower()
    for code in sorted(_errno.errorcode):
        if os.strerror(code).lower() == low:
            return code
    if low == "unknown error 524":
        return 524
    return None


def _tidy(lines: list[str]) -> list[str]:
    out = [ln.rstrip() for ln in lines]
    start = 0
    while start < len(out) and not out[start]:
        start += 1
    end = len(out)
    while end > start and not out[end - 1]:
        end -= 1
    return out[start:end]


def extract_logs(text: str | bytes) -> list[ExtractedLog]:
    """Every verifier log in ``text``, wrappers removed, in order of appearance.  Text with
    no known wrapping is one ``kernel`` log.  Never raises on content."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.replace("\x00", "")
    lines = text.splitlines()
    out: list[ExtractedLog] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        found = (_libbpf(lines, i) if "-- BEGIN PROG LOAD LOG --" in line else
                 _legacy(lines, i) if _LEGACY_BEGIN in line else
                 _bcc(lines, i) if "bpf: Failed to load program:" in line else
                 _cilium(lines, i) if line.endswith(":") and i + 1 < n
                 and lines[i + 1].startswith("\t") and not line.startswith("\t") else None)
        if found is None:
            i += 1
            continue
        log, i = found
        out.append(log)
    if not out:
        out.append(ExtractedLog(None, "kernel", _tidy(lines), None))
    return out


def _libbpf(lines: list[str], i: int) -> tuple[ExtractedLog, int] | None:
    m = _LIBBPF_BEGIN.search(lines[i])
    if not m:
        return None
    name = m.group(1)
    errno_text = None
    for back in range(i - 1, max(-1, i - 4), -1):
        fm = _LIBBPF_FAILED.search(lines[back])
        if fm and fm.group(1) == name:
            errno_text = fm.group(2).strip()
            break
    body: list[str] = []
    j = i + 1
    while j < len(lines):
        ln = lines[j]
        k = ln.find(_LIBBPF_END)
        if k >= 0:
            if ln[:k].strip():  # log without a final newline: marker glued to its last line
                body.append(ln[:k])
            j += 1
            break
        body.append(ln)
        j += 1
    if errno_text is None:
        for ln in lines[j:j + 3]:
            fm = _LIBBPF_FAILED.search(ln)
            if fm and fm.group(1) == name:
                errno_text = fm.group(2).strip()
                break
    return ExtractedLog(name, "libbpf", _tidy(body), errno_text), j


def _legacy(lines: list[str], i: int) -> tuple[ExtractedLog, int]:
    errno_text = None
    for back in range(i - 1, max(-1, i - 3), -1):
        fm = _LEGACY_FAILED.search(lines[back])
        if fm:
            errno_text = fm.group(1).strip()
            break
    body: list[str] = []
    j = i + 1
    while j < len(lines) and _LEGACY_END not in lines[j]:
        ln = lines[j]
        if ln.strip() not in ("libbpf:",):  # the "\n%s\n" print leaves a bare prefix line
            body.append(ln)
        j += 1
    j = min(j + 1, len(lines))
    name = None
    for ln in lines[j:j + 3]:
        nm = _LEGACY_NAME.search(ln)
        if nm:
            name = nm.group(1)
            break
    return ExtractedLog(name, "libbpf-legacy", _tidy(body), errno_text), j


def _bcc(lines: list[str], i: int) -> tuple[ExtractedLog, int] | None:
    m = _BCC_BEGIN.search(lines[i])
    if not m:
        return None
    body: list[str] = []
    j = i + 1
    while j < len(lines):
        ln = lines[j]
        if ln.startswith(_BCC_STOP) or "bpf: Failed to load program:" in ln or \
                _BCC_NAME.search(ln):
            break
        body.append(ln)
        j += 1
    name = None
    k = j
    while k < len(lines) and "bpf: Failed to load program:" not in lines[k]:
        nm = _BCC_NAME.search(lines[k])
        if nm:
            name = nm.group(1)
            break
        k += 1
    return ExtractedLog(name, "bcc", _tidy(body), m.group(1)), j


def _cilium(lines: list[str], i: int) -> tuple[ExtractedLog, int] | None:
    head = lines[i]
    m = _CILIUM_HEAD.match(head)
    if not m:
        return None
    body: list[str] = []
    truncated = False
    omitted = 0
    j = i + 1
    while j < len(lines) and lines[j].startswith("\t"):
        ln = lines[j][1:]
        om = _CILIUM_OMITTED.match(ln)
        if om:
            omitted = int(om.group(1))
        elif ln == "(truncated)":
            truncated = True
        else:
            body.append(ln)
        j += 1
    pm = _CILIUM_PROGRAM.search(m.group("ctx") + ":")
    return ExtractedLog(pm.group(1) if pm else None, "cilium", _tidy(body),
                        m.group("err").strip(), truncated, omitted), j

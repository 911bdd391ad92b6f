"""Find the BPF objects that are embedded in ordinary executables.

A libbpf skeleton (``bpftool gen skeleton``) compiles the whole ``.bpf.o`` into the tool as a
byte array in ``.rodata``; the tool hands it to ``bpf_object__open_mem()`` at run time.  Those
binaries are therefore a ready-made corpus of real-world BPF objects that nobody here wrote,
e.g. Debian's ``libbpf-tools`` package (execsnoop, biolatency, ...).  This module finds the
images and cuts them out, without running the tools or parsing the host executable's layout.

How an image is recognised: every occurrence of the ELF magic ``\\x7fELF`` is a candidate, and
most of them are noise (the host binary's own header, string tables quoting the magic, random
data).  A candidate counts only if its header describes a self-consistent 64-bit relocatable
ELF for ``EM_BPF`` whose section header table, and every section it lists, fit inside the
bytes that follow.  Its size is not stored anywhere, so it is computed as the furthest byte
any part of the file reaches (the ELF header, the section header table, any program headers,
the section contents); clang puts the section headers last, but nothing relies on that.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from .errors import BpfDoctorError

EM_BPF = 247
ELF_MAGIC = b"\x7fELF"

_ELFCLASS64 = 2
_EV_CURRENT = 1
_ET_REL = 1
_EHDR64_SIZE = 64
_SHDR64_SIZE = 64
_SHT_NULL = 0
_SHT_STRTAB = 3
_SHT_NOBITS = 8
_SHN_XINDEX = 0xFFFF
# A sanity bound, not an ELF limit: a BPF object with more sections than this is garbage
# that happens to start with the magic (and scanning its "table" would waste time).
_MAX_SECTIONS = 1 << 16

PACKAGE = "libbpf-tools"
_STAMP = ".corpus-stamp"


class CorpusError(BpfDoctorError):
    """The corpus cannot be built: the package is missing or a binary cannot be read.

    ``hint`` says what to do about it, for a caller that prints the error to a user.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


@dataclass(frozen=True)
class EmbeddedObject:
    """One BPF ELF image found inside a host file.

    ``name`` is the file name the image is given on disk (``<tool>.bpf.o``, or
    ``<tool>.<n>.bpf.o`` when the host embeds several), ``offset`` where it starts in the
    host file and ``data`` its exact bytes.
    """

    name: str
    offset: int
    data: bytes

    def write(self, directory: str | os.PathLike[str]) -> Path:
        """Write the image to ``directory/name`` atomically (a concurrent reader sees either
        the old complete file or the new one) and return the path."""
        out = Path(directory) / self.name
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        tmp.write_bytes(self.data)
        os.replace(tmp, out)
        return out


# ---- recognising an image -----------------------------------------------------------------


def bpf_elf_image_size(blob: bytes | bytearray | memoryview, offset: int = 0) -> int | None:
    """The size of the BPF ELF image starting at ``offset`` in ``blob``, or ``None`` if the
    bytes there are not one.

    Both byte orders are accepted (``EM_BPF`` objects exist for big-endian targets too).
    Only 64-bit relocatable files qualify: that is what clang and ``bpftool gen object``
    produce and what libbpf opens.  Extended section numbering (``e_shnum == 0`` or
    ``e_shstrndx == SHN_XINDEX``, the real values kept in section header 0) is followed.
    """
    view = memoryview(blob)[offset:]
    avail = len(view)
    if avail < _EHDR64_SIZE or bytes(view[:4]) != ELF_MAGIC:
        return None
    if view[4] != _ELFCLASS64 or view[5] not in (1, 2) or view[6] != _EV_CURRENT:
        return None
    end = "<" if view[5] == 1 else ">"
    (e_type, e_machine, e_version, _entry, e_phoff, e_shoff, _flags, e_ehsize, e_phentsize,
     e_phnum, e_shentsize, e_shnum, e_shstrndx) = struct.unpack_from(f"{end}HHIQQQIHHHHHH",
                                                                     view, 16)
    if (e_type, e_machine, e_version) != (_ET_REL, EM_BPF, _EV_CURRENT):
        return None
    if e_ehsize != _EHDR64_SIZE or e_shentsize != _SHDR64_SIZE or e_shoff < _EHDR64_SIZE:
        return None
    if e_shoff + _SHDR64_SIZE > avail:
        return None
    header0 = _section_header(view, end, e_shoff)
    if header0.type != _SHT_NULL:
        return None
    if e_shnum == 0:
        e_shnum = header0.size
    if e_shstrndx == _SHN_XINDEX:
        e_shstrndx = header0.link
    if not 0 < e_shnum <= _MAX_SECTIONS or not 0 < e_shstrndx < e_shnum:
        return None
    size = e_shoff + e_shnum * _SHDR64_SIZE
    if size > avail:
        return None
    if e_phnum:
        if e_phoff < _EHDR64_SIZE or e_phentsize == 0:
            return None
        size = max(size, e_phoff + e_phnum * e_phentsize)
    for index in range(1, e_shnum):
        sh = _section_header(view, end, e_shoff + index * _SHDR64_SIZE)
        if sh.type in (_SHT_NULL, _SHT_NOBITS):
            continue
        if index == e_shstrndx and sh.type != _SHT_STRTAB:
            return None
        size = max(size, sh.offset + sh.size)
    if size > avail:
        return None
    return size


class _SectionHeader(NamedTuple):
    type: int
    offset: int
    size: int
    link: int


def _section_header(view: memoryview, end: str, at: int) -> _SectionHeader:
    """The fields of one 64-bit section header that sizing an image needs.  Under extended
    numbering header 0's ``size`` is the section count and ``link`` the string table index."""
    (_name, sh_type, _flags, _addr, sh_offset, sh_size, sh_link,
     _info, _align, _entsize) = struct.unpack_from(f"{end}IIQQQQIIQQ", view, at)
    return _SectionHeader(sh_type, sh_offset, sh_size, sh_link)


def find_bpf_images(blob: bytes | bytearray | memoryview) -> Iterator[tuple[int, int]]:
    """Yield ``(offset, size)`` of every BPF ELF image in ``blob``, in file order.

    Once an image is found the scan resumes after its last byte, so a magic string that
    happens to lie inside an image (in its ``.rodata``, say) is never reported as a
    second, nested object.
    """
    data = bytes(blob)
    pos = data.find(ELF_MAGIC)
    while pos != -1:
        size = bpf_elf_image_size(data, pos)
        nxt = pos + (size if size else 1)
        if size:
            yield pos, size
        pos = data.find(ELF_MAGIC, nxt)


def extract_bpf_objects(path: str | os.PathLike[str]) -> list[EmbeddedObject]:
    """Every BPF ELF image inside the file at ``path``, named after the file.

    A plain ``.bpf.o`` yields itself (one image at offset 0).  A file with no image yields
    an empty list; an unreadable file raises :class:`CorpusError`.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise CorpusError(f"cannot read {p}: {e.strerror or e}") from e
    tool = p.name.removesuffix(".bpf.o").removesuffix(".o")
    found = [EmbeddedObject(name="", offset=offset, data=data[offset:offset + size])
             for offset, size in find_bpf_images(data)]
    return _renamed(found, tool)


# ---- the libbpf-tools corpus ------------------------------------------------------------


def _dpkg(*args: str) -> str:
    dpkg = shutil.which("dpkg-query") or shutil.which("dpkg")
    if dpkg is None:
        raise CorpusError("dpkg is not available", hint="the corpus needs a Debian system")
    r = subprocess.run([dpkg, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise CorpusError(f"package {PACKAGE} is not installed",
                          hint="run scripts/bootstrap.sh, which installs it")
    return r.stdout


def libbpf_tools_version() -> str:
    """The installed ``libbpf-tools`` version; :class:`CorpusError` if it is not installed."""
    out = _dpkg("-W", "-f=${Status}\t${Version}", PACKAGE)
    status, _, version = out.partition("\t")
    if not status.endswith(" installed"):
        raise CorpusError(f"package {PACKAGE} is not installed ({status.strip()})",
                          hint="run scripts/bootstrap.sh, which installs it")
    return version.strip()


def libbpf_tools_binaries(*, aliases: bool = True) -> list[Path]:
    """The package's executables, sorted by name.

    Debian ships some tools as symlinks to a shared binary (``ext4dist -> fsdist``,
    ``killsnoop -> sigsnoop``, ...).  They are part of the package's 61 tools, so they are
    listed by default; with ``aliases=False`` only one name per distinct file is kept (the
    real file's), for callers that want each BPF object exactly once.
    """
    seen: set[Path] = set()
    out: list[Path] = []
    for line in _dpkg("-L", PACKAGE).splitlines():
        p = Path(line.strip())
        if p.parent.name not in ("sbin", "bin") or not p.is_file():
            continue
        if not aliases:
            if p.is_symlink() or p.resolve() in seen:
                continue
            seen.add(p.resolve())
        out.append(p)
    return sorted(out, key=lambda q: q.name)


def extract_libbpf_tools(dest: str | os.PathLike[str], *, aliases: bool = True) -> list[Path]:
    """Extract the BPF objects of every ``libbpf-tools`` binary into ``dest`` and return
    their paths, sorted by name.

    With ``aliases`` (the default) a tool that is a symlink to another gets its own copy
    of the shared object, so the corpus has one object per tool the package installs, as
    the package's users see it; without, each distinct binary is read once.

    The result is cached: ``dest`` keeps a stamp naming the package version, the mode and
    the files, and a later call that finds the same stamp and all files present returns
    them without reading a binary.  Anything else rebuilds the directory, removing objects
    that are no longer part of the corpus.  Nothing is installed here.
    """
    version = libbpf_tools_version()
    key = f"{PACKAGE} {version} aliases={aliases}"
    out_dir = Path(dest)
    cached = _read_stamp(out_dir, key)
    if cached is not None:
        return cached
    out_dir.mkdir(parents=True, exist_ok=True)
    by_file: dict[Path, list[EmbeddedObject]] = {}
    written: list[Path] = []
    for binary in libbpf_tools_binaries(aliases=aliases):
        real = binary.resolve()
        if real not in by_file:
            by_file[real] = extract_bpf_objects(real)
        for obj in _renamed(by_file[real], binary.name):
            written.append(obj.write(out_dir))
    keep = {p.name for p in written}
    for stale in out_dir.glob("*.bpf.o"):
        if stale.name not in keep:
            stale.unlink()
    written.sort(key=lambda q: q.name)
    _write_stamp(out_dir, key, written)
    return written


def _renamed(objects: list[EmbeddedObject], tool: str) -> list[EmbeddedObject]:
    """The images of one binary named after ``tool`` (the name it was installed under)."""
    if len(objects) == 1:
        return [replace(objects[0], name=f"{tool}.bpf.o")]
    return [replace(o, name=f"{tool}.{n}.bpf.o") for n, o in enumerate(objects)]


def _read_stamp(out_dir: Path, key: str) -> list[Path] | None:
    try:
        lines = (out_dir / _STAMP).read_text().splitlines()
    except OSError:
        return None
    if not lines or lines[0] != key:
        return None
    files = [out_dir / name for name in lines[1:] if name]
    if not files or not all(f.is_file() for f in files):
        return None
    return files


def _write_stamp(out_dir: Path, key: str, files: list[Path]) -> None:
    stamp = out_dir / _STAMP
    tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
    tmp.write_text("\n".join([key, *(f.name for f in files)]) + "\n")
    os.replace(tmp, stamp)


__all__ = [
    "EM_BPF", "CorpusError", "EmbeddedObject", "bpf_elf_image_size", "extract_bpf_objects",
    "extract_libbpf_tools", "find_bpf_images", "libbpf_tools_binaries", "libbpf_tools_version",
]

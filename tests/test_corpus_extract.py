"""Finding BPF objects embedded in executables (bpfdoctor.corpus), and the comparisons the
corpus harness (tests/support/corpus.py) makes.  No kernel needed.

Oracles that are not our own ELF reading:

* ``bpftool gen skeleton`` embeds an object in a C header; a binary built from it must give
  back exactly the bytes of the object, and the size the skeleton itself reports;
* in the installed libbpf-tools, each tool's machine code stores the image size it hands to
  libbpf (``s->data_sz = N``, an ``mov $N`` instruction): the size we compute must be there;
* pyelftools must read every image we cut out, and libbpf-tools' aliases must give
  byte-identical objects.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpfdoctor import corpus
from bpfdoctor.asm import Instruction, decode, encode, format_instruction
from bpfdoctor.corpus import (
    CorpusError,
    bpf_elf_image_size,
    extract_bpf_objects,
    extract_libbpf_tools,
    find_bpf_images,
    libbpf_tools_binaries,
)
from bpfdoctor.elf import read_collection_spec
from support.build import BUILD, compile_bpf, find_clang
from support.corpus import ProgramOutcome, compare_xlated, libbpf_reason

DATA = Path(__file__).parent / "data"
needs_clang = pytest.mark.skipif(find_clang() is None, reason="clang not installed")


def _libbpf_tools_installed() -> bool:
    try:
        corpus.libbpf_tools_version()
    except CorpusError:
        return False
    return True


needs_tools = pytest.mark.skipif(not _libbpf_tools_installed(),
                                 reason="libbpf-tools not installed (scripts/bootstrap.sh)")


@pytest.fixture(scope="module")
def obj() -> bytes:
    return compile_bpf(DATA / "loader_basic.bpf.c", BUILD / "tests" / "loader_basic.bpf.o") \
        .read_bytes()


def _shoff(image: bytes) -> int:
    return struct.unpack_from("<Q", image, 0x28)[0]


# ---- synthetic hosts ----------------------------------------------------------------------


@needs_clang
def test_image_size_of_a_plain_object(obj: bytes) -> None:
    assert bpf_elf_image_size(obj) == len(obj)
    assert list(find_bpf_images(obj)) == [(0, len(obj))]


@needs_clang
def test_finds_the_image_among_decoys(obj: bytes, tmp_path: Path) -> None:
    """Only the real image is reported: not the host's own (x86) header, a bare magic
    string, a header whose section table lies past the end, an inconsistent header."""
    host = Path("/bin/true").read_bytes()[:64]  # an x86-64 ELF header
    bad_strndx = bytearray(obj)
    struct.pack_into("<H", bad_strndx, 0x3E, 0xFFF0)
    wrong_type = bytearray(obj)
    struct.pack_into("<H", wrong_type, 0x10, 2)  # ET_EXEC
    rnd = random.Random(7)
    junk = bytes(rnd.randrange(256) for _ in range(999))
    parts = [host, junk, b"magic: \x7fELF here", bytes(bad_strndx), junk, bytes(wrong_type),
             b"\0" * 3]
    prefix = b"".join(parts)
    blob = prefix + obj + junk + obj[: len(obj) - 1]  # the last copy is truncated
    assert list(find_bpf_images(blob)) == [(len(prefix), len(obj))]

    path = tmp_path / "mytool"
    path.write_bytes(blob)
    found = extract_bpf_objects(path)
    assert [(o.name, o.offset, o.data) for o in found] == [("mytool.bpf.o", len(prefix), obj)]


@needs_clang
def test_several_images_are_numbered(obj: bytes, tmp_path: Path) -> None:
    path = tmp_path / "multi"
    path.write_bytes(b"\0" * 5 + obj + b"\0" * 3 + obj)
    found = extract_bpf_objects(path)
    assert [o.name for o in found] == ["multi.0.bpf.o", "multi.1.bpf.o"]
    assert [o.offset for o in found] == [5, 5 + len(obj) + 3]
    assert all(o.data == obj for o in found)
    written = found[1].write(tmp_path)
    assert written == tmp_path / "multi.1.bpf.o" and written.read_bytes() == obj


@needs_clang
def test_every_truncation_is_rejected(obj: bytes) -> None:
    """Cut anywhere, from the header to the last byte, the image is no longer one (the end
    of the section header table is the end of clang's output)."""
    for cut in [0, 3, 63, 64, 100, _shoff(obj), len(obj) // 2, len(obj) - 64, len(obj) - 1]:
        assert bpf_elf_image_size(obj[:cut]) is None, cut


@needs_clang
def test_big_endian_object(tmp_path: Path) -> None:
    out = compile_bpf(DATA / "loader_basic.bpf.c", tmp_path / "be.bpf.o",
                      extra=["-target", "bpfeb"])
    data = out.read_bytes()
    assert data[5] == 2  # ELFDATA2MSB
    assert list(find_bpf_images(b"xx" + data)) == [(2, len(data))]


@needs_clang
def test_extended_section_numbering(obj: bytes) -> None:
    """e_shnum == 0 and e_shstrndx == SHN_XINDEX mean "look in section header 0"; pyelftools
    reading the rewritten file the same way checks the rewrite itself."""
    from io import BytesIO

    from elftools.elf.elffile import ELFFile

    shnum, shstrndx = struct.unpack_from("<HH", obj, 0x3C)
    ext = bytearray(obj)
    struct.pack_into("<HH", ext, 0x3C, 0, 0xFFFF)
    struct.pack_into("<Q", ext, _shoff(obj) + 32, shnum)     # header 0 sh_size
    struct.pack_into("<I", ext, _shoff(obj) + 40, shstrndx)  # header 0 sh_link
    elf = ELFFile(BytesIO(bytes(ext)))
    assert elf.num_sections() == shnum
    assert bpf_elf_image_size(bytes(ext)) == len(obj)


@needs_clang
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_headers_never_raise(obj: bytes, data: st.DataObject) -> None:
    """Any corruption of the header or section table gives a size within the input or
    None; never an exception, never a size past the end."""
    blob = bytearray(obj)
    for _ in range(data.draw(st.integers(1, 8))):
        region = data.draw(st.sampled_from(["header", "table"]))
        lo, hi = (0, 64) if region == "header" else (_shoff(obj), len(obj))
        blob[data.draw(st.integers(lo, hi - 1))] = data.draw(st.integers(0, 255))
    blob[:4] = b"\x7fELF"
    size = bpf_elf_image_size(bytes(blob))
    assert size is None or 64 <= size <= len(blob)
    list(find_bpf_images(bytes(blob) + bytes(blob)))


@given(st.binary(max_size=512))
def test_random_bytes_after_magic(tail: bytes) -> None:
    blob = b"\x7fELF" + tail
    size = bpf_elf_image_size(blob)
    assert size is None or 64 <= size <= len(blob)


def test_unreadable_file_is_a_corpus_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="cannot read"):
        extract_bpf_objects(tmp_path / "missing")
    assert extract_bpf_objects(Path("/bin/true")) == []


# ---- a real skeleton ----------------------------------------------------------------------

SKEL_MAIN = """\
#include <stdio.h>
#include "basic.skel.h"

/* Write the embedded object to stdout: what libbpf would be handed at run time. */
int main(void)
{
	size_t sz;
	const void *data = basic__elf_bytes(&sz);

	return fwrite(data, 1, sz, stdout) == sz ? 0 : 1;
}
"""


@needs_clang
def test_skeleton_binary_gives_back_the_object(obj: bytes, tmp_path: Path) -> None:
    """The way libbpf-tools are built: bpftool gen skeleton, then a C program including it."""
    bpftool, cc = shutil.which("bpftool"), shutil.which("gcc")
    if bpftool is None or cc is None or not Path("/usr/include/bpf/libbpf.h").exists():
        pytest.skip("needs bpftool, gcc and libbpf-dev")
    src = tmp_path / "basic.bpf.o"
    src.write_bytes(obj)
    skel = subprocess.run([bpftool, "gen", "skeleton", str(src), "name", "basic"],
                          capture_output=True, check=True).stdout
    (tmp_path / "basic.skel.h").write_bytes(skel)
    (tmp_path / "main.c").write_text(SKEL_MAIN)
    exe = tmp_path / "basictool"
    subprocess.run([cc, "-O2", "-o", str(exe), str(tmp_path / "main.c"), "-lbpf"],
                   check=True, capture_output=True)
    handed_to_libbpf = subprocess.run([str(exe)], capture_output=True, check=True).stdout
    found = extract_bpf_objects(exe)
    assert [o.name for o in found] == ["basictool.bpf.o"]
    assert found[0].data == handed_to_libbpf == obj


# ---- the installed libbpf-tools ---------------------------------------------------------


@pytest.fixture(scope="module")
def tools() -> list[Path]:
    return libbpf_tools_binaries()


def _size_stored_in_code(binary: Path, size: int) -> bool:
    """Whether ``binary``'s .text stores ``size`` with a 64-bit ``mov $imm32, mem``
    (REX.W[B] C7 /0): how the skeleton's ``s->data_sz = N`` is compiled."""
    from elftools.elf.elffile import ELFFile

    with open(binary, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text").data()
    pat = re.compile(rb"[\x48\x49]\xc7.{1,4}" + re.escape(struct.pack("<I", size)), re.S)
    return pat.search(text) is not None


@needs_tools
def test_package_tools_are_listed(tools: list[Path]) -> None:
    """One entry per tool the package installs under sbin, aliases included; without
    aliases, one per distinct file."""
    listed = subprocess.run(["dpkg", "-L", "libbpf-tools"], capture_output=True, text=True,
                            check=True).stdout.split()
    expected = sorted(p for p in listed if re.fullmatch(r"/usr/s?bin/[^/]+", p))
    assert [str(t) for t in tools] == expected
    distinct = libbpf_tools_binaries(aliases=False)
    assert len({t.resolve() for t in tools}) == len(distinct)
    assert all(not t.is_symlink() for t in distinct)


@needs_tools
def test_each_tool_embeds_one_bpf_object(tools: list[Path]) -> None:
    sizes = {}
    for tool in libbpf_tools_binaries(aliases=False):
        found = extract_bpf_objects(tool)
        assert [o.name for o in found] == [f"{tool.name}.bpf.o"], tool
        image = found[0]
        assert _size_stored_in_code(tool, len(image.data)), (tool, len(image.data))
        blob = tool.read_bytes()
        assert blob[image.offset + len(image.data)] == 0  # the C string literal's NUL
        spec = read_collection_spec(image.data, image.name)
        assert spec.programs, tool
        sizes[tool.resolve()] = image.data
    for alias in tools:
        assert extract_bpf_objects(alias)[0].data == sizes[alias.resolve()]


@needs_tools
def test_extract_libbpf_tools_caches(tools: list[Path], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "corpus"
    first = extract_libbpf_tools(dest)
    assert [p.name for p in first] == sorted(f"{t.name}.bpf.o" for t in tools)
    stamps = {p: p.stat().st_mtime_ns for p in first}
    (dest / "stale.bpf.o").write_bytes(b"old")

    # second call: served from the stamp, nothing rewritten
    assert extract_libbpf_tools(dest) == first
    assert {p: p.stat().st_mtime_ns for p in first} == stamps

    # a missing file, or another package version, rebuilds and drops stale objects
    first[0].unlink()
    assert extract_libbpf_tools(dest) == first and first[0].exists()
    assert not (dest / "stale.bpf.o").exists()
    monkeypatch.setattr(corpus, "libbpf_tools_version", lambda: "0.0-test")
    (dest / "stale.bpf.o").write_bytes(b"old")
    assert extract_libbpf_tools(dest) == first
    assert not (dest / "stale.bpf.o").exists()

    distinct = extract_libbpf_tools(dest, aliases=False)
    assert len(distinct) == len({t.resolve() for t in tools})
    assert sorted(os.listdir(dest)) == sorted([p.name for p in distinct] + [".corpus-stamp"])


def test_missing_package_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if shutil.which("dpkg-query") is None and shutil.which("dpkg") is None:
        pytest.skip("not a Debian system")
    monkeypatch.setattr(corpus, "PACKAGE", "bpfdoctor-no-such-package")
    with pytest.raises(CorpusError) as e:
        extract_libbpf_tools(tmp_path)
    assert "not installed" in e.value.message and "bootstrap" in (e.value.hint or "")
    assert not any(tmp_path.iterdir())


# ---- the harness's comparisons (tests/support/corpus.py) --------------------------------

LD_IMM64, CALL, EXIT, MOV_K = 0x18, 0x85, 0x95, 0xB7


def _prog(map_id: int = 5, value_off: int = 16, helper: int = 1, const: int = 7,
          end: bool = True) -> bytes:
    insns = [Instruction(MOV_K, dst=0, imm=0),
             Instruction(LD_IMM64, dst=1, src=1, imm=map_id),                       # map fd
             Instruction(LD_IMM64, dst=2, src=2, imm=(value_off << 32) | map_id),   # value
             Instruction(LD_IMM64, dst=3, imm=const),                               # constant
             Instruction(CALL, imm=helper)]
    if end:
        insns.append(Instruction(EXIT))
    return encode(insns)


def test_compare_xlated_ignores_only_map_ids() -> None:
    assert compare_xlated(_prog(), _prog(map_id=99)) is None
    assert compare_xlated(_prog(), _prog()) is None


@pytest.mark.parametrize(("other", "index", "slot"), [
    ({"value_off": 24}, 2, 3),   # the offset into a map value is not an id
    ({"const": 8}, 3, 5),        # a plain 64-bit constant
    ({"helper": 2}, 4, 7),
    ({"end": False}, 5, 8),      # ours is shorter
])
def test_compare_xlated_names_the_first_difference(other: dict[str, Any], index: int,
                                                   slot: int) -> None:
    diff = compare_xlated(_prog(), _prog(**other))
    assert diff is not None
    assert (diff.index, diff.slot) == (index, slot)
    assert diff.libbpf == format_instruction(decode(_prog())[index])
    assert (diff.ours is None) == (other == {"end": False})
    assert (diff.libbpf_len, diff.ours_len) == (9, 9 if diff.ours else 8)


def test_libbpf_reason() -> None:
    verifier = ("libbpf: prog 'p': BPF program load failed: Permission denied\n"
                "libbpf: prog 'p': -- BEGIN PROG LOAD LOG --\n0: (b7) r0 = 0\n"
                "R0 !read_ok\nprocessed 1 insns (limit 1000000)\n"
                "-- END PROG LOAD LOG --\nlibbpf: failed to load object 'x.o'\n")
    assert libbpf_reason(verifier) == "R0 !read_ok"
    maps = ("libbpf: map 'stackmap': failed to create: Invalid argument(-22)\n"
            "libbpf: failed to load object 'x.o'\n")
    assert libbpf_reason(maps) == "map 'stackmap': failed to create: Invalid argument(-22)"
    assert libbpf_reason("") is None and libbpf_reason(None) is None


def _outcome(lv: str, le: str | None, ov: str, oe: str | None,
             stage: str | None = None, error: str | None = None) -> ProgramOutcome:
    return ProgramOutcome("x.bpf.o", "p", "sec", lv, le, ov, oe, stage, error)


@pytest.mark.parametrize(("outcome", "category"), [
    (_outcome("ok", None, "ok", None), None),
    (_outcome("fail", "EACCES", "fail", "EACCES", "kernel", "VerifierError"), None),
    (_outcome("ok", None, "fail", None, "object", "RelocationError"), "object:RelocationError"),
    (_outcome("fail", "ESRCH", "fail", None, "object", "RelocationError"),
     "object:RelocationError"),
    (_outcome("ok", None, "fail", "EINVAL", "map", "MapCreateError"), "map:MapCreateError"),
    (_outcome("ok", None, "fail", "EACCES", "kernel", "VerifierError"), "kernel-rejects-ours"),
    (_outcome("fail", "EINVAL", "ok", None), "ours-loads-libbpf-fails"),
    (_outcome("fail", "EINVAL", "fail", "EACCES", "kernel", "VerifierError"), "errno-differs"),
    (_outcome("ok", None, "missing", None), "missing-program"),
    (_outcome("ok", None, "fail", None, "exception", "KeyError"), "exception:KeyError"),
])
def test_mismatch_categories(outcome: ProgramOutcome, category: str | None) -> None:
    assert outcome.mismatch == category
    assert outcome.agrees == (category is None)

"""Unit tests for bpfdoctor.asm: wire format, opcode tables, helper table and the kernel's text.

Expected texts are written from the format strings of ``print_bpf_insn()`` in the 6.18
``kernel/bpf/disasm.c`` and of bpftool's ``xlated_dumper.c``, not from our own output; the
kernel tests (tests/kernel/test_asm_xlated.py) then hold the printer against the running
kernel's verifier log and against bpftool.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpfdoctor.asm import (
    HELPER_NAMES,
    MAX_HELPER_ID,
    Instruction,
    InstructionError,
    KernelSymbols,
    bpftool_call_name,
    bpftool_imm_repr,
    decode,
    encode,
    format_instruction,
    format_program,
    format_xlated,
    helper_id,
    helper_name,
    slot_offsets,
)
from bpfdoctor.asm import opcodes as op
from bpfdoctor.asm._gen_helpers import HelperTableError, parse_helpers, render_module
from support.build import BUILD, compile_bpf, find_clang

DATA = Path(__file__).resolve().parent / "data"
UAPI_BPF_H = Path("/usr/include/linux/bpf.h")
UAPI_COMMON_H = Path("/usr/include/linux/bpf_common.h")


def I(opcode: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> Instruction:  # noqa: E743
    return Instruction(opcode, dst, src, off, imm)


# --------------------------------------------------------------------------- wire format

_word = st.binary(min_size=8, max_size=8)


def _well_formed(words: list[bytes]) -> bytes:
    """Make ``words`` a decodable program whose ld_imm64 second halves are what the kernel
    requires (only ``imm`` set), so that decode/encode must reproduce it byte for byte."""
    out = bytearray()
    pending_half = False
    for w in words:
        if pending_half:
            w = bytes(4) + w[4:]
            pending_half = False
        elif w[0] == op.LD_IMM64:
            pending_half = True
        out += w
    if pending_half:
        out += bytes(8)
    return bytes(out)


@given(st.lists(_word, max_size=40))
@settings(max_examples=400)
def test_round_trip_random_words(words: list[bytes]) -> None:
    data = _well_formed(words)
    for order in ("little", "big"):
        insns = decode(data, order)
        assert encode(insns, order) == data
        assert sum(i.slots for i in insns) == len(data) // 8


@given(st.lists(_word, max_size=40))
@settings(max_examples=400)
def test_decode_then_print_never_raises(words: list[bytes]) -> None:
    data = b"".join(words)
    try:
        insns = decode(data)
    except InstructionError:
        # only a trailing ld_imm64 without its second half is undecodable
        assert data[-8] == op.LD_IMM64
        return
    assert decode(encode(insns)) == insns
    for style in ("kernel", "bare"):
        lines = format_program(insns, style=style, numbered=True)
        assert len(lines) == len(insns) and all(lines)
    assert len(format_xlated(insns, opcodes=True)) == 2 * len(insns)


def test_every_opcode_prints() -> None:
    """Every opcode byte with a spread of field values; the kernel has a line for each."""
    for code in range(256):
        for src in (0, 1, 2, 4, 15):
            for off in (0, 1, -1, 8, 16, 32):
                for imm in (0, 1, 0x100, 0x110, 0xE1, 0xF1, 16, 64, -1):
                    text = format_instruction(I(code, 1, src, off, imm))
                    assert text and "\n" not in text
                    if not text.startswith("BUG_"):
                        assert text.startswith(f"({code:02x}) ")


def test_odd_length_and_torn_ld_imm64_are_typed_errors() -> None:
    with pytest.raises(InstructionError):
        decode(bytes(12))
    with pytest.raises(InstructionError):
        decode(bytes([0x18]) + bytes(7))


def _code_sections(obj: Path) -> dict[str, bytes]:
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    with obj.open("rb") as f:
        elf = ELFFile(f)
        return {s.name: s.data() for s in elf.iter_sections()
                if s["sh_flags"] & SH_FLAGS.SHF_EXECINSTR and s.data_size}


def _objdump_opcodes(obj: Path, section: str) -> dict[int, int]:
    """slot -> opcode byte, from llvm-objdump's raw byte column."""
    tool = shutil.which("llvm-objdump-19") or shutil.which("llvm-objdump")
    if tool is None:
        pytest.skip("llvm-objdump not installed")
    out = subprocess.run([tool, "-d", "-j", section, str(obj)], capture_output=True, text=True,
                         check=True).stdout
    slots = {}
    for m in re.finditer(r"^\s*(\d+):\s+([0-9a-f]{2}) ", out, re.M):
        slots[int(m.group(1))] = int(m.group(2), 16)
    return slots


DATA_OBJECTS = [("asm_alu", "v2"), ("asm_alu", "v3"), ("asm_alu", "v4"), ("asm_mem", "v3"),
                ("asm_mem", "v4"), ("asm_ldabs", "v4"), ("asm_raw", "v4")]


@pytest.mark.parametrize(("stem", "cpu"), DATA_OBJECTS, ids=lambda v: str(v))
def test_real_program_bytes(stem: str, cpu: str) -> None:
    """clang's output decodes to llvm-objdump's instruction boundaries and re-encodes."""
    if find_clang() is None:
        pytest.skip("clang not installed")
    obj = compile_bpf(DATA / f"{stem}.bpf.c", out=BUILD / "asm" / f"{stem}.{cpu}.o",
                      extra=[f"-mcpu={cpu}"])
    sections = _code_sections(obj)
    assert sections
    for name, data in sections.items():
        insns = decode(data)
        assert encode(insns) == data
        want = _objdump_opcodes(obj, name)
        assert dict(zip(slot_offsets(insns), (i.opcode for i in insns), strict=True)) == want


# --------------------------------------------------------------------------- opcode tables


def _uapi_defines() -> dict[str, int]:
    """``#define BPF_X 0x..`` values from the installed UAPI headers (an independent copy)."""
    if not UAPI_BPF_H.exists():
        pytest.skip("no /usr/include/linux/bpf.h")
    text = UAPI_COMMON_H.read_text() + UAPI_BPF_H.read_text()
    vals = {m.group(1): int(m.group(2), 0)
            for m in re.finditer(r"#define\s+BPF_(\w+)\s+(0x[0-9a-fA-F]+|\d+)\b", text)}
    for m in re.finditer(r"#define\s+BPF_(\w+)\s+\((0x[0-9a-f]+) \| BPF_FETCH\)", text):
        vals[m.group(1)] = int(m.group(2), 16) | vals["FETCH"]
    return vals


def test_opcode_values_match_uapi_header() -> None:
    d = _uapi_defines()
    for enum in (op.InsnClass, op.Size, op.AluOp, op.Source):
        for member in enum:
            assert d[member.name] == member, member
    for member in op.Mode:
        if member.name in d:  # MEMSX (6.6) postdates the installed 6.1 header
            assert d[member.name] == member, member
    for member in op.JmpOp:
        if member.name in d:  # JCOND (6.9) postdates it too
            assert d[member.name] == member, member
    assert d["TO_LE"] == op.Endian.TO_LE and d["TO_BE"] == op.Endian.TO_BE
    assert d["FETCH"] == op.FETCH
    assert d["XCHG"] == op.AtomicOp.XCHG and d["CMPXCHG"] == op.AtomicOp.CMPXCHG
    assert d["XADD"] == op.XADD
    for name in ("MAP_FD", "MAP_VALUE", "BTF_ID", "FUNC", "MAP_IDX", "MAP_IDX_VALUE"):
        assert d[f"PSEUDO_{name}"] == op.PseudoSrc[name]
    assert d["PSEUDO_CALL"] == op.PseudoCall.CALL
    assert d["PSEUDO_KFUNC_CALL"] == op.PseudoCall.KFUNC_CALL


def test_opcode_fields() -> None:
    assert op.opcode_fields(0xBF) == "BPF_ALU64|BPF_MOV|BPF_X"
    assert op.opcode_fields(0x18) == "BPF_LD|BPF_IMM|BPF_DW"
    assert op.opcode_fields(0xDB) == "BPF_STX|BPF_ATOMIC|BPF_DW"
    assert op.opcode_fields(0xDC) == "BPF_ALU|BPF_END|BPF_TO_BE"
    assert op.opcode_fields(0x85) == "BPF_JMP|BPF_CALL|BPF_K"
    assert op.opcode_fields(0xE5) == "BPF_JMP|BPF_JCOND|BPF_K"
    assert op.opcode_fields(0xE7) == "BPF_ALU64|0xe0|BPF_K"
    assert op.opcode_fields(0xF5) == "BPF_JMP|0xf0|BPF_K"
    assert op.opcode_fields(0xA1) == "BPF_LDX|0xa0|BPF_W"
    assert op.insn_class(0x61) is op.InsnClass.LDX and op.size(0x61) is op.Size.W
    assert op.Size.DW.nbytes == 8 and op.source(0x0F) is op.Source.X


# --------------------------------------------------------------------------- helper table


def test_helper_table() -> None:
    assert HELPER_NAMES[0] == "bpf_unspec"
    assert helper_name(1) == "bpf_map_lookup_elem"
    assert helper_id("bpf_map_lookup_elem") == 1 and helper_id("map_lookup_elem") == 1
    assert helper_id("bpf_tail_call") == 12
    assert helper_id("bpf_loop") == 181
    assert helper_name(211) == "bpf_cgrp_storage_delete" and MAX_HELPER_ID == 212
    assert helper_name(212) is None and helper_id("bpf_no_such_helper") is None
    assert sorted(HELPER_NAMES) == list(range(MAX_HELPER_ID))


def test_helper_table_agrees_with_installed_6_1_header() -> None:
    """The 6.1 header lists helpers by position; they are a prefix of the 6.18 table."""
    if not UAPI_BPF_H.exists():
        pytest.skip("no /usr/include/linux/bpf.h")
    old = parse_helpers(UAPI_BPF_H.read_text())
    assert len(old) >= 200
    assert {i: f"bpf_{n}" for i, n in old.items()} == {i: HELPER_NAMES[i] for i in old}


def test_helper_table_agrees_with_running_kernel_btf() -> None:
    bpftool = shutil.which("bpftool")
    vmlinux = Path("/sys/kernel/btf/vmlinux")
    if bpftool is None or not vmlinux.exists():
        pytest.skip("needs bpftool and /sys/kernel/btf/vmlinux")
    raw = subprocess.run([bpftool, "btf", "dump", "file", str(vmlinux), "format", "raw"],
                         capture_output=True, text=True, check=True).stdout
    ids = {m.group(1): int(m.group(2))
           for m in re.finditer(r"'BPF_FUNC_(\w+)' val=(\d+)", raw)}
    assert {v: f"bpf_{k}" for k, v in ids.items()} == HELPER_NAMES


def test_helper_generator_formats() -> None:
    positional = ("#define __BPF_FUNC_MAPPER(FN)\t\\\n\tFN(unspec),\t\\\n"
                  "\tFN(map_lookup_elem),\t\\\n\tFN(map_update_elem),\n\nother stuff\n")
    explicit = ("#define ___BPF_FUNC_MAPPER(FN, ctx...)\t\\\n\tFN(unspec, 0, ##ctx)\t\\\n"
                "\tFN(map_update_elem, 2, ##ctx)\t\\\n\tFN(map_lookup_elem, 1, ##ctx)\t\\\n"
                "\t/* */\n")
    btf = "enum bpf_func_id {\n\tBPF_FUNC_unspec = 0,\n\tBPF_FUNC_map_lookup_elem = 1,\n" \
          "\tBPF_FUNC_map_update_elem = 2,\n\t__BPF_FUNC_MAX_ID = 3,\n};\n"
    want = {0: "unspec", 1: "map_lookup_elem", 2: "map_update_elem"}
    for text in (positional, explicit, btf):
        assert parse_helpers(text) == want
    with pytest.raises(HelperTableError):
        parse_helpers("int main(void) { return 0; }")
    with pytest.raises(HelperTableError):
        render_module({0: "unspec", 2: "x"}, "test")
    namespace: dict[str, object] = {}
    exec(compile(render_module(want, "a test"), "helpers", "exec"), namespace)
    assert namespace["MAX_HELPER_ID"] == 3
    assert namespace["helper_id"]("map_update_elem") == 2  # type: ignore[operator]


def test_committed_helper_module_is_what_the_generator_writes() -> None:
    src = Path(__file__).resolve().parents[1] / "src/bpfdoctor/asm/helpers.py"
    text = src.read_text()
    source = re.search(r"from\n(.*)\.  Do not edit by hand\.", text)
    assert source is not None
    table = {i: n.removeprefix("bpf_") for i, n in HELPER_NAMES.items()}
    assert render_module(table, source.group(1)) == text


# --------------------------------------------------------------------------- kernel text

KERNEL_TEXTS = [
    # ALU64 / ALU: "(%02x) %c%d %s %d" and "(%02x) %c%d %s %s%c%d"
    (I(0xB7, 0, imm=0), "(b7) r0 = 0"),
    (I(0x07, 1, imm=-8), "(07) r1 += -8"),
    (I(0xBF, 6, 1), "(bf) r6 = r1"),
    (I(0x1F, 1, 2), "(1f) r1 -= r2"),
    (I(0x2C, 1, 4), "(2c) w1 *= w4"),
    (I(0x3F, 0, 1), "(3f) r0 /= r1"),
    (I(0x3F, 0, 1, off=1), "(3f) r0 s/= r1"),
    (I(0x34, 2, off=1, imm=5), "(34) w2 s/= 5"),
    (I(0x9F, 0, 1, off=1), "(9f) r0 s%= r1"),
    (I(0x97, 2, off=1, imm=3), "(97) r2 s%= 3"),
    (I(0x94, 3, imm=17), "(94) w3 %= 17"),
    (I(0x47, 1, imm=0x100), "(47) r1 |= 256"),
    (I(0x5C, 1, 5), "(5c) w1 &= w5"),
    (I(0x67, 3, imm=60), "(67) r3 <<= 60"),
    (I(0x7C, 3, 1), "(7c) w3 >>= w1"),
    (I(0xA7, 0, imm=-1), "(a7) r0 ^= -1"),
    (I(0xCF, 1, 2), "(cf) r1 s>>= r2"),
    (I(0xC4, 1, imm=4), "(c4) w1 s>>= 4"),
    (I(0x87, 3), "(87) r3 = -r3"),
    (I(0x84, 3), "(84) w3 = -w3"),
    (I(0xBF, 0, 1, off=8), "(bf) r0 = (s8)r1"),
    (I(0xBF, 0, 1, off=16), "(bf) r0 = (s16)r1"),
    (I(0xBF, 0, 1, off=32), "(bf) r0 = (s32)r1"),
    (I(0xBC, 5, 2, off=8), "(bc) w5 = (s8)w2"),
    (I(0xB7, 0, off=8, imm=5), "(b7) r0 = 5"),
    (I(0xBF, 0, 1, off=4), "(bf) r0 = r1"),
    (I(0xBF, 1, 2, off=1, imm=1 << 16), "(bf) r1 = addr_space_cast(r2, 1, 0)"),
    (I(0xBF, 1, 2, off=1, imm=-1), "(bf) r1 = addr_space_cast(r2, 65535, 65535)"),
    (I(0xBF, 0, 0, off=-1), "(bf) r0 = &(void __percpu *)(r0)"),
    (I(0xBC, 0, 0, off=-1), "(bc) w0 = w0"),
    (I(0xD4, 1, imm=16), "(d4) r1 = le16 r1"),
    (I(0xDC, 1, imm=32), "(dc) r1 = be32 r1"),
    (I(0xDC, 1, imm=64), "(dc) r1 = be64 r1"),
    (I(0xD7, 1, imm=16), "(d7) r1 = bswap16 r1"),
    (I(0xD7, 9, imm=64), "(d7) r9 = bswap64 r9"),
    (I(0xE7, 0, imm=0), "(e7) r0 (null) 0"),
    (I(0xEF, 0, 1), "(ef) r0 (null) r1"),
    # LDX: "(%02x) r%d = *(%s *)(r%d %+d)"
    (I(0x79, 1, 10, off=-8), "(79) r1 = *(u64 *)(r10 -8)"),
    (I(0x61, 0, 1, off=0), "(61) r0 = *(u32 *)(r1 +0)"),
    (I(0x69, 4, 0, off=12), "(69) r4 = *(u16 *)(r0 +12)"),
    (I(0x71, 5, 0, off=14), "(71) r5 = *(u8 *)(r0 +14)"),
    (I(0x81, 1, 10, off=-12), "(81) r1 = *(s32 *)(r10 -12)"),
    (I(0x89, 1, 10, off=-14), "(89) r1 = *(s16 *)(r10 -14)"),
    (I(0x91, 1, 10, off=-15), "(91) r1 = *(s8 *)(r10 -15)"),
    # no s64 entry in the kernel's table (the verifier rejects 0x99 before printing it)
    (I(0x99, 1, 2), "(99) r1 = *((null) *)(r2 +0)"),
    (I(0x21, 1, 2), "BUG_ldx_21"),
    (I(0xC1, 1, 2), "BUG_ldx_c1"),
    # ST: "(%02x) *(%s *)(r%d %+d) = %d", nospec, BUG_st_
    (I(0x62, 10, off=-4, imm=7), "(62) *(u32 *)(r10 -4) = 7"),
    (I(0x7A, 10, off=-8, imm=-1), "(7a) *(u64 *)(r10 -8) = -1"),
    (I(0x6A, 10, off=-14, imm=32767), "(6a) *(u16 *)(r10 -14) = 32767"),
    (I(0x72, 10, off=-15, imm=255), "(72) *(u8 *)(r10 -15) = 255"),
    (I(0xC2), "(c2) nospec"),
    (I(0x42, 1), "BUG_st_42"),
    # STX: plain, lock, fetch, xchg, cmpxchg, load-acquire, store-release
    (I(0x63, 10, 1, off=-4), "(63) *(u32 *)(r10 -4) = r1"),
    (I(0x7B, 10, 6, off=-32), "(7b) *(u64 *)(r10 -32) = r6"),
    (I(0xDB, 1, 2, imm=0x00), "(db) lock *(u64 *)(r1 +0) += r2"),
    (I(0xC3, 0, 6, off=8, imm=0x40), "(c3) lock *(u32 *)(r0 +8) |= r6"),
    (I(0xDB, 0, 6, imm=0x50), "(db) lock *(u64 *)(r0 +0) &= r6"),
    (I(0xC3, 0, 6, off=8, imm=0xA0), "(c3) lock *(u32 *)(r0 +8) ^= r6"),
    (I(0xDB, 0, 3, imm=0x01), "(db) r3 = atomic64_fetch_add((u64 *)(r0 +0), r3)"),
    (I(0xC3, 0, 4, off=8, imm=0x51), "(c3) r4 = atomic_fetch_and((u32 *)(r0 +8), r4)"),
    (I(0xDB, 0, 2, imm=0x41), "(db) r2 = atomic64_fetch_or((u64 *)(r0 +0), r2)"),
    (I(0xC3, 0, 5, imm=0xA1), "(c3) r5 = atomic_fetch_xor((u32 *)(r0 +0), r5)"),
    (I(0xDB, 0, 1, imm=0xE1), "(db) r1 = atomic64_xchg((u64 *)(r0 +0), r1)"),
    (I(0xC3, 1, 4, off=8, imm=0xF1), "(c3) r0 = atomic_cmpxchg((u32 *)(r1 +8), r0, r4)"),
    (I(0xD3, 2, 10, off=-15, imm=0x100), "(d3) r2 = load_acquire((u8 *)(r10 -15))"),
    (I(0xDB, 10, 5, off=-8, imm=0x110), "(db) store_release((u64 *)(r10 -8), r5)"),
    (I(0xDB, 1, 2, imm=0x20), "BUG_db"),
    (I(0xDB, 1, 2, imm=0x111), "BUG_db"),
    (I(0x83, 1, 2), "BUG_83"),
    # LD: packet loads, ld_imm64, BUG_ld_
    (I(0x30, imm=12), "(30) r0 = *(u8 *)skb[12]"),
    (I(0x28, imm=12), "(28) r0 = *(u16 *)skb[12]"),
    (I(0x20, imm=26), "(20) r0 = *(u32 *)skb[26]"),
    (I(0x50, src=7, imm=14), "(50) r0 = *(u8 *)skb[r7 + 14]"),
    (I(0x48, src=7, imm=-1), "(48) r0 = *(u16 *)skb[r7 + -1]"),
    (I(0x18, 1, imm=0x123456789), "(18) r1 = 0x123456789"),
    (I(0x18, 1, imm=-1), "(18) r1 = 0xffffffffffffffff"),
    (I(0x18, 2, src=1, imm=5), "(18) r2 = 0x5"),
    (I(0x00), "BUG_ld_00"),
    (I(0x60, 1), "BUG_ld_60"),
    # JMP / JMP32
    (I(0x85, imm=1), "(85) call bpf_map_lookup_elem#1"),
    (I(0x85, imm=0), "(85) call bpf_unspec#0"),
    (I(0x85, imm=212), "(85) call unknown#212"),
    (I(0x85, imm=-5), "(85) call unknown#-5"),
    (I(0x85, src=1, imm=5), "(85) call pc+5"),
    (I(0x85, src=1, imm=-9), "(85) call pc-9"),
    (I(0x85, src=2, imm=12345), "(85) call kernel-function#12345"),
    (I(0x85, src=2, imm=1), "(85) call kernel-function#1"),
    (I(0x85, src=3, imm=1), "(85) call unknown#1"),
    (I(0x86, imm=12), "(86) call bpf_tail_call#12"),
    (I(0x05, off=-1), "(05) goto pc-1"),
    (I(0x05, off=0), "(05) goto pc+0"),
    (I(0xE5, off=3), "(e5) may_goto pc+3"),
    (I(0xE5, src=1, off=3), "(e5) if r0 (null) 0x0 goto pc+3"),
    (I(0x06, imm=70000), "(06) gotol pc+70000"),
    (I(0x06, imm=-2), "(06) gotol pc-2"),
    (I(0x95), "(95) exit"),
    (I(0x96), "(96) if w0 exit 0x0 goto pc+0"),
    (I(0x0D, 1, 2), "(0d) if r1 jmp r2 goto pc+0"),
    (I(0x15, 0, off=3), "(15) if r0 == 0x0 goto pc+3"),
    (I(0x1D, 1, 2, off=-2), "(1d) if r1 == r2 goto pc-2"),
    (I(0x16, 1, off=1, imm=-1), "(16) if w1 == 0xffffffff goto pc+1"),
    (I(0x25, 1, off=1, imm=5), "(25) if r1 > 0x5 goto pc+1"),
    (I(0x35, 1, off=1, imm=0x7FFFFFFF), "(35) if r1 >= 0x7fffffff goto pc+1"),
    (I(0x45, 1, off=1, imm=16), "(45) if r1 & 0x10 goto pc+1"),
    (I(0x4E, 1, 2, off=1), "(4e) if w1 & w2 goto pc+1"),
    (I(0x55, 0, off=-7), "(55) if r0 != 0x0 goto pc-7"),
    (I(0x65, 1, off=1, imm=-5), "(65) if r1 s> 0xfffffffb goto pc+1"),
    (I(0x75, 1, off=1), "(75) if r1 s>= 0x0 goto pc+1"),
    (I(0xA6, 2, off=-31, imm=5), "(a6) if w2 < 0x5 goto pc-31"),
    (I(0xBD, 1, 2, off=1), "(bd) if r1 <= r2 goto pc+1"),
    (I(0xCE, 2, 3, off=-7), "(ce) if w2 s< w3 goto pc-7"),
    (I(0xDE, 1, 2, off=1), "(de) if w1 s<= w2 goto pc+1"),
    (I(0xF5, 1), "(f5) if r1 (null) 0x0 goto pc+0"),
]


@pytest.mark.parametrize(("ins", "want"), KERNEL_TEXTS, ids=lambda v: getattr(v, "opcode", v))
def test_kernel_text(ins: Instruction, want: str) -> None:
    assert format_instruction(ins) == want
    bare = want.split(") ", 1)[1] if want.startswith("(") else want
    assert format_instruction(ins, style="bare") == bare


def test_pc_prefix_and_numbering() -> None:
    assert format_instruction(I(0xB7), pc=7) == "7: (b7) r0 = 0"
    prog = [I(0x18, 1, imm=3), I(0xB7), I(0x95)]
    assert format_program(prog, numbered=True) == [
        "0: (18) r1 = 0x3", "2: (b7) r0 = 0", "3: (95) exit"]
    assert format_program(prog, style="bare") == ["r1 = 0x3", "r0 = 0", "exit"]
    with pytest.raises(ValueError, match="style"):
        format_instruction(I(0x95), style="llvm")  # type: ignore[arg-type]


def test_pointer_hiding() -> None:
    """The verifier prints map pointers as 0 for users who may not see kernel addresses."""
    for src in (1, 2):
        assert format_instruction(I(0x18, 1, src, imm=0xFFFF8881), allow_ptr_leaks=False) \
            == "(18) r1 = 0x0"
    assert format_instruction(I(0x18, 1, 4, imm=7), allow_ptr_leaks=False) == "(18) r1 = 0x7"


def test_call_name_callback() -> None:
    seen: list[Instruction] = []

    def cb(ins: Instruction) -> str | None:
        seen.append(ins)
        return {1: "my_func", 2: "bpf_rcu_read_lock"}.get(ins.src)

    # the built-in helper table wins and the callback is not asked
    assert format_instruction(I(0x85, imm=5), call_name=cb) == "(85) call bpf_ktime_get_ns#5"
    assert seen == []
    assert format_instruction(I(0x85, src=1, imm=3), call_name=cb) == "(85) call pcmy_func"
    assert format_instruction(I(0x85, src=2, imm=77), call_name=cb) \
        == "(85) call bpf_rcu_read_lock#77"
    # None from the callback falls back to the kernel's own text
    assert format_instruction(I(0x85, imm=500), call_name=cb) == "(85) call unknown#500"
    assert len(seen) == 3


def test_imm_repr_callback() -> None:
    def cb(ins: Instruction) -> str | None:
        return f"map[id:{ins.imm}]" if ins.src == 1 else None

    assert format_instruction(I(0x18, 1, 1, imm=3), imm_repr=cb) == "(18) r1 = map[id:3]"
    assert format_instruction(I(0x18, 1, 0, imm=3), imm_repr=cb) == "(18) r1 = 0x3"


# --------------------------------------------------------------------------- bpftool xlated


def _ld64(dst: int, src: int, lo: int, hi: int = 0) -> Instruction:
    return I(0x18, dst, src).with_imm64(lo, hi)


def test_bpftool_imm_repr() -> None:
    # print_imm() in bpftool's xlated_dumper.c
    assert bpftool_imm_repr(_ld64(1, 1, 3)) == "map[id:3]"
    assert bpftool_imm_repr(_ld64(1, 2, 3, 16)) == "map[id:3][0]+16"
    assert bpftool_imm_repr(_ld64(1, 6, 1, 4)) == "map[idx:1]+4"
    assert bpftool_imm_repr(_ld64(2, 4, 47)) == "subprog[+47]"
    assert bpftool_imm_repr(_ld64(2, 4, -3)) == "subprog[-3]"
    assert bpftool_imm_repr(_ld64(1, 5, 2)) == "0x2"
    assert bpftool_imm_repr(_ld64(1, 3, 0x10, 1)) == "0x100000010"


KALLSYMS = """\
ffffffff81000000 T _stext
ffffffff81200000 T __bpf_call_base
ffffffff81200100 T bpf_user_rnd_u32
ffffffff81200100 t bpf_user_rnd_u32_alias
0000000000000000 A fixed_percpu_data
ffffffffa0001000 t bpf_prog_0123456789abcdef_twice	[bpf]
garbage line
"""


def test_kernel_symbols() -> None:
    syms = KernelSymbols.parse(KALLSYMS)
    assert syms.call_base == 0xFFFFFFFF81200000
    assert syms.name_at(0xFFFFFFFF81200100) == "bpf_user_rnd_u32"
    assert syms.names_at(0xFFFFFFFF81200100) == ["bpf_user_rnd_u32", "bpf_user_rnd_u32_alias"]
    assert syms.name_at(0) is None and syms.name_at(0xFFFFFFFF81200101) is None
    assert syms.containing(0xFFFFFFFF81200105) == ("bpf_user_rnd_u32", 5)
    assert syms.containing(0x10) is None
    assert len(syms) == 4
    # kptr_restrict: addresses read as 0, and bpftool discards the table
    hidden = KernelSymbols.parse(re.sub(r"^[0-9a-f]{16}", "0" * 16, KALLSYMS, flags=re.M))
    assert hidden.call_base is None and len(hidden) == 0
    assert len(KernelSymbols.load("/nonexistent/kallsyms")) == 0


def test_bpftool_call_names() -> None:
    syms = KernelSymbols.parse(KALLSYMS)
    cb = bpftool_call_name(syms, jited_ksyms=[0xFFFFFFFFA0000000, 0xFFFFFFFFA0001000])
    helper = I(0x85, imm=0x100)
    assert format_instruction(helper, call_name=cb) == "(85) call bpf_user_rnd_u32#256"
    assert format_instruction(I(0x85, imm=0x200), call_name=cb) \
        == "(85) call 0xffffffff81200200#512"
    assert format_instruction(I(0x85, src=2, imm=-0x100), call_name=cb) \
        == "(85) call 0xffffffff811fff00#-256"
    # bpf-to-bpf: the offset comes from `off`, the callee from jited_ksyms[imm]
    assert format_instruction(I(0x85, src=1, off=54, imm=1), call_name=cb) \
        == "(85) call pc+54#bpf_prog_0123456789abcdef_twice"
    assert format_instruction(I(0x85, src=1, off=-9, imm=0), call_name=cb) \
        == "(85) call pc-9#0xffffffffa0000000"
    interpreted = bpftool_call_name(syms)
    assert format_instruction(I(0x85, src=1, off=12, imm=1), call_name=interpreted) \
        == "(85) call pc+12"
    # without kallsyms the address is relative to 0
    blind = bpftool_call_name()
    assert format_instruction(I(0x85, imm=0x300), call_name=blind) == "(85) call 0x300#768"


def test_format_xlated_layout() -> None:
    prog = [_ld64(1, 1, 3), I(0x85, imm=1), I(0xB7, 0, imm=0), I(0x95)]
    assert format_xlated(prog) == [
        "   0: (18) r1 = map[id:3]",
        "   2: (85) call bpf_map_lookup_elem#1",
        "   3: (b7) r0 = 0",
        "   4: (95) exit",
    ]
    # "% 4d": the space flag keeps a blank before numbers of four digits and more
    long = [I(0xB7)] * 1001 + [I(0x95)]
    assert format_xlated(long)[-1] == " 1001: (95) exit"
    assert format_xlated(long)[999] == " 999: (b7) r0 = 0"
    assert format_xlated([_ld64(1, 2, 3, 8), I(0x95)], opcodes=True) == [
        "   0: (18) r1 = map[id:3][0]+8",
        "       18 21 00 00 03 00 00 00 00 00 00 00 08 00 00 00",
        "   2: (95) exit",
        "       95 00 00 00 00 00 00 00",
    ]


def test_ld_imm64_halves_are_little_endian_pairs() -> None:
    raw = struct.pack("<BBhi", 0x18, 0x21, 0, 3) + struct.pack("<BBhi", 0, 0, 0, 8)
    (ins,) = decode(raw)
    assert (ins.imm_lo, ins.imm_hi, ins.src, ins.dst) == (3, 8, 2, 1)
    assert format_xlated([ins]) == ["   0: (18) r1 = map[id:3][0]+8"]

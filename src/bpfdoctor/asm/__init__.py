"""eBPF instructions: decode, encode and print them in the kernel's own text format.

* :mod:`.instruction` -- the :class:`Instruction` and its wire format;
* :mod:`.opcodes` -- the opcode fields and the special values of ``src``/``off``/``imm``;
* :mod:`.helpers` -- helper ids and names (generated from the kernel by ``_gen_helpers``);
* :mod:`.text` -- ``print_bpf_insn()``'s text (verifier log, ``bpftool prog dump``);
* :mod:`.xlated` -- ``bpftool prog dump xlated`` lines, kernel symbol lookup for call targets.
"""

from .helpers import HELPER_NAMES, MAX_HELPER_ID, helper_id, helper_name
from .instruction import (
    INSN_SIZE,
    Instruction,
    InstructionError,
    decode,
    encode,
    slot_offsets,
    total_slots,
)
from .text import CallName, ImmRepr, format_instruction, format_program
from .xlated import (
    KernelSymbols,
    bpftool_call_name,
    bpftool_imm_repr,
    format_xlated,
)

__all__ = [
    "HELPER_NAMES",
    "INSN_SIZE",
    "MAX_HELPER_ID",
    "CallName",
    "ImmRepr",
    "Instruction",
    "InstructionError",
    "KernelSymbols",
    "bpftool_call_name",
    "bpftool_imm_repr",
    "decode",
    "encode",
    "format_instruction",
    "format_program",
    "format_xlated",
    "helper_id",
    "helper_name",
    "slot_offsets",
    "total_slots",
]

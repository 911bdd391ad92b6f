"""What this kernel and this environment allow: minimal probes of program and map kinds,
the environment report (``bpfdoctor env``), feature tables (``bpfdoctor probe``) and the
root cause of load failures that come without a verifier log."""

from .minimal import ProbeResult, probe_map, probe_program

__all__ = ["ProbeResult", "probe_map", "probe_program"]

"""Feature probes against the real kernel: verdicts this machine is known to give."""

from __future__ import annotations

from bpfdoctor.probe.features import (
    probe_btf_kinds,
    supports_map_type,
    supports_prog_type,
    verdict,
)
from bpfdoctor.sys import MapType, ProgType


def test_xdp_supported() -> None:
    assert verdict(supports_prog_type(ProgType.XDP)) == "supported"


def test_attach_type_defaults_make_types_load() -> None:
    for pt in (ProgType.CGROUP_SOCK_ADDR, ProgType.CGROUP_SOCKOPT, ProgType.SK_LOOKUP,
               ProgType.NETFILTER):
        assert verdict(supports_prog_type(pt)) == "supported", pt


def test_unknown_prog_type_unsupported() -> None:
    assert verdict(supports_prog_type(999)) == "unsupported"


def test_hash_map_supported_unknown_map_not() -> None:
    assert verdict(supports_map_type(MapType.HASH)) == "supported"
    assert verdict(supports_map_type(999)) == "unsupported"


def test_tracing_per_attach_kind() -> None:
    kinds = probe_btf_kinds()
    assert kinds["tp_btf"] is not None and verdict(kinds["tp_btf"]) == "supported"
    assert kinds["iter"] is not None and verdict(kinds["iter"]) == "supported"
    # On this machine fentry is refused with EPERM although the program type exists.
    assert kinds["fentry"] is not None and verdict(kinds["fentry"]) == "refused"


def test_cli_json_parses() -> None:
    import json

    from click.testing import CliRunner

    from bpfdoctor.cli.probe import probe

    res = CliRunner().invoke(probe, ["--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["prog_types"]["xdp"]["verdict"] == "supported"
    assert data["attach_kinds"]["fentry"]["errno"] == "EPERM"

"""did-you-mean for attach targets (names injected: no kernel needed)."""

from __future__ import annotations

import pytest

from bpfdoctor.btf.types import Kind
from bpfdoctor.probe import targets

NAMES = ("vfs_fsync", "vfs_fsync_range", "shmem_file_open", "dquot_file_open",
         "migrate_misplaced_folio", "__blk_account_io_start", "do_unlinkat")


@pytest.fixture(autouse=True)
def fake_btf(monkeypatch: pytest.MonkeyPatch) -> None:
    def names(kind: Kind, prefix: str) -> tuple[str, ...]:
        return NAMES if kind == Kind.FUNC and prefix == "" else ()

    monkeypatch.setattr(targets, "btf_names", names)


def test_typo_and_rename_and_clone() -> None:
    assert targets.close_targets("fentry/vfs_fsynk", "vfs_fsynk")[0] == "vfs_fsync"
    assert targets.close_targets("fexit/migrate_misplaced_page",
                                 "migrate_misplaced_page") == ["migrate_misplaced_folio"]
    assert targets.close_targets("fentry/blk_account_io_start",
                                 "blk_account_io_start") == ["__blk_account_io_start"]


def test_no_noise_from_shared_suffix() -> None:
    assert targets.close_targets("fentry/dummy_file_open", "dummy_file_open") == []


def test_sections_without_btf_targets() -> None:
    assert targets.close_targets("kprobe/vfs_fsynk", "vfs_fsynk") == []
    assert targets.close_targets("fentry/x", "") == []

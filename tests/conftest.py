"""Shared test plumbing.

* Tests under ``tests/kernel/`` (or marked ``@pytest.mark.kernel``) need the bpf() syscall.
  Where it is unavailable they skip with the reason, except under
  ``BPFDOCTOR_REQUIRE_KERNEL=1`` (set by ``.ci/run``), where that skip is a failure.
* Every kernel test is wrapped in a leak check: the number of programs, maps, links and BTF
  objects in the kernel must be the same after the test as before.  When they are not, it is
  a leak (a failure) if this process still holds a bpf fd it did not hold before, a pin was
  left in bpffs, or a program or link is more; maps or BTF objects that nothing of ours
  holds are the kernel's own (deferred release, or a kernel bug seen here with prog arrays
  loaded by bpftool) and are reported as a warning.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

REQUIRE_KERNEL = os.environ.get("BPFDOCTOR_REQUIRE_KERNEL") == "1"


@functools.cache
def kernel_unavailable_reason() -> str | None:
    try:
        from bpfdoctor.sys import kernel_available
    except ImportError as e:  # pragma: no cover - only while the package is incomplete
        return f"bpfdoctor.sys not importable: {e}"
    ok, reason = kernel_available()
    return None if ok else reason


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kdir = Path(__file__).resolve().parent / "kernel"
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(kdir):
            item.add_marker(pytest.mark.kernel)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("kernel") is None:
        return
    reason = kernel_unavailable_reason()
    if reason is None:
        return
    if REQUIRE_KERNEL:
        pytest.fail(f"bpf() unavailable but BPFDOCTOR_REQUIRE_KERNEL=1: {reason}", pytrace=False)
    pytest.skip(f"bpf() unavailable: {reason}")


@pytest.fixture(autouse=True)
def _kernel_leak_check(request: pytest.FixtureRequest):
    """Assert that a kernel test leaves nothing of ours behind in the kernel (see above)."""
    if request.node.get_closest_marker("kernel") is None or kernel_unavailable_reason():
        yield
        return
    from bpfdoctor.sys import count_objects, open_objects
    from support.kernel import counts_after, leak_verdict, pins

    before, own_before, pins_before = count_objects(), open_objects(), pins()
    yield
    after = counts_after(before)
    if after == before:
        return
    why = leak_verdict(before, after, own_before, open_objects(), pins_before, pins())
    assert why is None, f"kernel objects leaked ({why}): before {before}, after {after}"
    import warnings

    warnings.warn(f"kernel-held objects appeared during the test (no fd, pin, program or link "
                  f"of ours explains them): before {before}, after {after}", stacklevel=1)

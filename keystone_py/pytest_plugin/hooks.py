"""The plugin's options and report hooks."""

from __future__ import annotations

from typing import Iterator

import pytest

from .tap_items import MARKER


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("keystone_py", "keystone-rs machines (keystone_py)")
    group.addoption("--smp", type=int, default=1, help="harts per machine (default 1)")
    group.addoption("--firmware", choices=("ours", "opensbi"), default="ours",
                    help="M-mode firmware: ours (build/sm_rs.bin) or opensbi (Debian fw_jump)")
    group.addoption("--qemu-arg", action="append", default=[], metavar="ARG",
                    help="extra QEMU argument for every machine (repeatable)")
    group.addoption("--icount", type=int, default=None, metavar="SHIFT",
                    help="QEMU -icount shift=SHIFT for every machine (default: off)")
    group.addoption("--keep-logs", action="store_true",
                    help="keep the log folder of passing tests too")
    group.addoption("--ks-log-root", default=None, metavar="DIR",
                    help="parent of the per-test log folders (default build/test-logs)")
    group.addoption("--target", default=None, metavar="ssh://USER@HOST[:PORT]",
                    help="a board (or a QEMU guest) over SSH for the ssh_target fixture")
    group.addoption("--target-key", default=None, metavar="FILE",
                    help="private key for --target (default: the SSH agent / ~/.ssh keys)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(run, name=None): a whole-run test whose TAP lines become one "
                   "item each (keystone_py.pytest_plugin.tap_checks)")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keeps each phase's report on the item (``_ks_rep_setup``...) for the log
    folders' clean-up, and names a failed test's kept log folder."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"_ks_rep_{rep.when}", rep)
    log_dir = getattr(item, "_ks_log_dir", None)
    if log_dir is not None and rep.failed:
        rep.sections.append(("keystone-py logs", f"kept in {log_dir}"))

"""Shared test setup: the map of the suite, its markers, the CPU matrix and the
pytester plugin.

The folders mirror the system, and each gives its tests a marker::

    tests/unit/    unit    pure host tests: no build, no QEMU (``pytest -m unit``: seconds)
    tests/tools/   tools   the real toolchain: doctor, builds, the ABI cross-check, sshd
    tests/qemu/    qemu    the SM in QEMU with the conformance payload as host
    tests/gdb/     qemu    GDB on QEMU's gdbstub, across the worlds (also marked ``gdb``)
    tests/linux/   linux   Linux on the SM: the driver, the host apps, the enclaves (and ``qemu``)
    tests/zcore/   zcore   zCore on the SM, built from its source archives (and ``qemu``)

``slow`` marks the tests of :data:`SLOW` (ten seconds or more each), so ``-m
"not slow"`` is the quicker pass over everything else.

A test that takes the ``cpu`` argument runs once per CPU model of QEMU 7.2's
``virt`` harts below (``--cpu NAME``, repeatable, picks a subset):

* ``default``: QEMU's default hart, rv64 with H and Sstc;
* ``sstc=false``: no Sstc, so the SM drives the supervisor timer through the
  CLINT's mtimecmp;
* ``h=false``: no hypervisor extension.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import List

import pytest

# The keystone_py plugin itself is loaded through its pytest11 entry point.
pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent

#: Folder → markers its tests get.
FOLDER_MARKERS = {
    "unit": ("unit",),
    "tools": ("tools",),
    "qemu": ("qemu",),
    "gdb": ("qemu", "gdb"),
    "linux": ("linux", "qemu"),
    "zcore": ("zcore", "qemu"),
}

#: Tests that take ten seconds or more each (module, or module::test), relative to tests/.
SLOW = {
    "tools/test_reproducible.py",
    "tools/test_fresh_python.py::test_make_run_in_a_fresh_clone_with_its_own_virtual_environment",
    "qemu/test_isolation.py::test_every_attack_is_refused",
    "linux/test_robustness.py",
    "linux/test_real_program.py",
    "linux/test_switchless.py::test_the_soak_holds_with_every_cpu_of_the_build_machine_busy",
    "linux/test_switchless.py::test_four_enclaves_on_four_harts_under_a_timer_storm_lose_and_duplicate_nothing",
    "qemu/test_isolation.py::test_srst_holds_every_hart_so_no_sealing_key_survives_a_reboot",
    "linux/test_cli.py::test_bench_command_reports_figures_for_both_firmware",
    "linux/test_bench_keystone.py",
    "linux/test_byo.py::test_readme_byo_commands_reach_a_passing_test",
    "tools/test_byo_errors.py::test_a_rust_eapp_without_an_entry_point",
}

MARKERS = {
    "unit": "pure host test: no build, no QEMU (tests/unit)",
    "tools": "runs the real toolchain, builds, doctor or sshd, no QEMU (tests/tools)",
    "qemu": "boots QEMU (tests/qemu, tests/gdb, tests/linux)",
    "gdb": "drives gdb-multiarch on QEMU's gdbstub (tests/gdb)",
    "linux": "boots Linux on the SM; needs the kernel build (tests/linux, tests/gdb/test_linux.py)",
    "zcore": "boots zCore on the SM; needs its source archives (tests/zcore; skipped, saying "
             "why, without KEYSTONE_ZCORE_SOURCES)",
    "slow": "takes ten seconds or more (tests/conftest.py: SLOW)",
    "fresh_clone": "end-to-end test of a clean clone; runs only with --fresh-clone "
                   "(or KS_FRESH_CLONE=1)",
}


@dataclass(frozen=True)
class Cpu:
    name: str
    args: List[str]

    def __str__(self) -> str:
        return self.name


CPUS = {
    "default": Cpu("default", []),
    "sstc=false": Cpu("sstc=false", ["-cpu", "rv64,sstc=false"]),
    "h=false": Cpu("h=false", ["-cpu", "rv64,h=false"]),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--cpu", action="append", default=[], choices=sorted(CPUS),
                     help="CPU model for tests that take `cpu` (repeatable; default: all)")
    parser.addoption(
        "--fresh-clone", action="store_true", default=False,
        help="also run the fresh-clone end-to-end test (tests/tools/test_fresh_python.py): "
             "`make run` in a git clone of HEAD with its own new .venv, everything built "
             "from scratch (about 10 minutes; `make test` passes this option, "
             "`make test FRESH_CLONE=` does not). KS_FRESH_CLONE=1 does the same.")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cpu" in metafunc.fixturenames:
        names = metafunc.config.getoption("cpu") or list(CPUS)
        metafunc.parametrize("cpu", [CPUS[n] for n in names], ids=names)


def pytest_configure(config: pytest.Config) -> None:
    for name, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")


def markers_for(path: Path, name: str) -> List[str]:
    """The folder's markers of a test at ``path`` (plus ``slow`` from :data:`SLOW`)."""
    try:
        rel = path.resolve().relative_to(TESTS)
    except ValueError:
        return []
    marks = list(FOLDER_MARKERS.get(rel.parts[0], ())) if len(rel.parts) > 1 else []
    module = rel.as_posix()
    if module in SLOW or f"{module}::{name.partition('[')[0]}" in SLOW:
        marks.append("slow")
    return marks


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """Before ``-m`` selects: the folder markers, and the fresh-clone skip."""
    fresh = config.getoption("--fresh-clone") or os.environ.get("KS_FRESH_CLONE") == "1"
    skip = pytest.mark.skip(reason="fresh-clone end-to-end test: needs --fresh-clone "
                                   "(make test passes it)")
    for item in items:
        for mark in markers_for(Path(str(item.path)), item.name):
            item.add_marker(mark)
        if not fresh and "fresh_clone" in item.keywords:
            item.add_marker(skip)

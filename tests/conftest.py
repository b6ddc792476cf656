"""Shared test setup: the pytester plugin and the CPU matrix.

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
from typing import List

import pytest

# The keystone_py plugin itself is loaded through its pytest11 entry point.
pytest_plugins = ["pytester"]


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
        help="also run the fresh-clone end-to-end test (tests/test_fresh_python.py): "
             "`make run` in a git clone of HEAD with its own new .venv, everything built "
             "from scratch (about 10 minutes; `make test` passes this option, "
             "`make test FRESH_CLONE=` does not). KS_FRESH_CLONE=1 does the same.")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cpu" in metafunc.fixturenames:
        names = metafunc.config.getoption("cpu") or list(CPUS)
        metafunc.parametrize("cpu", [CPUS[n] for n in names], ids=names)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "fresh_clone: end-to-end test of a clean clone; runs only with "
                   "--fresh-clone (or KS_FRESH_CLONE=1)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--fresh-clone") or os.environ.get("KS_FRESH_CLONE") == "1":
        return
    skip = pytest.mark.skip(reason="fresh-clone end-to-end test: needs --fresh-clone "
                                   "(make test passes it)")
    for item in items:
        if "fresh_clone" in item.keywords:
            item.add_marker(skip)

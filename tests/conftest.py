"""Shared test setup: the pytester plugin and the CPU matrix.

A test that takes the ``cpu`` argument runs once per CPU model of QEMU 7.2's
``virt`` harts below (``--cpu NAME``, repeatable, picks a subset):

* ``default``: QEMU's default hart, rv64 with H and Sstc;
* ``sstc=false``: no Sstc, so the SM drives the supervisor timer through the
  CLINT's mtimecmp;
* ``h=false``: no hypervisor extension.
"""

from __future__ import annotations

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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cpu" in metafunc.fixturenames:
        names = metafunc.config.getoption("cpu") or list(CPUS)
        metafunc.parametrize("cpu", [CPUS[n] for n in names], ids=names)

"""Robustness from the Linux host, on our SM with four harts: thousands of
enclave create/run/destroy cycles give every byte and every SM slot back,
and four processes, one per hart, each keep an enclave making ocalls under
the kernel's 1 kHz timer (CONFIG_HZ_1000) with no ocall lost or duplicated.

CI runs a short version (1,000 cycles, 10 s of ocalls); KS_LONG=1 runs the
long one (10,000 cycles, a minute of ocalls)."""

from __future__ import annotations

import os
import re

import pytest

from .guests import module_guest

LONG = os.environ.get("KS_LONG") == "1"
#: ks-demo's allowance for /proc/meminfo drift with nothing leaked (kB).
MEM_TOLERANCE_KB = 256
CYCLES = re.compile(r"^cycles: (?P<n>\d+) done, failures (?P<failures>\d+), MemFree before "
                    r"(?P<mem0>\d+) after (?P<mem1>\d+) kB, CmaFree before (?P<cma0>\d+) after "
                    r"(?P<cma1>\d+) kB, slots before (?P<slots0>\d+) after (?P<slots1>\d+)$", re.M)
SOAK = re.compile(r"^soak\[(?P<i>\d)\]: ocalls (?P<ocalls>\d+) interrupts (?P<irq>\d+) "
                  r"(?P<verdict>ok|FAIL) \(cpu (?P<cpu>\S+), lost (?P<lost>\d+), duplicated "
                  r"(?P<dup>\d+), enclave counted (?P<counted>\d+)\)$", re.M)
SOAK_TOTAL = re.compile(r"^soak: 4 of 4 processes ok over (\d+) s: ocalls (\d+) checked, "
                        r"interrupts (\d+), none lost or duplicated: ok$", re.M)


@pytest.fixture(scope="module")
def guest(ks_paths, ks_linux):
    """One Linux guest with four harts for the module."""
    yield from module_guest(ks_paths, ks_linux, smp=4, logs="linux_robustness",
                            name="robustness-smp4")


def test_create_destroy_cycles_give_back_memory_and_slots(guest):
    cycles = 10_000 if LONG else 1_000
    # Every 100th cycle's EPM (5 MiB) comes from CMA, the others from the buddy allocator.
    run = guest.run(f"/bin/ks-demo cycles {cycles} --large-every 100",
                    timeout=120 + cycles * 0.2)
    assert run.status == 0, str(run)
    m = CYCLES.search(run.output)
    assert m, str(run)
    got = {k: int(v) for k, v in m.groupdict().items()}
    assert got["n"] == cycles and got["failures"] == 0, got
    assert got["mem0"] - got["mem1"] <= MEM_TOLERANCE_KB, got
    assert got["cma0"] - got["cma1"] <= MEM_TOLERANCE_KB, got
    assert got["slots0"] == got["slots1"] > 0, got
    assert f"cycles: {cycles // 100} of them from CMA" in run.output, str(run)
    assert "cycles: ok" in run.output
    print(m.group(0))
    print(re.search(r"^cycles: \d+ of them from CMA.*$", run.output, re.M).group(0))


def test_four_harts_of_ocalls_lose_and_duplicate_none(guest):
    secs = 60 if LONG else 10
    run = guest.run(f"/bin/ks-demo soak {secs}", timeout=240 + secs * 3)
    assert run.status == 0, str(run)
    procs = [m.groupdict() for m in SOAK.finditer(run.output)]
    assert len(procs) == 4, str(run)
    assert sorted(p["cpu"] for p in procs) == ["0", "1", "2", "3"], procs  # one per hart
    for p in procs:
        assert p["verdict"] == "ok" and p["lost"] == "0" and p["dup"] == "0", p
        assert int(p["ocalls"]) == int(p["counted"]) > 0, p  # the enclave agrees
    assert sum(int(p["irq"]) for p in procs) > 0  # the timer stopped them mid-run
    assert "soak: 4 enclaves ran at the same time" in run.output, str(run)
    total = SOAK_TOTAL.search(run.output)
    assert total and int(total.group(1)) == secs, str(run)
    assert int(total.group(2)) == sum(int(p["ocalls"]) for p in procs)
    for line in run.lines:
        if line.startswith("soak"):
            print(line)

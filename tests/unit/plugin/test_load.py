"""The CPU-load fixture: one busy loop per CPU during the test, none after it,
whatever way the test or the test process ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from keystone_py.pytest_plugin.load import saturated_cpus


def alive(pid: int) -> bool:
    """Whether `pid` exists and is no zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def cpu_ticks(pid: int) -> int:
    """User + system clock ticks `pid` has run (/proc/PID/stat fields 14, 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_until(cond, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_one_spinner_per_cpu_runs_and_is_gone_after_the_block():
    with saturated_cpus() as load:
        pids = load.pids
        assert len(pids) == os.cpu_count()
        assert load.running() == len(pids)
        # Each one runs (takes CPU time), it does not sleep.
        assert wait_until(lambda: all(cpu_ticks(p) > 0 for p in pids)), pids
    assert not any(alive(p) for p in pids), pids


def test_spinners_are_killed_when_the_block_raises():
    pids = []
    try:
        with saturated_cpus(2) as load:
            pids = load.pids
            raise RuntimeError("the test failed")
    except RuntimeError:
        pass
    assert len(pids) == 2 and not any(alive(p) for p in pids), pids


def test_spinners_die_with_a_test_process_that_is_killed():
    code = ("import sys, time\n"
            "from keystone_py.pytest_plugin.load import saturated_cpus\n"
            "with saturated_cpus(2) as load:\n"
            "    print(*load.pids, flush=True)\n"
            "    time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 2 and all(alive(p) for p in pids), pids
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert wait_until(lambda: not any(alive(p) for p in pids)), pids


FIXTURE_TEST = """
import os
from pathlib import Path

def test_under_load(ks_cpu_load):
    Path("pids").write_text(" ".join(map(str, ks_cpu_load.pids)))
    assert ks_cpu_load.running() == os.cpu_count()
    assert False, "fails on purpose"
"""


def test_the_fixture_loads_every_cpu_and_cleans_up_after_a_failed_test(pytester):
    pytester.makepyfile(test_sample=FIXTURE_TEST)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*fails on purpose*"])
    pids = [int(p) for p in (pytester.path / "pids").read_text().split()]
    assert len(pids) == os.cpu_count()
    assert not any(alive(p) for p in pids), pids

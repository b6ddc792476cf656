"""Eyrie's own time slice on our SM (issue 16): unmodified Eyrie arms
``set_timer(time + 10000)`` (1 ms) through the legacy SBI and re-arms it as it
returns to the eapp. Our runtime does the same when the host asks
(``keystone_abi::eyrie::slice``); the payload host (``-append runtime
slice=10000``) then arms no timer of its own, so every INTERRUPTED it sees is
the enclave's own request. The SM must stop the enclave at that request and
consume it: loop and fibonacci then run to Keystone's values, with and
without Sstc, on 1 and 4 harts. Had the request stayed pending (the livelock
issue 16 saw with unmodified Eyrie), every RESUME would come straight back
INTERRUPTED and the host would give up after its stop limit.
"""

from __future__ import annotations

import re

import pytest

from keystone_py.contract import PAYLOAD_DONE, PLAN, SM_BANNER
from keystone_py.qemu.payload import runtime_args, runtime_files
from keystone_py.tap import parse_tap

EAPPS = ("loop", "fibonacci", "untrusted")
EXPECTED = {"loop": 54321, "fibonacci": 14930352, "untrusted": 13}
#: Eyrie's slice: 10000 ticks of the 10 MHz timer.
EYRIE_SLICE = 10_000
CPUS = {"sstc": None, "no-sstc": "rv64,sstc=false"}
RESULT = re.compile(r"ok \d+ - eapp (\S+) returns (\d+) \(interrupts (\d+), ocalls (\d+)\)")


@pytest.fixture(scope="module")
def files(ks_enclave):
    return runtime_files(ks_enclave, EAPPS)


def _boot(machine_factory, files, name: str, smp: int, cpu: str | None, append_extra: str):
    extra, append = runtime_args(files)
    if cpu:
        extra += ["-cpu", cpu]
    with machine_factory(name=name, smp=smp, extra_args=extra,
                         append=f"{append} {append_extra}") as m:
        m.expect(SM_BANNER, timeout=20)
        m.expect(PLAN, timeout=600)
        m.expect(PAYLOAD_DONE, timeout=10)
        status = m.wait_exit(timeout=20)
    return m.console_text, status


@pytest.mark.parametrize("smp", [1, 4])
@pytest.mark.parametrize("model", list(CPUS), ids=list(CPUS))
def test_eyrie_slice_runs_loop_and_fibonacci_to_their_values(machine_factory, files, model, smp):
    text, status = _boot(machine_factory, files, f"slice-{model}-{smp}", smp, CPUS[model],
                         f"slice={EYRIE_SLICE}")
    assert f"Eyrie's time slice of {EYRIE_SLICE} ticks, no host timer" in text
    report = parse_tap(text)
    assert not report.failed, report.summary() + text[-3000:]
    results = {m.group(1): tuple(int(x) for x in m.group(2, 3, 4))
               for m in RESULT.finditer(text)}
    assert list(results) == list(EAPPS), text[-3000:]
    for name, want in EXPECTED.items():
        assert results[name][0] == want, (name, results[name])
    # With no host timer, these stops are the enclave's own slice.
    assert results["loop"][1] >= 1 and results["fibonacci"][1] >= 1, results
    assert results["untrusted"][2] == 5, results
    assert status == 0


def test_a_bad_slice_request_is_refused(machine_factory, files):
    text, status = _boot(machine_factory, files, "slice-bad", 1, None, "slice=soon")
    assert re.search(r"^not ok \d+ - runtime: slice= is a tick count", text, re.M), text[-2000:]
    assert status != 0

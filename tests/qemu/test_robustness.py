"""Robustness: the SM answers thousands of hostile random calls with
documented codes and keeps serving, while the host also sets random H/VS CSR
values (where the harts have H) and the other hart makes random HSM calls,
on every CPU model of the matrix (conftest.py). CI runs a short version; set
KS_LONG=1 for the long one."""

from __future__ import annotations

import os
import re

import pytest

from keystone_py.contract import NOT_OK, PAYLOAD_DONE, SM_BANNER
from keystone_py.tap import parse_tap

LONG = os.environ.get("KS_LONG") == "1"


@pytest.mark.parametrize("seed", [1, 20261127])
def test_random_sbi_and_sm_calls_get_documented_answers_and_the_sm_keeps_serving(
        machine_factory, cpu, seed):
    calls = 1_000_000 if LONG else 20_000
    with machine_factory(name=f"fuzz-{cpu}-{seed}", smp=2, extra_args=cpu.args,
                         append=f"fuzz={calls} seed={seed}") as m:
        m.expect(SM_BANNER, timeout=20)
        m.expect(PAYLOAD_DONE, fail=[NOT_OK], timeout=600 if LONG else 120)
        assert m.wait_exit(timeout=30) == 0
    text = m.console_text
    report = parse_tap(text)
    # 7 checks: answers, H/VS values (SKIP without H), HSM answers, EPM probes,
    # victim runs, destroyed, a new enclave.
    assert report.all_ok and len(report.passed) == 7, report.summary()
    counts = re.search(r"fuzz: (\d+) calls from seed (\d+): .*; 0 undocumented answers", text)
    assert counts and int(counts.group(1)) == calls
    print(counts.group(0))

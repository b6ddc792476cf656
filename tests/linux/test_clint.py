"""Linux keeps time without the CLINT: the SM closes it to S/U-mode (PMP) and
marks its device-tree node disabled, so the kernel times through the time
CSR and Sstc, or SBI TIME (which, without Sstc, the SM drives through
mtimecmp from M-mode), and sends IPIs through SBI.

On 1 and 4 harts, with and without Sstc: the guest boots with every hart,
`sleep 200` on each CPU ends, CLOCK_MONOTONIC advances at least the 200 ms
asked for and never more than the time CSR (the CLINT's mtime) did around
it (the readings nest), and a /dev/mem read of mtime faults. No wall-clock
rate is assumed: the harness only bounds how long the whole boot may take."""

import re

import pytest

from keystone_py.qemu.guest import LinuxGuest

BOOT_TIMEOUT = 180
CLINT_MTIME = 0x0200_BFF8
SLEEP_MS = 200
#: The time CSR's rate on QEMU virt (the device tree's timebase-frequency).
TICKS_PER_MS = 10_000
SLEEP_LINE = r"sleep cpu (\d+): (\d+) ms, time \+(\d+), monotonic \+(-?\d+) ns"


@pytest.mark.parametrize("smp", [1, 4])
@pytest.mark.parametrize("cpu_model", ["default", "sstc=false"])
def test_linux_keeps_time_on_every_hart_without_the_clint(linux_machine, cpu_model, smp):
    extra = [] if cpu_model == "default" else ["-cpu", "rv64,sstc=false"]
    with linux_machine(firmware="ours", smp=smp, extra_args=extra,
                       name=f"clint-{cpu_model}-smp{smp}") as m:
        guest = LinuxGuest(m)
        ready = guest.wait_ready(timeout=BOOT_TIMEOUT)
        guest.wait_prompt()
        slept = guest.command(f"sleep {SLEEP_MS}", timeout=60 * smp)
        peek = guest.peek(CLINT_MTIME)
        status = guest.poweroff()
    assert ready.cpus == smp, ready.text
    rows = [tuple(int(g) for g in r) for r in re.findall(SLEEP_LINE, slept)]
    assert sorted(r[0] for r in rows) == list(range(smp)), slept
    for cpu, ms, ticks, ns in rows:
        assert ms == SLEEP_MS, slept
        # The sleep lasted at least what was asked, by the kernel's clock ...
        assert ns >= SLEEP_MS * 1_000_000, f"cpu {cpu}: monotonic +{ns} ns"
        # ... which moved no further than mtime did around it (1 tick of rounding).
        assert ns <= (ticks + 1) * 1_000_000 // TICKS_PER_MS, \
            f"cpu {cpu}: monotonic +{ns} ns but time +{ticks} ticks"
    assert peek.fault, peek
    assert peek.value is None, peek
    assert status == 0

"""Linux 6.1 (Debian's source, our config) boots to /init on our SM and on OpenSBI."""

import re

import pytest

from keystone_py.contract import INIT_CPUS
from keystone_py.qemu.guest import LinuxGuest

SM_BASE = 0x8000_0000
SM_LAST_PAGE = 0x801F_F000  # the last 4 KiB page of the SM's 2 MiB region
KERNEL_BASE = 0x8020_0000  # where fw_jump (and our SM) start the kernel
BOOT_TIMEOUT = 180


@pytest.mark.parametrize("smp", [1, 4])
@pytest.mark.parametrize("firmware", ["ours", "opensbi"])
def test_linux_boots_to_init_with_every_hart_online_and_powers_off(linux_machine, firmware,
                                                                   smp):
    with linux_machine(firmware=firmware, smp=smp, script=["cpus", "poweroff"],
                       name=f"{firmware}-smp{smp}") as m:
        ready = LinuxGuest(m).wait_ready(timeout=BOOT_TIMEOUT)
        cpus = m.expect(INIT_CPUS, timeout=60)
        status = m.wait_exit(timeout=60)
    late = re.findall(r"CPU\d+: failed to come online", m.console_text)
    assert ready.cpus == smp, f"{ready.text}; kernel: {late or 'no CPU bring-up error'}"
    assert int(cpus.group(1)) == smp
    assert "init: powering off" in m.console_text
    assert status == 0


@pytest.mark.parametrize("firmware", ["ours", "opensbi"])
def test_user_mode_reads_the_time_csr(linux_machine, firmware):
    """Linux's vDSO (clock_gettime) reads `time` from U-mode: the firmware must
    leave mcounteren.TM and scounteren.TM set (OpenSBI sets scounteren = 7)."""
    with linux_machine(firmware=firmware, script=["time", "poweroff"], name=firmware) as m:
        ready = LinuxGuest(m).wait_ready(timeout=BOOT_TIMEOUT)
        answer = m.expect(r"time: (\d+|unreadable[^\r\n]*)\r?\n", timeout=60)
        m.wait_exit(timeout=60)
    assert ready.time is not None and ready.time > 0, ready.text
    assert answer.group(1).isdigit() and int(answer.group(1)) >= ready.time, answer.group(0)


@pytest.mark.parametrize("addr", [SM_BASE, SM_LAST_PAGE], ids=["sm_base", "sm_last_page"])
def test_guest_cannot_read_the_sm_region(linux_machine, ks_paths, addr):
    with linux_machine(firmware="ours", name=f"peek-{addr:#x}") as m:
        guest = LinuxGuest(m)
        guest.wait_ready(timeout=BOOT_TIMEOUT)
        guest.wait_prompt()
        peek = guest.peek(addr)
        assert guest.poweroff() == 0
    assert peek.fault, peek
    assert peek.value is None
    # Never the SM's bytes: its first 8 bytes do not show up as a value anywhere.
    sm_head = int.from_bytes(ks_paths.sm_bin.read_bytes()[:8], "little")
    assert f"{sm_head:016x}" not in m.console_text


@pytest.mark.parametrize("firmware", ["ours", "opensbi"])
def test_guest_reads_the_kernel_image_in_normal_ram(linux_machine, ks_linux, firmware):
    with linux_machine(firmware=firmware, name=firmware) as m:
        guest = LinuxGuest(m)
        guest.wait_ready(timeout=BOOT_TIMEOUT)
        guest.wait_prompt()
        peek = guest.peek(KERNEL_BASE)
        assert guest.poweroff() == 0
    image = ks_linux.linux_image.read_bytes()[:8]
    assert not peek.fault, peek
    assert peek.value == int.from_bytes(image, "little"), peek


def test_unknown_init_command_gets_an_error_line_and_the_prompt_keeps_serving(linux_machine):
    with linux_machine(firmware="ours", smp=1, name="prompt") as m:
        guest = LinuxGuest(m)
        guest.wait_ready(timeout=BOOT_TIMEOUT)
        guest.wait_prompt()
        bad = guest.command("frobnicate 42")
        echo = guest.command("echo still serving")
        cpus = guest.command("cpus")
        status = guest.poweroff()
    assert re.fullmatch(r"init: unknown command 'frobnicate 42' \(.*\)", bad), bad
    assert echo == "still serving"
    assert cpus == "cpus online: 1"
    assert status == 0

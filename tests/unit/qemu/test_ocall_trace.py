"""ocall_trace's classification of QEMU exec-log lines into worlds."""

from __future__ import annotations

from keystone_py.qemu.ocall_trace import classify


def line(pc: int, priv: int) -> str:
    # QEMU 7.2: Trace cpu: tb [cs_base/pc/flags/cflags] symbol; flags' low bits = privilege.
    return f"Trace 0: 0x7f0000001000 [0000000000000000/{pc:016x}/{0x209000 | priv:08x}/ff020201] \n"


def test_worlds_are_told_apart_by_privilege_address_and_the_last_s_world(tmp_path):
    log = tmp_path / "exec.log"
    rows = [
        line(0xFFFF_FFFF_8000_1000, 1),  # linux, before the first eapp instruction
        line(0xFFFF_FFFF_C000_0100, 1),  # runtime
        line(0x10000, 0),                # eapp: the window starts here
        line(0xFFFF_FFFF_C000_0104, 1),  # runtime
        line(0x8000_1000, 3),            # SM
        line(0x8000_1004, 3),            # SM
        line(0xFFFF_FFFF_8000_2000, 1),  # linux
        line(0xFFFF_FFFF_002D_E000, 1),  # driver (module area)
        line(0x12345, 0),                # host (U after Linux)
        line(0x12349, 0),                # host
        "Stopped execution of TB chain before 0x7f0000001000 [ffffffff80027f8a]\n",
        line(0xFFFF_FFFF_C000_0108, 1),  # runtime
        line(0x10004, 0),                # eapp: the window ends here
        line(0xFFFF_FFFF_8000_3000, 1),  # linux, after the window: not counted
    ]
    log.write_text("".join(rows))
    counts, pcs = classify(log)
    assert dict(counts) == {"eapp": 2, "runtime": 2, "SM": 2, "linux": 1, "driver": 1,
                            "host": 2}
    assert pcs["host"][0x12345] == 1 and pcs["eapp"][0x10004] == 1


def test_a_log_without_eapp_instructions_counts_nothing(tmp_path):
    log = tmp_path / "exec.log"
    log.write_text(line(0xFFFF_FFFF_8000_1000, 1) + line(0x12345, 0))
    counts, _ = classify(log)
    assert not counts


def test_a_zcore_trace_splits_the_kernel_into_the_device_and_the_rest(tmp_path):
    log = tmp_path / "exec.log"
    device = range(0xFFFF_FFC0_8030_0000, 0xFFFF_FFC0_8030_1000)
    rows = [
        line(0xFFFF_FFFF_C000_0100, 1),  # runtime, before the window
        line(0x10000, 0),                # eapp: the window starts here
        line(0x8000_1000, 3),            # SM
        line(0xFFFF_FFC0_8020_0000, 1),  # zcore (syscall path)
        line(0xFFFF_FFC0_8030_0010, 1),  # device
        line(0xFFFF_FFC0_8030_0014, 1),  # device
        line(0x12345, 0),                # host (U after zCore)
        line(0xFFFF_FFFF_C000_0108, 1),  # runtime
        line(0x10004, 0),                # eapp: the window ends here
    ]
    log.write_text("".join(rows))
    counts, _ = classify(log, kernel="zcore", device=lambda pc: pc in device)
    assert dict(counts) == {"eapp": 2, "SM": 1, "zcore": 1, "device": 2, "host": 1,
                            "runtime": 1}

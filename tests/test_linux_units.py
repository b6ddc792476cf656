"""Pure-Python unit tests of the Linux side: command lines, /init answers, the
initramfs writer, bench parsing and its table. No QEMU."""

import stat
from pathlib import Path

import pytest

from keystone_py.bench import BenchReport, LinuxRun, PayloadRun, parse_bench_lines
from keystone_py.errors import KeystoneError
from keystone_py.firmware import firmware_label, resolve_firmware
from keystone_py.guest import encode_script, kernel_cmdline, parse_peeks, parse_ready
from keystone_py.initramfs import Initramfs, base_image
from keystone_py.machine import Machine

# -- kernel command line -----------------------------------------------------------------


def test_script_commands_turn_spaces_into_plus_and_join_with_commas():
    assert encode_script(["cpus", "peek 0x80000000", "poweroff"]) == \
        "cpus,peek+0x80000000,poweroff"


@pytest.mark.parametrize("bad", ["a,b", "a+b", "", "two  spaces", "tab\there"])
def test_script_commands_that_init_cannot_split_back_are_refused(bad):
    with pytest.raises(KeystoneError, match="ks.script command"):
        encode_script([bad])


def test_cmdline_has_the_serial_console_then_the_script_then_extras():
    assert kernel_cmdline(["cpus"], "quiet") == "console=ttyS0 earlycon ks.script=cpus quiet"
    assert kernel_cmdline("cpus,peek+0x1") == "console=ttyS0 earlycon ks.script=cpus,peek+0x1"
    assert kernel_cmdline() == "console=ttyS0 earlycon"
    with pytest.raises(KeystoneError, match="no white space"):
        kernel_cmdline("cpus, poweroff")


# -- /init answers -----------------------------------------------------------------------


def test_ready_marker_gives_cpus_time_and_instructions_under_icount_0():
    ready = parse_ready("junk\nkeystone-init: ready, 4 cpus online, time 727495\n")
    assert (ready.cpus, ready.time) == (4, 727495)
    assert ready.instructions(0) == 72_749_500
    assert ready.instructions(None) is None  # without -icount the clock is wall time


def test_ready_marker_with_unreadable_time_has_no_time():
    ready = parse_ready("keystone-init: ready, 1 cpus online, time unreadable (rdtime trapped)")
    assert ready.cpus == 1 and ready.time is None and ready.instructions(0) is None


def test_no_ready_marker_parses_to_none():
    assert parse_ready("Kernel panic - not syncing: No working init found.") is None


def test_peek_answers_parse_to_value_fault_or_error():
    text = ("peek 0x80200000: value 0x00010c60106f5a4d\n"
            "peek 0x80000000: fault (signal 11)\n"
            "peek 0x1: mmap refused: Operation not permitted\n")
    ok, fault, refused = parse_peeks(text)
    assert ok.addr == 0x8020_0000 and ok.value == 0x10c60106f5a4d and not ok.fault
    assert fault.addr == 0x8000_0000 and fault.fault and fault.signal == 11
    assert fault.value is None
    assert refused.error.startswith("mmap refused") and not refused.fault


# -- firmware choice --------------------------------------------------------------------------


def test_firmware_ours_is_the_built_sm_and_unknown_files_are_refused(tmp_path):
    assert resolve_firmware("ours", {"sm_bin": "/x/sm_rs.bin"}) == Path("/x/sm_rs.bin")
    with pytest.raises(KeystoneError, match="not built"):
        resolve_firmware("ours", {})
    with pytest.raises(KeystoneError, match="no such file"):
        resolve_firmware(str(tmp_path / "nope.bin"), {})
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\0")
    assert resolve_firmware(str(fw), {}) == fw
    assert firmware_label(str(fw)) == "fw.bin" and firmware_label("opensbi") == "opensbi"


def test_icount_adds_one_icount_argument():
    m = Machine(firmware="fw.bin", qemu="/usr/bin/qemu-system-riscv64", log_dir="/x", icount=0)
    argv = m.build_argv(Path("s"), Path("q"), None)
    assert argv[argv.index("-icount") + 1] == "shift=0,sleep=off"
    m = Machine(firmware="fw.bin", qemu="/usr/bin/qemu-system-riscv64", log_dir="/x",
                icount="shift=2")
    assert m.build_argv(Path("s"), Path("q"), None)[-1] == "shift=2"
    m = Machine(firmware="fw.bin", qemu="/usr/bin/qemu-system-riscv64", log_dir="/x")
    assert "-icount" not in m.build_argv(Path("s"), Path("q"), None)


# -- initramfs (cpio newc) ----------------------------------------------------------------------


def read_newc(data: bytes):
    """A minimal newc reader: [(name, mode, rdevmajor, rdevminor, data)]."""
    out, off = [], 0
    while True:
        assert data[off:off + 6] == b"070701", off
        fields = [int(data[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = fields[11], fields[6]
        name_start = off + 110
        name = data[name_start:name_start + namesize - 1].decode()
        off = (name_start + namesize + 3) & ~3
        body = data[off:off + filesize]
        off = (off + filesize + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out.append((name, fields[1], fields[9], fields[10], body))


def test_initramfs_has_init_executable_and_dev_console(tmp_path):
    init = tmp_path / "init"
    init.write_bytes(b"\x7fELF fake")
    entries = {e[0]: e for e in read_newc(base_image(init).to_bytes())}
    name, mode, _, _, body = entries["init"]
    assert stat.S_ISREG(mode) and mode & 0o111 and body == b"\x7fELF fake"
    _, mode, major, minor, _ = entries["dev/console"]
    assert stat.S_ISCHR(mode) and (major, minor) == (5, 1)
    assert stat.S_ISDIR(entries["proc"][1]) and stat.S_ISDIR(entries["dev"][1])


def test_initramfs_is_byte_for_byte_reproducible(tmp_path):
    def image():
        return Initramfs().directory("bin").file("bin/x", b"abc", 0o755).to_bytes()
    assert image() == image()
    assert len(image()) % 4 == 0


# -- bench ----------------------------------------------------------------------------------------

BENCH_OUT = """payload: SBI conformance on hart 0 (bootargs "bench")\r
bench: sbi_null_call instret=151 ticks=1531 rounds=1000\r
bench: sbi_set_timer instret=173 ticks=1750 rounds=1000
bench: enclave_run_to_exit instret=3019 rounds=50
bench: done
"""


def test_bench_lines_parse_to_named_fields():
    got = parse_bench_lines(BENCH_OUT)
    assert got["sbi_null_call"] == {"instret": 151, "ticks": 1531, "rounds": 1000}
    assert got["enclave_run_to_exit"] == {"instret": 3019, "rounds": 50}
    assert "done" not in got


def test_bench_table_puts_firmware_side_by_side_and_marks_missing_figures():
    report = BenchReport(firmware={"ours": "/a", "opensbi": "/b"})
    report.payload = [PayloadRun("ours", parse_bench_lines(BENCH_OUT), 0.4, 0),
                      PayloadRun("opensbi", {"sbi_null_call": {"instret": 249}}, 0.1, 0)]
    report.linux = [LinuxRun("ours", 1, cpus=1, marker_ticks=700000,
                             marker_instructions=70_000_000, marker_wall_s=0.8, wall_s=0.9,
                             exit_status=0),
                    LinuxRun("opensbi", 1, cpus=1, marker_ticks=727495,
                             marker_instructions=72_749_500, marker_wall_s=0.8, wall_s=0.9,
                             exit_status=0)]
    table = report.format_table()
    null_row = next(line for line in table.splitlines() if "null call" in line)
    assert null_row.split()[-2:] == ["151", "249"]
    enclave_row = next(line for line in table.splitlines() if "world switch" in line)
    assert enclave_row.split()[-2:] == ["3019", "-"]
    ticks_row = next(line for line in table.splitlines() if "ticks" in line)
    assert ticks_row.split()[-2:] == ["700000", "727495"]
    assert "72.7 M" in table and report.ok
    assert '"sbi_null_call"' in report.to_json()


def test_bench_report_is_not_ok_when_a_run_failed():
    report = BenchReport(firmware={"ours": "/a"})
    report.linux = [LinuxRun("ours", 1, error="console timeout", exit_status=None)]
    assert not report.ok
    assert "error: linux on ours: console timeout" in report.format_table()

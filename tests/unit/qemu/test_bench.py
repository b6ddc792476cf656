"""``keystone-py bench``: parsing the payload's figures and the side-by-side table."""

from keystone_py.qemu.bench import BenchReport, LinuxRun, PayloadRun, parse_bench_lines

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

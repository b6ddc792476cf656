"""``keystone-py bench``: parsing the payload's figures, the side-by-side table with
Keystone's figures (measured in the run, or recorded) and the ratio ours/Keystone,
and the JSON."""

import json

import pytest

from keystone_py.qemu import reference
from keystone_py.qemu.bench import (
    PREEMPTION,
    BenchReport,
    LinuxRun,
    PayloadRun,
    parse_bench_lines,
    parse_switchless,
)
from keystone_py.qemu.phases import HOST, Breakdown

BENCH_OUT = """payload: SBI conformance on hart 0 (bootargs "bench")\r
bench: sbi_null_call instret=151 ticks=1531 rounds=1000\r
bench: sbi_set_timer instret=173 ticks=1750 rounds=1000
bench: enclave_run_to_exit instret=3019 rounds=50
bench: enclave_preemption_round_trip instret=1480 interrupts_p100=19801 interrupts_p400=4950 \
total_p100=33308044 total_p400=11328724
bench: create_epm_16 bytes=65536 pages=16 create_per_page=406283 destroy_per_page=1624 \
sha3_per_page=403367
bench: create_epm_26 bytes=67108864 pages=16384 create_per_page=405587 destroy_per_page=1536 \
sha3_per_page=403001
bench: done
"""
SSTC_OFF_OUT = """bench: sbi_null_call instret=160 ticks=1600 rounds=1000
bench: enclave_preemption_round_trip instret=1100 interrupts_p100=19801 interrupts_p400=4950 \
total_p100=33000000 total_p400=11000000
bench: done
"""


def _row(table: str, text: str) -> list:
    return next(line for line in table.splitlines() if text in line).split()


def _report() -> BenchReport:
    report = BenchReport(firmware={"ours": "/a", "opensbi": "/b"})
    report.payload = [PayloadRun("ours", parse_bench_lines(BENCH_OUT), 0.4, 0),
                      PayloadRun("ours", parse_bench_lines(SSTC_OFF_OUT), 0.4, 0,
                                 cpu=reference.PREEMPTION_CPU),
                      PayloadRun("opensbi", {"sbi_null_call": {"instret": 249}}, 0.1, 0)]
    report.linux = [LinuxRun("ours", 1, cpus=1, marker_ticks=700000,
                             marker_instructions=70_000_000, marker_wall_s=0.8, wall_s=0.9,
                             exit_status=0, ocall_round_trip=1678,
                             hello_create_run_destroy=8_386_000),
                    LinuxRun("opensbi", 1, cpus=1, marker_ticks=727495,
                             marker_instructions=72_749_500, marker_wall_s=0.8, wall_s=0.9,
                             exit_status=0)]
    return report


def test_bench_lines_parse_to_named_fields():
    got = parse_bench_lines(BENCH_OUT)
    assert got["sbi_null_call"] == {"instret": 151, "ticks": 1531, "rounds": 1000}
    assert got["enclave_run_to_exit"] == {"instret": 3019, "rounds": 50}
    assert "done" not in got


def test_the_preemption_line_parses_with_its_interrupt_counts():
    got = parse_bench_lines(BENCH_OUT)[PREEMPTION]
    assert got == {"instret": 1480, "interrupts_p100": 19801, "interrupts_p400": 4950,
                   "total_p100": 33308044, "total_p400": 11328724}
    assert "enclave_timer_stop_resume" not in parse_bench_lines(BENCH_OUT)
    # The payload's failure form parses too, without an instret (no row figure).
    assert parse_bench_lines(f"bench: {PREEMPTION} error=2\n") == {PREEMPTION: {"error": 2}}


def test_ratio_is_ours_over_keystone_and_missing_when_either_is():
    assert reference.ratio(987, 1974) == pytest.approx(0.5)
    assert reference.ratio(None, 1974) is None
    assert reference.ratio(987, None) is None
    assert reference.ratio(1, 0) is None


def test_the_reference_covers_every_compared_operation():
    for key in ("sbi_null_call", "sbi_probe_extension", "sbi_set_timer",
                "sbi_unknown_extension", "enclave_run_to_exit", "enclave_edge_call_round_trip",
                PREEMPTION, "create_epm_16.create_per_page", "create_epm_26.create_per_page",
                "create_epm_16.destroy_per_page", "create_epm_26.destroy_per_page",
                "enclave_attest", "enclave_sealing_key", "linux.ocall_round_trip",
                "linux.hello_create_run_destroy", "linux.marker_instructions"):
        assert reference.KEYSTONE[key] > 0, key
    assert "88c49ee" in reference.SOURCE and "OpenSBI 1.1" in reference.SOURCE


def test_comparisons_pair_each_figure_with_keystones_and_the_ratio():
    rows = {c.key: c for c in _report().comparisons()}
    null = rows["sbi_null_call"]
    assert (null.ours, null.values["opensbi"], null.keystone) == (151, 249, 249)
    assert null.ratio == pytest.approx(151 / 249)
    # Keystone's preemption figure is for sstc=false: ours from that run, not the default.
    pre = rows[PREEMPTION]
    assert (pre.ours, pre.keystone, pre.cpu) == (1100, 2335, "rv64,sstc=false")
    assert rows["create_epm_26.destroy_per_page"].ratio == pytest.approx(1536 / 12288)
    assert rows["linux.ocall_round_trip"].ratio == pytest.approx(0.5, abs=0.001)
    assert rows["enclave_edge_call_round_trip"].ratio is None  # not in this run


def test_table_has_the_keystone_column_and_the_ratio():
    table = _report().format_table()
    header = table.splitlines()[0]
    assert reference.LABEL in header and "ours/Keystone" in header
    assert _row(table, "null call")[-4:] == ["151", "249", "249", "0.61x"]
    assert _row(table, "world switch")[-4:] == ["3019", "-", "1974", "1.53x"]
    default_cpu = _row(table, "preemption round trip (timer -> INTERRUPTED -> RESUME), default")
    assert default_cpu[-4:] == ["1480", "-", "-", "-"]
    sstc_off = _row(table, "RESUME), -cpu rv64,sstc=false")
    assert sstc_off[-4:] == ["1100", "-", "2335", "0.47x"]
    assert _row(table, "DESTROY per 4 KiB page, 64 MiB EPM")[-4:] == ["1536", "-", "12288",
                                                                       "0.12x"]
    assert _row(table, "ocall round trip")[-4:] == ["1678", "-", "3355", "0.50x"]
    assert "timer stop" not in table
    assert reference.SOURCE in table


def test_boot_row_compares_instructions_with_keystones_boot():
    row = _row(_report().format_table(), "~instructions")
    assert row[-7:] == ["70.0", "M", "72.7", "M", "71.4", "M", "0.98x"]


def test_json_has_the_reference_the_comparison_and_the_phases():
    report = _report()
    report.phases = [Breakdown("enclave_run_to_exit", {HOST: 20, "trap vector: GPR save": 60})]
    data = json.loads(report.to_json())
    assert {"keystone_reference", "comparison", "phases", "payload", "linux"} <= set(data)
    assert data["keystone_reference"]["source"] == reference.SOURCE
    assert data["keystone_reference"]["figures"]["enclave_run_to_exit"] == 1974
    null = next(c for c in data["comparison"] if c["key"] == "sbi_null_call")
    assert null["values"] == {"ours": 151, "opensbi": 249} and null["keystone"] == 249
    assert null["ratio_ours_keystone"] == pytest.approx(0.6064, abs=1e-4)
    assert data["phases"] == [{"name": "enclave_run_to_exit", "total": 80, "sm_total": 60,
                               "phases": {HOST: 20, "trap vector: GPR save": 60}}]
    assert [r["cpu"] for r in data["payload"]] == [None, "rv64,sstc=false", None]
    assert "per-phase breakdown" in report.format_table()


def test_without_phases_the_json_says_null():
    assert json.loads(_report().to_json())["phases"] is None


def test_a_failed_phase_trace_fails_the_report():
    report = _report()
    report.phases, report.phases_error = [], "2 operations announced, 1 traced"
    assert not report.ok
    assert "error: phases on ours: 2 operations announced" in report.format_table()


SWITCHLESS_OUT = """bench: ocall round trip: 100 ticks for 10 ocalls = 3385 ns each
bench: switchless round trip: median 12 ticks = 1200 ns (p10 11, p90 14 ticks) over 10000 \
calls; ordinary ocall median 40 ticks = 4000 ns (p10 38, p90 45 ticks) over 10000 calls; \
ratio 0.300 (-smp 4, 1 worker)\r
bench: switchless own instructions: median 310 per call (min 301; instret of the enclave's \
hart, spin excluded; 0 calls fell back)
bench: switchless throughput: 1 workers: 5000 calls in 10000000 ticks = 5000 calls/s of guest \
time (0 failed, -smp 4)
bench: switchless throughput: 3 workers: 12000 calls in 10000000 ticks = 12000 calls/s of \
guest time (0 failed, -smp 4)
bench: switchless round_trip_ns=1200 calls=10000 mode=latency
bench: switchless round_trip_ns=1300 calls=10000 mode=latency
"""


def test_switchless_lines_parse_tolerantly_by_topic():
    got = parse_switchless(SWITCHLESS_OUT)
    rt = got["round trip"]
    assert (rt["median_ns"], rt["ordinary_median_ns"], rt["ratio"], rt["smp"]) == \
        (1200, 4000, 0.3, 4)
    assert got["own instructions"]["median_instructions"] == 310
    assert got["own instructions"]["fell_back"] == 0
    assert got["throughput 1 workers"]["calls_per_s"] == 5000
    assert got["throughput 3 workers"]["calls_per_s"] == 12000
    kv = got["figures"]
    assert kv["round_trip_ns"] == 1200 and kv["mode"] == "latency"
    assert got["figures #2"]["round_trip_ns"] == 1300
    assert parse_switchless("bench: hello create 1 ns, run 1 ns, destroy 1 ns, total 3 ns") == {}


def test_skipped_switchless_lines_are_marked_and_carry_no_figures():
    got = parse_switchless("bench: switchless round trip: skipped (needs 2 harts, have 1)\n")
    assert got == {"round trip": {"text": "skipped (needs 2 harts, have 1)", "skipped": True}}


def test_switchless_lines_are_printed_as_the_guest_wrote_them():
    report = _report()
    report.linux[0].switchless = parse_switchless(SWITCHLESS_OUT)
    table = report.format_table()
    assert "switchless ocalls (ks-demo bench on ours, as printed):" in table
    assert "throughput 3 workers: 12000 calls in 10000000 ticks = 12000 calls/s" in table
    assert "switchless" not in _report().format_table()


def test_bench_report_is_not_ok_when_a_run_failed():
    report = BenchReport(firmware={"ours": "/a"})
    report.linux = [LinuxRun("ours", 1, error="console timeout", exit_status=None)]
    assert not report.ok
    assert "error: linux on ours: console timeout" in report.format_table()


def test_the_cpp_host_sdks_ocall_line_is_read_apart_from_the_rust_ones():
    from keystone_py.qemu.bench import CPP_OCALL_LINE, OCALL_LINE
    text = ("bench: ocall round trip: 15797 ticks for 1000 ocalls = 1579 ns each (host saw 1000)\n"
            "bench-cpp: ocall round trip: 15252 ticks for 1000 ocalls = 1525 ns each (host saw)\n")
    assert OCALL_LINE.search(text).group(1) == "1579"
    assert CPP_OCALL_LINE.search(text).group(1) == "1525"
    assert CPP_OCALL_LINE.search(text.splitlines()[0]) is None


# -- Keystone's SM measured in the same run (column "keystone") -----------------------------

KEYSTONE_OUT = """bench: sbi_null_call instret=249 ticks=2510 rounds=1000
bench: enclave_run_to_exit instret=1974 rounds=50
bench: enclave_preemption_round_trip error=2
bench: create_epm_16 bytes=65536 pages=16 create_per_page=1844868 destroy_per_page=12365 \
sha3_per_page=403367
bench: done
"""
KEYSTONE_SSTC_OFF_OUT = """bench: enclave_preemption_round_trip instret=2300 \
interrupts_p100=19801 interrupts_p400=4950 total_p100=1 total_p400=1
bench: done
"""


def _live_report() -> BenchReport:
    report = _report()
    report.firmware["keystone"] = "/build/keystone-sm/fw_jump.bin"
    report.keystone_source = "Keystone archive abc; OpenSBI archive def"
    report.payload += [PayloadRun("keystone", parse_bench_lines(KEYSTONE_OUT), 9.0, 0),
                       PayloadRun("keystone", parse_bench_lines(KEYSTONE_SSTC_OFF_OUT), 9.0, 0,
                                  cpu=reference.PREEMPTION_CPU)]
    report.linux.append(LinuxRun("keystone", 1, cpus=1, marker_ticks=10_951_861,
                                 marker_instructions=1_095_186_100, marker_wall_s=9.0,
                                 wall_s=14.0, exit_status=0, ocall_round_trip=2643,
                                 hello_create_run_destroy=47_630_800,
                                 switchless=parse_switchless(
                                     "bench: switchless skipped (--no-switchless)\n")))
    return report


def test_a_live_keystone_column_replaces_the_recorded_one():
    table = _live_report().format_table()
    header = table.splitlines()[0].split()
    assert header[-2:] == ["keystone", "ours/Keystone"]
    assert reference.LABEL not in table and reference.SOURCE not in table
    assert "measured in this run" in table
    # The ratio is over this run's Keystone figure, not the recorded one.
    assert _row(table, "world switch")[-4:] == ["3019", "-", "1974", "1.53x"]
    assert _row(table, "ocall round trip")[-4:] == ["1678", "-", "2643", "0.63x"]


def test_keystones_rows_it_cannot_run_say_why():
    table = _live_report().format_table()
    default_cpu = _row(table, "preemption round trip (timer -> INTERRUPTED -> RESUME), default")
    assert " ".join(default_cpu).endswith("1480 - n/a (never preempts with Sstc) -")
    sstc_off = _row(table, "RESUME), -cpu rv64,sstc=false")
    assert sstc_off[-4:] == ["1100", "-", "2300", "0.48x"]
    assert ("switchless ocalls (ks-demo bench on keystone): n/a (one hart: its SM never "
            "preempts the enclave for the worker (Sstc))") in table


def test_the_live_json_marks_keystones_figures_measured_and_leaves_out_the_recorded():
    data = json.loads(_live_report().to_json())
    assert data["keystone"]["live"] is True
    assert data["keystone"]["source"].startswith("Keystone archive")
    assert data["keystone_reference"] is None
    null = next(c for c in data["comparison"] if c["key"] == "sbi_null_call")
    assert null["values"]["keystone"] == 249 and null["keystone_kind"] == "measured"
    pre = next(c for c in data["comparison"] if c["key"] == PREEMPTION)
    assert (pre["values"]["keystone"], pre["cpu"]) == (2300, "rv64,sstc=false")


def test_without_keystones_sources_the_recorded_figures_stand_in_and_say_why():
    report = _report()
    report.keystone_missing = "KEYSTONE_SOURCES is not set"
    table = report.format_table()
    assert reference.LABEL in table.splitlines()[0]
    assert "Keystone's SM not measured live: KEYSTONE_SOURCES is not set" in table
    data = json.loads(report.to_json())
    assert data["keystone"]["live"] is False
    assert data["keystone"]["not_measured_because"] == "KEYSTONE_SOURCES is not set"
    assert data["keystone_reference"]["figures"]["enclave_run_to_exit"] == 1974

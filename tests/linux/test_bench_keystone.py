"""`keystone-py bench` with Keystone's C SM measured live (issue 26): Keystone's
SM built from its sources (``$KEYSTONE_SOURCES``, OpenSBI v1.1 from
``$KEYSTONE_OPENSBI_SOURCES``; keystone_py/build/keystone_sm.py) and run with
the same payload, Linux image and ``ks-demo bench`` as ours, in the same run.

The checks are that Keystone's rows were measured by this run: figures in the
JSON that its own console logs of this run print, its column in the table, and
"n/a (why)" where its SM cannot run a row. No timing is asserted. Without the
sources every test skips, saying which is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from keystone_py.build.keystone_sm import (
    KEYSTONE_ENV,
    OPENSBI_ENV,
    KeystoneSourcesMissing,
    find_sources,
)
from keystone_py.qemu import reference
from keystone_py.qemu.bench import OCALL_LINE, parse_bench_lines

_UNSET = [v for v in (KEYSTONE_ENV, OPENSBI_ENV) if not os.environ.get(v)]
pytestmark = pytest.mark.skipif(
    bool(_UNSET), reason=f"{' and '.join(_UNSET)} not set: they name the folders of Keystone's "
    "and OpenSBI v1.1's sources (trees or archives) Keystone's SM is built from")

#: The payload's enclave rows Keystone's SM runs on QEMU's default CPU.
ENCLAVE_ROWS = ("enclave_run_to_exit", "enclave_edge_call_round_trip", "enclave_attest",
                "enclave_sealing_key", "enclave_create_per_page")


@pytest.fixture(scope="module")
def bench(ks_paths, ks_linux, tmp_path_factory) -> Dict[str, Any]:
    """One `keystone-py bench --firmware ours` run with the live Keystone column:
    its JSON, its table and its return code."""
    try:
        find_sources(ks_paths.root)
    except KeystoneSourcesMissing as exc:
        pytest.skip(f"Keystone's SM cannot be built: {exc}")
    out = tmp_path_factory.mktemp("bench-keystone")
    res = subprocess.run([sys.executable, "-m", "keystone_py", "bench", "--firmware", "ours",
                          "--json-file", str(out / "bench.json")], cwd=ks_paths.root,
                         capture_output=True, text=True, timeout=3600, check=False)
    assert (out / "bench.json").is_file(), res.stderr[-3000:]
    (out / "table.txt").write_text(res.stdout)
    return {"json": json.loads((out / "bench.json").read_text()), "table": res.stdout,
            "returncode": res.returncode, "stderr": res.stderr}


def _console(run: Dict[str, Any]) -> str:
    return (Path(run["log_dir"]) / "console.log").read_text(errors="replace")


def _run(bench, kind: str, cpu=None) -> Dict[str, Any]:
    return next(r for r in bench["json"][kind]
                if r["firmware"] == "keystone" and r.get("cpu") == cpu)


def test_the_bench_runs_keystones_sm_built_from_its_sources(bench):
    data = bench["json"]
    assert data["keystone"]["live"] is True, data["keystone"]
    assert data["keystone"]["source"].count("archive") + \
        data["keystone"]["source"].count("tree") == 2
    assert Path(data["firmware"]["keystone"]).name == "fw_jump.bin"
    assert data["keystone_reference"] is None  # no recorded figures beside live ones
    assert bench["returncode"] == 0 and data["ok"], bench["stderr"][-3000:]


def test_keystones_payload_figures_are_the_ones_its_console_printed_in_this_run(bench):
    run = _run(bench, "payload")
    assert run["error"] is None and run["exit_status"] == 0, run
    printed = parse_bench_lines(_console(run))
    for name in ("sbi_null_call", *ENCLAVE_ROWS):
        assert run["measurements"][name]["instret"] > 0, name
        assert printed[name] == run["measurements"][name], name
    sweep = [v for k, v in run["measurements"].items() if k.startswith("create_epm_")]
    assert len(sweep) == 6 and all(v["create_per_page"] > 0 for v in sweep)


def test_keystones_preemption_is_measured_without_sstc_and_na_with_it(bench):
    sstc_off = _run(bench, "payload", reference.PREEMPTION_CPU)
    pre = sstc_off["measurements"]["enclave_preemption_round_trip"]
    assert pre["instret"] > 0 and pre["interrupts_p100"] > pre["interrupts_p400"] > 0, pre
    assert parse_bench_lines(_console(sstc_off))["enclave_preemption_round_trip"] == pre
    # With Sstc its SM never stops the enclave: the payload reports no figure ...
    assert "instret" not in _run(bench, "payload")["measurements"][
        "enclave_preemption_round_trip"]
    # ... and the table says why.
    row = next(line for line in bench["table"].splitlines()
               if "preemption round trip" in line and "default CPU" in line)
    assert f"n/a ({reference.NOT_APPLICABLE['enclave_preemption_round_trip']})" in row


def test_keystones_linux_ocall_and_hello_figures_come_from_this_run(bench):
    run = _run(bench, "linux")
    assert run["error"] is None and run["exit_status"] == 0, run
    assert run["marker_ticks"] > 0 and run["hello_create_run_destroy"] > 0
    printed = OCALL_LINE.search(_console(run))
    assert printed and int(printed.group(1)) == run["ocall_round_trip"] > 0


def test_the_comparison_pairs_ours_with_keystones_measured_figures(bench):
    rows = {c["key"]: c for c in bench["json"]["comparison"]}
    for key in ("sbi_null_call", "enclave_run_to_exit", "enclave_preemption_round_trip",
                "linux.ocall_round_trip"):
        row = rows[key]
        assert row["keystone_kind"] == "measured"
        assert row["keystone"] == row["values"]["keystone"] and row["keystone"] > 0, row
        assert row["ratio_ours_keystone"] == pytest.approx(
            row["values"]["ours"] / row["keystone"], abs=1e-4)
    header = bench["table"].splitlines()[0].split()
    assert header[-2:] == ["keystone", "ours/Keystone"]
    assert reference.LABEL not in bench["table"]


def test_a_second_build_of_keystones_sm_is_a_cache_hit(bench, ks_paths, monkeypatch):
    from keystone_py.build import keystone_sm

    def no_build(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"Keystone's SM rebuilt from unchanged sources: {args[:1]}")

    monkeypatch.setattr(keystone_sm, "run_logged", no_build)
    fw = keystone_sm.keystone_firmware(ks_paths.root, ks_paths.toolchain.qemu)
    assert str(fw.fw_jump) == bench["json"]["firmware"]["keystone"]
    assert fw.bootrom.stat().st_size > 0

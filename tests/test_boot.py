"""The SM boots the conformance payload in QEMU; every check passes, on every
CPU model of the matrix (conftest.py: default, sstc=false, h=false)."""

import json
import subprocess
import sys

import pytest

from keystone_py.build import Builder
from keystone_py.contract import NOT_OK, PAYLOAD_DONE, PLAN, SM_BANNER
from keystone_py.tap import parse_tap


@pytest.mark.parametrize("smp", [1, 4])
def test_clean_boot_passes_every_conformance_check(machine_factory, cpu, smp):
    with machine_factory(smp=smp, name=f"{cpu}-smp{smp}", extra_args=cpu.args) as m:
        banner = m.expect(SM_BANNER, timeout=20)
        m.expect(PLAN, fail=[NOT_OK], timeout=120)
        m.expect(PAYLOAD_DONE, timeout=10)
        status = m.wait_exit(timeout=20)
    report = parse_tap(m.console_text)
    assert banner.group(0).startswith("keystone-rs SM v")
    assert report.plan is not None and report.plan > 0
    assert report.plan == len(report.passed), report.summary()
    assert not report.failed, report.summary()
    assert report.complete and report.all_ok, report.summary()
    assert status == 0


def test_payload_failure_makes_qemu_exit_non_zero(machine_factory):
    with machine_factory(append="fail", name="fail") as m:
        m.expect(SM_BANNER, timeout=20)
        status = m.wait_exit(timeout=60)
    assert status != 0


def test_boot_command_streams_console_and_exits_with_qemu_status(ks_paths):
    res = subprocess.run([sys.executable, "-m", "keystone_py", "boot", "--timeout", "120"],
                         cwd=ks_paths.root, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "keystone-rs SM v" in res.stdout
    assert "payload: done (passed" in res.stdout
    assert "QEMU exit status 0" in res.stderr


def test_artifacts_command_prints_one_json_object_of_absolute_paths(ks_paths):
    res = subprocess.run([sys.executable, "-m", "keystone_py", "artifacts"], cwd=ks_paths.root,
                         capture_output=True, text=True, timeout=60, check=True)
    artifacts = json.loads(res.stdout)
    assert {"sm_elf", "sm_bin", "payload_elf", "payload_bin"} <= set(artifacts)
    for path in artifacts.values():
        assert path.startswith("/") and open(path, "rb").read(1)


def test_second_build_is_a_cache_hit_without_cargo(ks_paths, monkeypatch):
    def no_cargo(self, targets):
        raise AssertionError(f"cargo ran for {targets} on an unchanged tree")

    monkeypatch.setattr(Builder, "_cargo_build", no_cargo)
    artifacts = Builder(root=ks_paths.root, toolchain=ks_paths.toolchain).build()
    assert artifacts == ks_paths.artifacts

"""The Linux build and the commands around it, run for real: artifacts, the build
cache, `keystone-py boot --linux` and `keystone-py bench`."""

import json
import subprocess
import sys
from pathlib import Path

from keystone_py.build import LinuxBuilder


def run_cli(ks_paths, *args, timeout=600):
    return subprocess.run([sys.executable, "-m", "keystone_py", *args], cwd=ks_paths.root,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_artifacts_command_lists_kernel_vmlinux_and_initramfs(ks_paths, ks_linux):
    res = run_cli(ks_paths, "artifacts", timeout=60)
    assert res.returncode == 0, res.stderr
    artifacts = json.loads(res.stdout)
    built = ks_linux.to_dict()
    for key in ("linux_image", "vmlinux", "initramfs", "init"):
        assert artifacts[key] == built[key]
        assert artifacts[key].startswith("/")
    with open(artifacts["vmlinux"], "rb") as f:
        assert f.read(4) == b"\x7fELF"
    with open(artifacts["initramfs"], "rb") as f:
        assert f.read(6) == b"070701"


def test_second_linux_build_is_a_cache_hit_without_make(ks_paths, ks_linux, monkeypatch):
    def no_make(self, *args, **kwargs):
        raise AssertionError("the kernel build ran on an unchanged tree")

    for step in ("_unpack", "_configure", "_make"):
        monkeypatch.setattr(LinuxBuilder, step, no_make)
    before = ks_linux.initramfs.read_bytes()
    artifacts = LinuxBuilder(root=ks_paths.root, toolchain=ks_paths.toolchain).build()
    assert (artifacts.linux_image, artifacts.vmlinux, artifacts.initramfs) == \
        (ks_linux.linux_image, ks_linux.vmlinux, ks_linux.initramfs)
    assert artifacts.initramfs.read_bytes() == before


def test_boot_linux_command_runs_the_script_and_exits_with_qemu_status(ks_paths, ks_linux):
    res = run_cli(ks_paths, "boot", "--linux", "--smp", "2", "--script", "cpus,poweroff",
                  timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "keystone-rs SM v" in res.stdout
    assert "keystone-init: ready, 2 cpus online" in res.stdout
    assert "cpus online: 2" in res.stdout
    assert "QEMU exit status 0" in res.stderr


def test_bench_command_reports_figures_for_both_firmware(ks_paths, ks_linux):
    import tempfile

    plot = Path(tempfile.mkdtemp()) / "bench.png"
    # Keystone's live column has its own test (test_bench_keystone.py).
    res = run_cli(ks_paths, "bench", "--json", "--plot", str(plot), "--no-keystone",
                  timeout=900)
    report = json.loads(res.stdout)
    payload = {r["firmware"]: r for r in report["payload"]}
    linux = {r["firmware"]: r for r in report["linux"]}
    assert set(payload) == set(linux) == {"ours", "opensbi"}
    for fw in ("ours", "opensbi"):
        assert payload[fw]["measurements"]["sbi_null_call"]["instret"] > 0, payload[fw]
        assert payload[fw]["exit_status"] == 0 and payload[fw]["wall_s"] > 0
        assert linux[fw]["cpus"] == 1 and linux[fw]["exit_status"] == 0, linux[fw]
        assert linux[fw]["marker_ticks"] and linux[fw]["marker_ticks"] > 0, linux[fw]
        assert linux[fw]["marker_instructions"] == 100 * linux[fw]["marker_ticks"]
    ours = payload["ours"]["measurements"]
    for op in ("enclave_run_to_exit", "enclave_edge_call_round_trip",
               "enclave_preemption_round_trip", "enclave_attest", "enclave_sealing_key"):
        assert ours[op]["instret"] > 0, op
    # The preemption figure comes from two runs that really were preempted,
    # the shorter period more often.
    pre = ours["enclave_preemption_round_trip"]
    assert pre["interrupts_p100"] > pre["interrupts_p400"] > 0, pre
    sweep = {k: v for k, v in ours.items() if k.startswith("create_epm_")}
    assert {v["bytes"] for v in sweep.values()} == {1 << s for s in range(16, 27, 2)}
    assert all(v["create_per_page"] >= v["sha3_per_page"] > 0 for v in sweep.values())
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert linux["ours"]["ocall_round_trip"] > 0 and linux["ours"]["hello_create_run_destroy"] > 0
    assert report["icount"] == "shift=0"
    assert res.returncode == 0 and report["ok"], res.stderr[-2000:]

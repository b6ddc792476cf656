"""`keystone-py doctor` and `setup`, run for real as subprocesses."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# Every executable doctor looks for on PATH (Rust is found in /usr/bin first).
TOOLS = ["riscv64-unknown-elf-ld", "riscv64-unknown-elf-objcopy", "riscv64-linux-gnu-gcc",
         "riscv64-linux-gnu-g++",
         "qemu-system-riscv64", "gdb-multiarch", "dpkg-query",
         "make", "gcc", "bc", "flex", "bison"]  # the Linux build's host tools
REPO = Path(__file__).resolve().parents[2]


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "keystone_py", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def path_without(tmp_path: Path, hidden: str) -> str:
    """A folder of symlinks to every tool except ``hidden``."""
    for tool in TOOLS:
        found = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        if tool != hidden and found:
            (tmp_path / tool).symlink_to(found)
    return str(tmp_path)


def test_doctor_passes_on_this_machine():
    res = run_cli("doctor")
    assert res.returncode == 0, res.stdout + res.stderr
    for tool in ("rustc", "cargo", "qemu-system-riscv64", "gdb-multiarch", "opensbi"):
        assert f"ok       {tool}" in res.stdout


def test_doctor_without_qemu_fails_and_names_qemu_system_misc(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTONE_PY_")}
    env["PATH"] = path_without(tmp_path, "qemu-system-riscv64")
    res = run_cli("doctor", env=env)
    assert res.returncode != 0
    assert "MISSING  qemu-system-riscv64" in res.stdout
    assert "apt-get install qemu-system-misc" in res.stdout
    # Only qemu is missing: every other row is still found.
    assert res.stdout.count("MISSING") == 1, res.stdout


def test_doctor_without_flex_fails_and_names_the_flex_package(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTONE_PY_")}
    env["PATH"] = path_without(tmp_path, "flex")
    res = run_cli("doctor", env=env)
    assert res.returncode != 0
    assert "MISSING  flex" in res.stdout
    assert "apt-get install flex" in res.stdout
    assert res.stdout.count("MISSING") == 1, res.stdout


def test_doctor_checks_every_linux_build_prerequisite_by_package():
    res = run_cli("doctor")
    for row in ("linux-source-6.1", "bc", "flex", "bison", "libssl-dev", "make", "gcc",
                "libc6-dev"):
        assert re.search(rf"^  ok       {re.escape(row)}\s", res.stdout, re.MULTILINE), row


def test_doctor_search_path_override_hides_the_rust_toolchain_too(tmp_path):
    env = dict(os.environ, KEYSTONE_PY_PATH=str(tmp_path), PATH=str(tmp_path))
    env.pop("KEYSTONE_PY_RUSTC", None)
    env.pop("KEYSTONE_PY_CARGO", None)
    res = run_cli("doctor", env=env)
    assert res.returncode != 0
    assert "rustc-web rust-web-src" in res.stdout
    assert "apt-get install cargo-web" in res.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="setup installs only as root")
def test_setup_installs_nothing_when_nothing_is_missing():
    res = run_cli("setup")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "every Debian package needed is installed" in res.stdout

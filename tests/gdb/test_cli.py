"""``keystone-py gdb``: one command boots the stack halted and opens gdb with every
world loaded; scripted here with ``--batch --ex``."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_keystone_py_gdb_stops_in_each_world(ks_enclave):
    ex = []
    for _ in range(3):
        ex += ["--ex", "continue", "--ex", "ks-world"]
    argv = [sys.executable, "-m", "keystone_py", "gdb", "--app", "hello",
            "--break", "loader:_start", "--break", "runtime:rt_main", "--break", "eapp:main",
            "--batch", *ex, "--ex", "bt 1"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    worlds = re.findall(r"^world: (\w+) \((\w)", out, re.M)
    # The create stop prints the SM world itself, then loader, runtime, eapp.
    assert worlds == [("sm", "M"), ("loader", "S"), ("runtime", "S"), ("eapp", "U")], out[-3000:]
    assert "EPM at 0x84000000, UTM at 0x83000000" in out
    assert "__keystone_eapp_main" in out
    # QEMU was shut down when gdb exited.
    pid = re.search(r"QEMU halted at reset \(pid (\d+)", out)
    assert pid, out[-2000:]
    assert not Path(f"/proc/{pid.group(1)}").exists() or \
        "zombie" in Path(f"/proc/{pid.group(1)}/status").read_text()


def test_keystone_py_gdb_eapp_stops_in_a_users_c_eapp(ks_enclave):
    """``--eapp FILE``: a C eapp built from a folder with `build --app`, its
    symbols and source lines loaded; the stop is in U-mode, in its entry."""
    from keystone_py.build.userapp import build_app
    eapp = build_app(ROOT / "examples/c/untrusted").eapp()
    argv = [sys.executable, "-m", "keystone_py", "gdb", "--eapp", str(eapp),
            "--break", "eapp:eapp_entry", "--batch", "--ex", "continue", "--ex", "ks-world",
            "--ex", "bt 1"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert f'add symbol table from file "{eapp}"' in out
    assert re.search(r"^world: eapp \(U\), pc 0x10000$", out, re.M), out[-3000:]
    assert re.search(r"eapp_entry \(\) at untrusted\.c:\d+", out), out[-3000:]


def test_keystone_py_gdb_host_linux_stops_in_each_world(ks_linux, ks_enclave):
    """``--host linux``: Linux boots halted and /init runs test-runner for hello at
    once; the create arguments are read through Linux's page tables (ks-capture),
    then the loader at the EPM base and the runtime stop in their worlds."""
    argv = [sys.executable, "-m", "keystone_py", "gdb", "--host", "linux",
            "--break", "loader:_start", "--break", "runtime:rt_main", "--batch",
            "--ex", "continue", "--ex", "ks-world", "--ex", "continue", "--ex", "ks-world"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    create = re.search(r"enclave create, EPM at (0x[0-9a-f]+), UTM at (0x[0-9a-f]+)", out)
    assert create, out[-3000:]
    epm = int(create.group(1), 16)
    assert epm >= 0x8000_0000 and epm % 4096 == 0, out[-3000:]
    worlds = re.findall(r"^world: (\w+) \([^)]*\), pc (0x[0-9a-f]+)$", out, re.M)
    assert [w for w, _ in worlds] == ["sm", "loader", "runtime"], out[-3000:]
    assert int(worlds[1][1], 16) == epm, (worlds, hex(epm))

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

"""docs/own-enclave.md ("Your own enclave, outside this repository"): the Rust
and the C blocks, read from that file and run exactly as written (the checkout's path for
`~/keystone-rs`, a temporary folder for `~`), one bash script each. Then what
the commands did, as observed: the files `new` made, the ELF `build --app`
made, what the enclave and its host printed in QEMU, the project's own pytest
passing, and (C) the saved report verifying with `keystone-py attest verify`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import List

import pytest

from keystone_py.build.userapp import check_eapp_elf

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs/own-enclave.md"


def readme_block(tag: str) -> List[str]:
    """The commands of the ```sh block right after ``<!-- byo:TAG -->``."""
    text = GUIDE.read_text()
    start = text.index(f"<!-- byo:{tag} -->")
    block = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert block, f"no ```sh block after byo:{tag}"
    return [re.sub(r"\s+#.*$", "", ln).strip() for ln in block.group(1).splitlines()
            if ln.strip()]


def run_block(commands: List[str], home: Path) -> subprocess.CompletedProcess:
    """The commands as one `set -e` bash script, each echoed first."""
    script = ["set -e"]
    for cmd in commands:
        cmd = cmd.replace("~/keystone-rs", str(REPO)).replace("~/", f"{home}/")
        script += [f"echo '+ {cmd}'", cmd]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "MAKEFLAGS", "MAKELEVEL"))}
    return subprocess.run(["bash", "-c", "\n".join(script)], cwd=home, env=env,
                          capture_output=True, text=True, timeout=1800, check=False)


def test_the_readme_blocks_have_at_most_six_commands():
    for tag in ("rust", "c"):
        commands = readme_block(tag)
        assert 1 <= len(commands) <= 6, commands
        assert any("keystone-py new" in c for c in commands)


@pytest.mark.parametrize("tag", ["rust", "c"])
def test_readme_byo_commands_reach_a_passing_test(tag, tmp_path):
    proc = run_block(readme_block(tag), tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    name = "my-enclave" if tag == "rust" else "my-c-enclave"
    project = tmp_path / name
    assert (project / "README.md").is_file() and (project / "tests").is_dir()
    check_eapp_elf(project / "build" / name)
    if tag == "rust":
        check_eapp_elf(project / "build" / f"{name}-host", linux=True)
        # In the guest: the enclave printed, got a sealing key, its host doubled
        # 21 over an ocall and reported the value; the project's test passed.
        assert f"{name}: hello from inside the enclave" in proc.stdout
        assert re.search(rf"^{name}: sealing key starts [0-9a-f]{{8}}", proc.stdout, re.M)
        assert f"{name}-host: the enclave asked to double 21" in proc.stdout
        assert re.search(rf"^{name}-host: enclave returned 42 ", proc.stdout, re.M)
        assert f"/user/host/{name}-host: exit status 0" in proc.stdout
        assert re.search(r"\b1 passed\b", proc.stdout), proc.stdout[-3000:]
    else:
        assert f"Enclave said: {name}: sealing key derived" in proc.stdout
        assert f"Attestation report data: {name}" in proc.stdout
        printed = len(f"{name}: hello from inside the enclave\n")
        assert re.search(rf"test-runner: {name} returned {printed} \(", proc.stdout)
        assert re.search(r"\b2 passed\b", proc.stdout), proc.stdout[-3000:]
        # The report the run saved verifies against the prediction from the files...
        kp = [str(REPO / ".venv/bin/keystone-py")]
        verify = subprocess.run(
            [*kp, "attest", "verify", "report.hex", "--eapp", f"build/{name}", "--nonce", name,
             "--firmware", str(REPO / "build/sm_rs.bin")],
            cwd=project, capture_output=True, text=True, check=False)
        assert verify.returncode == 0 and "verdict: VALID" in verify.stdout, verify.stdout
        # ... and not against another enclave's files or another nonce.
        other = subprocess.run(
            [*kp, "attest", "verify", "report.hex", "--eapp",
             str(REPO / "build/eapp_hello.elf"), "--nonce", "x"],
            cwd=project, capture_output=True, text=True, check=False)
        assert other.returncode == 1 and "FAIL enclave hash matches" in other.stdout

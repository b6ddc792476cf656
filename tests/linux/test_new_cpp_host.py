"""`keystone-py new --lang c --with-host`: a C eapp with its own C++ host app
on sdk/cpp (Keystone's host API), made outside the checkout; `build --app`
builds both, its Makefile builds the same host, and the project's own test
passes in QEMU (the host doubles 21 for the enclave, prints its string, and
reports the exit value 42)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from keystone_py.build.userapp import check_eapp_elf

REPO = Path(__file__).resolve().parents[2]
KP = [sys.executable, "-m", "keystone_py"]


def run(argv, cwd: Path, timeout: float = 1800) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "MAKEFLAGS", "MAKELEVEL"))}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("home")
    made = run([*KP, "new", str(home / "my-cpp-host"), "--lang", "c", "--with-host"], home)
    assert made.returncode == 0, made.stdout + made.stderr
    return home / "my-cpp-host"


def test_new_makes_the_eapp_the_cpp_host_and_the_makefile(project):
    assert (project / "my-cpp-host.c").is_file()
    host = (project / "host/my-cpp-host-host.cpp").read_text()
    assert '#include "host/keystone.h"' in host and "Keystone::Enclave enclave;" in host
    assert "build/my-cpp-host-host:" in (project / "Makefile").read_text()


def test_build_app_builds_both_and_the_project_test_passes(project):
    built = run([*KP, "build", "--app", "."], project)
    assert built.returncode == 0, built.stdout + built.stderr
    check_eapp_elf(project / "build/my-cpp-host")
    info = check_eapp_elf(project / "build/my-cpp-host-host", linux=True)
    assert info.machine == 243
    tested = run([str(REPO / ".venv/bin/python"), "-m", "pytest", "-q", "-s", "tests"], project)
    out = tested.stdout + tested.stderr
    assert tested.returncode == 0, out[-4000:]
    assert re.search(r"\b1 passed\b", tested.stdout), out[-3000:]
    # What the project's test checks, seen here too: `keystone-py run` with its host.
    ran = run([*KP, "run", "--eapp", "build/my-cpp-host", "--host", "build/my-cpp-host-host"],
              project)
    out = ran.stdout + ran.stderr
    assert ran.returncode == 0, out[-4000:]
    assert "Enclave said: my-cpp-host: hello from inside the enclave" in ran.stdout, out[-3000:]
    assert "my-cpp-host-host: the enclave asked to double 21" in ran.stdout, out[-3000:]
    assert "my-cpp-host-host: enclave returned 42 (ocalls 2)" in ran.stdout, out[-3000:]


def test_the_makefile_builds_the_same_host(project):
    made = run(["make", "build/my-cpp-host-host", f"KEYSTONE={REPO}", "-B"], project)
    assert made.returncode == 0, made.stdout + made.stderr
    check_eapp_elf(project / "build/my-cpp-host-host", linux=True)

"""A fresh machine for real: the setup path on a Python with nothing installed, and
`make run` in a clean clone with a new virtual environment.

* ``setup``, ``doctor`` and the argument parser run with every third-party module
  refused (a ``sys.meta_path`` finder in front of all others), as on a fresh
  Debian before ``make setup`` has made ``.venv``;
* importing the CLI and building its parser imports nothing outside the standard
  library;
* doctor's Python rows are exactly the packages of pyproject.toml;
* (``--fresh-clone``, which ``make test`` passes) a git clone of HEAD runs
  ``make run`` with Debian's python3 as the bootstrap, a PATH and environment with
  no trace of this test's Python, and nothing preinstalled but Debian packages:
  the clone makes its own ``.venv``, pip installs from PyPI, builds everything
  (Linux too) and boots; with zCore's archives given (``KEYSTONE_ZCORE_SOURCES``)
  its ``make run`` boots zCore after Linux and runs the demo there too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from keystone_py.contract import PAYLOAD_DONE, SM_BANNER
from keystone_py.toolchain import PYTHON_PACKAGES

REPO = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = Path("/usr/bin/python3")
#: root's PATH on a fresh Debian 12 (login.defs ENV_SUPATH).
DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

needs_stdlib_names = pytest.mark.skipif(sys.version_info < (3, 10),
                                        reason="sys.stdlib_module_names is 3.10+")

#: Put in front of a ``-c`` script: from here on, every top-level module that is not
#: the standard library's or keystone_py is "not installed" (ModuleNotFoundError, as
#: a real absence gives). Refused names are listed on stderr at exit.
REFUSE_THIRD_PARTY = textwrap.dedent("""\
    import atexit, json, sys
    ALLOWED = set(sys.stdlib_module_names) | {"keystone_py"}
    REFUSED = []

    class RefuseThirdParty:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name.partition(".")[0] in ALLOWED:
                return None
            REFUSED.append(name)
            raise ModuleNotFoundError(f"No module named {name!r} (fresh Python)", name=name)

    sys.meta_path.insert(0, RefuseThirdParty)
    atexit.register(lambda: print("refused: " + json.dumps(sorted(set(REFUSED))),
                                  file=sys.stderr))
    """)


def run_python(script: str, *, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def refused(res: subprocess.CompletedProcess) -> list:
    found = re.search(r"^refused: (\[.*\])$", res.stderr, re.MULTILINE)
    assert found, res.stderr
    return json.loads(found.group(1))


def no_traceback(res: subprocess.CompletedProcess) -> None:
    text = res.stdout + res.stderr
    for word in ("Traceback", "ImportError", "ModuleNotFoundError"):
        assert word not in text, text


def run_cli_without_third_party(*argv: str) -> subprocess.CompletedProcess:
    script = REFUSE_THIRD_PARTY + textwrap.dedent(f"""\
        from keystone_py.cli import main
        sys.exit(main({list(argv)!r}))
        """)
    return run_python(script)


# -- the setup path on a bare Python ----------------------------------------------------
@needs_stdlib_names
def test_the_cli_and_its_parser_import_only_the_standard_library():
    script = textwrap.dedent("""\
        import json, sys
        before = set(sys.modules)
        from keystone_py import cli
        cli.build_parser()
        new = set(sys.modules) - before
        print(json.dumps(sorted(m for m in new if m.partition(".")[0]
                                not in sys.stdlib_module_names | {"keystone_py"})))
        """)
    res = run_python(script)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == [], "imported by keystone_py.cli: " + res.stdout


@needs_stdlib_names
def test_setup_runs_with_every_third_party_module_missing():
    res = run_cli_without_third_party("setup")
    no_traceback(res)
    # This machine has every Debian package (make setup ran before the tests).
    assert res.returncode == 0, res.stdout + res.stderr
    assert "every Debian package needed is installed" in res.stdout


@needs_stdlib_names
def test_doctor_names_every_missing_python_package_and_the_fix():
    res = run_cli_without_third_party("doctor")
    no_traceback(res)
    assert res.returncode == 1, res.stdout + res.stderr
    required = [dist for dist, _m, _p, req in PYTHON_PACKAGES if req]
    for dist, module, _purpose, req in PYTHON_PACKAGES:
        tag = "MISSING " if req else "optional"
        assert re.search(rf"^  {tag} python:{re.escape(dist)}\s+module {module} not "
                         r"importable.*fix: make setup", res.stdout, re.MULTILINE), dist
    # Only the Python packages are missing: every Debian tool is still found.
    assert res.stdout.count("MISSING") == len(required), res.stdout
    assert f"{len(required)} required tool(s) missing" in res.stdout
    assert "Fix: make setup" in res.stdout and "pip install -e '.[test]'" in res.stdout
    # Not vacuous: doctor did look for each package and was refused.
    assert {m for _d, m, _p, _r in PYTHON_PACKAGES} <= set(refused(res))


@needs_stdlib_names
@pytest.mark.parametrize("argv", [["--help"], ["doctor", "--help"], ["build", "--help"],
                                  ["run", "--help"], ["measure", "--help"],
                                  ["attest", "verify", "--help"]])
def test_every_parser_builds_with_every_third_party_module_missing(argv):
    res = run_cli_without_third_party(*argv)
    no_traceback(res)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("usage: keystone-py"), res.stdout


@needs_stdlib_names
def test_the_refusing_finder_really_refuses():
    res = run_python(REFUSE_THIRD_PARTY + "import nacl\n")
    assert res.returncode == 1
    assert "No module named 'nacl' (fresh Python)" in res.stderr


# -- doctor's Python rows ---------------------------------------------------------------
def _pyproject_requirements():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]

    def names(reqs):
        return {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in reqs}

    return names(project["dependencies"]), names(project["optional-dependencies"]["test"])


def test_doctor_python_rows_are_exactly_pyproject_dependencies():
    runtime, test = _pyproject_requirements()
    assert {d.lower() for d, _m, _p, req in PYTHON_PACKAGES if req} == runtime
    assert {d.lower() for d, _m, _p, req in PYTHON_PACKAGES if not req} == test


def test_doctor_shows_each_python_package_with_version_and_path():
    res = subprocess.run([sys.executable, "-m", "keystone_py", "doctor"], cwd=REPO,
                         capture_output=True, text=True, timeout=120, check=False)
    for dist, _module, _purpose, _req in PYTHON_PACKAGES:
        row = re.search(rf"^  ok       python:{re.escape(dist)}\s+(\S+)\s+\[(.+)\]$",
                        res.stdout, re.MULTILINE)
        assert row, f"{dist}:\n{res.stdout}"
        assert row.group(1)[0].isdigit() and Path(row.group(2)).is_dir(), row.group(0)
    assert re.search(rf"^  ok       python\s.*\[{re.escape(sys.executable)}\]$", res.stdout,
                     re.MULTILINE), res.stdout
    assert re.search(r"^  ok       python3-venv\s", res.stdout, re.MULTILINE), res.stdout


# -- make run in a clean clone ----------------------------------------------------------
def fresh_environment() -> dict:
    """This process's environment without any Python, pip, virtualenv, pyenv, make or
    keystone_py settings, and root's PATH on a fresh Debian 12."""
    drop = ("PYTHON", "PIP_", "VIRTUAL_ENV", "CONDA", "PYENV", "KEYSTONE_PY_", "KS_",
            "MAKE", "MFLAGS", "PYTEST", "CARGO_TARGET_DIR", "RUSTUP_TOOLCHAIN")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PATH"] = DEBIAN_PATH
    return env


def git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True, timeout=300).stdout.strip()


@pytest.mark.fresh_clone
@pytest.mark.skipif(not DEBIAN_PYTHON.exists(), reason="needs Debian's /usr/bin/python3")
def test_make_run_in_a_fresh_clone_with_its_own_virtual_environment(tmp_path, capsys):
    head = git("rev-parse", "HEAD")
    # What is tested is the commit: changes not committed yet are not in the clone.
    dirty = " (uncommitted changes are not part of it)" if git(
        "status", "--porcelain", "--untracked-files=no") else ""
    clone = tmp_path / "keystone-rs"
    git("clone", "--quiet", "--no-hardlinks", str(REPO), str(clone), cwd=tmp_path)
    git("checkout", "--quiet", "--detach", head, cwd=clone)
    assert not (clone / ".venv").exists() and not (clone / "build").exists()
    env = fresh_environment()
    assert sys.prefix not in env["PATH"] and "VIRTUAL_ENV" not in env

    log = tmp_path / "make-run.log"
    # zCore's archives, when this run has them (`make test` passes ../shared/vendor/zcore):
    # the clone's `make run` then boots zCore after Linux, as the README says.
    zcore = os.environ.get("KEYSTONE_ZCORE_SOURCES", "")
    make = ["make", "run", f"PYTHON={DEBIAN_PYTHON}"]
    if zcore:
        make.append(f"ZCORE_SOURCES={zcore}")
    start = time.monotonic()
    with log.open("w") as out:
        res = subprocess.run(make, cwd=clone, env=env,
                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             timeout=3600, check=False)
    seconds = time.monotonic() - start
    text = log.read_text(errors="replace")
    with capsys.disabled():
        print(f"\nfresh clone of {head[:12]}: `make run` took {seconds:.0f} s "
              f"(exit {res.returncode}; log {log}){dirty}")
    assert res.returncode == 0, f"make run failed after {seconds:.0f} s:\n{text[-6000:]}"

    # It started from nothing: made .venv with Debian's python3, pip installed into it.
    assert f"setup: creating .venv/ with {DEBIAN_PYTHON}" in text, text[:3000]
    assert "setup: pip install -e '.[test]' into .venv/" in text, text[:3000]
    # The boot: the SM banner and every conformance check passed.
    assert re.search(SM_BANNER, text), text[-6000:]
    done = re.search(PAYLOAD_DONE, text)
    assert done and int(done.group(1)) > 0 and done.group(2) == "0", text[-6000:]
    # The demo on Linux (and then on zCore): its summary, every example passed.
    demos = re.findall(r"^demo: (\d+) examples, (\d+) passed, (\d+) failed", text, re.MULTILINE)
    assert len(demos) == (2 if zcore else 1), text[-6000:]
    assert all(total == passed and failed == "0" for total, passed, failed in demos), demos
    if zcore:  # the second demo ran on zCore: QEMU booted zcore.bin with the SM
        assert re.search(r"^\[run-zcore\] launching: .* -kernel \S*/zcore\.bin ", text,
                         re.MULTILINE), text[-6000:]

    # The clone's .venv holds keystone_py (this clone's) and every package.
    start = time.monotonic()
    venv_python = clone / ".venv/bin/python"
    cfg = (clone / ".venv/pyvenv.cfg").read_text()
    assert re.search(r"^include-system-site-packages = false$", cfg, re.MULTILINE), cfg
    modules = ", ".join(m for _d, m, _p, _r in PYTHON_PACKAGES)
    check = subprocess.run(
        [str(venv_python), "-c", f"import keystone_py, {modules}; print(keystone_py.__file__)"],
        cwd="/", env=env, capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode == 0, check.stderr
    assert Path(check.stdout.strip()) == clone / "keystone_py/__init__.py"
    doctor = subprocess.run([str(clone / ".venv/bin/keystone-py"), "doctor"], cwd=clone,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert f"[{venv_python}]" in doctor.stdout
    with capsys.disabled():
        print(f"fresh clone: checking .venv and doctor took {time.monotonic() - start:.1f} s")

    # A second `make setup` leaves the environment alone.
    start = time.monotonic()
    again = subprocess.run(["make", "setup", f"PYTHON={DEBIAN_PYTHON}"], cwd=clone, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=300, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "creating .venv" not in again.stdout and "pip install" not in again.stdout, \
        again.stdout
    with capsys.disabled():
        print(f"fresh clone: a second `make setup` took {time.monotonic() - start:.1f} s")
    start = time.monotonic()
    shutil.rmtree(clone)  # the kernel tree alone is over a gigabyte; the log stays
    with capsys.disabled():
        print(f"fresh clone: removing the clone took {time.monotonic() - start:.1f} s")

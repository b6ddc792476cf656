"""The ways keystone_py runs an external program besides a build step
(keystone_py.toolchain): a query with its output captured, one that must
succeed, a version line, and a program on the terminal."""

from __future__ import annotations

import sys

import pytest

from keystone_py.errors import BuildError, ToolchainError
from keystone_py.toolchain import first_line, run_attached, run_tool, tool_output

PY = sys.executable


def test_run_tool_captures_text_and_leaves_the_status_to_the_caller(tmp_path):
    res = run_tool([PY, "-c", "import sys; print(sys.stdin.read().upper()); sys.exit(4)"],
                   input="abc", cwd=tmp_path)
    assert (res.returncode, res.stdout) == (4, "ABC\n")


def test_a_tool_that_cannot_start_or_hangs_is_a_toolchain_error(tmp_path):
    with pytest.raises(ToolchainError, match="did not run"):
        run_tool([tmp_path / "missing"])
    with pytest.raises(ToolchainError, match="timed out"):
        run_tool([PY, "-c", "import time; time.sleep(30)"], timeout=0.5)


def test_tool_output_raises_the_callers_error_with_status_and_stderr(tmp_path):
    assert tool_output([PY, "-c", "print('ok')"]) == "ok\n"
    with pytest.raises(BuildError, match=r"exit status 3: bad input"):
        tool_output([PY, "-c", "import sys; sys.stderr.write('bad input'); sys.exit(3)"],
                    error=BuildError)
    with pytest.raises(BuildError, match="did not run"):
        tool_output([tmp_path / "missing"], error=BuildError)


def test_first_line_takes_stdout_then_stderr_and_says_why_it_has_none(tmp_path):
    assert first_line([PY, "-c", "print('v 1.2\\nmore')"]) == "v 1.2"
    assert first_line([PY, "-c", "import sys; sys.stderr.write('on stderr\\n')"]) == "on stderr"
    assert first_line([PY, "-c", "pass"]) == "?"
    assert first_line([tmp_path / "missing"]).startswith("? (")


def test_run_attached_returns_the_exit_status(tmp_path):
    assert run_attached([PY, "-c", "import os, sys; sys.exit(len(os.environ['X']))"],
                        env={"X": "abcde"}, cwd=tmp_path) == 5
    with pytest.raises(OSError):
        run_attached([tmp_path / "missing"])

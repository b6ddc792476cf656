"""The logged subprocess runner every build step uses."""

import sys

import pytest

from keystone_py.build import run_logged
from keystone_py.errors import BuildError


def test_output_goes_to_the_log_and_to_on_line(tmp_path):
    seen = []
    log = tmp_path / "logs" / "step.log"
    seconds = run_logged([sys.executable, "-c", "print('one'); import sys; "
                          "print('two', file=sys.stderr)"], "step", log, on_line=seen.append)
    assert seconds >= 0
    assert seen == ["one", "two"]
    text = log.read_text().splitlines()
    assert text[0].startswith("$ ") and text[1:] == ["one", "two"]


def test_a_failure_names_the_step_the_last_lines_the_log_and_the_fix(tmp_path):
    log = tmp_path / "fail.log"
    script = "import sys\nfor i in range(50): print(f'line {i}')\nsys.exit(3)"
    with pytest.raises(BuildError) as err:
        run_logged([sys.executable, "-c", script], "cargo build of x", log, tail=5,
                   fix="Fix the Rust error above.")
    text = str(err.value)
    assert text.startswith("cargo build of x failed (exit 3). Last lines:")
    assert "line 49" in text and "line 44" not in text
    assert f"Full log: {log}" in text and text.endswith("Fix the Rust error above.")


def test_a_program_that_cannot_start_is_a_build_error(tmp_path):
    with pytest.raises(BuildError, match="(?s)cannot run /no/such/tool.*keystone-py doctor"):
        run_logged(["/no/such/tool"], "objcopy", tmp_path / "x.log")

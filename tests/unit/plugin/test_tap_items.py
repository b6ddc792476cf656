"""One pytest item per TAP line, checked with pytester and fake runs (no QEMU)."""

import json

TESTS = '''
import json
from pathlib import Path

import pytest

from keystone_py.pytest_plugin import TapRun, tap_checks

CALLS = Path(CALLS_PATH)

TEXT = """firmware banner
ok 1 - base.get_spec_version is 2.0
not ok 2 - base.probe(TIME) = 1
#   got (error 0, value 0x0), want (error 0, value 0x1)
ok 3 - h-state: hvip # SKIP no H extension
ok 4 - sm::create keeps serving
1..4
payload: done (passed 3, failed 1)
"""


def fake(ctx, smp):
    with CALLS.open("a") as f:
        f.write(json.dumps({"smp": smp, "log_dir": str(ctx.log_dir)}) + "\\n")
    text = TEXT if smp == 1 else TEXT.replace("not ok 2", "ok 2")
    (ctx.log_dir / "console.log").write_text(text)
    return TapRun(text, 0 if smp == 4 else 1, ctx.log_dir)


def broken(ctx):
    raise RuntimeError("QEMU did not come up")


@tap_checks(fake, name="conformance")
@pytest.mark.parametrize("smp", [1, 4])
def test_whole_run(tap_run, smp):
    assert tap_run.report.complete
    assert tap_run.status == 0, tap_run.report.summary()


@tap_checks(broken)
def test_broken_run(tap_run):
    pass


def test_other():
    pass
'''


def run(pytester, *args):
    calls = pytester.path / "calls.jsonl"
    calls.unlink(missing_ok=True)
    pytester.makepyfile(test_sample=TESTS.replace("CALLS_PATH", repr(str(calls))))
    result = pytester.runpytest_subprocess(f"--ks-log-root={pytester.path / 'logs'}", "-rA",
                                           *args)
    runs = [json.loads(line) for line in calls.read_text().splitlines()] \
        if calls.exists() else []
    return result, runs


def test_every_tap_line_is_an_item_named_by_its_check(pytester):
    result, runs = run(pytester)
    # smp=1: checks 1 and 4 pass, 2 fails, 3 skips; its whole-run test fails (status 1).
    # smp=4: 3 pass, 1 skips, the whole-run test passes; the broken run's test errors.
    result.assert_outcomes(passed=2 + 3 + 1 + 1, failed=1 + 1, skipped=2, errors=1)
    result.stdout.fnmatch_lines([
        "PASSED test_sample.py::conformance[[]1[]]/001 base.get_spec_version is 2.0",
        "PASSED test_sample.py::conformance[[]1[]]/004 sm:create keeps serving",
        "SKIPPED [[]2[]] test_sample.py:*: h-state: hvip: no H extension",
        "FAILED test_sample.py::conformance[[]1[]]/002 base.probe(TIME) = 1 - not ok 2*",
        "FAILED test_sample.py::test_whole_run[[]1[]] - AssertionError*",
    ])
    # The failure is the TAP line, its diagnostic and where the console log is.
    result.stdout.fnmatch_lines([
        "*_ conformance[[]1[]]/002 base.probe(TIME) = 1 _*",
        "not ok 2 - base.probe(TIME) = 1",
        "#   got (error 0, value 0x0), want (error 0, value 0x1)",
        "console log: *test_whole_run_1___run/console.log",
    ])
    # A run that breaks fails its whole-run test with the error, and has no items.
    result.stdout.fnmatch_lines(["*the run of test_sample.py::test_broken_run failed*",
                                 "*RuntimeError: QEMU did not come up*"])
    assert sorted(r["smp"] for r in runs) == [1, 4]  # one run per parametrization


def test_log_folders_stay_only_for_runs_with_a_failure(pytester):
    result, runs = run(pytester)
    kept = {p.name for p in (pytester.path / "logs").iterdir()}
    assert kept == {"test_sample.py__test_whole_run_1___run",
                    "test_sample.py__test_broken_run__run"}


def test_deselected_runs_are_never_started(pytester):
    result, runs = run(pytester, "-k", "other or 4")
    result.assert_outcomes(passed=3 + 1 + 1, skipped=1)
    assert [r["smp"] for r in runs] == [4]
    result, runs = run(pytester, "-k", "other")
    result.assert_outcomes(passed=1)
    assert runs == []


def test_collect_only_lists_the_checks(pytester):
    result, _ = run(pytester, "--collect-only", "-q", "-k", "4")
    result.stdout.fnmatch_lines(["test_sample.py::conformance[[]4[]]/001 base.get_spec_version*",
                                 "test_sample.py::test_whole_run[[]4[]]"])

"""The pytest plugin's per-test log folders, checked with pytester."""

TESTS = """
def test_passes(ks_log_dir):
    (ks_log_dir / "console.log").write_text("fine")

def test_fails(ks_log_dir):
    (ks_log_dir / "console.log").write_text("boom")
    assert False
"""


def test_failed_test_keeps_its_log_folder_and_names_it(pytester):
    pytester.makepyfile(test_sample=TESTS)
    root = pytester.path / "logs"
    result = pytester.runpytest_subprocess(f"--ks-log-root={root}")
    result.assert_outcomes(passed=1, failed=1)
    assert [p.name for p in root.iterdir()] == ["test_sample.py__test_fails"]
    assert (root / "test_sample.py__test_fails" / "console.log").read_text() == "boom"
    result.stdout.fnmatch_lines(["*keystone-py logs*",
                                 f"kept in {root}/test_sample.py__test_fails"])


def test_keep_logs_keeps_passing_tests_folders_too(pytester):
    pytester.makepyfile(test_sample=TESTS)
    root = pytester.path / "logs"
    result = pytester.runpytest_subprocess(f"--ks-log-root={root}", "--keep-logs")
    result.assert_outcomes(passed=1, failed=1)
    assert sorted(p.name for p in root.iterdir()) == ["test_sample.py__test_fails",
                                                      "test_sample.py__test_passes"]


def test_plugin_options_are_registered(pytester):
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--smp*", "*--firmware*", "*--qemu-arg*", "*--keep-logs*"])

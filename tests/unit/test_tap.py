"""The TAP parser the conformance, attack and runtime suites are read with."""

from keystone_py.tap import parse_tap

CONSOLE = """keystone-rs SM v0.1.0\r
ok 1 - base.get_spec_version is 2.0\r
dbcn: console_write works
not ok 2 - base.probe(TIME) = 1
ok 3
1..3
payload: done (passed 2, failed 1)
"""


def test_tap_parses_results_plan_and_summary():
    r = parse_tap(CONSOLE)
    assert [(x.ok, x.number) for x in r.results] == [(True, 1), (False, 2), (True, 3)]
    assert r.results[0].description == "base.get_spec_version is 2.0"
    assert r.results[2].description == ""
    assert r.plan == 3 and r.done == (2, 1)
    assert r.complete and not r.all_ok
    assert "not ok 2 - base.probe(TIME) = 1" in r.summary()


def test_tap_without_plan_is_incomplete():
    r = parse_tap("ok 1 - a\nok 2 - b\n")
    assert not r.complete and not r.all_ok and r.plan is None


def test_tap_plan_must_match_the_result_count():
    assert not parse_tap("ok 1 - a\n1..2\n").complete


def test_tap_all_ok():
    assert parse_tap("ok 1 - a\nok 2 - b\n1..2\npayload: done (passed 2, failed 0)\n").all_ok


def test_tap_empty_plan_is_not_all_ok():
    assert not parse_tap("1..0\n").all_ok


def test_a_failed_check_keeps_the_diagnostic_lines_that_follow_it():
    r = parse_tap("not ok 1 - sm.create\n#   got (error 3, value 0x0), want (error 0, value 0x1)\n"
                  "#   second line\nsome console line\n# not a diagnostic\nok 2 - next\n")
    assert r.results[0].diagnostics == ("got (error 3, value 0x0), want (error 0, value 0x1)",
                                        "second line")
    assert r.results[1].diagnostics == ()


def test_skip_directives_are_ok_and_name_their_reason():
    r = parse_tap("ok 1 - h-state: hvip survives # SKIP no H extension\n"
                  "ok 2 - hsm-race: start vs create # rounds 2000\n")
    skip, race = r.results
    assert skip.ok and skip.skipped and skip.directive == "SKIP"
    assert skip.name == "h-state: hvip survives" and skip.reason == "no H extension"
    assert skip.description == "h-state: hvip survives # SKIP no H extension"
    # A comment that is not a directive stays part of the name.
    assert not race.skipped and race.name == "hsm-race: start vs create # rounds 2000"

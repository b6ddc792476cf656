"""Pure-Python unit tests: cache keys, TAP parsing, argv, errors. No QEMU."""

from pathlib import Path

import pytest

from keystone_py.build import TARGETS, compute_cache_key, expand_targets, iter_input_files
from keystone_py.errors import BuildError, ConsoleTimeout, MachineLaunchError
from keystone_py.machine import Machine, free_tcp_port
from keystone_py.tap import parse_tap

# -- cache key ---------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "Cargo.toml").write_text("[workspace]\n")
    (tmp_path / "sm_rs/src").mkdir(parents=True)
    (tmp_path / "sm_rs/src/main.rs").write_text("fn main() {}\n")
    return tmp_path


INPUTS = ("Cargo.toml", "Cargo.lock", "sm_rs")


def test_cache_key_is_stable_for_an_unchanged_tree(tree):
    assert compute_cache_key(tree, INPUTS, "rustc 1") == compute_cache_key(tree, INPUTS, "rustc 1")


def test_cache_key_changes_when_a_source_changes(tree):
    before = compute_cache_key(tree, INPUTS)
    (tree / "sm_rs/src/main.rs").write_text("fn main() { loop {} }\n")
    assert compute_cache_key(tree, INPUTS) != before


def test_cache_key_changes_when_a_file_is_added(tree):
    before = compute_cache_key(tree, INPUTS)
    (tree / "sm_rs/src/pmp.rs").write_text("")
    assert compute_cache_key(tree, INPUTS) != before


def test_cache_key_changes_with_the_toolchain_version(tree):
    assert compute_cache_key(tree, INPUTS, "rustc 1.96") != compute_cache_key(tree, INPUTS, "1.97")


def test_cache_key_ignores_timestamps_and_build_output_folders(tree):
    before = compute_cache_key(tree, INPUTS)
    (tree / "sm_rs/src/main.rs").touch()
    (tree / "sm_rs/target").mkdir()
    (tree / "sm_rs/target/junk").write_text("x")
    assert compute_cache_key(tree, INPUTS) == before


def test_cache_key_does_not_depend_on_where_the_checkout_is(tree, tmp_path_factory):
    import shutil
    other = tmp_path_factory.mktemp("elsewhere") / "repo"
    shutil.copytree(tree, other)
    assert compute_cache_key(other, INPUTS) == compute_cache_key(tree, INPUTS)


def test_input_files_skip_missing_inputs(tree):
    files = iter_input_files(tree, INPUTS)
    assert [f.relative_to(tree).as_posix() for f in files] == ["Cargo.toml", "sm_rs/src/main.rs"]


def test_targets_expand_all_and_aliases():
    assert expand_targets([]) == [*TARGETS, "linux"]
    assert expand_targets(["all"]) == [*TARGETS, "linux"]
    assert expand_targets(["sm_rs"]) == ["sm"]
    assert expand_targets(["linux", "sm", "linux"]) == ["linux", "sm"]
    with pytest.raises(BuildError, match="unknown build target"):
        expand_targets(["kernel"])


# -- TAP ---------------------------------------------------------------------------

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


# -- Machine argv -----------------------------------------------------------------------


def make_machine(**kw):
    return Machine(firmware="fw.bin", qemu="/usr/bin/qemu-system-riscv64",
                   log_dir="/nonexistent", **kw)


def test_argv_has_machine_firmware_kernel_and_sockets():
    argv = make_machine(kernel="k.bin", smp=4, memory="512M").build_argv(
        Path("/t/s.sock"), Path("/t/q.sock"), None)
    joined = " ".join(argv)
    assert argv[0] == "/usr/bin/qemu-system-riscv64"
    assert "-M virt" in joined and "-smp 4" in joined and "-m 512M" in joined
    assert "-bios fw.bin" in joined and "-kernel k.bin" in joined
    assert "path=/t/s.sock,server=on,wait=on" in joined
    assert "-qmp unix:/t/q.sock,server=on,wait=off" in joined
    assert "-S" not in argv and "-gdb" not in argv and "-append" not in argv


def test_argv_with_gdb_starts_halted_on_the_given_port():
    argv = make_machine(gdb=True).build_argv(Path("s"), Path("q"), 4321)
    assert "-S" in argv
    assert argv[argv.index("-gdb") + 1] == "tcp:127.0.0.1:4321"


def test_argv_keeps_append_as_one_argument_and_extra_args_last():
    argv = make_machine(append="hang now", initrd="i.cpio", extra_args=["-icount", "shift=0"]) \
        .build_argv(Path("s"), Path("q"), None)
    assert argv[argv.index("-append") + 1] == "hang now"
    assert argv[argv.index("-initrd") + 1] == "i.cpio"
    assert argv[-2:] == ["-icount", "shift=0"]


def test_missing_firmware_is_a_launch_error_naming_the_file(tmp_path):
    m = Machine(firmware=tmp_path / "nope.bin", qemu="/usr/bin/qemu-system-riscv64",
                log_dir=tmp_path / "logs")
    with pytest.raises(MachineLaunchError, match="nope.bin does not exist"):
        m.launch()


def test_free_tcp_port_is_bindable():
    import socket
    port = free_tcp_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


# -- errors ---------------------------------------------------------------------------


def test_console_timeout_message_carries_pattern_tail_and_log_path():
    err = ConsoleTimeout(r"^1\.\.\d+", 2.0, ["line a", "payload: hang requested"],
                         Path("/logs/console.log"))
    text = str(err)
    assert r"^1\.\.\d+" in text and "payload: hang requested" in text
    assert "/logs/console.log" in text and "2.0s" in text


def test_launch_error_message_carries_argv_code_and_output():
    err = MachineLaunchError("exited at once", ["qemu", "-bad"], 1, "qemu: invalid option\n")
    assert "qemu -bad" in str(err) and "exit code: 1" in str(err)
    assert "invalid option" in str(err)

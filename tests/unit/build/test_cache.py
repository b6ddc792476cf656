"""The build cache: content-hash keys and stamp files."""

import shutil

import pytest

from keystone_py.build import Stamp, compute_cache_key, digest, iter_input_files


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
    other = tmp_path_factory.mktemp("elsewhere") / "repo"
    shutil.copytree(tree, other)
    assert compute_cache_key(other, INPUTS) == compute_cache_key(tree, INPUTS)


def test_input_files_skip_missing_inputs(tree):
    files = iter_input_files(tree, INPUTS)
    assert [f.relative_to(tree).as_posix() for f in files] == ["Cargo.toml", "sm_rs/src/main.rs"]


def test_digest_is_the_hash_of_the_parts_in_a_row():
    assert digest(b"ab", "c") == digest("abc") != digest("ab")


def test_stamp_is_fresh_only_with_its_key_and_every_output(tmp_path):
    out = tmp_path / "out.bin"
    stamp = Stamp(tmp_path / "x.stamp")
    assert not stamp.fresh("k1", [out]) and stamp.key() == ""
    out.write_bytes(b"\0")
    stamp.write("k1", package="p")
    assert stamp.fresh("k1", [out]) and stamp.fresh("k1")
    assert not stamp.fresh("k2", [out])
    assert not stamp.fresh("k1", [out, tmp_path / "missing"])
    assert stamp.fresh("k1", [tmp_path])  # a folder counts as an output too


def test_a_stamp_that_is_not_json_is_stale(tmp_path):
    (tmp_path / "old.stamp").write_text("/usr/src/linux-source-6.1.tar.xz:12345")
    assert not Stamp(tmp_path / "old.stamp").fresh("/usr/src/linux-source-6.1.tar.xz:12345")

"""The remap pairs that make builds reproducible (keystone_py.build.remap): the
folders each build renames and the flags rustc and gcc get."""

from __future__ import annotations

import sys
from pathlib import Path

from keystone_py.build import remap


class FakeToolchain:
    """A Toolchain whose rustc is a script (prints ``sysroot`` or fails)."""

    def __init__(self, tmp_path: Path, sysroot: str | None):
        self.rustc = tmp_path / "rustc"
        body = f"print({sysroot!r})" if sysroot else "raise SystemExit(1)"
        self.rustc.write_text(f"#!{sys.executable}\n{body}\n")
        self.rustc.chmod(0o755)


def test_rust_remaps_name_checkout_cargo_home_target_and_sysroot(tmp_path, monkeypatch):
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "ch"))
    sysroot = tmp_path / "sysroot"
    tc = FakeToolchain(tmp_path, str(sysroot))
    pairs = remap.rust_remaps(tmp_path / "co", tmp_path / "t", tc)
    assert pairs == [(tmp_path / "co", "/keystone-rs"), (tmp_path / "ch", "/cargo-home"),
                     (tmp_path / "t", "/target"), (sysroot, "/rust-sysroot")]
    assert remap.rustc_flags(pairs)[0] == f"--remap-path-prefix={tmp_path / 'co'}=/keystone-rs"


def test_a_rustc_that_does_not_answer_leaves_the_sysroot_out(tmp_path, monkeypatch):
    monkeypatch.delenv("CARGO_HOME", raising=False)
    pairs = remap.rust_remaps(tmp_path, tmp_path / "t", FakeToolchain(tmp_path, None))
    assert [name for _, name in pairs] == ["/keystone-rs", "/cargo-home", "/target"]
    assert pairs[1][0] == (Path.home() / ".cargo").resolve()


def test_relative_folders_are_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pairs = remap.rust_remaps(Path("co"), Path("t"), FakeToolchain(tmp_path, None))
    assert pairs[0][0] == tmp_path / "co" and pairs[2][0] == tmp_path / "t"


def test_c_maps_name_the_app_and_the_checkout():
    assert remap.c_prefix_maps(Path("/a"), Path("/k")) == [
        "-ffile-prefix-map=/a=/app", "-ffile-prefix-map=/k=/keystone-rs"]
    assert remap.c_checkout_map(Path("/k")) == ["-ffile-prefix-map=/k=/keystone-rs"]

"""The zCore build's source checks: the sources folder, MANIFEST.tsv, each
archive's sha256, the patch series' names and the cargo [patch] file."""

import hashlib
import io
import re
import tarfile
from pathlib import Path

import pytest

from keystone_py.build.targets import build_targets, expand_targets
from keystone_py.build.zcore import (
    MANIFEST_COLUMNS,
    SOURCES_ENV,
    Archive,
    ZcoreBuilder,
    _lock_packages,
    cargo_patch_config,
    check_archives,
    patch_series,
    read_manifest,
    sources_folder,
)
from keystone_py.errors import BuildError, KeystoneError
from keystone_py.toolchain import Toolchain


def _targz(folder: str, files: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for rel, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{folder}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def vendor(tmp_path):
    """A sources folder: zCore and one dependency, each a real .tar.gz, listed
    with their true sha256."""
    folder = tmp_path / "vendor"
    folder.mkdir()
    rows = ["\t".join(MANIFEST_COLUMNS)]
    for name, repo, files in (
            ("zCore", "rcore-os/zCore", {"Cargo.toml": "[workspace]\n"}),
            ("rcore-fs", "rcore-os/rcore-fs",
             {"rcore-fs/Cargo.toml": '[package]\nname = "rcore-fs"\n',
              "rcore-fs-sfs/Cargo.toml": '\ufeff[package]\nname = "rcore-fs-sfs"\n'})):
        data = _targz(name, files)
        file = f"{name}-0123456789ab.tar.gz"
        (folder / file).write_bytes(data)
        rows.append("\t".join([name, repo, "0123456789ab" * 3, "0123456789ab" * 3, file,
                               hashlib.sha256(data).hexdigest(), "0"]))
    (folder / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    return folder


def test_sources_folder_comes_from_the_argument_or_the_environment(vendor):
    assert sources_folder(vendor, env={}) == vendor.resolve()
    assert sources_folder(None, env={SOURCES_ENV: str(vendor)}) == vendor.resolve()


def test_no_sources_folder_says_how_to_give_one():
    with pytest.raises(KeystoneError) as err:
        sources_folder(None, env={})
    assert "no sources folder given" in str(err.value)
    assert "--zcore-sources DIR" in str(err.value) and SOURCES_ENV in str(err.value)


def test_a_missing_sources_folder_is_named(tmp_path):
    with pytest.raises(KeystoneError) as err:
        sources_folder(tmp_path / "nowhere", env={})
    assert f"{tmp_path / 'nowhere'} does not exist" in str(err.value)
    assert "--zcore-sources DIR" in str(err.value)


def test_the_manifest_is_read_and_the_true_archives_pass(vendor):
    archives = read_manifest(vendor)
    assert [a.name for a in archives] == ["zCore", "rcore-fs"]
    assert archives[1].url == "https://github.com/rcore-os/rcore-fs"
    check_archives(vendor, archives)  # no error


def test_a_missing_manifest_is_an_error_with_the_fix(tmp_path):
    with pytest.raises(KeystoneError) as err:
        read_manifest(tmp_path)
    assert "MANIFEST.tsv" in str(err.value) and "--zcore-sources" in str(err.value)


def test_a_manifest_with_another_header_is_refused(vendor):
    text = (vendor / "MANIFEST.tsv").read_text()
    (vendor / "MANIFEST.tsv").write_text(text.replace("sha256", "sha1", 1))
    with pytest.raises(KeystoneError, match="must name the columns"):
        read_manifest(vendor)


def test_a_short_row_is_named_by_its_line(vendor):
    with open(vendor / "MANIFEST.tsv", "a") as f:
        f.write("smoltcp\tsmoltcp-rs/smoltcp\n")
    with pytest.raises(KeystoneError, match=r"MANIFEST.tsv:4: expected at least 6"):
        read_manifest(vendor)


def test_a_missing_archive_is_named(vendor):
    archives = read_manifest(vendor)
    (vendor / archives[1].file).unlink()
    with pytest.raises(KeystoneError) as err:
        check_archives(vendor, archives)
    assert f"archive {archives[1].file} (rcore-os/rcore-fs 012345678" in str(err.value)
    assert "is missing from" in str(err.value)


def test_a_corrupt_archive_names_the_file_and_both_sha256(vendor):
    archives = read_manifest(vendor)
    path = vendor / archives[0].file
    path.write_bytes(path.read_bytes() + b"\0")
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(KeystoneError) as err:
        check_archives(vendor, archives)
    msg = str(err.value)
    assert str(path) in msg and got in msg and archives[0].sha256 in msg
    assert got != archives[0].sha256


def test_the_build_checks_the_archives_before_unpacking(vendor, tmp_path):
    archives = read_manifest(vendor)
    (vendor / archives[1].file).write_bytes(b"not the archive")
    root = tmp_path / "repo"
    root.mkdir()
    builder = ZcoreBuilder(root=root, toolchain=Toolchain(env={}), sources=vendor)
    with pytest.raises(KeystoneError, match="is corrupt or not the pinned one"):
        builder.build()
    assert not (root / "build").exists()


def test_patch_names_pick_the_longest_repository_name(tmp_path):
    for name in ("0002-rcore-fs-sfs-fix.patch", "0001-zCore-port.patch",
                 "0003-rcore-console-x.patch"):
        (tmp_path / name).write_text("")
    (tmp_path / "README.md").write_text("")
    got = [(p.name, n) for p, n in patch_series(tmp_path, ["zCore", "rcore-fs",
                                                           "rcore-console"])]
    assert got == [("0001-zCore-port.patch", "zCore"), ("0002-rcore-fs-sfs-fix.patch", "rcore-fs"),
                   ("0003-rcore-console-x.patch", "rcore-console")]


def test_a_patch_naming_no_archive_is_refused(tmp_path):
    (tmp_path / "0001-linux-port.patch").write_text("")
    with pytest.raises(KeystoneError, match="names no archive"):
        patch_series(tmp_path, ["zCore"])


def test_the_project_series_names_only_manifest_archives():
    from keystone_py.paths import find_root
    names = ["zCore", "PreemptiveScheduler", "region-allocator", "device_tree-rs", "rcore-fs"]
    series = patch_series(find_root() / "zcore_patch", names)
    assert series and series[0][1] == "zCore"


LOCK = '''version = 3

[[package]]
name = "rcore-fs"
version = "0.1.0"
source = "git+https://github.com/rcore-os/rcore-fs?rev=1a3246b#1a3246b1d3754f414817d72a6217fc7b6076ff30"

[[package]]
name = "rcore-fs-sfs"
version = "0.1.0"
source = "git+https://github.com/rcore-os/rcore-fs?rev=1a3246b#1a3246b1d3754f414817d72a6217fc7b6076ff30"
dependencies = [
 "rcore-fs",
]

[[package]]
name = "log"
version = "0.4.17"
source = "registry+https://github.com/rust-lang/crates.io-index"
'''


def test_lock_packages_reads_names_and_sources():
    pkgs = _lock_packages(LOCK)
    assert [p["name"] for p in pkgs] == ["rcore-fs", "rcore-fs-sfs", "log"]
    assert pkgs[2]["source"].startswith("registry+")


def test_the_cargo_patch_points_every_git_package_at_its_unpacked_folder(vendor, tmp_path):
    archives = read_manifest(vendor)
    src = tmp_path / "src"
    for a in archives:
        with tarfile.open(vendor / a.file) as tar:
            tar.extractall(src)
    text = cargo_patch_config(src, archives, LOCK)
    assert text.splitlines() == [
        '[patch."https://github.com/rcore-os/rcore-fs"]',
        f'rcore-fs = {{ path = "{src}/rcore-fs/rcore-fs" }}',
        f'rcore-fs-sfs = {{ path = "{src}/rcore-fs/rcore-fs-sfs" }}',
    ]


def test_a_git_source_without_an_archive_is_a_build_error(vendor, tmp_path):
    lock = LOCK.replace("rcore-os/rcore-fs?", "rcore-os/ext2-rs?", 1)
    with pytest.raises(BuildError, match="ext2-rs, which no archive"):
        cargo_patch_config(tmp_path, [Archive("zCore", "rcore-os/zCore", "a", "a", "f", "s")],
                           lock)


def test_zcore_is_built_only_when_named():
    assert "zcore" not in expand_targets([]) and "zcore" not in expand_targets(["all"])
    assert expand_targets(["zcore"]) == ["zcore"]
    assert expand_targets(["all", "zcore"])[-1] == "zcore"


def test_build_zcore_passes_the_sources_folder(tmp_path, monkeypatch):
    built = []
    monkeypatch.setattr("keystone_py.build.targets.ZcoreBuilder.build",
                        lambda self, force=False: built.append(self.sources_arg))
    build_targets(["zcore"], toolchain=Toolchain(env={}), zcore_sources=tmp_path)
    assert built == [tmp_path]


def test_the_patch_table_lists_every_patch_with_its_line_count():
    """zcore_patch/README.md's table: one row per patch file, with its `wc -l`."""
    folder = Path(__file__).resolve().parents[3] / "zcore_patch"
    rows = dict(re.findall(r"^\| `(\d{4}-[^`]+\.patch)` \| (\d+) \|", (folder / "README.md")
                           .read_text(), re.M))
    files = {p.name: str(len(p.read_text().splitlines())) for p in folder.glob("[0-9]*.patch")}
    assert rows == files

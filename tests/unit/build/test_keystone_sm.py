"""Keystone's SM for the bench's live column: where its sources are looked for,
what a missing source says, and how QEMU starts its boot ROM (no build here:
tests/linux/test_bench_keystone.py builds and measures it)."""

import io
import tarfile

import pytest

from keystone_py.build.keystone_sm import (
    BOOTROM_ADDR,
    BOOTROM_LDS,
    KEYSTONE_ENV,
    OPENSBI_ENV,
    KeystoneFirmware,
    KeystoneSourcesMissing,
    find_sources,
)


def _keystone_tree(folder):
    (folder / "sm" / "src").mkdir(parents=True)
    (folder / "sm" / "src" / "sm.c").write_text("/* sm */\n")
    (folder / "bootrom").mkdir()
    (folder / "bootrom" / "bootloader.c").write_text("/* rom */\n")
    return folder


def _opensbi_archive(folder):
    folder.mkdir(parents=True, exist_ok=True)
    data = b"/* fw_jump */\n"
    with tarfile.open(folder / "opensbi-v1.1-test.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("opensbi/firmware/fw_jump.S")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return folder


def test_without_keystone_sources_the_error_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(KEYSTONE_ENV, raising=False)
    with pytest.raises(KeystoneSourcesMissing, match=KEYSTONE_ENV):
        find_sources(tmp_path)


def test_without_opensbi_sources_the_error_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(OPENSBI_ENV, raising=False)
    tree = _keystone_tree(tmp_path / "vendor" / "keystone")
    with pytest.raises(KeystoneSourcesMissing, match=OPENSBI_ENV):
        find_sources(tmp_path, keystone=tree.parent)


def test_a_folder_without_the_sources_is_refused_by_name(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(KeystoneSourcesMissing, match="sm/src/sm.c"):
        find_sources(tmp_path, keystone=tmp_path / "empty", opensbi=tmp_path / "empty")


def test_trees_and_archives_are_both_taken_and_identified(tmp_path):
    tree = _keystone_tree(tmp_path / "vendor" / "keystone")
    sources = find_sources(tmp_path, keystone=tree.parent,
                           opensbi=_opensbi_archive(tmp_path / "vendor" / "opensbi"))
    assert sources.keystone == tree
    assert sources.keystone_id.startswith("tree ")
    # The archive is unpacked under build/opensbi-src and named by its sha256.
    assert sources.opensbi.parent.parent == tmp_path / "build" / "opensbi-src"
    assert (sources.opensbi / "firmware" / "fw_jump.S").is_file()
    assert sources.opensbi_id.startswith("archive ")


def test_every_hart_starts_in_the_boot_rom(tmp_path):
    fw = KeystoneFirmware(fw_jump=tmp_path / "fw_jump.bin", bootrom=tmp_path / "bootrom.bin",
                          fdt_addr=0x8FE00000, memory="256M", source="test")
    args = fw.qemu_args(smp=2)
    assert args == ["-device", f"loader,file={tmp_path / 'bootrom.bin'},addr=0x2000,force-raw=on",
                    "-device", "loader,addr=0x2000,cpu-num=0",
                    "-device", "loader,addr=0x2000,cpu-num=1"]


def test_the_boot_rom_is_linked_at_its_address_with_qemus_fdt():
    lds = BOOTROM_LDS.format(addr=BOOTROM_ADDR, fdt=0x8FE00000)
    assert ". = 0x2000;" in lds and "_dtb = 0x8fe00000" in lds
    assert "INCLUDE sanctum_params.lds" in lds

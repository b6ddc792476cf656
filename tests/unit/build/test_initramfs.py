"""Initramfs images (cpio newc) written in Python."""

import stat

from keystone_py.build.initramfs import Initramfs, base_image


def read_newc(data: bytes):
    """A minimal newc reader: [(name, mode, rdevmajor, rdevminor, data)]."""
    out, off = [], 0
    while True:
        assert data[off:off + 6] == b"070701", off
        fields = [int(data[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = fields[11], fields[6]
        name_start = off + 110
        name = data[name_start:name_start + namesize - 1].decode()
        off = (name_start + namesize + 3) & ~3
        body = data[off:off + filesize]
        off = (off + filesize + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out.append((name, fields[1], fields[9], fields[10], body))


def test_initramfs_has_init_executable_and_dev_console(tmp_path):
    init = tmp_path / "init"
    init.write_bytes(b"\x7fELF fake")
    entries = {e[0]: e for e in read_newc(base_image(init).to_bytes())}
    name, mode, _, _, body = entries["init"]
    assert stat.S_ISREG(mode) and mode & 0o111 and body == b"\x7fELF fake"
    _, mode, major, minor, _ = entries["dev/console"]
    assert stat.S_ISCHR(mode) and (major, minor) == (5, 1)
    assert stat.S_ISDIR(entries["proc"][1]) and stat.S_ISDIR(entries["dev"][1])


def test_initramfs_is_byte_for_byte_reproducible(tmp_path):
    def image():
        return Initramfs().directory("bin").file("bin/x", b"abc", 0o755).to_bytes()
    assert image() == image()
    assert len(image()) % 4 == 0

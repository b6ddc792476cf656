"""Initramfs images as cpio "newc" archives, written in Python (no cpio tool).

The kernel unpacks the archive into its rootfs and runs ``/init``; the archive
must also carry ``/dev/console`` so that ``/init`` starts with a console.
"""

from __future__ import annotations

import gzip
import stat
from dataclasses import dataclass, field
from pathlib import Path

_MAGIC = b"070701"
_TRAILER = "TRAILER!!!"


@dataclass
class _Entry:
    name: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


@dataclass
class Initramfs:
    """An in-memory list of files, directories and device nodes to archive."""

    entries: list[_Entry] = field(default_factory=list)

    def directory(self, path: str, mode: int = 0o755) -> Initramfs:
        """Adds a directory (parents must be added first, as in any cpio)."""
        self.entries.append(_Entry(path.strip("/"), stat.S_IFDIR | mode))
        return self

    def file(self, path: str, data: bytes, mode: int = 0o644) -> Initramfs:
        """Adds a regular file with the given contents."""
        self.entries.append(_Entry(path.strip("/"), stat.S_IFREG | mode, data))
        return self

    def file_from(self, path: str, source: Path, mode: int = 0o755) -> Initramfs:
        """Adds a regular file copied from the build machine."""
        return self.file(path, Path(source).read_bytes(), mode)

    def char_device(self, path: str, major: int, minor: int, mode: int = 0o600) -> Initramfs:
        """Adds a character device node (e.g. /dev/console = 5:1)."""
        self.entries.append(_Entry(path.strip("/"), stat.S_IFCHR | mode, rdev=(major, minor)))
        return self

    def to_bytes(self) -> bytes:
        """Serialises the archive in newc format, trailer included."""
        out = bytearray()
        for ino, entry in enumerate([*self.entries, _Entry(_TRAILER, 0)], start=1):
            out += _header(ino, entry)
            out += entry.name.encode() + b"\0"
            out += b"\0" * (-len(out) % 4)
            out += entry.data
            out += b"\0" * (-len(out) % 4)
        return bytes(out)

    def write(self, path: Path, compress: bool = False) -> Path:
        """Writes the archive (optionally gzip-compressed) and returns its path."""
        data = self.to_bytes()
        if compress:
            data = gzip.compress(data, mtime=0)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


def _header(ino: int, entry: _Entry) -> bytes:
    nlink = 2 if stat.S_ISDIR(entry.mode) else 1
    fields = [
        ino if entry.name != _TRAILER else 0,
        entry.mode,
        0,  # uid
        0,  # gid
        nlink if entry.name != _TRAILER else 1,
        0,  # mtime: fixed, so the archive is reproducible
        len(entry.data),
        0,  # devmajor
        0,  # devminor
        entry.rdev[0],
        entry.rdev[1],
        len(entry.name) + 1,
        0,  # check
    ]
    return _MAGIC + b"".join(f"{v:08x}".encode() for v in fields)


def base_image(init: Path) -> Initramfs:
    """The minimal tree every boot needs: /init, /dev/console, mount points."""
    image = Initramfs()
    for d in ("dev", "proc", "sys", "bin", "tmp"):
        image.directory(d)
    image.char_device("dev/console", 5, 1)
    image.file_from("init", init, 0o755)
    return image

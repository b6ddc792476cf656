"""The third-party build's source checks (keystone_py.build.thirdparty) and
the ELF facts `run --eapp PROGRAM` relies on, without building anything."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from keystone_py.build.thirdparty import JQ_SOURCE_ENV, jq_tarball
from keystone_py.build.userapp import elf_interpreter
from keystone_py.errors import BuildError
from keystone_py.qemu.userrun import is_linux_program


def elf(notes: bytes = b"", interp: bytes = b"") -> bytes:
    """A 64-bit little-endian ELF header with a PT_NOTE and/or PT_INTERP."""
    segs = [(4, notes)] if notes else []
    segs += [(3, interp)] if interp else []
    phoff, data_at = 64, 64 + 56 * len(segs)
    head = bytearray(b"\x7fELF\x02\x01\x01" + bytes(9))
    head += struct.pack("<HHIQQQIHHHHHH", 2, 243, 1, 0x10000, phoff, 0, 0, 64, 56, len(segs),
                        64, 0, 0)
    phdrs, blobs, at = b"", b"", data_at
    for kind, blob in segs:
        phdrs += struct.pack("<IIQQQQQQ", kind, 4, at, 0, 0, len(blob), len(blob), 4)
        blobs += blob
        at += len(blob)
    return bytes(head) + phdrs + blobs


ABI_TAG = struct.pack("<III", 4, 16, 1) + b"GNU\0" + struct.pack("<IIII", 0, 4, 15, 0)


def test_a_glibc_abi_note_marks_a_linux_program(tmp_path):
    prog, eapp = Path(tmp_path) / "prog", Path(tmp_path) / "eapp"
    prog.write_bytes(elf(notes=ABI_TAG))
    eapp.write_bytes(elf())
    assert is_linux_program(prog)
    assert not is_linux_program(eapp)


def test_the_dynamic_loader_a_program_names_is_read(tmp_path):
    dyn, static = Path(tmp_path) / "dyn", Path(tmp_path) / "static"
    dyn.write_bytes(elf(interp=b"/lib/ld-linux-riscv64-lp64d.so.1\0"))
    static.write_bytes(elf(notes=ABI_TAG))
    assert elf_interpreter(dyn) == "/lib/ld-linux-riscv64-lp64d.so.1"
    assert elf_interpreter(static) is None


def test_a_jq_source_that_is_not_the_pinned_one_is_refused(tmp_path):
    other = Path(tmp_path) / "jq-1.13.0.tar.gz"
    other.write_bytes(b"not the sdist")
    with pytest.raises(BuildError, match="SHA-256"):
        jq_tarball(Path(tmp_path) / "downloads", other)


def test_a_missing_jq_source_is_named(tmp_path):
    with pytest.raises(BuildError, match=JQ_SOURCE_ENV):
        jq_tarball(Path(tmp_path) / "downloads", Path(tmp_path) / "nope.tar.gz")

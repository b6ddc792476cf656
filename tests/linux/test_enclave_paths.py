"""The path calls of Linux programs in enclaves (docs/runtime.md, "Files"):
a static glibc program (examples/linux/paths) stats paths, lists, renames,
unlinks and truncates files and uses fcntl under `ks-files`, whose
FilePolicy grants DIR/in.txt read-only and DIR/rw read-write: what the
policy grants works, the rest is EACCES. Then hosts that lie about a
directory listing or a stat: the call fails with EIO and the canary bytes
around the eapp's buffer show the runtime wrote nothing outside it.

One guest boot for all of it."""

from __future__ import annotations

import re

import pytest

from keystone_py.qemu import LinuxGuest

from .program_checks import check_line, checks, expect, program_guest

DIR = "/tmp/ksp"
ENOENT, EIO, EACCES, EINVAL = 2, 5, 13, 22
LINE = check_line("paths")
RETURNED = re.compile(r"^ks-files: returned (\d+) \(file calls (\d+), open at the end (\d+)\)$",
                      re.M)


@pytest.fixture(scope="module")
def guest(ks_paths, ks_linux, tmp_path_factory):
    logs = tmp_path_factory.mktemp("enclave-paths")
    with program_guest(ks_paths, ks_linux, logs, "enclave-paths", icount=None) as g:
        yield g


def ks_files(guest: LinuxGuest, extra: str = ""):
    run = guest.run(f"/bin/ks-files /enclave/linux-paths --setup {DIR} --ro {DIR}/in.txt "
                    f"--rw {DIR}/rw {extra}".strip(), 600)
    r = RETURNED.search(run.output)
    assert r and r.group(1) == "0", str(run)
    return run, checks(LINE, run.output)


@pytest.fixture(scope="module")
def honest(guest):
    return ks_files(guest)


def test_stat_by_path_sees_granted_paths_only(honest):
    _, c = honest
    expect(c, "stat", 0, extra="size=33")
    expect(c, "stat-refused", -1, EACCES)
    expect(c, "stat-missing", -1, ENOENT)


def test_a_granted_folder_is_listed_and_another_refused(honest):
    _, c = honest
    m = c["getdents64"]
    assert int(m.group("ret")) > 0 and m.group("canary") == "ok", m.group(0)
    expect(c, "readdir", 0, extra="a,b,")
    expect(c, "readdir-refused", -1, EACCES)


def test_ftruncate_needs_a_descriptor_open_for_writing(honest):
    _, c = honest
    expect(c, "ftruncate", 0, extra="size=1")
    expect(c, "ftruncate-read-only", -1, EINVAL)


def test_fcntl_keeps_close_on_exec_and_duplicates_descriptors(honest):
    _, c = honest
    expect(c, "getfd", 0)
    expect(c, "setfd", 0)
    expect(c, "getfd-cloexec", 1)
    expect(c, "getfl", 2)
    expect(c, "dupfd", 10)
    expect(c, "dup-shares-the-file", 2, extra="data=aZ")
    expect(c, "dupfd-cloexec", 1)


def test_rename_and_unlink_need_write_grants_on_every_path(honest):
    run, c = honest
    expect(c, "rename", 0)
    expect(c, "rename-out", -1, EACCES)
    expect(c, "rename-read-only", -1, EACCES)
    expect(c, "unlink", 0)
    expect(c, "unlink-read-only", -1, EACCES)
    expect(c, "unlink-refused", -1, EACCES)
    expect(c, "unlinked", -1, ENOENT)
    assert RETURNED.search(run.output).group(3) == "0", "every file closed"


@pytest.mark.parametrize("mode", ["dents-bad-reclen", "dents-more"])
def test_a_host_lying_about_a_listing_gets_eio_and_no_byte_outside_the_buffer(guest, mode):
    _, c = ks_files(guest, f"--lie {mode}")
    expect(c, "getdents64", -1, EIO)
    expect(c, "readdir", 0, extra="")  # readdir ends at the error
    expect(c, "stat", 0, extra="size=33")  # the rest still works


def test_a_short_stat_by_path_gets_eio(guest):
    _, c = ks_files(guest, "--lie stat-path-short")
    expect(c, "stat", -1, EIO, extra="size=-1")
    expect(c, "readdir", 0, extra="a,b,")

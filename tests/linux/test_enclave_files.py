"""Linux programs inside enclaves, with files (docs/runtime.md, "Files"): a
static glibc program (examples/linux/files) runs as an eapp on our runtime
under `ks-files`, a host that grants it paths with the host SDK's
FilePolicy. Its open/read/pread/write/pwrite/writev/readv/lseek/fstat/close
and stdio calls reach host files through EDGECALL_FILE; what the policy does
not grant is EACCES. Then the same program under hosts that lie (lengths,
ranges, results, handles): the call fails with EIO, and the canary bytes
around the eapp's buffer show the runtime wrote nothing outside it. Last, the
instructions of a proxied 4 KiB read and write beside a plain ocall.

One guest boot (under -icount shift=0, for the cost figure) for all of it."""

from __future__ import annotations

import logging
import re

import pytest

from keystone_py.qemu import LinuxGuest

from .program_checks import check_line, checks, expect, program_guest

log = logging.getLogger(__name__)

DIR = "/tmp/ksf"
EIO, EBADF, EACCES = 5, 9, 13
BAD_POINTER = 0xFA17_0100
LINE = check_line("files")
BENCH = re.compile(r"^files: bench rounds=(\d+) pread4k=(\d+) pwrite4k=(\d+) ocall=(\d+)$", re.M)
RETURNED = re.compile(r"^ks-files: returned (\d+) \(file calls (\d+), open at the end (\d+)\)$",
                      re.M)


@pytest.fixture(scope="module")
def guest(ks_paths, ks_linux, tmp_path_factory):
    logs = tmp_path_factory.mktemp("enclave-files")
    with program_guest(ks_paths, ks_linux, logs, "enclave-files") as g:
        yield g


def ks_files(guest: LinuxGuest, extra: str = "", args: str = ""):
    run = guest.run(f"/bin/ks-files /enclave/linux-files --setup {DIR} --ro {DIR}/in.txt "
                    f"--rw {DIR}/rw {extra} {args}".strip(), 600)
    return run, checks(LINE, run.output)


@pytest.fixture(scope="module")
def honest(guest):
    return ks_files(guest, f"--cat {DIR}/rw/out.txt --cat {DIR}/rw/log.txt",
                    "--env KSF_MODE=honest --env OTHER=1 -- one two")


def test_a_glibc_program_uses_the_files_the_host_grants(honest):
    run, c = honest
    r = RETURNED.search(run.output)
    assert r and r.group(1) == "0", str(run)
    assert r.group(3) == "0", "every file the eapp opened was closed"
    expect(c, "open", 3, extra="fd=3")
    expect(c, "read", 33, extra="data=first line of in.txt|second line|")
    expect(c, "pread", 5, extra="data=line ")
    expect(c, "fstat", 0, extra="size=33")
    expect(c, "lseek-end", 33)
    expect(c, "close", 0)
    expect(c, "create", 3)
    expect(c, "write", 23)
    expect(c, "pwrite", 5)
    expect(c, "writev", 16)
    expect(c, "fgets", 20, extra="first line of in.txt")
    expect(c, "fprintf", 0)
    expect(c, "readv", 10, extra="data=first line")
    assert f"ks-files: cat {DIR}/rw/out.txt: HELLO from the enclave|vec-one vec-two|" \
        in run.output, str(run)
    assert f"ks-files: cat {DIR}/rw/log.txt: stdio 42|" in run.output, str(run)


def test_argv_and_environment_come_from_the_hosts_arguments(honest, guest):
    run, _ = honest
    assert ("files: argc=3 argv[0]=/enclave/linux-files argv[1]=one argv[2]=two "
            "KSF_MODE=honest") in run.lines, str(run)
    bare, _ = ks_files(guest, "--lie stat-short")
    assert "files: argc=1 argv[0]=/enclave/linux-files KSF_MODE=(unset)" in bare.lines, str(bare)


def test_a_host_without_a_file_policy_refuses_every_file(guest):
    """Keystone's test-runner (no Builder::files, no args): the SDK answers
    every file call EACCES, and the eapp's argv is the runtime's default."""
    run = guest.run("/bin/test-runner /enclave/linux-files /enclave/eyrie-rt "
                    "/enclave/loader.bin", 600)
    c = checks(LINE, run.output)
    assert "files: argc=1 argv[0]=eapp KSF_MODE=(unset)" in run.lines, str(run)
    expect(c, "open", -1, EACCES, extra="fd=-1")
    expect(c, "create", -1, EACCES)
    expect(c, "refused", -1, EACCES)


def test_a_rust_std_program_uses_files_through_std_fs(guest):
    run = guest.run(f"/bin/ks-files /bin/files-rs --setup {DIR} --ro {DIR}/in.txt "
                    f"--rw {DIR}/rw --cat {DIR}/rw/rust.txt -- alpha", 600)
    r = RETURNED.search(run.output)
    assert r and r.group(1) == "0" and r.group(3) == "0", str(run)
    assert 'files-rs: args ["/bin/files-rs", "alpha"]' in run.lines, str(run)
    assert 'files-rs: read 33 bytes, first line "first line of in.txt"' in run.lines, str(run)
    assert "files-rs: secret refused" in run.lines, str(run)
    assert f"ks-files: cat {DIR}/rw/rust.txt: written by Rust std in an enclave|" in run.lines


@pytest.mark.parametrize("mode", ["bad-read-buffer", "bad-write-buffer", "bad-path"])
def test_a_file_call_naming_memory_not_the_eapps_ends_the_enclave(guest, mode):
    """A read into, a write from, or a path at memory the eapp does not own
    (the runtime's, or a buffer that starts in the eapp's data and runs 64 MiB
    past it) is checked as an ocall's buffer: the enclave ends with
    BAD_POINTER before the host sees any byte of it."""
    run, c = ks_files(guest, "", f"-- {mode}")
    r = RETURNED.search(run.output)
    assert r and int(r.group(1)) == BAD_POINTER, str(run)
    assert mode not in c, "the call returned to the eapp"


def test_what_the_policy_does_not_grant_is_refused(honest):
    _, c = honest
    expect(c, "refused", -1, EACCES)
    expect(c, "refused-rw", -1, EACCES)
    expect(c, "refused-dotdot", -1, EACCES)
    expect(c, "close-again", -1, EBADF)
    expect(c, "read-bad-fd", -1, EBADF)


@pytest.mark.parametrize("mode", ["read-more", "read-short", "read-outside", "read-not-errno"])
def test_a_host_lying_about_a_read_gets_eio_and_no_byte_outside_the_buffer(guest, mode):
    run, c = ks_files(guest, f"--lie {mode}")
    assert RETURNED.search(run.output), str(run)
    expect(c, "read", -1, EIO, extra="data=")
    expect(c, "pread", -1, EIO, extra="data=")
    expect(c, "fgets", 0, extra="")
    expect(c, "write", 23)  # the rest still works


def test_a_host_lying_about_a_write_gets_eio(guest):
    run, c = ks_files(guest, "--lie write-more")
    assert RETURNED.search(run.output), str(run)
    expect(c, "write", -1, EIO)
    expect(c, "pwrite", -1, EIO)
    expect(c, "read", 33)


def test_a_short_stat_answer_gets_eio_and_the_stat_buffer_untouched(guest):
    run, c = ks_files(guest, "--lie stat-short")
    assert RETURNED.search(run.output), str(run)
    expect(c, "fstat", -1, EIO, extra="size=-1")
    expect(c, "read", 33)


def test_the_host_never_chooses_the_eapps_descriptors(guest):
    """Every open answered with handle 1 (stdout's number): the eapp still
    gets its own descriptors (3 for each, as each is closed before the next),
    and its writes go to the host's file server, never to the console: the
    write to the created file reaches the server's handle 1, in.txt, opened
    read-only (EBADF)."""
    run, c = ks_files(guest, "--lie open-handle-1")
    assert RETURNED.search(run.output), str(run)
    expect(c, "open", 3, extra="fd=3")
    expect(c, "create", 3)
    expect(c, "write", -1, EBADF)
    assert "hello from the enclave" not in run.output, str(run)


def test_cost_of_a_proxied_4k_read_and_write_beside_a_plain_ocall(honest):
    run, _ = honest
    m = BENCH.search(run.output)
    assert m, str(run)
    rounds, pread, pwrite, ocall = (int(g) for g in m.groups())
    log.warning("instructions each (-icount shift=0, %d rounds): pread 4 KiB %d, "
                "pwrite 4 KiB %d, plain ocall %d", rounds, pread, pwrite, ocall)
    # A proxied call is an ocall plus the copies and the host's file work.
    assert ocall > 0 and pread > ocall and pwrite > ocall, m.group(0)

"""Sealed files for Linux programs in enclaves (docs/runtime.md, "Sealed
files"): a static glibc program (examples/linux/sealed) runs under
`ks-files --sealed PATH`; the runtime encrypts and authenticates PATH with
the enclave's sealing key, the program uses plain read/write/pread/pwrite/
lseek/fstat. The host file holds no plaintext; another enclave (another
measurement, examples/linux/sealed-other) cannot open it; every way a host
tampers with it (an edited byte, swapped blocks, a truncated file, an older
block put back, an older file put back while the enclave runs) makes the
call fail with EBADMSG and no forged byte reaches the program. Last, the
instructions of a sealed 4 KiB pread/pwrite beside a plain one.

One guest boot (under -icount shift=0, for the cost figure) for all of it."""

from __future__ import annotations

import logging
import re

import pytest

from keystone_py.qemu import LinuxGuest

from .program_checks import check_line, checks, expect, program_guest

log = logging.getLogger(__name__)

DIR = "/tmp/kss"
SEALED = f"{DIR}/rw/s.bin"
MARKER = "SEALED-PLAINTEXT-MARKER"
EBADF, EACCES, EBUSY, EBADMSG = 9, 13, 16, 74
SIZE = 3 * 4096 - 100
LINE = check_line("sealed", canary=False)
BENCH = re.compile(r"^sealed: bench rounds=(\d+) sealed_pread4k=(\d+) sealed_pwrite4k=(\d+) "
                   r"plain_pread4k=(\d+) plain_pwrite4k=(\d+)$", re.M)
RETURNED = re.compile(r"^ks-files: returned (\d+) \(file calls (\d+), open at the end (\d+)\)$",
                      re.M)


@pytest.fixture(scope="module")
def guest(ks_paths, ks_linux, tmp_path_factory):
    logs = tmp_path_factory.mktemp("sealed-files")
    with program_guest(ks_paths, ks_linux, logs, "sealed-files") as g:
        yield g


def run(guest: LinuxGuest, mode: str, extra: str = "", program: str = "sealed"):
    """One ks-files run of the sealed program in `mode`: (run, checks by name)."""
    out = guest.run(f"/bin/ks-files /enclave/linux-{program} --rw {DIR}/rw --sealed {SEALED} "
                    f"--sealed {DIR}/rw/bench.bin {extra} -- {mode}".strip(), 600)
    r = RETURNED.search(out.output)
    assert r, str(out)
    return out, checks(LINE, out.output)


def fresh(guest: LinuxGuest):
    """A new sealed file (write mode, from an empty folder), kept as s.bin.old."""
    out, c = run(guest, "write", f"--setup {DIR} --keep {SEALED} "
                                 f"--contains {SEALED} {MARKER}")
    return out, c


@pytest.fixture(scope="module")
def written(guest):
    return fresh(guest)


def test_a_glibc_program_reads_back_what_it_wrote_to_a_sealed_file(written):
    out, c = written
    expect(c, "open", 3)
    expect(c, "write", SIZE)
    expect(c, "pwrite", 6)
    expect(c, "lseek", 4090)
    expect(c, "read-across", 12, extra="same=1")
    expect(c, "fstat", 0, extra=f"size={SIZE}")
    expect(c, "lseek-end", SIZE)
    expect(c, "close", 0)
    expect(c, "reread", SIZE, extra="same=1")
    assert RETURNED.search(out.output).group(3) == "0", "every file closed"


def test_a_read_only_descriptor_of_a_sealed_file_cannot_write(written):
    _, c = written
    expect(c, "write-read-only", -1, EBADF)


def test_a_sealed_file_has_one_open_descriptor_at_a_time(written):
    _, c = written
    expect(c, "open-twice", -1, EBUSY)


def test_the_host_file_holds_no_plaintext(written):
    out, _ = written
    assert f"ks-files: {SEALED} contains {MARKER}: no" in out.lines, str(out)


def test_the_plaintext_search_finds_what_the_host_file_does_hold(guest, written):
    """The check above can fail: the same search finds the sealed format's
    magic, the one plain text of the host file, and the program still reads
    its own plaintext back."""
    out, c = run(guest, "read", f"--contains {SEALED} KSSEAL01")
    assert f"ks-files: {SEALED} contains KSSEAL01: yes" in out.lines, str(out)
    expect(c, "read0", 16, extra="data=SEALED-PLAINTEXT")


def test_another_enclave_cannot_open_the_sealed_file(guest, written):
    out, c = run(guest, "read", program="sealed-other")
    assert "sealed: program=sealed-other mode=read" in out.lines, str(out)
    expect(c, "open", -1, EBADMSG)


def test_a_file_the_policy_does_not_seal_is_refused_as_before(guest, written):
    out = guest.run("/bin/ks-files /enclave/linux-sealed -- read", 600)
    c = checks(LINE, out.output)
    expect(c, "open", -1, EACCES)


@pytest.mark.parametrize("mode,failing", [
    ("edit", "read0"),
    ("swap", "read0"),
    ("truncate", "read1"),
])
def test_a_tampered_sealed_file_fails_with_ebadmsg(guest, mode, failing):
    fresh(guest)
    _, c = run(guest, "read", f"--tamper {mode}:{SEALED}")
    expect(c, "open", 3)
    expect(c, failing, -1, EBADMSG, extra="data=")


def test_an_older_block_put_back_fails_with_ebadmsg(guest):
    fresh(guest)
    _, c = run(guest, "update")
    expect(c, "update", 3)
    _, c = run(guest, "read")
    expect(c, "read0", 16, extra="data=SEALED-PLANEWEXT")
    _, c = run(guest, "read", f"--tamper replay-block:{SEALED}")
    expect(c, "read0", -1, EBADMSG, extra="data=")
    expect(c, "read1", 16)


def test_an_older_version_put_back_while_the_enclave_runs_fails_with_ebadmsg(guest):
    fresh(guest)
    _, c = run(guest, "reopen", "--lie rollback-reopen")
    expect(c, "open", 3)
    expect(c, "update", 3)
    expect(c, "reopen", -1, EBADMSG)


def test_an_older_version_put_back_between_runs_is_not_detected(guest):
    """The documented limit: no trusted counter outlives the enclave, so a
    whole older file (header, table and blocks together) opens in a new run."""
    fresh(guest)
    run(guest, "update")
    _, c = run(guest, "read", f"--tamper replay-file:{SEALED}")
    expect(c, "read0", 16, extra="data=SEALED-PLAINTEXT")


def test_cost_of_a_sealed_4k_read_and_write_beside_a_plain_one(written):
    out, _ = written
    m = BENCH.search(out.output)
    assert m, str(out)
    rounds, sr, sw, pr, pw = (int(g) for g in m.groups())
    log.warning("instructions each (-icount shift=0, %d rounds): sealed pread 4 KiB %d, sealed "
                "pwrite 4 KiB %d, plain pread 4 KiB %d, plain pwrite 4 KiB %d",
                rounds, sr, sw, pr, pw)
    # Sealing adds the cipher's work (and a header write per write) to the proxied call.
    assert sr > pr > 0 and sw > pw > 0, m.group(0)

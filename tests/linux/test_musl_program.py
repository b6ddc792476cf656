"""A program built against musl (the third C library, beside static glibc
and Rust std) inside an enclave: examples/linux/musl, compiled statically
against musl 1.2.3 (keystone_py.build.musl: its release tarball from
Debian's archive, pinned by SHA-256, built with the glibc cross compiler),
added to the initramfs and run as an eapp on our runtime under `ks-files`
(the host SDK's FilePolicy granting /tmp/ksf/in.txt read-only and
/tmp/ksf/rw read-write). musl's start-up, stdio, file calls, malloc and mmap
reach the runtime's Linux system calls; the value main returned reaches the
host. One guest boot."""

from __future__ import annotations

import re
import subprocess

import pytest

from keystone_py.build import Artifacts
from keystone_py.build.musl import build_musl_program
from keystone_py.errors import KeystoneError
from keystone_py.qemu import LinuxGuest
from keystone_py.qemu import linux_machine as make_linux_machine
from keystone_py.qemu.userrun import overlay_initramfs

DIR = "/tmp/ksf"
EACCES = 13
PROGRAM = "/musl/linux-musl"
RETURNED = re.compile(r"^ks-files: returned (\d+) \(file calls (\d+), open at the end (\d+)\)$",
                      re.M)


@pytest.fixture(scope="module")
def program(ks_paths):
    try:
        return build_musl_program("musl", ("musl.c",), root=ks_paths.root,
                                  toolchain=ks_paths.toolchain)
    except KeystoneError as exc:
        pytest.fail(f"musl build failed:\n{exc}", pytrace=False)


@pytest.fixture(scope="module")
def run(ks_paths, ks_linux, program, tmp_path_factory):
    logs = tmp_path_factory.mktemp("musl-program")
    initrd = overlay_initramfs(ks_linux.require("initramfs"), {PROGRAM[1:]: program}, logs)
    with make_linux_machine(ks_linux.merged(Artifacts(initramfs=initrd)), memory="512M",
                            append_extra="quiet", log_dir=logs, toolchain=ks_paths.toolchain,
                            name="musl-program") as m:
        g = LinuxGuest(m)
        g.wait_ready(timeout=600)
        g.wait_prompt()
        result = g.run(f"/bin/ks-files {PROGRAM} --setup {DIR} --ro {DIR}/in.txt "
                       f"--rw {DIR}/rw --cat {DIR}/rw/musl.txt --env MUSL_MODE=enclave "
                       "-- one two", 600)
        yield result
        assert g.poweroff() == 0


def test_the_program_is_linked_against_musl_not_glibc(program):
    symbols = subprocess.run(["riscv64-linux-gnu-nm", str(program)], capture_output=True,
                             text=True, check=True).stdout
    assert " __init_libc" in symbols  # musl's start-up
    assert "__libc_start_call_main" not in symbols  # glibc's


def test_a_musl_program_gets_its_argv_and_environment(run):
    assert (f"musl: argc=3 argv[0]={PROGRAM} argv[1]=one argv[2]=two MUSL_MODE=enclave"
            in run.lines), str(run)


def test_a_musl_program_reads_a_granted_file_with_read_and_stdio(run):
    assert "musl: read ret=33 errno=0 data=first line of in.txt|second line|" in run.lines, \
        str(run)
    assert "musl: fgets lines=2" in run.lines, str(run)


def test_a_musl_program_is_refused_what_the_policy_does_not_grant(run):
    assert f"musl: refused ret=-1 errno={EACCES}" in run.lines, str(run)


def test_a_musl_program_writes_a_file_in_the_granted_folder(run):
    assert "musl: fprintf ret=23 close=0" in run.lines, str(run)
    # ks-files prints the file with each newline as "|" (there is none).
    assert f"ks-files: cat {DIR}/rw/musl.txt: written by musl, 3 args" in run.lines, str(run)


def test_musl_malloc_and_mmap_get_zeroed_writable_memory(run):
    # Block i of 64 is filled with byte i; the 1 MiB block with 0x5a.
    assert f"musl: malloc sum={sum(range(64)) + 0x5A}" in run.lines, str(run)
    assert "musl: mmap zero=1 byte=0x42 unmap=0" in run.lines, str(run)


def test_the_host_gets_the_value_main_returned_and_no_file_left_open(run):
    r = RETURNED.search(run.output)
    assert r, str(run)
    assert int(r.group(1)) == 7 + 3, str(run)
    assert r.group(3) == "0", str(run)

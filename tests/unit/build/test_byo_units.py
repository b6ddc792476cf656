"""Bring-your-own-enclave pieces without a toolchain: the appended initramfs,
the runner's value line, the files `new` writes, `run --eapp`'s arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from keystone_py.build.initramfs import Initramfs
from keystone_py.cli.boot import _user_args
from keystone_py.cli.new import render
from keystone_py.errors import KeystoneError
from keystone_py.qemu.userrun import UserFiles, overlay_initramfs, parse_returned


def newc_entries(data: bytes) -> list[tuple[str, int, bytes]]:
    """(name, mode, data) of every entry of concatenated newc archives."""
    out, pos = [], 0
    while pos < len(data):
        if data[pos:pos + 6] != b"070701":
            assert data[pos] == 0, f"junk at {pos}"
            pos += 1
            continue
        fields = [int(data[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = data[pos + 110:pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        out.append((name, mode, data[pos:pos + size]))
        pos += size
        pos += -pos % 4
    return out


def test_the_overlay_is_the_base_archive_then_the_users_files(tmp_path):
    base = tmp_path / "base.cpio"
    base.write_bytes(Initramfs().file("init", b"#!").to_bytes())
    eapp = tmp_path / "my-eapp"
    eapp.write_bytes(b"\x7fELF-eapp")
    host = tmp_path / "my-host"
    host.write_bytes(b"\x7fELF-host")
    out = overlay_initramfs(base, {"user/eapp/my-eapp": eapp, "user/host/my-host": host},
                            tmp_path / "run")
    data = out.read_bytes()
    assert data.startswith(base.read_bytes())
    assert len(data) % 4 == 0
    extra = newc_entries(data[len(base.read_bytes()):])
    names = [e[0] for e in extra]
    assert names == ["user", "user/eapp", "user/eapp/my-eapp", "user/host", "user/host/my-host",
                     "TRAILER!!!"]
    files = {n: (m, d) for n, m, d in extra}
    assert files["user/eapp/my-eapp"] == (0o100755, b"\x7fELF-eapp")
    # Same inputs, same file (named by content); other inputs, another one.
    assert overlay_initramfs(base, {"user/eapp/my-eapp": eapp}, tmp_path / "run") != out


def test_the_runners_value_line():
    value, stats = parse_returned("x\ntest-runner: a returned 13 (interrupts 8, ocalls 5, "
                                  "create 1 us, run 2 us)\n")
    assert (value, stats) == (13, {"interrupts": 8, "ocalls": 5, "create": 1, "run": 2})
    assert parse_returned("me-host: enclave returned 42 (interrupts 3, ocalls 4)") == \
        (42, {"interrupts": 3, "ocalls": 4})
    assert parse_returned("nothing here") == (None, {})


def test_run_eapp_words_after_the_double_dash_go_to_the_runner():
    ns = argparse.Namespace(app="--", args=["--retval", "13"])
    assert _user_args(ns) == ["--retval", "13"]
    assert _user_args(argparse.Namespace(app=None, args=[])) == []


def test_the_guest_command_line(tmp_path):
    eapp = tmp_path / "e"
    files = UserFiles(eapp=eapp)
    assert files.argv(["--retval", "0"]) == ["/bin/test-runner", "/user/eapp/e",
                                             "/enclave/eyrie-rt", "/enclave/loader.bin",
                                             "--retval", "0"]
    with_host = UserFiles(eapp=eapp, host=tmp_path / "h", runtime=tmp_path / "rt")
    assert with_host.argv() == ["/user/host/h", "/user/eapp/e", "/user/runtime",
                                "/enclave/loader.bin"]
    with pytest.raises(KeystoneError, match="spaces"):
        files.argv(["two words"])


@pytest.mark.parametrize("lang,host", [("rust", True), ("rust", False), ("c", False),
                                       ("c", True)])
def test_new_writes_a_project_that_points_at_this_checkout(lang, host, tmp_path):
    root = Path("/checkout")
    files = render(root, tmp_path / "My Enclave", lang, host)
    assert "README.md" in files and "tests/test_my_enclave.py" in files
    if lang == "rust":
        assert 'keystone-enclave = { path = "/checkout/sdk/enclave" }' in files["eapp/Cargo.toml"]
        assert ("host/Cargo.toml" in files) == host
        assert "keystone_enclave::entry!(main);" in files["eapp/src/main.rs"]
    else:
        assert "KEYSTONE ?= /checkout" in files["Makefile"]
        c = files["my-enclave.c"]
        calls = ("EAPP_ENTRY", "ocall(", "EAPP_RETURN(") if host else (
            "EAPP_ENTRY", "ocall(", "attest_enclave(", "get_sealing_key(", "EAPP_RETURN(")
        for call in calls:
            assert call in c
        cpp = files.get("host/my-enclave-host.cpp")
        assert (cpp is not None) == host
        if host:
            for api in ('#include "host/keystone.h"', "Keystone::Enclave", "Keystone::Params",
                        "registerOcallDispatch(incoming_call_dispatch)", "register_call(",
                        "edge_call_init_internals(", "enclave.run(&value)"):
                assert api in cpp
            assert "build/my-enclave-host:" in files["Makefile"]
            assert "/build/cpp/libkeystone-host.a" in files["Makefile"]
            assert 'host=built.hosts["my-enclave-host"]' in files["tests/test_my_enclave.py"]
    compile(files["tests/test_my_enclave.py"], "test", "exec")

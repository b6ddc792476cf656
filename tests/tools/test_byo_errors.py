"""Bringing your own enclave: the C SDK agrees with sdk/abi, and every mistake a
user can make with `build --app`, `run --eapp` and `new` is one paragraph with
the fix, exit status 1, and nothing booted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from keystone_py import abi
from keystone_py.build.userapp import C_FLAGS, CSdkBuilder, check_eapp_elf, elf_info

REPO = Path(__file__).resolve().parents[2]
KP = [sys.executable, "-m", "keystone_py"]


def keystone_py(*args: str, cwd: Path = REPO, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*KP, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


def one_error(proc: subprocess.CompletedProcess, command: str) -> str:
    """The error paragraph: status 1, no traceback, nothing booted."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "launching" not in proc.stderr and "qemu-system" not in proc.stderr
    err = proc.stderr[proc.stderr.index(f"keystone-py {command}: error: "):]
    return err


def test_the_c_headers_agree_with_sdk_abi(tmp_path):
    """Compiled with the C SDK's flags, through the headers an eapp includes
    (Keystone's names): every number of the generated shared/eapp_abi.h and
    every struct layout the SDK writes by hand equals what sdk/abi defines
    (keystone_py.abi is generated from it)."""
    sdk = CSdkBuilder(REPO)
    generated = (REPO / "sdk/c/include/shared/eapp_abi.h").read_text()
    names = re.findall(r"^#define ([A-Z_]+) -?\d+$", generated, re.M)
    assert len(names) >= 15, names
    checks = {name: getattr(abi, name) for name in names}
    checks.update({
        "sizeof(struct edge_call)": abi.EDGE_CALL_SIZE,
        "offsetof(struct edge_call, call_arg_offset)": abi.EDGE_CALL_ARG_OFFSET,
        "offsetof(struct edge_call, return_data)": abi.EDGE_CALL_RETURN,
        "sizeof(struct sealing_key)": abi.SEALING_KEY_STRUCT_SIZE,
    })
    src = tmp_path / "abi_check.c"
    includes = ("<stddef.h>", '"app/syscall.h"', '"edge/edge_call.h"')
    src.write_text("".join(f"#include {h}\n" for h in includes)
                   + "".join(f'_Static_assert(({expr}) == {value}, "{expr} != {value}");\n'
                             for expr, value in checks.items()))
    proc = subprocess.run([str(sdk.gcc()), *C_FLAGS, *sdk.include_flags(), "-fsyntax-only",
                           str(src)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_build_app_on_a_folder_with_nothing_to_build(tmp_path):
    (tmp_path / "notes.txt").write_text("hi\n")
    err = one_error(keystone_py("build", "--app", str(tmp_path)), "build")
    assert "neither a Cargo.toml" in err and "keystone-py new" in err


def test_build_app_on_a_crate_that_is_not_an_eapp(tmp_path):
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "plain"\nversion = "0.1.0"\n'
                                         'edition = "2021"\n[workspace]\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src/main.rs").write_text("fn main() {}\n")
    err = one_error(keystone_py("build", "--app", str(tmp_path)), "build")
    assert "not an eapp crate" in err and "plain" in err
    assert f'keystone-enclave = {{ path = "{REPO}/sdk/enclave" }}' in err


def test_a_c_eapp_without_any_code_has_no_entry_point(tmp_path):
    """Without EAPP_ENTRY or _start the entry is .text's first instruction
    (tests/tools/test_eapp_entry.py); with no code at all there is none."""
    app = tmp_path / "noentry"
    app.mkdir()
    (app / "main.c").write_text("const unsigned long answer = 42;\n")
    err = one_error(keystone_py("build", "--app", str(app)), "build")
    assert "no entry point" in err and "EAPP_ENTRY" in err and "_start" in err


def test_a_c_compile_error_names_the_file_and_the_sdk(tmp_path):
    app = tmp_path / "broken"
    app.mkdir()
    (app / "main.c").write_text('#include "app/eapp_utils.h"\nvoid EAPP_ENTRY f() { oops; }\n')
    err = one_error(keystone_py("build", "--app", str(app)), "build")
    assert "compile main.c failed" in err and "oops" in err and "undeclared" in err


@pytest.mark.slow
def test_a_rust_eapp_without_an_entry_point(tmp_path):
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "noentry"\nversion = "0.1.0"\nedition = "2021"\n[workspace]\n'
        '[profile.release]\npanic = "abort"\n'
        f'[dependencies]\nkeystone-enclave = {{ path = "{REPO}/sdk/enclave" }}\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src/main.rs").write_text("#![no_std]\n#![no_main]\nuse keystone_enclave as _;\n")
    err = one_error(keystone_py("build", "--app", str(tmp_path), timeout=900), "build")
    assert "no entry point" in err and "keystone_enclave::entry!(main);" in err


def test_run_eapp_refuses_an_elf_for_another_machine():
    host_elf = Path(sys.executable).resolve()
    assert elf_info(host_elf).machine != 243
    err = one_error(keystone_py("run", "--eapp", str(host_elf)), "run")
    assert "not RISC-V" in err and "build --app" in err


def test_run_eapp_refuses_a_file_that_is_not_an_elf_or_missing(tmp_path):
    text = tmp_path / "eapp.c"
    text.write_text("int x;\n")
    err = one_error(keystone_py("run", "--eapp", str(text)), "run")
    assert "is not an ELF file" in err
    err = one_error(keystone_py("run", "--eapp", str(tmp_path / "nope")), "run")
    assert "no such file" in err
    err = one_error(keystone_py("run", "--host", str(text)), "run")
    assert "go with --eapp" in err


def test_a_32_bit_or_shared_riscv_elf_is_refused(tmp_path):
    """The checks read the header only: a 32-bit RISC-V ELF and a RISC-V shared object."""
    elf32 = tmp_path / "e32"
    elf32.write_bytes(b"\x7fELF\x01\x01\x01" + bytes(9) + (2).to_bytes(2, "little")
                      + (243).to_bytes(2, "little") + bytes(32))
    with pytest.raises(Exception, match="32-bit RISC-V"):
        check_eapp_elf(elf32)
    so = tmp_path / "so"
    so.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(9) + (3).to_bytes(2, "little")
                   + (243).to_bytes(2, "little") + bytes(44))
    with pytest.raises(Exception, match="not a static executable"):
        check_eapp_elf(so)


def test_new_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine\n")
    err = one_error(keystone_py("new", str(tmp_path)), "new")
    assert "not empty" in err
    assert (tmp_path / "keep.txt").read_text() == "mine\n"

"""The eapp entry rule of sdk/c/eapp.ld, on the host with the cross linker: the
function marked EAPP_ENTRY, else ``_start``, else the first instruction of
``.text`` (what an eapp linked with Keystone's app.lds gets), and a clear
refusal when there is no code at all."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from keystone_py.build.userapp import C_FLAGS, C_LINK_FLAGS, CSdkBuilder, elf_info

REPO = Path(__file__).resolve().parents[2]
GCC = shutil.which("riscv64-linux-gnu-gcc")
pytestmark = pytest.mark.skipif(GCC is None, reason="riscv64-linux-gnu-gcc is not installed")


def link(tmp_path: Path, name: str, source: str) -> subprocess.CompletedProcess:
    """Compiles and links one source file as `build --app` links an eapp."""
    src = tmp_path / name
    src.write_text(source)
    sdk = CSdkBuilder(REPO)
    return subprocess.run([str(GCC), *C_FLAGS, *sdk.include_flags(), *C_LINK_FLAGS,
                           "-T", str(sdk.linker_script), str(src), "-o", str(src) + ".elf"],
                          capture_output=True, text=True, check=False, timeout=60)


def symbols(elf: Path) -> Dict[str, int]:
    """The ELF's symbol addresses by name (nm)."""
    out = subprocess.run([str(Path(str(GCC)).with_name("riscv64-linux-gnu-nm")), str(elf)],
                         capture_output=True, text=True, check=True).stdout
    return {f[2]: int(f[0], 16) for f in (ln.split() for ln in out.splitlines()) if len(f) == 3}


def entry_and_symbols(tmp_path: Path, name: str, source: str):
    proc = link(tmp_path, name, source)
    assert proc.returncode == 0, proc.stderr
    elf = tmp_path / (name + ".elf")
    return elf_info(elf).entry, symbols(elf)


def test_the_eapp_entry_function_wins_wherever_it_is_defined(tmp_path):
    entry, syms = entry_and_symbols(tmp_path, "marked.c", (
        '#include "app/eapp_utils.h"\n'
        "void _start(void) { for (;;) {} }\n"
        "int helper(int x) { return x + 1; }\n"
        "void EAPP_ENTRY my_entry(void) { for (;;) helper(1); }\n"))
    assert entry == syms["my_entry"] != syms["_start"]


def test_without_eapp_entry_start_is_the_entry_even_when_not_first(tmp_path):
    entry, syms = entry_and_symbols(tmp_path, "start.s", (
        ".section .text\n"
        "first: li a0, 1\n  ret\n"
        ".globl _start\n_start: li a0, 2\n  li a7, 1101\n  ecall\n"))
    assert entry == syms["_start"] > syms["first"]


def test_without_either_the_first_instruction_of_text_is_the_entry(tmp_path):
    entry, syms = entry_and_symbols(tmp_path, "bare.s", (
        ".section .text\n"
        "begin: li a0, 3\n  li a7, 1101\n  ecall\n"
        "later: j later\n"))
    assert entry == syms["begin"] == 0x10000
    assert syms["later"] > entry


def test_a_c_main_the_compiler_put_in_text_startup_comes_first(tmp_path):
    """Keystone's hello-native: no EAPP_ENTRY, `main` after nothing but `-O2`
    puts it in .text.startup, behind a helper in .text; GNU ld's default layout
    (Keystone's build) puts .text.startup first, and so does ours."""
    entry, syms = entry_and_symbols(tmp_path, "native.c", (
        "unsigned long helper(const char* s) { unsigned long n = 0; while (s[n]) n++;"
        " return n; }\n"
        "int main() { for (;;) helper(\"x\"); }\n"))
    assert entry == syms["main"] == 0x10000
    assert syms["helper"] > entry


def test_an_eapp_with_no_code_is_refused_with_the_rule(tmp_path):
    proc = link(tmp_path, "data.c", "const unsigned long answer = 42;\n")
    assert proc.returncode != 0
    assert "keystone-rs: no code" in proc.stderr and "_start" in proc.stderr

"""Assembly-only eapps (no EAPP_ENTRY, no C) built with `build --app` run on
Linux to their exit values: the entry rule of sdk/c/eapp.ld (EAPP_ENTRY,
else _start, else the first instruction of .text) seen from a running
enclave, one boot for all."""

from __future__ import annotations

import pytest

from keystone_py.build.userapp import build_app
from keystone_py.qemu.userrun import parse_returned

from .guests import overlay_guest

#: Eyrie's exit call number (a7) and our programs: name -> (source, exit value).
EXIT = 1101
PROGRAMS = {
    # Starts at its first instruction: counts 1000 down to 0, then exits with
    # a value computed on the way (500500 = 1 + 2 + ... + 1000).
    "first-instruction": ("countdown.s", (
        ".section .text\n"
        "begin:\n  li t0, 1000\n  li a0, 0\n"
        "again:\n  add a0, a0, t0\n  addi t0, t0, -1\n  bnez t0, again\n"
        f"  li a7, {EXIT}\n  ecall\n"), 500500),
    # `_start` is the entry although a routine comes before it in .text: the
    # routine, run first, would exit with 1.
    "start-symbol": ("start.S", (
        ".section .text\n"
        "wrong:\n  li a0, 1\n  li a7, %d\n  ecall\n"
        ".globl _start\n_start:\n  call triple\n  li a7, %d\n  ecall\n"
        "triple:\n  li a0, 7\n  slli t0, a0, 1\n  add a0, a0, t0\n  ret\n" % (EXIT, EXIT)), 21),
}


@pytest.fixture(scope="module")
def eapps(tmp_path_factory):
    out = {}
    for name, (file, source, _) in PROGRAMS.items():
        folder = tmp_path_factory.mktemp("asm") / name
        folder.mkdir()
        (folder / file).write_text(source)
        out[name] = build_app(folder).eapp()
    return out


@pytest.fixture(scope="module")
def runs(eapps, ks_paths, ks_linux, ks_enclave, tmp_path_factory):
    files = {f"user/eapp/{name}": path for name, path in eapps.items()}
    out = {}
    with overlay_guest(ks_paths, ks_linux, ks_enclave, files,
                       tmp_path_factory.mktemp("asm-eapps")) as guest:
        for name in PROGRAMS:
            out[name] = guest.run(f"/bin/test-runner /user/eapp/{name} /enclave/eyrie-rt "
                                  "/enclave/loader.bin", 300)
    return out


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_an_assembly_eapp_returns_its_value(runs, name):
    value, stats = parse_returned(runs[name].output)
    assert runs[name].status == 0, str(runs[name])
    assert value == PROGRAMS[name][2], str(runs[name])
    assert stats["ocalls"] == 0


def test_the_entry_points_are_where_the_rule_says(eapps):
    from keystone_py.build.userapp import elf_info
    assert elf_info(eapps["first-instruction"]).entry == 0x10000
    assert elf_info(eapps["start-symbol"]).entry > 0x10000  # past `wrong`

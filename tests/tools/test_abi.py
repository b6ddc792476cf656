"""One source of truth: the Rust crate sdk/abi. The Python module and the C
headers are generated from it by ``dump_abi`` (and the committed files must be
current); the C headers also agree with it value by value (compiled and
printed by a C compiler)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from keystone_py import abi

OFFSETS = {
    "CREATE_ARGS_SIZE": "sizeof(struct keystone_sbi_create)",
    "CREATE_ARGS_EPM_PADDR": "offsetof(struct keystone_sbi_create, epm_paddr)",
    "CREATE_ARGS_EPM_SIZE": "offsetof(struct keystone_sbi_create, epm_size)",
    "CREATE_ARGS_UTM_PADDR": "offsetof(struct keystone_sbi_create, utm_paddr)",
    "CREATE_ARGS_UTM_SIZE": "offsetof(struct keystone_sbi_create, utm_size)",
    "CREATE_ARGS_RUNTIME_PADDR": "offsetof(struct keystone_sbi_create, runtime_paddr)",
    "CREATE_ARGS_USER_PADDR": "offsetof(struct keystone_sbi_create, user_paddr)",
    "CREATE_ARGS_FREE_PADDR": "offsetof(struct keystone_sbi_create, free_paddr)",
    "CREATE_ARGS_FREE_REQUESTED": "offsetof(struct keystone_sbi_create, free_requested)",
    "RUNTIME_PARAMS_SIZE": "sizeof(struct keystone_runtime_params)",
    "EDGE_CALL_SIZE": "sizeof(struct edge_call)",
    "EDGE_CALL_ARG_OFFSET": "offsetof(struct edge_call, call_arg_offset)",
    "EDGE_CALL_ARG_SIZE": "offsetof(struct edge_call, call_arg_size)",
    "EDGE_CALL_RETURN": "offsetof(struct edge_call, return_data)",
    "IOCTL_CREATE_SIZE": "sizeof(struct keystone_ioctl_create_enclave)",
    **{f"IOCTL_CREATE_{f.upper()}": f"offsetof(struct keystone_ioctl_create_enclave, {f})"
       for f in ("eid", "min_pages", "utm_size", "runtime_paddr", "user_paddr", "free_paddr",
                 "free_requested", "epm_paddr", "epm_size", "utm_paddr")},
    "IOCTL_RUN_SIZE": "sizeof(struct keystone_ioctl_run_enclave)",
    "IOCTL_RUN_ERROR": "offsetof(struct keystone_ioctl_run_enclave, error)",
    "IOCTL_RUN_VALUE": "offsetof(struct keystone_ioctl_run_enclave, value)",
}


#: The one command that regenerates every generated file (what the messages say).
REGENERATE = "cargo run -q -p keystone-abi --example dump_abi -- --write"

#: Generated file -> the dump_abi argument that prints it.
GENERATED = {
    "keystone_py/abi.py": "--python",
    "sdk/abi/include/keystone_sm.h": "--c-sm",
    "sdk/abi/include/keystone_user.h": "--c-user",
    "sdk/c/include/shared/eapp_abi.h": "--c-eapp",
    "sdk/cpp/include/common/cpp_abi.h": "--c-cpp",
}

#: A `#define NAME number` line (decimal or hex, maybe negative, suffixed or
#: parenthesized): what a hand copy of an ABI constant looks like.
NUMERIC_DEFINE = re.compile(
    r"^\s*#\s*define\s+(\w+)\s+\(?-?(?:0x[0-9a-fA-F]+|[0-9]+)[uUlL]*\)?\s*$", re.M)


def dump_abi(ks_paths, *args: str) -> str:
    env = ks_paths.toolchain.cargo_env()
    env.pop("RUSTC_BOOTSTRAP", None)
    return subprocess.run(
        [str(ks_paths.toolchain.cargo), "run", "-q", "-p", "keystone-abi", "--example",
         "dump_abi", "--target-dir", str(ks_paths.root / "build" / "target-host"), "--", *args],
        cwd=ks_paths.root, env=env, capture_output=True, text=True, check=True).stdout


def run_c_dump(ks_paths, tmp_path: Path, name: str, body: list[str]) -> str:
    """Compiles `body` (statements) as main() with the generated C headers
    included, runs it, and returns what it printed."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    assert gcc, "a host C compiler is needed (Debian package gcc)"
    lines = ["#include <stddef.h>", "#include <stdio.h>", '#include "keystone_sm.h"',
             '#include "keystone_user.h"', '#include "shared/eapp_abi.h"',
             '#include "common/cpp_abi.h"', "int main(void) {",
             *body, "    return 0;", "}"]
    src = tmp_path / f"{name}.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / name
    subprocess.run([gcc, "-Wall", "-Werror", "-I", str(ks_paths.root / "sdk/abi/include"),
                    "-I", str(ks_paths.root / "sdk/c/include"),
                    "-I", str(ks_paths.root / "sdk/cpp/include"), "-o", str(exe), str(src)],
                   check=True, capture_output=True, text=True)
    return subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def rust_abi(ks_paths) -> dict[str, int]:
    values = {}
    for line in dump_abi(ks_paths).splitlines():
        name, value = line.split()
        values[name] = int(value)
    assert len(values) > 50
    return values


def test_python_mirror_matches_the_rust_crate(rust_abi):
    assert abi.ALL == rust_abi


@pytest.mark.parametrize("path", sorted(GENERATED))
def test_the_generated_file_is_current(ks_paths, path):
    generated = dump_abi(ks_paths, GENERATED[path])
    committed = (ks_paths.root / path).read_text()
    assert committed == generated, (
        f"{path} is stale (or edited by hand): it is generated from sdk/abi; "
        f"regenerate it with `{REGENERATE}`")


def test_the_generated_files_say_how_to_regenerate_them(ks_paths):
    for path in GENERATED:
        assert REGENERATE in (ks_paths.root / path).read_text(), path


def test_c_header_matches_the_rust_crate(rust_abi, ks_paths, tmp_path: Path):
    out = run_c_dump(ks_paths, tmp_path, "dump", [
        f'    printf("{name} %lld\\n", (long long)({OFFSETS.get(name, name)}));'
        for name in rust_abi])
    c_values = {n: int(v) for n, v in (line.split() for line in out.splitlines())}
    assert c_values == rust_abi


def test_every_c_struct_field_has_the_rust_offset_and_size(ks_paths, tmp_path: Path):
    """Beyond the named rows above: every field of every struct in the headers,
    offset and size as the C compiler lays it out, equals the Rust struct's."""
    rust = {}
    for line in dump_abi(ks_paths, "--layouts").splitlines():
        struct, field, offset, size = line.split()
        rust[(struct, field)] = (int(offset), int(size))
    assert len({struct for struct, _ in rust}) >= 6
    lines = []
    for struct, field in rust:
        if field == "-":
            offset, size = "0", f"sizeof(struct {struct})"
        else:
            offset = f"offsetof(struct {struct}, {field})"
            size = f"sizeof(((struct {struct} *)0)->{field})"
        lines.append(f'    printf("{struct} {field} %zu %zu\\n", (size_t)({offset}), '
                     f"(size_t)({size}));")
    out = run_c_dump(ks_paths, tmp_path, "layouts", lines)
    c = {}
    for line in out.splitlines():
        struct, field, offset, size = line.split()
        c[(struct, field)] = (int(offset), int(size))
    assert c == rust


@pytest.mark.parametrize("sdk, at_least", [("sdk/c/include", 5), ("sdk/cpp", 8)])
def test_the_c_sdks_sources_define_no_number_of_their_own(ks_paths, sdk, at_least):
    """Every number the C eapp SDK's headers and the C++ host SDK's headers and
    sources carry comes from a generated header (shared/eapp_abi.h,
    common/cpp_abi.h): a hand-written file that defines one is a second copy
    that can drift from sdk/abi."""
    include = ks_paths.root / sdk
    generated = {ks_paths.root / p for p in GENERATED}
    headers = sorted(p for p in include.rglob("*") if p.suffix in (".h", ".c", ".cpp")
                     and p not in generated)
    assert len(headers) >= at_least, headers
    copies = {f"{h.relative_to(ks_paths.root)}: {m.group(1)}"
              for h in headers for m in NUMERIC_DEFINE.finditer(h.read_text())}
    assert not copies, (
        f"hand-written numbers in {sdk}: {sorted(copies)}; give them to "
        f"sdk/abi and a dump_abi Header (Eapp, Cpp) instead, then `{REGENERATE}`")


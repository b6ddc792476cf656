"""``keystone-py new DIR [--lang rust|c] [--with-host]``: a project of the user's own,
outside this checkout, that builds against this SDK and whose test passes as made.

Rust: a cargo workspace whose ``eapp`` crate depends on ``sdk/enclave`` (and,
with ``--with-host``, a ``host`` crate on ``sdk/host``) by path to this
checkout, with this checkout's Cargo.lock (the same crate versions, no
network). C: the eapp's ``.c`` file and a Makefile that compiles it with
``riscv64-linux-gnu-gcc`` against ``sdk/c`` (``keystone-py build --app .``
does the same); with ``--with-host``, a C++ host app (``host/NAME-host.cpp``)
on Keystone's host API, the C++ SDK ``sdk/cpp``. Both get
``tests/test_<name>.py`` (the ``ks_run`` fixture of this package's pytest
plugin) and a README with the commands.

Standard library only (part of the CLI).
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
from pathlib import Path
from typing import Dict

from ..build.cppsdk import CPP_LIB_NAME, CXX_FLAGS, FFI_LIB_NAME
from ..build.cppsdk import INCLUDE_DIRS as CPP_INCLUDE_DIRS
from ..build.cppsdk import LINK_FLAGS as CPP_LINK_FLAGS
from ..build.userapp import C_FLAGS, C_INCLUDE_DIRS, C_LIB_NAME, C_LINK_FLAGS
from ..errors import KeystoneError
from ..paths import find_root

log = logging.getLogger("keystone_py.cli")

# -- Rust -----------------------------------------------------------------------------------
_RUST_WORKSPACE = """\
[workspace]
resolver = "2"
members = [{members}]

# Eapps have no unwinder; host apps are built with -Z build-std=std,panic_abort.
[profile.release]
panic = "abort"
opt-level = 3
codegen-units = 1

[profile.dev]
panic = "abort"
"""

_RUST_EAPP_TOML = """\
[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
# The eapp SDK of the keystone-rs checkout this project was made from.
keystone-enclave = {{ path = "{root}/sdk/enclave" }}

[[bin]]
name = "{name}"
test = false
"""

_RUST_EAPP_MAIN = """\
//! {name}: an enclave app (U-mode, inside the enclave, no_std).
//!
//! `keystone-py build --app .` builds it for riscv64gc-unknown-none-elf with the
//! SDK's linker script; `keystone-py run --eapp build/{name}{run_host}` runs it.
#![no_std]
#![no_main]

use keystone_enclave::{{ocall, println, sealing_key}};

keystone_enclave::entry!(main);

{ocall_doc}
const OCALL: u64 = 1;

/// The enclave's exit value (what the host's run returns).
fn main() -> usize {{
    println!("{name}: hello from inside the enclave");
    // A sealing key: bound to this enclave's measurement and the identifier.
    let key = match sealing_key(b"{name}") {{
        Ok(key) => key,
        Err(e) => {{
            println!("{name}: no sealing key ({{}})", e.0);
            return 1;
        }}
    }};
    let start = u32::from_be_bytes([key[0], key[1], key[2], key[3]]);
    println!("{name}: sealing key starts {{start:08x}}");
{body}
}}
"""

_RUST_EAPP_BODY_TEST_RUNNER = """\
    // test-runner's ocall 1 prints the bytes and answers how many it printed.
    let text = b"{name} says hi through an ocall\\n";
    let mut answer = [0u8; 8];
    if ocall(OCALL, text, &mut answer).is_err() {{
        return 2;
    }}
    u64::from_le_bytes(answer) as usize"""

_RUST_EAPP_BODY_HOST = """\
    // Our host app's ocall 1 answers twice the number we send.
    let mut answer = [0u8; 8];
    if ocall(OCALL, &21u64.to_le_bytes(), &mut answer).is_err() {{
        return 2;
    }}
    u64::from_le_bytes(answer) as usize"""

_RUST_HOST_TOML = """\
[package]
name = "{name}-host"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
# The host SDK of the keystone-rs checkout this project was made from.
keystone-host = {{ path = "{root}/sdk/host" }}

[[bin]]
name = "{name}-host"
test = false
"""

_RUST_HOST_MAIN = """\
//! {name}-host: the Linux host app (riscv64, static) that loads, runs and
//! serves {name}'s enclave through /dev/keystone_enclave.
//!
//! `keystone-py run --eapp build/{name} --host build/{name}-host` runs it in
//! the guest as `{name}-host EAPP RUNTIME LOADER`.
use keystone_host::{{Enclave, Reply}};
use std::process::ExitCode;

/// Ocall 1: the enclave sends a number (u64, little-endian); we answer twice it.
const OCALL_DOUBLE: u64 = 1;

fn main() -> ExitCode {{
    let args: Vec<String> = std::env::args().collect();
    let [_, eapp, runtime, loader, ..] = args.as_slice() else {{
        eprintln!("usage: {name}-host EAPP RUNTIME LOADER");
        return ExitCode::from(2);
    }};
    let built = Enclave::builder()
        .eapp(eapp)
        .runtime(runtime)
        .loader(loader)
        .ocall(OCALL_DOUBLE, |args| match args.get(..8) {{
            Some(bytes) => {{
                let n = u64::from_le_bytes(bytes.try_into().unwrap());
                println!("{name}-host: the enclave asked to double {{n}}");
                Reply::Data((2 * n).to_le_bytes().to_vec())
            }}
            None => Reply::Status(3),
        }})
        .build();
    let mut enclave = match built {{
        Ok(e) => e,
        Err(e) => {{
            eprintln!("{name}-host: cannot create the enclave: {{e}}");
            return ExitCode::from(3);
        }}
    }};
    let result = enclave.run();
    let stats = enclave.stats();
    let _ = enclave.destroy();
    match result {{
        Ok(value) => {{
            println!("{name}-host: enclave returned {{value}} (interrupts {{}}, ocalls {{}})",
                     stats.interrupts, stats.ocalls);
            ExitCode::SUCCESS
        }}
        Err(e) => {{
            eprintln!("{name}-host: the enclave failed: {{e}}");
            ExitCode::from(4)
        }}
    }}
}}
"""

# -- C ----------------------------------------------------------------------------------------
_C_MAIN = """\
/* {name}: an enclave app in C on keystone-rs's C eapp SDK (sdk/c), with
 * Keystone's eapp API. Built by `make` (or `keystone-py build --app .`). */
#include "app/eapp_utils.h"
#include "app/string.h"
#include "app/syscall.h"

/* test-runner's ocalls: 1 prints a buffer (answers its length), 3 takes a report. */
#define OCALL_PRINT_BUFFER 1
#define OCALL_COPY_REPORT 3

static unsigned long print(char* text) {{
  unsigned long printed = 0;
  ocall(OCALL_PRINT_BUFFER, text, strlen(text), &printed, sizeof printed);
  return printed;
}}

void EAPP_ENTRY eapp_entry() {{
  /* A sealing key bound to this enclave's measurement and "{name}". */
  struct sealing_key key;
  if (get_sealing_key(&key, sizeof key, "{name}", {name_len}) != 0) {{
    print("{name}: sealing key derivation failed\\n");
    EAPP_RETURN(1);
  }}
  print("{name}: sealing key derived\\n");

  /* A report signed by the security monitor over the nonce "{name}"; the
   * host prints it for a verifier (`keystone-py attest verify`). */
  char report[2048];
  if (attest_enclave(report, "{name}", {name_len}) != 0) EAPP_RETURN(2);
  ocall(OCALL_COPY_REPORT, report, sizeof report, 0, 0);

  /* The exit value: how many bytes the host said it printed. */
  EAPP_RETURN(print("{name}: hello from inside the enclave\\n"));
}}
"""

_C_MAKEFILE = """\
# {name}: a C eapp for keystone-rs. `make` builds build/{name}; `make test`
# runs its test in QEMU. KEYSTONE is the keystone-rs checkout (its SDK in
# sdk/c and keystone-py); the library is built there by `keystone-py build c-sdk`.
KEYSTONE ?= {root}
KEYSTONE_PY ?= $(KEYSTONE)/.venv/bin/python -m keystone_py
CC := riscv64-linux-gnu-gcc
# The same flags, in the same order, as `keystone-py build --app .`: both make
# the same bytes (the file the SM measures) wherever the folders are.
CFLAGS := {cflags} -ffile-prefix-map=$(CURDIR)=/app -ffile-prefix-map=$(KEYSTONE)=/keystone-rs \
  -I. {includes}
LDFLAGS := {ldflags} -T $(KEYSTONE)/sdk/c/eapp.ld
LIB := $(KEYSTONE)/build/c/{lib}

SRCS := $(wildcard *.c) $(wildcard *.S) $(wildcard *.s)
OBJS := $(patsubst %,build/obj/%.o,$(SRCS))

build/{name}: $(OBJS) $(LIB)
\t$(CC) $(CFLAGS) $(LDFLAGS) $(OBJS) $(LIB) -lgcc -o $@

build/obj/%.o: % $(wildcard *.h)
\t@mkdir -p $(dir $@)
\t$(CC) $(CFLAGS) -c $< -o $@

$(LIB):
\t$(KEYSTONE_PY) build c-sdk

run: build/{name}
\t$(KEYSTONE_PY) run --eapp build/{name}

test: build/{name}
\t$(KEYSTONE)/.venv/bin/python -m pytest tests

clean:
\trm -rf build

.PHONY: run test clean
"""

_C_MAIN_HOST = """\
/* {name}: an enclave app in C on keystone-rs's C eapp SDK (sdk/c), with
 * Keystone's eapp API, served by its own C++ host app (host/{name}-host.cpp).
 * Built by `make` (or `keystone-py build --app .`). */
#include "app/eapp_utils.h"
#include "app/string.h"
#include "app/syscall.h"

/* Our host app's ocalls: 1 answers twice the number sent, 2 prints a string. */
#define OCALL_DOUBLE 1
#define OCALL_PRINT 2

void EAPP_ENTRY eapp_entry() {{
  char hello[] = "{name}: hello from inside the enclave";
  ocall(OCALL_PRINT, hello, sizeof hello, 0, 0);
  unsigned long n = 21, doubled = 0;
  if (ocall(OCALL_DOUBLE, &n, sizeof n, &doubled, sizeof doubled) != 0) EAPP_RETURN(1);
  /* The exit value, what the host's Enclave::run returns: 42. */
  EAPP_RETURN(doubled);
}}
"""

_CPP_HOST = """\
// {name}-host: the Linux host app (C++, riscv64, static) that loads, runs and
// serves {name}'s enclave with Keystone's host API (keystone-rs's C++ host
// SDK, sdk/cpp): Keystone::Enclave, Keystone::Params and the edge-call helpers.
//
// `keystone-py run --eapp build/{name} --host build/{name}-host` runs it in the
// guest as `{name}-host EAPP RUNTIME LOADER`.
#include <cstdio>
#include <cstring>

#include "edge/edge_call.h"
#include "host/keystone.h"

#define OCALL_DOUBLE 1
#define OCALL_PRINT 2

// Ocall 1: the enclave sends a number (unsigned long); we answer twice it.
static void double_wrapper(void* buffer) {{
  struct edge_call* call = (struct edge_call*)buffer;
  uintptr_t args;
  size_t len;
  if (edge_call_args_ptr(call, &args, &len) != 0 || len != sizeof(unsigned long)) {{
    call->return_data.call_status = CALL_STATUS_BAD_OFFSET;
    return;
  }}
  unsigned long n;
  std::memcpy(&n, (void*)args, sizeof n);
  std::printf("{name}-host: the enclave asked to double %lu\\n", n);
  unsigned long doubled = 2 * n;
  uintptr_t data = edge_call_data_ptr();
  std::memcpy((void*)data, &doubled, sizeof doubled);
  call->return_data.call_status = edge_call_setup_ret(call, (void*)data, sizeof doubled)
                                      ? CALL_STATUS_BAD_PTR
                                      : CALL_STATUS_OK;
}}

// Ocall 2: the enclave sends a NUL-terminated string; we print it.
static void print_wrapper(void* buffer) {{
  struct edge_call* call = (struct edge_call*)buffer;
  uintptr_t args;
  size_t len;
  if (edge_call_args_ptr(call, &args, &len) != 0 || len == 0 ||
      ((const char*)args)[len - 1] != '\\0') {{
    call->return_data.call_status = CALL_STATUS_BAD_OFFSET;
    return;
  }}
  std::printf("Enclave said: %s\\n", (const char*)args);
  call->return_data.call_status = CALL_STATUS_OK;
}}

int main(int argc, char** argv) {{
  if (argc < 4) {{
    std::fprintf(stderr, "usage: %s EAPP RUNTIME LOADER\\n", argv[0]);
    return 2;
  }}
  Keystone::Enclave enclave;
  Keystone::Params params;
  params.setFreeMemSize(1024 * 1024);
  params.setUntrustedSize(8 * 1024);
  if (enclave.init(argv[1], argv[2], argv[3], params) != Keystone::Error::Success) {{
    std::fprintf(stderr, "{name}-host: cannot create the enclave\\n");
    return 3;
  }}
  enclave.registerOcallDispatch(incoming_call_dispatch);
  register_call(OCALL_DOUBLE, double_wrapper);
  register_call(OCALL_PRINT, print_wrapper);
  edge_call_init_internals((uintptr_t)enclave.getSharedBuffer(), enclave.getSharedBufferSize());
  uintptr_t value = 0;
  if (enclave.run(&value) != Keystone::Error::Success) {{
    std::fprintf(stderr, "{name}-host: the enclave failed\\n");
    return 4;
  }}
  std::printf("{name}-host: enclave returned %lu (ocalls %lu)\\n", (unsigned long)value,
              enclave.ocallCount());
  return 0;
}}
"""

_CPP_MAKEFILE_HOST = """\

# The host app: C++ against keystone-rs's C++ host SDK (sdk/cpp), static; its
# libraries are built there by `keystone-py build cpp-sdk`.
CXX := riscv64-linux-gnu-g++
CXXFLAGS := {cxxflags} {cxx_includes}
HOST_LIBS := $(KEYSTONE)/build/cpp/{cpp_lib} $(KEYSTONE)/build/cpp/{ffi_lib}

build/{name}-host: $(wildcard host/*.cpp) $(HOST_LIBS)
\t@mkdir -p build
\t$(CXX) $(CXXFLAGS) $(wildcard host/*.cpp) {link_flags} $(HOST_LIBS) -lpthread -ldl -o $@

$(HOST_LIBS):
\t$(KEYSTONE_PY) build cpp-sdk

all: build/{name} build/{name}-host
.PHONY: all
"""

# -- the test and the README -------------------------------------------------------------------
_TEST = """\
\"\"\"{name}'s test: boots keystone-rs (security monitor + Linux + driver) in
QEMU, runs the enclave{with_host} and checks what it did.

The `ks_run` fixture comes from keystone-py's pytest plugin (installed with
keystone_py); run with the checkout's Python: `{root}/.venv/bin/python -m pytest`.
\"\"\"

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built():
    \"\"\"Builds the project (cached: a no-change build is a cache hit).\"\"\"
    from keystone_py.build.userapp import build_app
    return build_app(HERE)


def test_{ident}_runs_in_an_enclave(ks_run, built):
    run = ks_run(eapp=built.eapps["{name}"]{host_arg}, expect_retval={retval})
    assert run.status == 0, run.output
    assert run.value == {retval}
{checks}
"""

_TEST_CHECKS_RUST_HOST = """\
    # The host doubled 21 for the enclave (an ocall), and the enclave printed
    # through the runtime (write, proxied to the host) and got a sealing key.
    assert "{name}-host: the enclave asked to double 21" in run.output
    assert "{name}: hello from inside the enclave" in run.output
    assert "{name}: sealing key starts " in run.output
    assert run.stats["ocalls"] >= 3
"""

_TEST_CHECKS_RUST = """\
    assert "Enclave said: {name} says hi through an ocall" in run.output
    assert "{name}: sealing key starts " in run.output
"""

_TEST_CHECKS_C_HOST = """\
    # The C++ host doubled 21 for the enclave and printed its string (two ocalls).
    assert "{name}-host: the enclave asked to double 21" in run.output
    assert "Enclave said: {name}: hello from inside the enclave" in run.output
    assert "{name}-host: enclave returned 42 (ocalls 2)" in run.output
"""

_TEST_CHECKS_C = """\
    assert "Enclave said: {name}: sealing key derived" in run.output
    assert run.stats["ocalls"] == 3


def test_{ident}_report_verifies(ks_run, built):
    \"\"\"The report the enclave had signed verifies against the measurement
    predicted from the files (loader, runtime, our eapp) and carries our nonce.\"\"\"
    from keystone_py.attest import Report, predict, report_bytes_in, verify
    from keystone_py.attest.devkey import device_public_key, load_secret
    from keystone_py.attest.measure import firmware_hash

    run = ks_run(eapp=built.eapps["{name}"])
    raw = report_bytes_in(run.output)
    assert raw, run.output
    art = run.artifacts
    verdict = verify(Report.parse(raw), device_public_key=device_public_key(load_secret(None)),
                     enclave_hash=predict(art.loader_bin, art.runtime_elf, built.eapps["{name}"]),
                     sm_hash=firmware_hash(art.sm_bin), nonce=b"{name}")
    assert verdict.ok, str(verdict)
"""

_README = """\
# {name}

An enclave app{host_note} for [keystone-rs]({root}) (a Keystone-compatible
RISC-V TEE), made by `keystone-py new`. It builds against the SDK of the
checkout at `{root}` and runs in QEMU (security monitor + Linux + driver).

| file | what |
|---|---|
{files}
| `tests/test_{ident}.py` | its test (pytest, keystone-py's `ks_run` fixture) |

```
{commands}
```

`keystone-py` is `{root}/.venv/bin/keystone-py`. Outputs go to `build/`.
`keystone-py run --eapp build/{name}{run_host}` prints what the enclave and
its host print and exits with the host app's status; `keystone-py gdb --eapp
build/{name} --break eapp:{entry}` stops in it with its symbols loaded
(`continue`, then `ks-world`, `bt`, `list`).
"""


def _crate_name(folder: Path) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "-", folder.name.lower()).strip("-_")
    if not name or not name[0].isalpha():
        name = "eapp-" + name if name else "my-eapp"
    return name


def _render_rust(root: Path, name: str, with_host: bool) -> Dict[str, str]:
    members = ['"eapp"'] + (['"host"'] if with_host else [])
    ocall_doc = ("/// Host call 1 of our host app (host/src/main.rs): answers twice the number."
                 if with_host else
                 "/// Host call 1 of keystone-rs's test-runner: prints the bytes, answers the "
                 "count.")
    body = (_RUST_EAPP_BODY_HOST if with_host else _RUST_EAPP_BODY_TEST_RUNNER).format(name=name)
    run_host = f" --host build/{name}-host" if with_host else ""
    files = {
        "Cargo.toml": _RUST_WORKSPACE.format(members=", ".join(members)),
        "eapp/Cargo.toml": _RUST_EAPP_TOML.format(name=name, root=root),
        "eapp/src/main.rs": _RUST_EAPP_MAIN.format(name=name, ocall_doc=ocall_doc, body=body,
                                                   run_host=run_host),
    }
    if with_host:
        files["host/Cargo.toml"] = _RUST_HOST_TOML.format(name=name, root=root)
        files["host/src/main.rs"] = _RUST_HOST_MAIN.format(name=name)
    return files


def _render_c(root: Path, name: str, with_host: bool = False) -> Dict[str, str]:
    includes = " ".join(f"-I$(KEYSTONE)/sdk/c/{d}" for d in C_INCLUDE_DIRS)
    makefile = _C_MAKEFILE.format(name=name, root=root, cflags=" ".join(C_FLAGS),
                                  includes=includes, ldflags=" ".join(C_LINK_FLAGS),
                                  lib=C_LIB_NAME)
    files = {
        f"{name}.c": (_C_MAIN_HOST if with_host else _C_MAIN).format(name=name,
                                                                     name_len=len(name)),
        "Makefile": makefile,
    }
    if with_host:
        cxx_includes = " ".join(f"-I$(KEYSTONE)/{d}" for d in CPP_INCLUDE_DIRS)
        files["Makefile"] += _CPP_MAKEFILE_HOST.format(
            name=name, cxxflags=" ".join(CXX_FLAGS), cxx_includes=cxx_includes,
            cpp_lib=CPP_LIB_NAME, ffi_lib=FFI_LIB_NAME, link_flags=" ".join(CPP_LINK_FLAGS))
        files[f"host/{name}-host.cpp"] = _CPP_HOST.format(name=name)
    return files


def render(root: Path, folder: Path, lang: str, with_host: bool) -> Dict[str, str]:
    """Every file of the project (relative path → text)."""
    name = _crate_name(folder)
    ident = name.replace("-", "_")
    kp = f"{root}/.venv/bin/keystone-py"
    run_host = f" --host build/{name}-host" if with_host else ""
    if lang == "rust":
        files = _render_rust(root, name, with_host)
        retval = 42 if with_host else len(f"{name} says hi through an ocall\n")
        checks = (_TEST_CHECKS_RUST_HOST if with_host else _TEST_CHECKS_RUST).format(name=name)
        listing = ["| `eapp/` | the enclave app (no_std Rust on `sdk/enclave`) |"]
        if with_host:
            listing.append("| `host/` | its host app (Rust std on `sdk/host`, riscv64 Linux) |")
    else:
        files = _render_c(root, name, with_host)
        if with_host:
            retval = 42
            checks = _TEST_CHECKS_C_HOST.format(name=name)
        else:
            retval = len(f"{name}: hello from inside the enclave\n")
            checks = _TEST_CHECKS_C.format(name=name, ident=ident)
        listing = [f"| `{name}.c` | the enclave app (C, Keystone's eapp API, `sdk/c`) |",
                   "| `Makefile` | `make` builds it with riscv64-linux-gnu-gcc, `make test` "
                   "tests it |"]
        if with_host:
            listing.append(f"| `host/{name}-host.cpp` | its host app (C++, Keystone's host API, "
                           "`sdk/cpp`, riscv64 Linux) |")
    host_arg = f', host=built.hosts["{name}-host"]' if with_host else ""
    files[f"tests/test_{ident}.py"] = _TEST.format(
        name=name, ident=ident, root=root, host_arg=host_arg, retval=retval, checks=checks,
        with_host=" with its host app" if with_host else " through keystone-rs's test-runner")
    commands = [f"{kp} build --app .                  # -> build/{name}"
                + (f", build/{name}-host" if with_host else ""),
                f"{kp} run --eapp build/{name}{run_host}",
                f"{root}/.venv/bin/python -m pytest     # tests/ (boots QEMU)"]
    files["README.md"] = _README.format(
        name=name, ident=ident, root=root, files="\n".join(listing), commands="\n".join(commands),
        run_host=run_host, host_note=" with its own host app" if with_host else "",
        entry="main" if lang == "rust" else "eapp_entry")
    files[".gitignore"] = "/build/\ntarget/\n__pycache__/\n.pytest_cache/\n"
    return files


def cmd_new(args: argparse.Namespace) -> int:
    root = find_root()
    folder = Path(args.dir).expanduser().resolve()
    if folder.exists() and any(folder.iterdir()):
        raise KeystoneError(f"new: {folder} exists and is not empty; give a new folder "
                            "(keystone-py new never overwrites files).")
    try:
        folder.relative_to(root)
        log.warning("note: %s is inside the keystone-rs checkout; a project of your own "
                    "usually lives outside it.", folder)
    except ValueError:
        pass
    files = render(root, folder, args.lang, args.with_host)
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if args.lang == "rust" and (root / "Cargo.lock").is_file():
        # The checkout's crate versions: the same builds, no registry lookup.
        shutil.copy2(root / "Cargo.lock", folder / "Cargo.lock")
    kp = f"{root}/.venv/bin/keystone-py"
    print(f"Created {args.lang} project {folder.name} in {folder}:")
    for rel in sorted(files):
        print(f"  {rel}")
    print(f"Next:\n  cd {folder}\n  {kp} build --app .\n  {root}/.venv/bin/python -m pytest")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Adds ``new``."""
    s = sub.add_parser("new", help="create a project of your own (eapp, optional host app, a "
                                   "pytest test, a README) that builds against this SDK")
    s.add_argument("dir", help="the new project's folder (must not exist or be empty)")
    s.add_argument("--lang", choices=("rust", "c"), default="rust",
                   help="the eapp's language (default rust)")
    s.add_argument("--with-host", action="store_true",
                   help="also a host app of its own (Rust on sdk/host with --lang rust, C++ "
                        "on sdk/cpp with --lang c); else test-runner serves the eapp")
    s.set_defaults(func=cmd_new)

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
plugin) and a README with the commands. The files' texts are templates in
``templates/`` (package data), filled in with ``str.format``.

Standard library only (part of the CLI).
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Dict

from ..build.cppsdk import CPP_LIB_NAME, CXX_FLAGS, FFI_LIB_NAME
from ..build.cppsdk import INCLUDE_DIRS as CPP_INCLUDE_DIRS
from ..build.cppsdk import LINK_FLAGS as CPP_LINK_FLAGS
from ..build.userapp import C_FLAGS, C_INCLUDE_DIRS, C_LIB_NAME, C_LINK_FLAGS
from ..errors import KeystoneError
from ..paths import find_root

log = logging.getLogger("keystone_py.cli")


def _template(rel: str) -> str:
    """The text of ``templates/REL`` (shipped as package data), a ``str.format``
    template: ``{field}`` is filled in, ``{{``/``}}`` stand for a brace."""
    return (resources.files(__package__) / "templates" / f"{rel}.tmpl").read_text(
        encoding="utf-8")


# -- Rust -----------------------------------------------------------------------------------
_RUST_WORKSPACE = _template("rust/Cargo.toml")
_RUST_EAPP_TOML = _template("rust/eapp/Cargo.toml")
_RUST_EAPP_MAIN = _template("rust/eapp/src/main.rs")
_RUST_EAPP_BODY_TEST_RUNNER = _template("rust/eapp/body_test_runner.rs")
_RUST_EAPP_BODY_HOST = _template("rust/eapp/body_host.rs")
_RUST_HOST_TOML = _template("rust/host/Cargo.toml")
_RUST_HOST_MAIN = _template("rust/host/src/main.rs")

# -- C ----------------------------------------------------------------------------------------
_C_MAIN = _template("c/main.c")
_C_MAKEFILE = _template("c/Makefile")
_C_MAIN_HOST = _template("c/main_host.c")
_CPP_HOST = _template("cpp/host.cpp")
_CPP_MAKEFILE_HOST = _template("cpp/Makefile_host")

# -- the test and the README -------------------------------------------------------------------
_TEST = _template("tests/test.py")
_TEST_CHECKS_RUST_HOST = _template("tests/checks_rust_host.py")
_TEST_CHECKS_RUST = _template("tests/checks_rust.py")
_TEST_CHECKS_C = _template("tests/checks_c.py")
_TEST_CHECKS_C_HOST = _template("tests/checks_c_host.py")
_README = _template("README.md")


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

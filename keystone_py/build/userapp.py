"""Users' code: the C eapp library (``sdk/c``) and ``keystone-py build --app DIR``.

* :class:`CSdkBuilder` compiles ``sdk/c/src`` into ``build/c/libkeystone-eapp.a``;
* :func:`build_app` builds a folder outside (or inside) this checkout:

  - a **C eapp folder** (``*.c``/``*.S``, no ``Cargo.toml``): every source of the
    folder with :data:`C_FLAGS`, the SDK's include folders, the library and
    ``sdk/c/eapp.ld``, into ``DIR/build/<folder name>``; its ``host/`` folder,
    when there is one, is a C++ host app on ``sdk/cpp`` (``<folder name>-host``).
    The sources may also be in ``DIR/eapp/`` (the layout of Keystone's examples:
    ``eapp/``, ``host/`` and a CMakeLists.txt, which is not read). An eapp whose
    sources define ``main`` and never use the eapp library (no ``EAPP_ENTRY``,
    ``app/*.h`` or ``_start``: Keystone's ``hello``) is a Linux program: built
    static with glibc, as Keystone's CMake builds it, to run on the runtime's
    Linux system calls;
  - a **Rust crate or workspace**: each package that depends on
    ``keystone-enclave`` is an eapp (``riscv64gc-unknown-none-elf``, linked with
    ``sdk/enclave/eapp.ld``), each that depends on ``keystone-host`` a host app
    (``riscv64gc-unknown-linux-gnu``, static); their bins go to ``DIR/build/``.

  Both are cached like the rest (:mod:`.cache`: a key over the folder's files,
  the SDK's and the tools' versions; a stamp in ``DIR/build/``).
* :func:`check_eapp_elf` tells a RISC-V eapp ELF from anything else, with the fix.

Standard library only.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..errors import BuildError, KeystoneError
from ..paths import build_dir, find_root
from ..toolchain import BARE_TARGET, Toolchain, run_tool, tool_output
from . import remap
from .cache import Stamp, compute_cache_key, digest
from .cppsdk import SOURCE_SUFFIXES as HOST_SOURCE_SUFFIXES
from .cppsdk import CppSdkBuilder
from .hostapps import LINUX_USER_TARGET
from .remap import c_checkout_map, c_prefix_maps
from .runner import run_logged

log = logging.getLogger("keystone_py.build")

#: The C eapp library's folder and what a C eapp is compiled with.
C_SDK = "sdk/c"
C_LIB_NAME = "libkeystone-eapp.a"
C_FLAGS = ("-march=rv64gc", "-mabi=lp64d", "-mcmodel=medany", "-O2", "-g", "-Wall",
           "-ffreestanding", "-fno-builtin", "-fno-pic", "-fno-pie", "-fno-stack-protector",
           "-fno-asynchronous-unwind-tables", "-fno-tree-loop-distribute-patterns")
#: Include folders (relative to sdk/c): ``app/syscall.h`` and ``syscall.h``,
#: ``edge/edge_call.h`` and ``edge_call.h`` all resolve, as in Keystone's tree.
C_INCLUDE_DIRS = ("include", "include/app", "include/edge")
C_LINK_FLAGS = ("-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none")
C_SOURCE_SUFFIXES = (".c", ".S", ".s")
#: How an eapp that is a plain Linux program is built (Keystone's CMake: the Linux
#: toolchain, static).
LINUX_PROGRAM_FLAGS = ("-static", "-O2", "-Wall", "-Wl,--build-id=none")

#: The crates an eapp or a host app depends on (sdk/enclave, sdk/host).
EAPP_CRATE = "keystone-enclave"
HOST_CRATE = "keystone-host"
RUST_EAPP_FLAGS = ("-C", "linker-flavor=ld", "-C", "relocation-model=static",
                   "-C", "force-frame-pointers=yes")
EAPP_CARGO = ("build", "--release", "-Z", "build-std=core,alloc",
              "-Z", "build-std-features=compiler-builtins-mem", "--target", BARE_TARGET)
HOST_CARGO = ("build", "--release", "-Z", "build-std=std,panic_abort",
              "--target", LINUX_USER_TARGET)

EM_RISCV = 243
_MACHINES = {3: "x86 (32-bit)", 62: "x86-64", 40: "ARM", 183: "AArch64", 8: "MIPS",
             20: "PowerPC", 21: "PowerPC64", 22: "s390", 258: "LoongArch"}


# -- ELF checks -------------------------------------------------------------------------
@dataclass(frozen=True)
class ElfInfo:
    """What :func:`elf_info` read from an ELF header."""

    bits: int
    machine: int
    kind: int  # e_type: 2 = EXEC, 3 = DYN
    entry: int


def elf_info(path: Path) -> ElfInfo:
    """The header of ``path``; KeystoneError when it is missing or not an ELF."""
    path = Path(path)
    try:
        head = path.read_bytes()[:64]
    except OSError as exc:
        raise KeystoneError(f"cannot read {path}: {exc.strerror or exc}.") from None
    if head[:4] != b"\x7fELF" or len(head) < 52:
        raise KeystoneError(f"{path} is not an ELF file (it starts with {head[:4]!r}). "
                            "An eapp is the ELF that `keystone-py build --app DIR` makes.")
    bits = 64 if head[4] == 2 else 32
    order = "<" if head[5] == 1 else ">"
    kind, machine = struct.unpack_from(order + "HH", head, 16)
    entry = struct.unpack_from(order + ("Q" if bits == 64 else "I"), head, 24)[0]
    return ElfInfo(bits=bits, machine=machine, kind=kind, entry=entry)


def elf_interpreter(path: Path) -> Optional[str]:
    """The dynamic loader a 64-bit little-endian ELF names (PT_INTERP), or None
    for a static program (the runtime loads no shared libraries)."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1 or len(data) < 64:
        return None
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        at = phoff + i * phentsize
        if at + 56 > len(data):
            break
        p_type, = struct.unpack_from("<I", data, at)
        if p_type == 3:  # PT_INTERP
            off, _, _, size = struct.unpack_from("<QQQQ", data, at + 8)
            return data[off:off + size].rstrip(b"\0").decode(errors="replace")
    return None


def check_eapp_elf(path: Path, what: str = "eapp", linux: bool = False) -> ElfInfo:
    """``path`` is a 64-bit RISC-V executable (an eapp, or with ``linux`` a host
    app); else a KeystoneError saying what it is and how to build the right one."""
    info = elf_info(path)
    fix = ("build it with `keystone-py build --app DIR` (or `keystone-py new DIR` for a "
           "project that does)")
    if info.machine != EM_RISCV:
        name = _MACHINES.get(info.machine, f"e_machine {info.machine}")
        raise KeystoneError(f"{path} is an ELF for {name}, not RISC-V: it cannot run as the "
                            f"{what}. {fix}.")
    if info.bits != 64:
        raise KeystoneError(f"{path} is a 32-bit RISC-V ELF; the {what} must be RV64 "
                            f"(rv64gc). {fix}.")
    if not linux and info.kind != 2:
        raise KeystoneError(f"{path} is not a static executable (ELF type {info.kind}; "
                            "a shared object or a position-independent program?): the "
                            f"runtime loads the {what} at its link address. {fix}.")
    if not linux and info.entry == 0:
        raise KeystoneError(f"{path} has no entry point (e_entry 0). In C, mark the entry "
                            "function EAPP_ENTRY (or name it _start); in Rust, add "
                            "`keystone_enclave::entry!(main);`."
                            f" {fix}.")
    return info


# -- the C eapp library -------------------------------------------------------------------
class CSdkBuilder:
    """``sdk/c/src/*`` → ``build/c/libkeystone-eapp.a`` (riscv64-linux-gnu-gcc, ar)."""

    def __init__(self, root: Optional[Path] = None, toolchain: Optional[Toolchain] = None):
        self.root = Path(root) if root else find_root()
        self.toolchain = toolchain or Toolchain()
        self.sdk = self.root / C_SDK
        self.out = build_dir(self.root) / "c"

    @property
    def lib(self) -> Path:
        return self.out / C_LIB_NAME

    @property
    def linker_script(self) -> Path:
        return self.sdk / "eapp.ld"

    def include_flags(self) -> List[str]:
        return [f"-I{self.sdk / d}" for d in C_INCLUDE_DIRS]

    def gcc(self) -> Path:
        return self.toolchain.require("linux-gcc")

    def tools_version(self) -> str:
        gcc = self.gcc()
        return tool_output([gcc, "--version"], error=BuildError)

    def build(self, force: bool = False) -> Path:
        """The library, rebuilt when ``sdk/c`` or the compiler changed."""
        key = compute_cache_key(self.root, (C_SDK,), self.tools_version() + " ".join(C_FLAGS))
        stamp = Stamp(self.out / "c-sdk.stamp")
        if not force and stamp.fresh(key, [self.lib]):
            log.info("c eapp library: up to date (cache hit)")
            return self.lib
        gcc, logs = self.gcc(), build_dir(self.root) / "logs"
        obj_dir = self.out / "obj"
        obj_dir.mkdir(parents=True, exist_ok=True)
        objects = []
        for src in sorted((self.sdk / "src").iterdir()):
            if src.suffix not in C_SOURCE_SUFFIXES:
                continue
            obj = obj_dir / (src.stem + ".o")
            run_logged([gcc, *C_FLAGS, "-Werror", *self.include_flags(), "-c", src, "-o", obj,
                        *c_checkout_map(self.root)],
                       f"compile {src.relative_to(self.root)}", logs / "c-sdk.log")
            objects.append(obj)
        ar = gcc.with_name(gcc.name.replace("gcc", "ar"))
        self.lib.unlink(missing_ok=True)
        run_logged([ar if ar.exists() else "riscv64-linux-gnu-ar", "rcsD", self.lib, *objects],
                   f"ar {C_LIB_NAME}", logs / "c-sdk-ar.log")
        stamp.write(key)
        log.info("c eapp library: %s", self.lib)
        return self.lib


# -- keystone-py build --app ------------------------------------------------------------------
@dataclass
class AppBuild:
    """What :func:`build_app` made: eapp and host-app files by name."""

    folder: Path
    kind: str  # "c" or "rust"
    eapps: Dict[str, Path] = field(default_factory=dict)
    hosts: Dict[str, Path] = field(default_factory=dict)
    cached: bool = False

    def eapp(self) -> Path:
        """The one eapp (KeystoneError when there are none or several)."""
        if len(self.eapps) != 1:
            raise KeystoneError(f"{self.folder} built {len(self.eapps)} eapps "
                                f"({', '.join(self.eapps) or 'none'}); name one with --eapp.")
        return next(iter(self.eapps.values()))

    def to_dict(self) -> Dict[str, object]:
        return {"folder": str(self.folder), "kind": self.kind,
                "eapps": {k: str(v) for k, v in self.eapps.items()},
                "hosts": {k: str(v) for k, v in self.hosts.items()}}


def app_out_dir(folder: Path) -> Path:
    """Where ``build --app`` puts a folder's outputs: ``DIR/build``."""
    return Path(folder) / "build"


def build_app(folder: Path, root: Optional[Path] = None, toolchain: Optional[Toolchain] = None,
              force: bool = False) -> AppBuild:
    """Builds the C eapp folder or Rust crate/workspace at ``folder`` (see the
    module doc); BuildError/KeystoneError with the fix for anything else."""
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise KeystoneError(f"--app {folder}: no such folder. Give the folder of a C eapp "
                            "(its .c files) or of a Rust crate (its Cargo.toml).")
    root = Path(root) if root else find_root()
    toolchain = toolchain or Toolchain()
    if (folder / "Cargo.toml").is_file():
        return _build_rust(folder, root, toolchain, force)
    if c_source_dir(folder):
        return _build_c(folder, root, toolchain, force)
    raise KeystoneError(f"--app {folder}: neither a Cargo.toml (a Rust eapp crate) nor C "
                        "sources (*.c, *.S) there or in its eapp/ folder. Create a project "
                        "with `keystone-py new DIR --lang rust|c`, or point --app at your "
                        "eapp's folder.")


def c_source_dir(folder: Path) -> Optional[Path]:
    """Where a C eapp's sources are: the folder itself, else its ``eapp/``
    (Keystone's examples); None when neither holds any."""
    for cand in (Path(folder), Path(folder) / "eapp"):
        if cand.is_dir() and c_sources(cand):
            return cand
    return None


#: A ``main`` definition or call, and what marks a source as using the eapp library.
_MAIN = re.compile(rb"\bmain\s*\(")
_EAPP_LIBRARY_MARKS = (b"EAPP_ENTRY", b"app/", b"eapp_utils.h", b"_start")


def is_linux_program(sources: Sequence[Path]) -> bool:
    """An eapp that is a plain Linux program (``main`` and nothing of the eapp
    library): Keystone builds those with the Linux toolchain, static."""
    texts = [p.read_bytes() for p in sources]
    return (any(_MAIN.search(t) for t in texts)
            and not any(mark in t for t in texts for mark in _EAPP_LIBRARY_MARKS))


def c_sources(folder: Path) -> List[Path]:
    """The folder's sources in the Makefile's order: *.c, then *.S, then *.s, each sorted."""
    files = [p for p in Path(folder).iterdir() if p.is_file()]
    return [p for suffix in C_SOURCE_SUFFIXES for p in sorted(files) if p.suffix == suffix]


def _build_c(folder: Path, root: Path, toolchain: Toolchain, force: bool) -> AppBuild:
    sdk = CSdkBuilder(root, toolchain)
    lib = sdk.build()
    name = folder.name
    out = app_out_dir(folder)
    exe = out / name
    key = digest(compute_cache_key(folder, ["."]), Stamp(sdk.out / "c-sdk.stamp").key(),
                 " ".join([*C_FLAGS, *c_prefix_maps(folder, root), *C_LINK_FLAGS]),
                 " ".join(LINUX_PROGRAM_FLAGS),
                 "run in the folder, relative names")
    stamp = Stamp(out / ".keystone-app.stamp")
    result = AppBuild(folder=folder, kind="c", eapps={name: exe})
    if not force and stamp.fresh(key, [exe]):
        log.info("%s: up to date (cache hit)", exe)
        result.cached = True
        _build_c_host(folder, root, toolchain, force, result)
        return result
    out.mkdir(parents=True, exist_ok=True)
    src_dir = c_source_dir(folder) or folder
    sources = [src.relative_to(folder) for src in c_sources(src_dir)]
    if is_linux_program([folder / s for s in sources]):
        _link_linux_program(folder, root, toolchain, sources, exe)
    else:
        _compile_and_link_eapp(folder, root, sdk, lib, src_dir, sources, exe)
    check_eapp_elf(exe)
    stamp.write(key, kind="c")
    log.info("eapp %s: %s", name, exe)
    _build_c_host(folder, root, toolchain, force, result)
    return result


def _link_linux_program(folder: Path, root: Path, toolchain: Toolchain, sources: List[Path],
                        exe: Path) -> None:
    """An eapp that is a plain Linux program, built as Keystone's CMake builds one."""
    run_logged([toolchain.require("linux-gcc"), *LINUX_PROGRAM_FLAGS,
                *c_prefix_maps(folder, root), *sources, "-o", exe.relative_to(folder)],
               f"build {exe.name} (a Linux program: static, glibc)",
               app_out_dir(folder) / "logs" / "link.log", cwd=folder,
               fix="Fix the C error above.")


def _compile_and_link_eapp(folder: Path, root: Path, sdk: "CSdkBuilder", lib: Path,
                           src_dir: Path, sources: List[Path], exe: Path) -> None:
    """An eapp on the C eapp library: each source compiled, linked with its script."""
    name, gcc, logs = exe.name, sdk.gcc(), app_out_dir(folder) / "logs"
    # The same command lines as the Makefile `keystone-py new` writes (run in
    # the folder, relative names, both folders remapped), so `make` and
    # `build --app` make the same bytes wherever the two folders are: the
    # eapp's file is what the SM measures.
    cflags = [*C_FLAGS, *c_prefix_maps(folder, root), "-I.",
              *(["-I" + str(src_dir.relative_to(folder))] if src_dir != folder else []),
              *sdk.include_flags()]
    objects = []
    for src in sources:
        obj = Path("build") / "obj" / (src.name + ".o")
        (folder / obj).parent.mkdir(parents=True, exist_ok=True)
        run_logged([gcc, *cflags, "-c", src, "-o", obj],
                   f"compile {src.name}", logs / "compile.log", cwd=folder,
                   fix=f"Fix the C error above (the C eapp API is in {sdk.sdk / 'include'}).")
        objects.append(obj)
    try:
        run_logged([gcc, *cflags, *C_LINK_FLAGS, "-T", sdk.linker_script, *objects, lib,
                    "-lgcc", "-o", exe.relative_to(folder)], f"link {name}", logs / "link.log",
                   cwd=folder)
    except BuildError as exc:
        if "keystone-rs: no code" in str(exc):
            raise BuildError(f"{folder}: no entry point: the eapp has no code. Its entry is "
                             "the function marked EAPP_ENTRY (`#include \"app/eapp_utils.h\"`, "
                             "then `void EAPP_ENTRY eapp_entry() { ... EAPP_RETURN(0); }`), "
                             "else `_start`, else the first instruction of .text.") from None
        raise


def host_sources(folder: Path) -> List[Path]:
    """The C++/C sources of a C project's host app (``DIR/host/``), sorted."""
    host = Path(folder) / "host"
    if not host.is_dir():
        return []
    return sorted(p for p in host.iterdir() if p.is_file() and p.suffix in HOST_SOURCE_SUFFIXES)


def _build_c_host(folder: Path, root: Path, toolchain: Toolchain, force: bool,
                  result: AppBuild) -> None:
    """A C project's ``host/`` folder: its C++ host app on sdk/cpp, to
    ``DIR/build/<folder name>-host`` (cached by its sources and the SDK)."""
    sources = host_sources(folder)
    if not sources:
        return
    name = f"{folder.name}-host"
    exe = CppSdkBuilder(root, toolchain).host_program(sources, app_out_dir(folder) / name,
                                                      force=force)
    result.hosts[name] = exe


def _cargo_metadata(folder: Path, toolchain: Toolchain) -> List[dict]:
    argv = [str(toolchain.cargo), "metadata", "--no-deps", "--format-version", "1",
            "--manifest-path", str(folder / "Cargo.toml")]
    proc = run_tool(argv, env=toolchain.cargo_env(), timeout=None)
    if proc.returncode != 0:
        raise BuildError(f"{folder / 'Cargo.toml'}: cargo cannot read it:\n{proc.stderr.strip()}"
                         "\nFix the manifest, then run `keystone-py build --app` again.")
    return list(json.loads(proc.stdout)["packages"])


def _rust_remaps(root: Path, toolchain: Toolchain, target_dir: Path) -> List[str]:
    # The app's own folder is not remapped: RUSTFLAGS are part of every crate's
    # fingerprint, std's included, so a per-folder flag would rebuild the
    # standard library (minutes) for each project. These stay the same for
    # every project of this checkout.
    return remap.rustc_flags(remap.rust_remaps(root, target_dir, toolchain))


def _build_rust(folder: Path, root: Path, toolchain: Toolchain, force: bool) -> AppBuild:
    packages = _cargo_metadata(folder, toolchain)
    eapps: Dict[str, List[str]] = {}
    hosts: Dict[str, List[str]] = {}
    for pkg in packages:
        deps = {d["name"] for d in pkg.get("dependencies", [])}
        bins = [t["name"] for t in pkg.get("targets", []) if "bin" in t.get("kind", [])]
        if EAPP_CRATE in deps:
            eapps[pkg["name"]] = bins
        elif HOST_CRATE in deps:
            hosts[pkg["name"]] = bins
    if not eapps and not hosts:
        names = ", ".join(p["name"] for p in packages) or "none"
        raise BuildError(
            f"{folder}: not an eapp crate: no package ({names}) depends on {EAPP_CRATE} "
            f"(an eapp) or {HOST_CRATE} (a host app). Add to the eapp's Cargo.toml:\n"
            f"    [dependencies]\n    {EAPP_CRATE} = {{ path = \"{root / 'sdk/enclave'}\" }}\n"
            "and `#![no_std] #![no_main] keystone_enclave::entry!(main);` to its main.rs "
            "(or start from `keystone-py new DIR --lang rust`).")
    for kind, table in (("eapp", eapps), ("host app", hosts)):
        for pkg, bins in table.items():
            if not bins:
                raise BuildError(f"{folder}: package {pkg} ({kind}) has no bin target: add "
                                 "src/main.rs (or a [[bin]]).")
    out = app_out_dir(folder)
    target_dir = build_dir(root) / "target-apps"
    remaps = _rust_remaps(root, toolchain, target_dir)
    sdk_inputs = ("Cargo.lock", "sdk/abi", "sdk/enclave", "sdk/host")
    key = digest(compute_cache_key(folder, ["."]), compute_cache_key(root, sdk_inputs),
                 toolchain.rustc_version(), " ".join(remaps),
                 " ".join(EAPP_CARGO + HOST_CARGO + RUST_EAPP_FLAGS))
    result = AppBuild(folder=folder, kind="rust",
                      eapps={b: out / b for bins in eapps.values() for b in bins},
                      hosts={b: out / b for bins in hosts.values() for b in bins})
    stamp = Stamp(out / ".keystone-app.stamp")
    if not force and stamp.fresh(key, [*result.eapps.values(), *result.hosts.values()]):
        log.info("%s: up to date (cache hit)", folder)
        result.cached = True
        return result
    out.mkdir(parents=True, exist_ok=True)
    env = toolchain.cargo_env()
    manifest = ["--manifest-path", str(folder / "Cargo.toml"), "--target-dir", str(target_dir)]
    if eapps:
        toolchain.require("ld")
        flags = [*RUST_EAPP_FLAGS, "-C", f"link-arg=-T{root / 'sdk/enclave/eapp.ld'}",
                 "-C", "link-arg=--strip-debug", *remaps]
        argv = _cargo_argv(toolchain, BARE_TARGET, "riscv64-unknown-elf-ld", flags,
                           [*EAPP_CARGO, *manifest], eapps)
        _cargo(argv, folder, out, env, "eapp")
        for b, dst in result.eapps.items():
            shutil.copy2(target_dir / BARE_TARGET / "release" / b, dst)
            check_eapp_elf(dst)
            log.info("eapp %s: %s", b, dst)
    if hosts:
        gcc = toolchain.require("linux-gcc")
        flags = ["-C", "target-feature=+crt-static", *remaps]
        argv = _cargo_argv(toolchain, LINUX_USER_TARGET, str(gcc), flags,
                           [*HOST_CARGO, *manifest], hosts)
        _cargo(argv, folder, out, env, "host app")
        strip = shutil.which("riscv64-linux-gnu-strip") or "riscv64-linux-gnu-strip"
        for b, dst in result.hosts.items():
            run_logged([strip, "-o", dst, target_dir / LINUX_USER_TARGET / "release" / b],
                       f"strip {b}", out / "logs" / "strip.log")
            log.info("host app %s: %s", b, dst)
    stamp.write(key, kind="rust")
    return result


def _cargo_argv(toolchain: Toolchain, target: str, linker: str, rustflags: Sequence[str],
                args: Sequence[str], packages: Sequence[str]) -> List[str]:
    """cargo with ``target``'s linker and rustflags given as ``--config`` (the
    project's own .cargo/config.toml is not needed), then ``args`` and ``-p`` for
    each of ``packages``."""
    argv = [str(toolchain.cargo),
            "--config", f"target.{target}.linker={json.dumps(linker)}",
            "--config", f"target.{target}.rustflags={json.dumps(list(rustflags))}", *args]
    for pkg in packages:
        argv += ["-p", pkg]
    return argv


def _cargo(argv: Sequence[str], folder: Path, out: Path, env: Dict[str, str], what: str) -> None:
    def show(line: str) -> None:
        s = line.strip()
        if s.startswith(("Compiling", "Finished", "error")):
            log.info("  %s", s)

    log.info("building the %s(s) of %s (the first build compiles the Rust library: 1-3 min)",
             what, folder)
    try:
        run_logged(argv, f"cargo build ({what}s of {folder.name})", out / "logs" / "cargo.log",
                   cwd=folder, env=env, on_line=show, tail=40,
                   fix="Fix the Rust error above and run `keystone-py build --app` again.")
    except BuildError as exc:
        if "__keystone_eapp_main" in str(exc):
            raise BuildError(f"{folder}: the eapp has no entry point. Add "
                             "`keystone_enclave::entry!(main);` and `fn main() -> usize { ... }`"
                             " to its src/main.rs (the value main returns is the enclave's "
                             "exit value).") from None
        raise

"""The C++ host SDK (``sdk/cpp``): Keystone's host API (``Keystone::Enclave``,
``Keystone::Params``, the edge-call helpers, ``Report``) as static libraries,
and C++ host programs built against it.

* :class:`CppSdkBuilder` makes ``build/cpp/libkeystone-host.a`` (sdk/cpp/src and
  the edge-call helpers of sdk/c/src/edge_call.c, riscv64-linux-gnu-g++/gcc)
  and ``build/cpp/libkeystone-cpp-ffi.a`` (the Rust crate sdk/cpp/ffi: the
  Ed25519-SHA3 check of reports), cached like the rest;
* :meth:`CppSdkBuilder.host_program` compiles C++/C host sources against it
  into one static riscv64 Linux executable (cached by its sources).

Standard library only.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..errors import BuildError
from ..paths import build_dir, find_root
from ..toolchain import Toolchain, tool_output
from .cache import Stamp, compute_cache_key, digest
from .hostapps import CARGO_FLAGS, LINUX_USER_TARGET
from .runner import run_logged

log = logging.getLogger("keystone_py.build")

CPP_SDK = "sdk/cpp"
CPP_LIB_NAME = "libkeystone-host.a"
FFI_LIB_NAME = "libkeystone-cpp-ffi.a"
FFI_CRATE = "keystone-cpp-ffi"
#: What the library and the host programs are compiled with.
CXX_FLAGS = ("-std=c++17", "-O2", "-Wall")
CC_FLAGS = ("-std=gnu11", "-O2", "-Wall")
#: Include folders a host program sees (relative to the checkout): Keystone's
#: names ``host/keystone.h`` and ``keystone.h``, ``edge/edge_call.h`` and
#: ``edge_call.h``, ``verifier/report.h``, ``common/sha3.h`` all resolve.
INCLUDE_DIRS = ("sdk/cpp/include", "sdk/cpp/include/host", "sdk/c/include", "sdk/c/include/edge")
#: The library's own sources also see the driver's and the SM's ABI headers.
LIB_INCLUDE_DIRS = (*INCLUDE_DIRS, "sdk/abi/include")
#: The edge-call helpers shared with the C eapp library.
SHARED_SOURCES = ("sdk/c/src/edge_call.c",)
#: What the cache key covers.
INPUTS = ("sdk/cpp", "sdk/c/include", "sdk/c/src/edge_call.c", "sdk/abi", "sm_rs/core",
          "Cargo.toml", "Cargo.lock")
LINK_FLAGS = ("-static", "-s", "-Wl,--gc-sections")
SOURCE_SUFFIXES = (".cpp", ".cc", ".cxx", ".c")


class CppSdkBuilder:
    """``sdk/cpp`` → ``build/cpp/`` (the two static libraries), and host programs."""

    def __init__(self, root: Optional[Path] = None, toolchain: Optional[Toolchain] = None):
        self.root = Path(root) if root else find_root()
        self.toolchain = toolchain or Toolchain()
        self.out = build_dir(self.root) / "cpp"
        self.target_dir = build_dir(self.root) / "target"

    @property
    def lib(self) -> Path:
        return self.out / CPP_LIB_NAME

    @property
    def ffi_lib(self) -> Path:
        return self.out / FFI_LIB_NAME

    def include_flags(self, dirs: Sequence[str] = INCLUDE_DIRS) -> List[str]:
        """-I flags for a host program (Keystone's header names)."""
        return [f"-I{self.root / d}" for d in dirs]

    def cxx(self) -> Path:
        return self.toolchain.require("linux-g++")

    def gcc(self) -> Path:
        return self.toolchain.require("linux-gcc")

    def tools_version(self) -> str:
        """The C++ compiler's and rustc's versions (part of every cache key)."""
        gxx = tool_output([self.cxx(), "--version"], error=BuildError)
        return gxx + self.toolchain.rustc_version()

    def key(self) -> str:
        return compute_cache_key(self.root, INPUTS, self.tools_version() + " ".join(
            (*CXX_FLAGS, *CC_FLAGS, *CARGO_FLAGS)))

    def build(self, force: bool = False) -> Path:
        """The C++ host library (and the FFI library beside it), rebuilt when stale."""
        key = self.key()
        stamp = Stamp(self.out / "cpp-sdk.stamp")
        if not force and stamp.fresh(key, [self.lib, self.ffi_lib]):
            log.info("c++ host sdk: up to date (cache hit)")
            return self.lib
        logs = build_dir(self.root) / "logs"
        self.out.mkdir(parents=True, exist_ok=True)
        argv = [str(self.toolchain.cargo), *CARGO_FLAGS, "-p", FFI_CRATE,
                "--target-dir", str(self.target_dir)]
        run_logged(argv, f"cargo build {FFI_CRATE}", logs / "cpp-ffi.log", cwd=self.root,
                   env=self.toolchain.cargo_env())
        built = self.target_dir / LINUX_USER_TARGET / "release" / "libkeystone_cpp_ffi.a"
        shutil.copy2(built, self.ffi_lib)
        obj_dir = self.out / "obj"
        obj_dir.mkdir(parents=True, exist_ok=True)
        sources = sorted(p for p in (self.root / CPP_SDK / "src").iterdir()
                         if p.suffix in SOURCE_SUFFIXES)
        sources += [self.root / s for s in SHARED_SOURCES]
        objects = []
        for src in sources:
            obj = obj_dir / (src.name + ".o")
            run_logged([*self._compiler(src), *self.include_flags(LIB_INCLUDE_DIRS),
                        "-DKEYSTONE_EDGE_HOST", "-ffunction-sections", "-fdata-sections",
                        "-Werror", f"-ffile-prefix-map={self.root}=/keystone-rs",
                        "-c", src, "-o", obj],
                       f"compile {src.relative_to(self.root)}", logs / "cpp-sdk.log")
            objects.append(obj)
        ar = shutil.which("riscv64-linux-gnu-ar") or "riscv64-linux-gnu-ar"
        self.lib.unlink(missing_ok=True)
        run_logged([ar, "rcsD", self.lib, *objects], f"ar {CPP_LIB_NAME}",
                   logs / "cpp-sdk-ar.log")
        stamp.write(key)
        log.info("c++ host sdk: %s", self.lib)
        return self.lib

    def _compiler(self, src: Path) -> List[str]:
        if src.suffix == ".c":
            return [str(self.gcc()), *CC_FLAGS]
        return [str(self.cxx()), *CXX_FLAGS]

    def host_program(self, sources: Sequence[Path], out: Path,
                     include_dirs: Sequence[Path] = (), force: bool = False) -> Path:
        """Compiles and links host ``sources`` (C++ or C) against the SDK into the
        static executable ``out``; rebuilt when a source or the SDK changed."""
        self.build()
        sources = [Path(s).resolve() for s in sources]
        missing = [str(s) for s in sources if not s.is_file()]
        if missing or not sources:
            raise BuildError(f"host program {out.name}: no such source(s): "
                             f"{', '.join(missing) or 'none given'}")
        folders = sorted({s.parent for s in sources} | {Path(d).resolve() for d in include_dirs})
        key = digest(Stamp(self.out / "cpp-sdk.stamp").key(),
                     *(s.read_bytes() for s in sources),
                     *(compute_cache_key(f, ["."]) for f in folders),
                     " ".join(map(str, (*sources, *folders))))
        stamp = Stamp(out.with_name(f".{out.name}.stamp"))
        if not force and stamp.fresh(key, [out]):
            log.info("%s: up to date (cache hit)", out)
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        logs = out.parent / "logs"
        obj_dir = out.parent / "obj" / out.name
        obj_dir.mkdir(parents=True, exist_ok=True)
        incs = [f"-I{f}" for f in folders] + self.include_flags()
        objects = []
        for src in sources:
            obj = obj_dir / (src.name + ".o")
            run_logged([*self._compiler(src), *incs, "-c", src, "-o", obj],
                       f"compile {src.name}", logs / f"{out.name}.log",
                       fix=f"Fix the error above (the C++ host API is in "
                           f"{self.root / CPP_SDK / 'include'}).")
            objects.append(obj)
        run_logged([str(self.cxx()), *LINK_FLAGS, *objects, self.lib, self.ffi_lib,
                    "-lpthread", "-ldl", "-o", out], f"link {out.name}",
                   logs / f"{out.name}.log")
        stamp.write(key)
        log.info("host program %s: %s", out.name, out)
        return out


#: The C++ host apps (examples/cpp/NAME.cpp on sdk/cpp) the guest carries in /bin.
CPP_HOST_APPS = ("ks-cpp-demo",)


def cpp_guest_files(root: Path, toolchain: Toolchain) -> Dict[str, Path]:
    """The C++ host apps as initramfs entries (``bin/NAME``), built when stale."""
    sdk = CppSdkBuilder(root, toolchain)
    out = build_dir(root) / "host"
    return {f"bin/{name}": sdk.host_program([root / "examples/cpp" / f"{name}.cpp"], out / name)
            for name in CPP_HOST_APPS}

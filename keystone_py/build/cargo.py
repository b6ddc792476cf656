"""Build the bare-metal Rust worlds with cargo into ``build/``, cached by a hash of inputs.

``keystone-py build`` and the pytest session fixture both come here. A target
whose cache key (hash of its sources, the workspace manifests, the cargo config
and ``rustc -vV``) matches its stamp file, and whose outputs exist, is not
handed to cargo at all, so a cached build takes well under a second.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..errors import BuildError
from ..paths import build_dir, find_root
from ..toolchain import BARE_TARGET, Toolchain, run_attached
from . import remap
from .artifacts import Artifacts
from .cache import Stamp, compute_cache_key
from .runner import run_logged

log = logging.getLogger("keystone_py.build")

#: Inputs every target shares (relative to the repository root).
COMMON_INPUTS = ("Cargo.toml", "Cargo.lock", ".cargo/config.toml")
CARGO_FLAGS = ("build", "--release", "-Z", "build-std=core,alloc",
               "-Z", "build-std-features=compiler-builtins-mem", "--target", BARE_TARGET)
#: The Rust SDK crates every target may use (sdk/c, the C eapp library, is not
#: an input of any cargo target: changing it rebuilds only C eapps).
RUST_SDK = ("sdk/abi", "sdk/enclave", "sdk/host")
#: Keystone's test eapps and ours (cargo bins of package eapp-tests, examples/tests).
EAPPS = ("stack", "loop", "malloc", "long-nop", "fibonacci", "untrusted", "attestation",
         "data-sealing", "edge-checks", "hello", "fault", "illegal", "bad-pointer",
         "ocall-bench", "attestor", "ocall-seq", "switchless")


@dataclass(frozen=True)
class Target:
    """One bare-metal binary: its cargo package/bin, inputs and output files."""

    name: str  # CLI name: "sm", "payload", "loader", "runtime", "eapp_long_nop"
    package: str  # cargo package
    bin: str  # cargo bin name (= output ELF file name)
    inputs: Sequence[str]  # folders/files besides COMMON_INPUTS
    out_stem: str  # build/<out_stem>.elf/.bin/.stamp
    eapp: Optional[str] = None  # for an eapp: its name ("long-nop")


def _eapp_target(name: str) -> Target:
    stem = f"eapp_{name.replace('-', '_')}"
    return Target(stem, "eapp-tests", name, ("examples/tests", *RUST_SDK), stem, eapp=name)


TARGETS: Dict[str, Target] = {
    "sm": Target("sm", "sm_rs", "sm_rs", ("sm_rs", *RUST_SDK), "sm_rs"),
    "payload": Target("payload", "sbi_conformance", "sbi_conformance", ("payload", *RUST_SDK),
                      "sbi_conformance"),
    # The enclave worlds: loader.bin, the eyrie-rt ELF, and the test eapps.
    "loader": Target("loader", "keystone-runtime", "loader", ("runtime", *RUST_SDK), "loader"),
    "runtime": Target("runtime", "keystone-runtime", "eyrie-rt", ("runtime", *RUST_SDK),
                      "eyrie-rt"),
    **{t.name: t for t in map(_eapp_target, EAPPS)},
}

#: The targets an enclave needs besides the SM and the payload.
ENCLAVE_TARGETS = tuple(n for n, t in TARGETS.items()
                        if n in ("loader", "runtime") or t.eapp is not None)


def resolve_target(name: str) -> Target:
    """A target by CLI name, cargo package or bin name; BuildError if unknown."""
    if name in TARGETS:
        return TARGETS[name]
    for t in TARGETS.values():
        if name in (t.package, t.bin):
            return t
    raise BuildError(f"unknown build target {name!r}; choose from: "
                     + ", ".join((*TARGETS, "linux")) + ", all")


class Builder:
    """Runs cargo for the bare-metal targets and keeps ``build/`` up to date."""

    def __init__(self, root: Optional[Path] = None, toolchain: Optional[Toolchain] = None):
        self.root = Path(root) if root else find_root()
        self.build_dir = build_dir(self.root)
        self.toolchain = toolchain or Toolchain()
        self.target_dir = self.build_dir / "target"
        self._rustc_vv: Optional[str] = None

    # -- paths ------------------------------------------------------------------
    def elf_path(self, t: Target) -> Path:
        return self.build_dir / f"{t.out_stem}.elf"

    def bin_path(self, t: Target) -> Path:
        return self.build_dir / f"{t.out_stem}.bin"

    def stamp_path(self, t: Target) -> Path:
        return self.build_dir / f"{t.out_stem}.stamp"

    def cargo_output(self, t: Target) -> Path:
        return self.target_dir / BARE_TARGET / "release" / t.bin

    # -- reproducibility --------------------------------------------------------
    def path_remaps(self) -> List[Tuple[Path, str]]:
        """Machine-specific folders and the fixed names the binaries see instead
        (:mod:`.remap`): the checkout, cargo's home, the target folder and the
        toolchain's sysroot (core/alloc)."""
        return remap.rust_remaps(self.root, self.target_dir, self.toolchain)

    def remap_config(self) -> List[str]:
        """``cargo --config`` arguments that add the remaps to the bare target's
        rustflags (config arrays are joined, so .cargo/config.toml's stay)."""
        flags = remap.rustc_flags(self.path_remaps())
        return ["--config", f"target.{BARE_TARGET}.rustflags={json.dumps(flags)}"]

    # -- cache ------------------------------------------------------------------
    def cache_key(self, t: Target) -> str:
        if self._rustc_vv is None:
            self._rustc_vv = self.toolchain.rustc_version()
        remapped = " ".join(name for _, name in self.path_remaps())
        extra = "\n".join([self._rustc_vv, " ".join(CARGO_FLAGS), remapped, t.package, t.bin])
        return compute_cache_key(self.root, (*COMMON_INPUTS, *t.inputs), extra)

    def is_fresh(self, t: Target, key: Optional[str] = None) -> bool:
        """Outputs exist and the stamp holds the current key."""
        return Stamp(self.stamp_path(t)).fresh(key or self.cache_key(t),
                                               [self.elf_path(t), self.bin_path(t)])

    # -- build ------------------------------------------------------------------
    def build(self, names: Sequence[str] = ("sm", "payload"), force: bool = False) -> Artifacts:
        """Build the named targets unless cached; return :meth:`artifacts`."""
        targets = [resolve_target(n) for n in names]
        keys = {t.name: self.cache_key(t) for t in targets}
        stale = [t for t in targets if force or not self.is_fresh(t, keys[t.name])]
        for t in targets:
            if t not in stale:
                log.info("%s: up to date (cache hit)", t.package)
        if stale:
            self._cargo_build(stale)
            for t in stale:
                self._install(t)
                Stamp(self.stamp_path(t)).write(keys[t.name], package=t.package)
        return self.artifacts()

    def _cargo_build(self, targets: Sequence[Target]) -> None:
        cargo = self.toolchain.cargo
        self.toolchain.require("ld")
        argv = [str(cargo), *self.remap_config(), *CARGO_FLAGS]
        for t in targets:
            argv += ["-p", t.package]
        argv += ["--target-dir", str(self.target_dir)]
        names = ", ".join(dict.fromkeys(t.package for t in targets))
        log.info("building %s with %s (first build compiles core/alloc: ~1 min)", names, cargo)
        log.debug("argv: %s", " ".join(argv))

        def show(line: str) -> None:
            stripped = line.strip()
            if stripped.startswith(("Compiling", "Finished", "warning: unused", "error")):
                log.info("  %s", stripped)
            else:
                log.debug("  %s", line)

        seconds = run_logged(
            argv, f"cargo build of {names}", self.build_dir / "logs" / "cargo-build.log",
            cwd=self.root, env=self.toolchain.cargo_env(), on_line=show, tail=40,
            fix="Fix the Rust error above and run `keystone-py build` again; "
                "`keystone-py doctor` checks the toolchain.")
        log.info("built %s in %.1fs", names, seconds)

    def _install(self, t: Target) -> None:
        """Copy cargo's ELF to build/ and make the flat binary with objcopy."""
        src = self.cargo_output(t)
        if not src.is_file():
            raise BuildError(f"cargo succeeded but {src} is missing: is the bin of package "
                             f"{t.package} still called {t.bin}?")
        shutil.copy2(src, self.elf_path(t))
        run_logged([self.toolchain.objcopy, "-O", "binary", self.elf_path(t), self.bin_path(t)],
                   f"objcopy -O binary {self.elf_path(t).name}",
                   self.build_dir / "logs" / "objcopy.log")
        log.info("  %s -> %s (%d bytes)", t.bin, self.bin_path(t), self.bin_path(t).stat().st_size)

    # -- outputs ------------------------------------------------------------------
    def outputs(self, t: Target) -> Tuple[Optional[Path], Optional[Path]]:
        """(ELF, flat image) of ``t`` as absolute paths, each None when missing."""
        elf, image = self.elf_path(t), self.bin_path(t)
        return (elf.resolve() if elf.is_file() else None,
                image.resolve() if image.is_file() else None)

    def artifacts(self) -> Artifacts:
        """Every bare-metal artifact that exists."""
        art = Artifacts()
        art.sm_elf, art.sm_bin = self.outputs(TARGETS["sm"])
        art.payload_elf, art.payload_bin = self.outputs(TARGETS["payload"])
        art.loader_elf, art.loader_bin = self.outputs(TARGETS["loader"])
        art.runtime_elf, art.runtime_bin = self.outputs(TARGETS["runtime"])
        for t in TARGETS.values():
            if t.eapp is not None:
                elf, image = self.outputs(t)
                if elf:
                    art.eapp_elfs[t.eapp] = elf
                if image:
                    art.eapp_bins[t.eapp] = image
        return art

    def host_test(self, packages: Sequence[str] = ("sm-core", "keystone-runtime", "keystone-abi",
                                                  "keystone-host", "keystone-enclave",
                                                  "host-examples", "keystone-cpp-ffi")) -> int:
        """``cargo test`` of the pure-logic crates on the build machine; its output
        goes straight to our stdout. Returns cargo's exit status."""
        argv = [str(self.toolchain.cargo), "test"]
        for p in packages:
            argv += ["-p", p]
        argv += ["--target-dir", str(self.build_dir / "target-host")]
        log.info("host tests: %s", " ".join(argv))
        env = self.toolchain.cargo_env()
        env.pop("RUSTC_BOOTSTRAP", None)
        return run_attached(argv, cwd=self.root, env=env)

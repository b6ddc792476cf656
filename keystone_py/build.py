"""Build the Rust worlds with cargo into ``build/``, cached by a hash of inputs.

``keystone-py build`` and the pytest session fixture both come here. A target
whose cache key (hash of its sources, the workspace manifests, the cargo config
and ``rustc -vV``) matches its stamp file, and whose outputs exist, is not
handed to cargo at all, so a cached build takes well under a second.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from .errors import BuildError
from .paths import build_dir, find_root
from .toolchain import BARE_TARGET, Toolchain

log = logging.getLogger("keystone_py.build")

#: Inputs every target shares (relative to the repository root).
COMMON_INPUTS = ("Cargo.toml", "Cargo.lock", ".cargo/config.toml")
#: Folder names never hashed (build outputs, caches).
SKIP_DIRS = frozenset({"target", ".git", "__pycache__", "build"})
CARGO_FLAGS = ("build", "--release", "-Z", "build-std=core,alloc",
               "-Z", "build-std-features=compiler-builtins-mem", "--target", BARE_TARGET)


@dataclass(frozen=True)
class Target:
    """One bare-metal binary: its cargo package/bin, inputs and artifact names."""

    name: str  # CLI name: "sm", "payload"
    package: str  # cargo package
    bin: str  # cargo bin name (= output ELF file name)
    inputs: Sequence[str]  # folders/files besides COMMON_INPUTS
    key: str  # artifacts prefix: "<key>_elf", "<key>_bin"
    out_stem: str  # build/<out_stem>.elf/.bin


TARGETS: Dict[str, Target] = {
    "sm": Target("sm", "sm_rs", "sm_rs", ("sm_rs", "sdk"), "sm", "sm_rs"),
    "payload": Target("payload", "sbi_conformance", "sbi_conformance", ("qemu", "sdk"),
                      "payload", "sbi_conformance"),
    # The enclave worlds: loader.bin, the eyrie-rt ELF, and Keystone's test eapps.
    "loader": Target("loader", "keystone-runtime", "loader", ("runtime", "sdk"),
                     "loader", "loader"),
    "runtime": Target("runtime", "keystone-runtime", "eyrie-rt", ("runtime", "sdk"),
                      "runtime", "eyrie-rt"),
    **{f"eapp_{n.replace('-', '_')}": Target(
        f"eapp_{n.replace('-', '_')}", "eapp-tests", n, ("examples/tests", "sdk"),
        f"eapp_{n.replace('-', '_')}", f"eapp_{n.replace('-', '_')}")
       for n in ("stack", "loop", "malloc", "long-nop", "fibonacci", "untrusted", "attestation",
                 "data-sealing", "edge-checks", "hello", "fault", "illegal", "bad-pointer",
                 "ocall-bench", "attestor", "ocall-seq")},
}

#: The targets an enclave needs besides the SM and the payload.
ENCLAVE_TARGETS = tuple(n for n in TARGETS if n in ("loader", "runtime") or n.startswith("eapp_"))


def iter_input_files(root: Path, inputs: Iterable[str]) -> List[Path]:
    """Every file under ``inputs`` (files or folders, relative to ``root``), sorted,
    skipping build-output folders. Missing inputs are skipped (e.g. no Cargo.lock)."""
    files = set()
    for rel in inputs:
        p = root / rel
        if p.is_file():
            files.add(p)
        elif p.is_dir():
            for f in p.rglob("*"):
                if f.is_file() and not SKIP_DIRS.intersection(f.relative_to(root).parts):
                    files.add(f)
    return sorted(files)


def compute_cache_key(root: Path, inputs: Iterable[str], extra: str = "") -> str:
    """SHA-256 over the relative path and content of every input file, plus
    ``extra`` (toolchain version, build flags). Moving the checkout does not change
    the key; touching a file without changing it does not either."""
    h = hashlib.sha256()
    h.update(extra.encode())
    for f in iter_input_files(root, inputs):
        rel = f.relative_to(root).as_posix().encode()
        data = f.read_bytes()
        h.update(b"\0F" + rel + b"\0" + str(len(data)).encode() + b"\0")
        h.update(data)
    return h.hexdigest()


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

    # -- cache ------------------------------------------------------------------
    def cache_key(self, t: Target) -> str:
        if self._rustc_vv is None:
            self._rustc_vv = self.toolchain.rustc_version()
        extra = "\n".join([self._rustc_vv, " ".join(CARGO_FLAGS), t.package, t.bin])
        return compute_cache_key(self.root, (*COMMON_INPUTS, *t.inputs), extra)

    def is_fresh(self, t: Target, key: Optional[str] = None) -> bool:
        """Outputs exist and the stamp holds the current key."""
        if not (self.elf_path(t).is_file() and self.bin_path(t).is_file()):
            return False
        try:
            stamp = json.loads(self.stamp_path(t).read_text())
        except (OSError, ValueError):
            return False
        return stamp.get("key") == (key or self.cache_key(t))

    # -- build ------------------------------------------------------------------
    def build(self, names: Sequence[str] = ("sm", "payload"),
              force: bool = False) -> Dict[str, str]:
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
                self.stamp_path(t).write_text(json.dumps(
                    {"key": keys[t.name], "package": t.package, "built": time.time()}) + "\n")
        return self.artifacts()

    def _cargo_build(self, targets: Sequence[Target]) -> None:
        cargo = self.toolchain.cargo
        self.toolchain.require("ld")
        argv = [str(cargo), *CARGO_FLAGS]
        for t in targets:
            argv += ["-p", t.package]
        argv += ["--target-dir", str(self.target_dir)]
        self.build_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.build_dir / "logs" / "cargo-build.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        names = ", ".join(t.package for t in targets)
        log.info("building %s with %s (first build compiles core/alloc: ~1 min)", names, cargo)
        log.debug("argv: %s", " ".join(argv))
        start = time.monotonic()
        tail: deque = deque(maxlen=40)
        try:
            proc = subprocess.Popen(argv, cwd=self.root, env=self.toolchain.cargo_env(),
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, errors="replace")
        except OSError as exc:
            raise BuildError(f"cannot run {cargo}: {exc}.\nFix: run `keystone-py doctor`.") from exc
        with open(log_path, "w") as logf:
            logf.write("$ " + " ".join(argv) + "\n")
            assert proc.stdout is not None
            for line in proc.stdout:
                logf.write(line)
                line = line.rstrip()
                tail.append(line)
                stripped = line.strip()
                if stripped.startswith(("Compiling", "Finished", "warning: unused")) or \
                        stripped.startswith("error"):
                    log.info("  %s", stripped)
                else:
                    log.debug("  %s", line)
            rc = proc.wait()
        if rc != 0:
            raise BuildError(
                f"cargo failed (exit {rc}) building {names}. Last lines:\n"
                + "\n".join(f"    {x}" for x in tail)
                + f"\nFull log: {log_path}\nFix the Rust error above and run "
                  "`keystone-py build` again; `keystone-py doctor` checks the toolchain.")
        log.info("built %s in %.1fs", names, time.monotonic() - start)

    def _install(self, t: Target) -> None:
        """Copy cargo's ELF to build/ and make the flat binary with objcopy."""
        src = self.cargo_output(t)
        if not src.is_file():
            raise BuildError(f"cargo succeeded but {src} is missing: is the bin of package "
                             f"{t.package} still called {t.bin}?")
        shutil.copy2(src, self.elf_path(t))
        objcopy = self.toolchain.objcopy
        res = subprocess.run([str(objcopy), "-O", "binary", str(self.elf_path(t)),
                              str(self.bin_path(t))], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise BuildError(f"{objcopy} -O binary {self.elf_path(t)} failed "
                             f"(exit {res.returncode}): {res.stderr.strip()}")
        log.info("  %s -> %s (%d bytes)", t.bin, self.bin_path(t), self.bin_path(t).stat().st_size)

    # -- outputs ------------------------------------------------------------------
    def artifacts(self) -> Dict[str, str]:
        """Absolute paths of every built artifact that exists, by name."""
        out: Dict[str, str] = {}
        for t in TARGETS.values():
            for kind, path in (("elf", self.elf_path(t)), ("bin", self.bin_path(t))):
                if path.is_file():
                    out[f"{t.key}_{kind}"] = str(path.resolve())
        return out

    def host_test(self, packages: Sequence[str] = ("sm_rs", "keystone-runtime")) -> int:
        """``cargo test`` of the pure-logic crates on the build machine; its output
        goes straight to our stdout. Returns cargo's exit status."""
        argv = [str(self.toolchain.cargo), "test"]
        for p in packages:
            argv += ["-p", p]
        argv += ["--target-dir", str(self.build_dir / "target-host")]
        log.info("host tests: %s", " ".join(argv))
        env = self.toolchain.cargo_env()
        env.pop("RUSTC_BOOTSTRAP", None)
        return subprocess.run(argv, cwd=self.root, env=env, check=False).returncode


#: Build targets that are not cargo packages (``keystone-py build linux``).
LINUX_TARGET = "linux"
#: Every CLI target name, in build order; ``all`` means all of them.
ALL_TARGETS = (*TARGETS, LINUX_TARGET)


def resolve_target(name: str) -> Target:
    if name in TARGETS:
        return TARGETS[name]
    for t in TARGETS.values():
        if name in (t.package, t.bin):
            return t
    raise BuildError(f"unknown build target {name!r}; choose from: "
                     + ", ".join(ALL_TARGETS) + ", all")


def expand_targets(names: Sequence[str]) -> List[str]:
    """CLI names to target names: ``all`` (or nothing) means every target,
    ``linux`` included (the kernel, /init and the initramfs)."""
    if not names or "all" in names:
        return list(ALL_TARGETS)
    out: List[str] = []
    for n in names:
        name = LINUX_TARGET if n == LINUX_TARGET else resolve_target(n).name
        if name not in out:
            out.append(name)
    return out


def build_targets(names: Sequence[str], force: bool = False, root: Optional[Path] = None,
                  toolchain: Optional[Toolchain] = None) -> Dict[str, str]:
    """Builds the named targets (CLI names, see :func:`expand_targets`), each
    only when stale, and returns every artifact that exists."""
    from .linux import LinuxBuilder
    toolchain = toolchain or Toolchain()
    builder = Builder(root=root, toolchain=toolchain)
    targets = expand_targets(names)
    cargo = [t for t in targets if t != LINUX_TARGET]
    if cargo:
        builder.build(cargo, force=force)
    linux = LinuxBuilder(root=builder.root, toolchain=toolchain)
    if LINUX_TARGET in targets:
        linux.build(force=force)
    return {**builder.artifacts(), **linux.artifacts()}


def all_artifacts(root: Optional[Path] = None,
                  toolchain: Optional[Toolchain] = None) -> Dict[str, str]:
    """Every built artifact that exists (cargo targets and Linux), by name."""
    from .linux import LinuxBuilder
    toolchain = toolchain or Toolchain()
    builder = Builder(root=root, toolchain=toolchain)
    return {**builder.artifacts(), **LinuxBuilder(builder.root, toolchain).artifacts()}

"""zCore, the Rust host OS, built with cargo from pinned source archives plus
``zcore_patch/``, cached in ``build/zcore.bin``; and rcore-fs SFS root images.

``keystone-py build zcore`` comes here. Nothing is downloaded but crates from
crates.io: zCore 43ff1c9 and the git dependencies its ``Cargo.lock`` pins come
as ``.tar.gz`` archives from a folder with a ``MANIFEST.tsv`` (name, repository,
revisions, file, sha256), given with ``--zcore-sources DIR`` or
``$KEYSTONE_ZCORE_SOURCES``. Each archive's sha256 is checked before anything is
unpacked; the archives go to ``build/zcore/src/<name>/``; the patch series
``zcore_patch/NNNN-<name>-<topic>.patch`` is applied (``patch -p1`` in the
folder of repository ``<name>``); cargo is pointed at the unpacked repositories
by a generated ``[patch."https://github.com/..."]`` file; and zCore (feature
``linux``, QEMU virt) is built under the SM's toolchain rules: the chosen rustc
with ``RUSTC_BOOTSTRAP=1``, ``-Z build-std=core,alloc``, on the built-in target
``riscv64imac-unknown-none-elf`` with zCore's own linker script as a link
argument and GNU ld (rustc 1.96 rejects zCore's ``riscv64.json``; Debian's rustc
has no rust-lld).

Root images: ``sfs-pack`` (``zcore_patch/sfs-pack``, the library calls of
zCore's ``xtask image``) is built for this machine against the unpacked
rcore-fs and packs a folder into the SFS image zCore mounts from ``-initrd``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import BuildError, KeystoneError
from ..paths import build_dir, find_root
from ..toolchain import Toolchain, first_line
from .cache import Stamp, compute_cache_key, digest, file_sha256
from .cargo import EAPPS, ENCLAVE_TARGETS, Builder
from .cppsdk import cpp_guest_files
from .hostapps import HostAppsBuilder
from .runner import run_logged

log = logging.getLogger("keystone_py.zcore")

#: The environment variable naming the sources folder (``--zcore-sources`` wins).
SOURCES_ENV = "KEYSTONE_ZCORE_SOURCES"
#: The patch series and the SFS packer's source, relative to the repository root.
PATCH_DIR = "zcore_patch"
#: The ABI crate the enclave device (patch 0014) takes its numbers from: copied next
#: to the unpacked repositories as ``src/keystone-abi`` (zCore's linux-object names
#: it by that relative path).
ABI_DIR = "sdk/abi"
ABI_NAME = "keystone-abi"
SFS_PACK_DIR = "zcore_patch/sfs-pack"
#: The root image's C programs (static glibc), ``/bin/<name>``: a smoke test, one
#: check per zCore gap the patches fix, and the Linux initramfs's ``/init`` (the
#: prompt keystone_py drives: ``run PROG ARGS``), the same source on both hosts.
ROOTFS_PROGRAMS = {"hello": "zcore_patch/rootfs/hello.c", "gaps": "zcore_patch/rootfs/gaps.c",
                   "init": "linux_host/init/init.c"}
#: The manifest's columns, in order (its first line names them).
MANIFEST_COLUMNS = ("name", "repository", "pinned_rev", "exported_rev", "file", "sha256",
                    "missing_files")
ZCORE_NAME = "zCore"
ZCORE_TARGET = "riscv64imac-unknown-none-elf"
#: zCore as its xtask builds the ``virt-riscv64`` machine (Linux mode).
ZCORE_FEATURES = ("linux",)
ZCORE_LINKER_SCRIPT = "zCore/src/platform/riscv/linker.ld"
CARGO_FLAGS = ("build", "--release", "-p", "zcore", "--features", ",".join(ZCORE_FEATURES),
               "--target", ZCORE_TARGET, "-Z", "build-std=core,alloc",
               "-Z", "build-std-features=compiler-builtins-mem")
#: Lints capped (zCore's ``#![deny(warnings)]`` meets lints newer than the
#: crates), the link through GNU ld with zCore's script, its code model.
RUSTFLAGS = ("--cap-lints=warn", "-Clinker-flavor=ld", f"-Clink-arg=-T{ZCORE_LINKER_SCRIPT}",
             "-Ccode-model=medium")
#: A source folder's fix, in every error about it.
SOURCES_FIX = (f"Fix: pass --zcore-sources DIR or set {SOURCES_ENV}=DIR to a folder holding "
               "zCore's source archives and their MANIFEST.tsv (on the project's machines: "
               "../shared/vendor/zcore; `make` passes it when it exists).")


@dataclass(frozen=True)
class Archive:
    """One row of ``MANIFEST.tsv``: a repository's source archive and its digest."""

    name: str  # folder the archive unpacks to, and the patch prefix ("zCore", "rcore-fs")
    repository: str  # GitHub owner/name
    pinned_rev: str  # what zCore's Cargo.lock pins
    exported_rev: str  # what the archive holds
    file: str  # archive file name in the sources folder
    sha256: str

    @property
    def url(self) -> str:
        """The git URL zCore's manifests name (cargo's ``[patch]`` key)."""
        return f"https://github.com/{self.repository}"


def sources_folder(given: Optional[os.PathLike] = None,
                   env: Optional[Mapping[str, str]] = None) -> Path:
    """The sources folder: ``given``, else ``$KEYSTONE_ZCORE_SOURCES``. KeystoneError
    when neither names one, or it is not a folder."""
    env = os.environ if env is None else env
    raw = str(given) if given else env.get(SOURCES_ENV, "")
    if not raw:
        raise KeystoneError(f"zcore: no sources folder given. {SOURCES_FIX}")
    folder = Path(raw).expanduser()
    if not folder.is_dir():
        raise KeystoneError(f"zcore: sources folder {folder} does not exist. {SOURCES_FIX}")
    return folder.resolve()


def read_manifest(folder: Path) -> List[Archive]:
    """The archives ``folder/MANIFEST.tsv`` lists (tab-separated, header first).
    KeystoneError when it is missing, its header differs, a row is short, or it
    lacks zCore."""
    path = Path(folder) / "MANIFEST.tsv"
    try:
        lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    except OSError as exc:
        raise KeystoneError(f"zcore: cannot read {path}: {exc.strerror or exc}. "
                            f"{SOURCES_FIX}") from exc
    if not lines or tuple(lines[0].split("\t")[:len(MANIFEST_COLUMNS)]) != MANIFEST_COLUMNS:
        raise KeystoneError(f"zcore: {path}: the first line must name the columns "
                            + " ".join(MANIFEST_COLUMNS) + " (tab-separated).")
    archives = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) < 6 or not all(cells[:6]):
            raise KeystoneError(f"zcore: {path}:{number}: expected at least 6 tab-separated "
                                f"non-empty fields, got {line!r}.")
        archives.append(Archive(*cells[:6]))
    if not any(a.name == ZCORE_NAME for a in archives):
        raise KeystoneError(f"zcore: {path} lists no {ZCORE_NAME} archive.")
    return archives


def check_archives(folder: Path, archives: Sequence[Archive]) -> None:
    """Every archive is in ``folder`` with the manifest's sha256. KeystoneError
    naming the first missing file, or the file and both digests of a mismatch."""
    for a in archives:
        path = Path(folder) / a.file
        if not path.is_file():
            raise KeystoneError(f"zcore: archive {a.file} ({a.repository} {a.exported_rev[:12]}) "
                                f"is missing from {folder}. {SOURCES_FIX}")
        got = file_sha256(path)
        if got != a.sha256.lower():
            raise KeystoneError(
                f"zcore: archive {path} is corrupt or not the pinned one: its sha256 is {got}, "
                f"MANIFEST.tsv says {a.sha256}. Fix: replace {a.file} with the archive of "
                f"{a.repository} at {a.exported_rev} (or correct MANIFEST.tsv if you re-exported "
                "it on purpose).")


def patch_series(patch_dir: Path, names: Sequence[str]) -> List[Tuple[Path, str]]:
    """``(patch, repository name)`` of every ``NNNN-<name>-<topic>.patch`` in
    ``patch_dir``, in order; the longest manifest name that prefixes ``<name>-``
    wins. KeystoneError for a patch that names no archive."""
    out = []
    for p in sorted(Path(patch_dir).glob("[0-9][0-9][0-9][0-9]-*.patch")):
        rest = p.name[5:]
        matches = [n for n in names if rest.startswith(n + "-")]
        if not matches:
            raise KeystoneError(f"zcore: {p} names no archive of the manifest (expected "
                                f"NNNN-<name>-<topic>.patch with <name> one of: "
                                + ", ".join(sorted(names)) + ").")
        out.append((p, max(matches, key=len)))
    return out


def run_version(tool: Path) -> str:
    """The first line of ``tool --version`` (part of cache keys)."""
    return first_line([tool, "--version"])


def cargo_patch_config(src: Path, archives: Sequence[Archive], lock_text: str) -> str:
    """The ``[patch."<git url>"]`` sections (a cargo ``--config`` file) that point
    every git package of zCore's ``Cargo.lock`` at its unpacked repository. A
    package found in no unpacked repository is a BuildError."""
    used: Dict[str, List[str]] = {}
    for pkg in _lock_packages(lock_text):
        source = pkg.get("source", "")
        if source.startswith("git+"):
            url = source[4:].split("?")[0].split("#")[0]
            used.setdefault(url, []).append(pkg["name"])
    by_url = {a.url: a for a in archives}
    lines = []
    for url in sorted(used):
        archive = by_url.get(url.removesuffix(".git"))
        if archive is None:
            raise BuildError(f"zcore: Cargo.lock uses {url}, which no archive of the manifest "
                             "provides.")
        crates = _crates_in(src / archive.name)
        lines.append(f'[patch."{url}"]')
        for name in sorted(set(used[url])):
            if name not in crates:
                raise BuildError(f"zcore: package {name} of {url} is not in {archive.file}.")
            lines.append(f'{name} = {{ path = "{crates[name]}" }}')
    return "\n".join(lines) + "\n"


_KEY_VALUE = re.compile(r'^\s*([A-Za-z_-]+)\s*=\s*"([^"]*)"')


def _lock_packages(lock_text: str) -> List[Dict[str, str]]:
    """The string fields (name, version, source) of each ``[[package]]`` of a
    Cargo.lock (the standard library reads TOML only from Python 3.11)."""
    packages: List[Dict[str, str]] = []
    for line in lock_text.splitlines():
        if line.strip() == "[[package]]":
            packages.append({})
        elif line.startswith("["):
            packages.append({})  # [metadata] and the like: a block nobody reads
        elif packages and (m := _KEY_VALUE.match(line)):
            packages[-1][m.group(1)] = m.group(2)
    return [p for p in packages if "name" in p]


def _package_name(manifest: Path) -> Optional[str]:
    """``name`` of a Cargo.toml's ``[package]`` table (None for a workspace root)."""
    table = ""
    for line in manifest.read_text(errors="replace").splitlines():
        stripped = line.strip().lstrip("\ufeff")
        if stripped.startswith("["):
            table = stripped
        elif table == "[package]" and (m := _KEY_VALUE.match(line)) and m.group(1) == "name":
            return m.group(2)
    return None


def _crates_in(repo: Path) -> Dict[str, Path]:
    """Package name → folder, for every Cargo.toml with a [package] under ``repo``."""
    crates: Dict[str, Path] = {}
    for manifest in sorted(repo.rglob("Cargo.toml")):
        name = _package_name(manifest)
        if name and name not in crates:
            crates[name] = manifest.parent
    return crates


class ZcoreBuilder:
    """Builds ``build/zcore.bin`` (and ``zcore.elf``) and the SFS packer."""

    def __init__(self, root: Optional[Path] = None, toolchain: Optional[Toolchain] = None,
                 sources: Optional[os.PathLike] = None):
        self.root = Path(root) if root else find_root()
        self.toolchain = toolchain or Toolchain()
        self.sources_arg = sources
        self.build_root = build_dir(self.root)
        self.dir = self.build_root / "zcore"
        self.src = self.dir / "src"
        self.target_dir = self.dir / "target"

    # -- outputs ------------------------------------------------------------------
    @property
    def elf(self) -> Path:
        return self.build_root / "zcore.elf"

    @property
    def image(self) -> Path:
        return self.build_root / "zcore.bin"

    @property
    def sfs_pack(self) -> Path:
        return self.dir / "sfs-pack"

    def built(self) -> bool:
        """Whether zcore.bin, zcore.elf and sfs-pack exist (whatever their age)."""
        return all(p.is_file() for p in (self.elf, self.image, self.sfs_pack))

    # -- cache ----------------------------------------------------------------------
    def cache_key(self, archives: Sequence[Archive]) -> str:
        """The archives' digests, the patches and the packer's source (not the
        README or the root image's programs), the build flags and ``rustc -vV``."""
        pinned = "\n".join(f"{a.name} {a.file} {a.sha256}" for a in archives)
        extra = "\n".join([self.toolchain.rustc_version(), " ".join(CARGO_FLAGS),
                           " ".join(RUSTFLAGS), pinned])
        patches = sorted(p.relative_to(self.root).as_posix()
                         for p in (self.root / PATCH_DIR).glob("*.patch"))
        return compute_cache_key(self.root, (*patches, SFS_PACK_DIR, f"{ABI_DIR}/src"), extra)

    # -- build ----------------------------------------------------------------------
    def build(self, force: bool = False) -> Path:
        """Checks the archives, then (unless cached) unpacks, patches and builds;
        returns ``build/zcore.bin``."""
        folder = sources_folder(self.sources_arg, self.toolchain.env)
        archives = read_manifest(folder)
        check_archives(folder, archives)
        key = self.cache_key(archives)
        stamp = Stamp(self.build_root / "zcore.stamp")
        if not force and stamp.fresh(key, [self.elf, self.image, self.sfs_pack]):
            log.info("zcore: up to date (cache hit)")
            return self.image
        self._unpack(folder, archives)
        self._copy_abi()
        self._apply_patches(archives)
        lock = (self.src / ZCORE_NAME / "Cargo.lock").read_text()
        config = self.dir / "cargo-patch.toml"
        config.write_text(cargo_patch_config(self.src, archives, lock))
        self._build_sfs_pack(lock)
        self._cargo_build(config)
        stamp.write(key, sources=str(folder))
        return self.image

    def _unpack(self, folder: Path, archives: Sequence[Archive]) -> None:
        """A fresh ``build/zcore/src`` with every archive unpacked in it."""
        if self.src.exists():
            shutil.rmtree(self.src)
        self.src.mkdir(parents=True)
        for a in archives:
            with tarfile.open(folder / a.file) as tar:
                top = {m.name.split("/", 1)[0] for m in tar.getmembers()}
                if top != {a.name}:
                    raise BuildError(f"zcore: {a.file} should hold one folder {a.name}/, "
                                     f"holds {sorted(top)}.")
                if hasattr(tarfile, "data_filter"):  # Python 3.12, 3.11.4+
                    tar.extractall(self.src, filter="data")
                else:  # pragma: no cover - older Pythons
                    tar.extractall(self.src)
        log.info("zcore: unpacked %d archives into %s", len(archives), self.src)

    def _copy_abi(self) -> None:
        """``src/keystone-abi``: the repository's ABI crate (its sources, with a
        stand-alone manifest), so zCore's enclave device and the Linux driver's
        users share one definition of the ioctls and SBI calls."""
        dest = self.src / ABI_NAME
        shutil.copytree(self.root / ABI_DIR / "src", dest / "src")
        (dest / "Cargo.toml").write_text(
            "# Generated by keystone-py build zcore: the repository's sdk/abi.\n"
            f'[package]\nname = "{ABI_NAME}"\nversion = "0.1.0"\nedition = "2021"\n'
            'license = "Apache-2.0"\n\n[workspace]\n')

    def _apply_patches(self, archives: Sequence[Archive]) -> None:
        series = patch_series(self.root / PATCH_DIR, [a.name for a in archives])
        for patch, name in series:
            run_logged(["patch", "-p1", "--forward", "--batch", "-i", patch],
                       f"zcore: patch {patch.name}", self.dir / "logs" / f"{patch.stem}.log",
                       cwd=self.src / name,
                       fix=f"Fix: {patch.relative_to(self.root)} no longer applies to "
                           f"{name}; regenerate it (zcore_patch/README.md).")
        log.info("zcore: applied %d patches from %s/", len(series), PATCH_DIR)

    def _cargo_env(self) -> Dict[str, str]:
        env = self.toolchain.cargo_env()
        env.pop("RUSTFLAGS", None)
        env.pop("CARGO_ENCODED_RUSTFLAGS", None)
        return env

    def _cargo_build(self, config: Path) -> None:
        linker = self.toolchain.require("ld")
        flags = "[" + ",".join(f'"{f}"' for f in RUSTFLAGS) + "]"
        argv = [str(self.toolchain.cargo), *CARGO_FLAGS, "--config", str(config),
                "--config", f'target.{ZCORE_TARGET}.linker="{linker}"',
                "--config", f"target.{ZCORE_TARGET}.rustflags={flags}",
                "--target-dir", str(self.target_dir)]
        log.info("zcore: building with %s (a clean build takes ~3 min on 2 cores)",
                 self.toolchain.cargo)

        def show(line: str) -> None:
            if line.strip().startswith(("Compiling zcore", "Finished", "error")):
                log.info("  %s", line.strip())

        seconds = run_logged(argv, "cargo build of zCore", self.dir / "logs" / "cargo-build.log",
                             cwd=self.src / ZCORE_NAME, env=self._cargo_env(), on_line=show,
                             tail=40, fix="Fix the Rust error above (a patch of zcore_patch/ "
                                          "may need updating) and run `keystone-py build zcore`.")
        out = self.target_dir / ZCORE_TARGET / "release" / "zcore"
        shutil.copy2(out, self.elf)
        run_logged([self.toolchain.objcopy, "--strip-all", "-O", "binary", self.elf, self.image],
                   "objcopy -O binary zcore.elf", self.dir / "logs" / "objcopy.log")
        log.info("zcore: built in %.0fs: %s (%d bytes)", seconds, self.image,
                 self.image.stat().st_size)

    def _build_sfs_pack(self, lock: str) -> None:
        """``sfs-pack`` for this machine, against the unpacked (patched) rcore-fs,
        its crates.io versions taken from zCore's Cargo.lock (xtask uses them)."""
        rcore_fs = self.src / "rcore-fs"
        proj = self.dir / "sfs-pack-build"
        if proj.exists():
            shutil.rmtree(proj)
        proj.mkdir(parents=True)
        main = (self.root / SFS_PACK_DIR / "src" / "main.rs").resolve()
        (proj / "Cargo.toml").write_text(
            "# Generated by keystone-py build zcore.\n"
            '[package]\nname = "sfs-pack"\nversion = "0.1.0"\nedition = "2021"\n\n'
            f'[[bin]]\nname = "sfs-pack"\npath = "{main}"\n\n'
            "[dependencies]\n"
            f'rcore-fs = {{ path = "{rcore_fs / "rcore-fs"}", features = ["std"] }}\n'
            f'rcore-fs-sfs = {{ path = "{rcore_fs / "rcore-fs-sfs"}" }}\n'
            f'rcore-fs-fuse = {{ path = "{rcore_fs / "rcore-fs-fuse"}" }}\n\n'
            "[workspace]\n")
        (proj / "Cargo.lock").write_text(lock)
        env = self._cargo_env()
        env.pop("RUSTC_BOOTSTRAP", None)
        target = self.dir / "target-host"
        run_logged([str(self.toolchain.cargo), "build", "--release", "--target-dir", target],
                   "cargo build of sfs-pack", self.dir / "logs" / "sfs-pack.log", cwd=proj,
                   env=env, tail=30)
        shutil.copy2(target / "release" / "sfs-pack", self.sfs_pack)
        log.info("zcore: built %s", self.sfs_pack)

    # -- root images ------------------------------------------------------------------
    @property
    def rootfs_dir(self) -> Path:
        return self.dir / "rootfs"

    def program(self, name: str) -> Path:
        """``/bin/<name>`` of the root image: its source of :data:`ROOTFS_PROGRAMS`
        compiled for riscv64 Linux, static (glibc), cached by the source and the
        compiler."""
        gcc = self.toolchain.require("linux-gcc")
        self.toolchain.require("linux-libc")
        src = self.root / ROOTFS_PROGRAMS[name]
        out = self.rootfs_dir / name
        key = digest(src.read_bytes(), run_version(gcc))
        stamp = Stamp(self.rootfs_dir / f"{name}.stamp")
        if not stamp.fresh(key, [out]):
            out.parent.mkdir(parents=True, exist_ok=True)
            run_logged([gcc, "-static", "-O2", "-Wall", "-pthread", "-o", out, src],
                       f"{gcc.name} {src.name}", self.dir / "logs" / f"{name}.log")
            stamp.write(key)
        return out

    def default_root_image(self, extra: Optional[Mapping[str, Path]] = None,
                           out: Optional[Path] = None) -> Path:
        """``build/zcore/rootfs.img``: the programs of :data:`ROOTFS_PROGRAMS` and
        the host apps (the C++ SDK's too) in ``/bin``, the loader, runtime and eapps in ``/enclave``
        (the Linux initramfs's paths, built when stale), and ``extra`` (path in
        the image → file here); written to ``out`` when given."""
        apps = HostAppsBuilder(self.root, self.toolchain).build()
        art = Builder(root=self.root, toolchain=self.toolchain).build(ENCLAVE_TARGETS)
        files = {f"bin/{name}": path for name, path in apps.items()}
        files.update(cpp_guest_files(self.root, self.toolchain))
        files["enclave/loader.bin"] = art.require("loader_bin")
        files["enclave/eyrie-rt"] = art.require("runtime_elf")
        files.update({f"enclave/{name}": art.eapp(name) for name in EAPPS})
        files.update({f"bin/{name}": self.program(name) for name in ROOTFS_PROGRAMS})
        files.update(extra or {})
        return self.root_image(files, Path(out) if out else self.dir / "rootfs.img")


    def root_image(self, files: Mapping[str, Path], out: Path) -> Path:
        """An SFS image at ``out`` holding ``files`` (path in the image, e.g.
        ``bin/hello`` → file on this machine), cached by their contents."""
        if not self.sfs_pack.is_file():
            raise BuildError(f"zcore: {self.sfs_pack} is missing; run `keystone-py build zcore`.")
        out = Path(out)
        parts = [self.sfs_pack.read_bytes()]
        for rel in sorted(files):
            parts += [rel.encode(), b"\0", Path(files[rel]).read_bytes(), b"\0"]
        key = digest(*parts)
        stamp = Stamp(out.with_suffix(out.suffix + ".stamp"))
        if stamp.fresh(key, [out]):
            return out
        staging = out.with_suffix(out.suffix + ".d")
        if staging.exists():
            shutil.rmtree(staging)
        for rel, src in files.items():
            dest = staging / rel.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
        run_logged([self.sfs_pack, staging, out], f"sfs-pack {out.name}",
                   self.dir / "logs" / f"sfs-pack-{out.stem}.log")
        stamp.write(key)
        return out

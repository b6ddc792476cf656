"""Keystone's own sources (its examples' host programs and eapps), for tests
that compile them unchanged as test inputs. They are not part of this
repository: ``KEYSTONE_SOURCES`` names a folder holding either Keystone's tree
(``keystone/examples``, or ``examples`` itself) or its source archive
(``keystone-*.tar.gz``, unpacked once under ``build/keystone-src``). Tests
skip, saying so, when it is not given."""

from __future__ import annotations

import hashlib
import inspect
import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

ENV = "KEYSTONE_SOURCES"
#: Beside an unpacked archive's tree: the archive's sha256.
ARCHIVE_SHA256 = "archive.sha256"


def _tree_in(folder: Path) -> Optional[Path]:
    for cand in (folder / "keystone", folder):
        if (cand / "examples" / "tests" / "test-runner.cpp").is_file():
            return cand
    return None


def keystone_tree(build_dir: Path) -> Path:
    """Keystone's source tree (the folder holding ``examples/`` and ``sdk/``);
    skips the calling test when ``KEYSTONE_SOURCES`` is unset or holds neither."""
    given = os.environ.get(ENV)
    if not given:
        pytest.skip(f"{ENV} is not set: it names the folder of Keystone's sources "
                    "(its tree or keystone-*.tar.gz), which these tests compile unchanged")
    folder = Path(given).expanduser().resolve()
    tree = _tree_in(folder)
    if tree:
        return tree
    archives = sorted(folder.glob("keystone-*.tar.gz")) if folder.is_dir() else []
    if not archives:
        pytest.skip(f"{ENV}={folder}: neither Keystone's tree nor a keystone-*.tar.gz there")
    archive = archives[-1]
    sha256 = hashlib.sha256(archive.read_bytes()).hexdigest()
    dest = build_dir / "keystone-src" / sha256[:16]
    tree = _tree_in(dest)
    if tree:
        (dest / ARCHIVE_SHA256).write_text(sha256 + "\n")
        return tree
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.12, 3.11.4+
            tar.extractall(dest, filter="data")
        else:  # Debian 12's 3.11.2 has no filters: refuse the names "data" would
            bad = [m.name for m in tar.getmembers()
                   if m.name.startswith("/") or ".." in Path(m.name).parts]
            if bad:
                pytest.fail(f"{archive}: members outside the folder: {bad[:5]}")
            tar.extractall(dest)
    tree = _tree_in(dest)
    if not tree:
        pytest.skip(f"{archive} holds no examples/tests/test-runner.cpp")
    (dest / ARCHIVE_SHA256).write_text(sha256 + "\n")
    return tree


def source_id(tree: Path) -> str:
    """What the sources are: the archive's sha256 when ``tree`` was unpacked
    from one, else a digest of every file of the parts built here."""
    recorded = tree.parent / ARCHIVE_SHA256
    if recorded.is_file():
        return "archive " + recorded.read_text().strip()
    h = hashlib.sha256()
    for part in ("sdk", "runtime", "examples", "linux-keystone-driver"):
        for p in sorted((tree / part).rglob("*")):
            if p.is_file():
                h.update(str(p.relative_to(tree)).encode() + b"\0" + p.read_bytes())
    return "tree " + h.hexdigest()


def keystone_driver(tree: Path, root: Path, toolchain) -> Path:
    """Keystone's Linux driver (``linux-keystone-driver/``, unchanged) built out
    of tree against this checkout's kernel build, in ``build/keystone-driver``
    (rebuilt when its sources or the kernel changed)."""
    from keystone_py.build import LinuxBuilder, Stamp, digest
    from keystone_py.build.runner import run_logged

    linux = LinuxBuilder(root=root, toolchain=toolchain)
    src = tree / "linux-keystone-driver"
    files = sorted(p for p in src.iterdir() if p.is_file())
    key = digest(*(p.read_bytes() for p in files),
                 (linux.dir / "kernel.stamp").read_text())
    out = root / "build" / "keystone-driver"
    module = out / "keystone-driver.ko"
    stamp = Stamp(out / "driver.stamp")
    if stamp.fresh(key, [module]):
        return module
    work = out / "src"
    if work.exists():
        import shutil
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for p in files:
        (work / p.name).write_bytes(p.read_bytes())
    run_logged(["make", "-C", linux.src, f"O={linux.obj}", "ARCH=riscv",
                "CROSS_COMPILE=riscv64-linux-gnu-", f"M={work}",
                f"KEYSTONE_SDK_DIR={tree / 'sdk'}", "modules"],
               "make Keystone's driver", out / "make.log")
    (work / "keystone-driver.ko").replace(module)
    stamp.write(key)
    return module


#: Keystone's host programs: name -> the sources its CMake names (examples/).
HOSTS: Dict[str, List[str]] = {
    "test-runner": ["tests/test-runner.cpp", "tests/edge_wrapper.cpp"],
    "hello-runner": ["hello/host/host.cpp"],
    "hello-native-runner": ["hello-native/host/host_native.cpp"],
    "attestor-runner": ["attestation/host/attestor-runner.cpp", "attestation/host/host.cpp",
                        "attestation/host/verifier.cpp"],
}


def keystone_hosts(tree: Path, root: Path, toolchain) -> Dict[str, Path]:
    """Keystone's host programs compiled, sources untouched, against sdk/cpp
    (in ``build/cpp-keystone-hosts``, cached by their sources)."""
    from keystone_py.build.cppsdk import CppSdkBuilder

    sdk = CppSdkBuilder(root, toolchain)
    out = root / "build" / "cpp-keystone-hosts"
    return {name: sdk.host_program([tree / "examples" / s for s in srcs], out / name)
            for name, srcs in HOSTS.items()}


def keystone_c_eapp(dest: Path, files: Dict[str, Path]) -> Path:
    """A C eapp folder holding exactly ``files`` (name -> Keystone's source),
    built with `build --app`; its ELF."""
    import shutil

    from keystone_py.build.userapp import build_app

    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name, src in files.items():
        shutil.copy2(src, dest / name)
    return build_app(dest).eapp()


#: What Keystone's tests/test-qemu.expected.log shows each program print.
EXPECTED_LINES = {
    "attestation": ["Attestation report SIGNATURE is valid"],
    "untrusted": ["Enclave said: hello world!", "Enclave said: 2nd hello world!",
                  "Enclave said value: 13", "Enclave said value: 20"],
    "data-sealing": ["Enclave said: Sealing key derivation successful!"],
    "hello": ["hello, world!"],
    "hello-native": ['Enclave said: "Hello World"'],
    "attestor": ["Enclave said value: 5000", "Enclave said value: 10000",
                 "Attestation report SIGNATURE is valid",
                 "Enclave and SM hashes match with expected.",
                 "Returned data in the report match with the nonce sent."],
}


# -- Keystone's own build of its SDK, Eyrie and examples ------------------------------------

#: The tool prefix Keystone's CMake files call (sdk/macros.cmake, use_riscv_toolchain);
#: symlinks of that name stand for Debian's riscv64-linux-gnu-* tools.
BUILDROOT_PREFIX = "riscv64-buildroot-linux-gnu-"
BUILDROOT_TOOLS = ("gcc", "g++", "as", "ld", "ar", "ranlib", "objcopy", "objdump", "nm",
                   "strip", "readelf")
#: Keystone's examples other than tests: folder -> (eapp target, host target).
EXAMPLE_TARGETS = {
    "hello": ("hello", "hello-runner"),
    "hello-native": ("hello-native", "hello-native-runner"),
    "attestation": ("attestor", "attestor-runner"),
}
#: Eyrie as Keystone builds it, on Debian's gcc: its default PIE makes the
#: loader's `la sp, _estack` read a GOT that `objcopy --only-section .text`
#: drops, and its build-id note lands at the runtime's entry address.
EYRIE_FLAGS = ["-DCMAKE_C_FLAGS=-fno-pie", "-DCMAKE_ASM_FLAGS=-fno-pie",
               "-DCMAKE_EXE_LINKER_FLAGS=-no-pie -Wl,--build-id=none"]
#: Eyrie's own tracing options (its CMakeLists.txt: DEBUG prints the memory
#: layout it was handed, INTERNAL_STRACE every system call and its result):
#: one more Eyrie, with the plugins of each example that has some, for diagnosis.
EYRIE_TRACE = "internal_strace debug"


@dataclass(frozen=True)
class KeystoneStack:
    """Keystone's parts built by its own CMake files, sources unchanged."""

    #: eapp name (a test's folder, or hello, hello-native, attestor) -> ELF.
    eapps: Dict[str, Path]
    #: host program (test-runner, hello-runner, ...) -> static ELF on Keystone's SDK.
    hosts: Dict[str, Path]
    #: Eyrie's plugins ("" for none) -> (eyrie-rt, loader.bin).
    eyries: Dict[str, Tuple[Path, Path]]
    #: eapp name -> the plugins its example builds Eyrie with.
    plugins: Dict[str, str]
    #: examples/tests' eapps, in Keystone's order (all_test_bins less "test-").
    test_eapps: List[str]

    def eyrie(self, eapp: str) -> Tuple[Path, Path]:
        return self.eyries[self.plugins[eapp]]

    def traced_eyrie(self, eapp: str) -> Tuple[Path, Path]:
        """The eapp's Eyrie with EYRIE_TRACE too (eapps whose example names plugins)."""
        return self.eyries[f"{self.plugins[eapp]} {EYRIE_TRACE}"]


def _cmake_list(cmake_file: Path, name: str) -> List[str]:
    """The words of ``set(NAME ...)`` in a CMake file (quotes dropped)."""
    found = re.search(r"set\(\s*" + re.escape(name) + r"\s+([^)]*)\)", cmake_file.read_text())
    if not found:
        raise AssertionError(f"{cmake_file}: no set({name} ...)")
    return [w for w in found.group(1).replace('"', " ").split() if w != "none"]


class KeystoneStackBuilder:
    """Builds Keystone's SDK (`cmake sdk && make install`), its Eyrie once per
    plugin set its examples name, and the examples' eapps and host programs
    (static), offline with Debian's cross compilers, under
    ``build/keystone-stack``. Cached: rebuilt only when the sources (the
    archive's sha256), this recipe or the compilers change."""

    def __init__(self, tree: Path, root: Path):
        self.tree = tree
        self.out = root / "build" / "keystone-stack"

    def key(self) -> str:
        from keystone_py.build import digest

        versions = [subprocess.run([tool, "--version"], capture_output=True, text=True,
                                   check=True).stdout.splitlines()[0]
                    for tool in ("riscv64-linux-gnu-gcc", "riscv64-linux-gnu-g++", "cmake")]
        return digest(source_id(self.tree), inspect.getsource(KeystoneStackBuilder),
                      repr((BUILDROOT_TOOLS, EXAMPLE_TARGETS, EYRIE_FLAGS, EYRIE_TRACE)), *versions)

    def plan(self) -> Tuple[List[str], Dict[str, str]]:
        """Keystone's test eapps and each eapp's Eyrie plugins, from its CMake files."""
        ex = self.tree / "examples"
        tests = [b.removeprefix("test-") for b in
                 _cmake_list(ex / "tests" / "CMakeLists.txt", "all_test_bins")]
        test_plugins = " ".join(_cmake_list(ex / "tests" / "CMakeLists.txt", "eyrie_plugins"))
        plugins = {name: test_plugins for name in tests}
        for folder, (eapp, _host) in EXAMPLE_TARGETS.items():
            plugins[eapp] = " ".join(_cmake_list(ex / folder / "CMakeLists.txt",
                                                 "eyrie_plugins"))
        return tests, plugins

    def stack(self) -> KeystoneStack:
        tests, plugins = self.plan()
        eapps = {name: self.out / "examples" / "tests" / f"test-{name}" for name in tests}
        hosts = {"test-runner": self.out / "examples" / "tests" / "test-runner"}
        for folder, (eapp, host) in EXAMPLE_TARGETS.items():
            eapps[eapp] = self.out / "examples" / folder / eapp
            hosts[host] = self.out / "examples" / folder / host
        eyries = {}
        for p in sorted(set(plugins.values())
                        | {f"{p} {EYRIE_TRACE}" for p in plugins.values() if p}):
            d = self.out / self._eyrie_dir(p)
            eyries[p] = (d / "eyrie-rt", d / "loader.bin")
        return KeystoneStack(eapps=eapps, hosts=hosts, eyries=eyries, plugins=plugins,
                             test_eapps=tests)

    @staticmethod
    def _eyrie_dir(plugins: str) -> str:
        return "eyrie-" + ("-".join(plugins.split()) or "none")

    def build(self) -> KeystoneStack:
        from keystone_py.build import Stamp

        stack = self.stack()
        outputs = [*stack.eapps.values(), *stack.hosts.values(),
                   *(f for pair in stack.eyries.values() for f in pair)]
        stamp = Stamp(self.out / "stack.stamp")
        key = self.key()
        if stamp.fresh(key, outputs):
            return stack
        if self.out.exists():
            shutil.rmtree(self.out)
        tools = self.out / "tools"
        tools.mkdir(parents=True)
        for t in BUILDROOT_TOOLS:
            (tools / f"{BUILDROOT_PREFIX}{t}").symlink_to(f"/usr/bin/riscv64-linux-gnu-{t}")
        env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"}
        sdk = self.out / "sdk"
        self._cmake("sdk", self.tree / "sdk", self.out / "sdk-build", env,
                    [f"-DKEYSTONE_SDK_DIR={sdk}", "-DKEYSTONE_BITS=64"], ["install"])
        for p in stack.eyries:
            # Eyrie's build writes eyrie-rt and loader.bin into its source folder: a copy.
            src = self.out / self._eyrie_dir(p)
            shutil.copytree(self.tree / "runtime", src)
            options = [f"-D{name.upper()}=ON" for name in p.split()]
            self._cmake(f"Eyrie ({p or 'no plugins'})", src, src, env,
                        [*options, f"-DKEYSTONE_SDK_DIR={sdk}",
                         f"-DEYRIE_SRCDIR={self.tree / 'runtime'}",
                         "-DCMAKE_SYSTEM_NAME=Linux",
                         "-DCMAKE_C_COMPILER=riscv64-linux-gnu-gcc",
                         "-DCMAKE_ASM_COMPILER=riscv64-linux-gnu-gcc",
                         "-DCMAKE_OBJCOPY=/usr/bin/riscv64-linux-gnu-objcopy", *EYRIE_FLAGS],
                        [])
        # The examples' own Eyrie sub-build is not run (CMake 3.25 passes its
        # "-Wall -Werror" as one argument): only the eapp and host targets.
        targets = [f"test-{n}" for n in stack.test_eapps] + ["test-runner"]
        targets += [t for pair in EXAMPLE_TARGETS.values() for t in pair]
        self._cmake("examples", self.tree / "examples", self.out / "examples", env,
                    [f"-DKEYSTONE_SDK_DIR={sdk}", "-DKEYSTONE_BITS=64",
                     f"-DKEYSTONE_EYRIE_RUNTIME={self.out / self._eyrie_dir('')}",
                     "-DCMAKE_EXE_LINKER_FLAGS=-static"], targets)
        missing = [str(p) for p in outputs if not p.is_file()]
        assert not missing, f"Keystone's build made no {missing}"
        stamp.write(key)
        return stack

    def _cmake(self, what: str, src: Path, build: Path, env: Dict[str, str],
               defines: List[str], targets: List[str]) -> None:
        from keystone_py.build.runner import run_logged

        build.mkdir(parents=True, exist_ok=True)
        logs = self.out / "logs"
        name = what.split()[0].lower()
        run_logged(["cmake", str(src), *defines], f"cmake Keystone's {what}",
                   logs / f"{name}-{build.name}-cmake.log", cwd=build, env=env)
        run_logged(["make", f"-j{os.cpu_count() or 1}", *targets], f"make Keystone's {what}",
                   logs / f"{name}-{build.name}-make.log", cwd=build, env=env)


def keystone_stack(tree: Path, root: Path) -> KeystoneStack:
    """Keystone's SDK, Eyries, eapps and host programs (cached under build/keystone-stack)."""
    return KeystoneStackBuilder(tree, root).build()

"""Find and check every tool the project needs; ``keystone-py doctor``/``setup``.

Standard library only: ``make setup`` runs this before the Python dependencies
are installed.

Where tools are looked up
-------------------------
* ``search_path`` (argument) or ``$KEYSTONE_PY_PATH`` (``:``-separated), when
  given, is the *only* place looked in, for every tool, including the Rust
  toolchain. Tests use it to hide a tool.
* Otherwise Rust (``rustc``/``cargo``) is looked up in ``/usr/bin`` first
  (Debian's rustc-web, whose sysroot has the library source build-std needs),
  then ``$PATH``, then rustup nightlies; every other tool in ``$PATH``. The
  build never depends on ``$PATH`` order: it runs the absolute paths found here.
* ``$KEYSTONE_PY_RUSTC`` / ``$KEYSTONE_PY_CARGO`` name a rustc/cargo outright;
  ``$KEYSTONE_PY_OPENSBI_DIR`` the folder holding OpenSBI's ``fw_jump.bin``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import platform
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Type, Union

from .errors import KeystoneError, ToolchainError

log = logging.getLogger("keystone_py.toolchain")

DEFAULT_OPENSBI_DIR = Path("/usr/lib/riscv64-linux-gnu/opensbi/generic")
RISCV_LIBC_HEADER = Path("/usr/riscv64-linux-gnu/include/stdio.h")
#: Debian's kernel source tarball (package linux-source-6.1).
LINUX_TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
#: OpenSSL headers (libssl-dev): the kernel's certs/ and scripts/ tools need them.
OPENSSL_HEADER = Path("/usr/include/openssl/opensslv.h")
#: The build machine's C library headers (libc6-dev): host programs of the kernel build.
HOST_LIBC_HEADER = Path("/usr/include/stdio.h")
BARE_TARGET = "riscv64gc-unknown-none-elf"

#: Every Python distribution pyproject.toml names, as doctor rows: (distribution, module
#: it is imported as, what for, required). The runtime dependencies are required; the
#: ``test`` extra (pytest, pytest-xdist, ruff, matplotlib) is optional for doctor, but
#: ``make setup`` installs it too. tests/tools/test_fresh_python.py keeps this in step with
#: pyproject.toml.
PYTHON_PACKAGES = (
    ("pexpect", "pexpect", "serial console and QEMU driving", True),
    ("pygdbmi", "pygdbmi", "GDB/MI sessions (keystone-py gdb, GDB tests)", True),
    ("pyelftools", "elftools", "ELF symbols and segments", True),
    ("PyNaCl", "nacl", "Ed25519 (attestation, device key)", True),
    ("paramiko", "paramiko", "SSH targets (--target ssh://...)", True),
    ("pytest", "pytest", "tests (make test)", False),
    ("pytest-xdist", "xdist", "parallel tests (make pytest-parallel)", False),
    ("ruff", "ruff", "lint (make lint)", False),
    ("matplotlib", "matplotlib", "bench --plot", False),
)
#: What fixes a missing Python package.
PYTHON_FIX = "make setup  (or, in this Python: pip install -e '.[test]')"


@dataclass
class ToolStatus:
    """One row of ``doctor``: a tool, where it is, or what fixes its absence."""

    name: str
    purpose: str
    fix: str  # command that installs it
    packages: List[str] = field(default_factory=list)  # Debian packages
    required: bool = True
    path: Optional[Path] = None
    version: str = ""
    problem: str = ""  # empty when usable

    @property
    def ok(self) -> bool:
        return self.path is not None and not self.problem


#: Seconds a tool gets to answer a query (a version, the sysroot).
TOOL_TIMEOUT = 20.0
Arg = Union[str, Path]


def run_tool(argv: Sequence[Arg], *, timeout: Optional[float] = TOOL_TIMEOUT,
             env: Optional[Mapping[str, str]] = None, cwd: Optional[Arg] = None,
             input: Optional[str] = None) -> "subprocess.CompletedProcess[str]":
    """Asks an external tool something (a version, the sysroot, cargo's metadata,
    source lines of addresses) with its text output captured: the one way
    keystone_py runs such a query, logged at debug level. A build step that makes
    files goes through :func:`keystone_py.build.runner.run_logged`, a program that
    takes over the terminal through :func:`run_attached`. Raises ToolchainError
    when the tool cannot start or does not answer within ``timeout`` seconds; the
    exit status is the caller's to judge."""
    args = [str(a) for a in argv]
    log.debug("$ %s", shlex.join(args))
    try:
        res = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                             env=dict(env) if env is not None else None, cwd=cwd,
                             input=input, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolchainError(f"`{shlex.join(args)}` did not run: {exc}") from exc
    log.debug("exit status %d", res.returncode)
    return res


def tool_output(argv: Sequence[Arg], error: Type[KeystoneError] = ToolchainError,
                **kwargs: Any) -> str:
    """The standard output of a query that must succeed (:func:`run_tool`); an
    ``error`` naming the command, its status and its stderr otherwise."""
    try:
        res = run_tool(argv, **kwargs)
    except ToolchainError as exc:
        raise error(str(exc)) from exc
    if res.returncode != 0:
        raise error(f"`{shlex.join(str(a) for a in argv)}` failed with exit status "
                    f"{res.returncode}: {res.stderr.strip()}")
    return res.stdout


def run_attached(argv: Sequence[Arg], *, cwd: Optional[Arg] = None,
                 env: Optional[Mapping[str, str]] = None) -> int:
    """Runs a program on this terminal (its output and input are the user's: the
    interactive QEMU console, apt-get, ``cargo test``) and returns its exit
    status. OSError when it cannot start."""
    args = [str(a) for a in argv]
    log.debug("$ %s", shlex.join(args))
    return subprocess.run(args, cwd=cwd, env=dict(env) if env is not None else None,
                          check=False).returncode


def first_line(argv: Sequence[Arg], env: Optional[Dict[str, str]] = None) -> str:
    """The first line a tool prints (stdout, else stderr), e.g. its version; ``?``
    when it prints nothing, ``? (why)`` when it does not run."""
    try:
        out = run_tool(argv, env=env)
    except ToolchainError as exc:
        return f"? ({exc.__cause__})"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "?"


def rust_sysroot(rustc: Path) -> Optional[Path]:
    """``rustc --print sysroot`` (the one place it is asked), or None when rustc
    does not run."""
    try:
        return Path(tool_output([rustc, "--print", "sysroot"]).strip())
    except ToolchainError:
        return None


def has_library_source(rustc: Path) -> bool:
    """Whether ``rustc``'s sysroot holds the standard library source (build-std)."""
    sysroot = rust_sysroot(rustc)
    return bool(sysroot) and (sysroot / "lib/rustlib/src/rust/library/core").is_dir()


class Toolchain:
    """Every external tool of the project, found once and checked on demand."""

    def __init__(self, search_path: Optional[Sequence[str]] = None,
                 env: Optional[Dict[str, str]] = None):
        self.env = dict(os.environ if env is None else env)
        if search_path is None and self.env.get("KEYSTONE_PY_PATH"):
            search_path = [p for p in self.env["KEYSTONE_PY_PATH"].split(os.pathsep) if p]
        self.restricted = search_path is not None
        if search_path is not None:
            self.tool_dirs = list(search_path)
            self.rust_dirs = list(search_path)
        else:
            path_dirs = [p for p in self.env.get("PATH", "").split(os.pathsep) if p]
            self.tool_dirs = _dedupe(path_dirs)
            self.rust_dirs = _dedupe(["/usr/bin"] + path_dirs + _rustup_nightly_dirs())
        self._cache: Dict[str, ToolStatus] = {}

    # -- lookup ---------------------------------------------------------------
    def which(self, name: str, dirs: Optional[Sequence[str]] = None) -> Optional[Path]:
        """First executable ``name`` in ``dirs`` (default: the tool dirs)."""
        found = shutil.which(name, path=os.pathsep.join(dirs or self.tool_dirs))
        return Path(found) if found else None

    def _exe_status(self, name: str, exe: str, packages: List[str], purpose: str,
                    version_args: Sequence[str] = ("--version",)) -> ToolStatus:
        st = ToolStatus(name=exe, purpose=purpose, packages=packages,
                        fix=f"apt-get install {' '.join(packages)}")
        st.path = self.which(exe)
        if st.path is None:
            st.problem = f"{exe} not found"
        else:
            st.version = first_line([str(st.path), *version_args])
        return st

    def _rustc_status(self) -> ToolStatus:
        st = ToolStatus(name="rustc", purpose="Rust compiler with library source (build-std)",
                        packages=["rustc-web", "rust-web-src"],
                        fix="apt-get install rustc-web rust-web-src  "
                            "(or: rustup toolchain install nightly --component rust-src)")
        if self.env.get("KEYSTONE_PY_RUSTC"):
            candidates = [Path(self.env["KEYSTONE_PY_RUSTC"])]
        else:
            candidates = []
            for d in self.rust_dirs:
                p = self.which("rustc", [d])
                if p and p not in candidates:
                    candidates.append(p)
        rejected = []
        for cand in candidates:
            if has_library_source(cand):
                st.path = cand
                st.version = first_line([str(cand), "--version"])
                return st
            rejected.append(str(cand))
        if rejected:
            st.problem = ("no rustc with library source for build-std (checked "
                          + ", ".join(rejected) + ")")
        else:
            st.problem = "rustc not found"
        return st

    def _cargo_status(self, rustc: ToolStatus) -> ToolStatus:
        st = ToolStatus(name="cargo", purpose="Rust build tool", packages=["cargo-web"],
                        fix="apt-get install cargo-web")
        if self.env.get("KEYSTONE_PY_CARGO"):
            st.path = Path(self.env["KEYSTONE_PY_CARGO"])
            if not st.path.exists():
                st.problem = f"KEYSTONE_PY_CARGO={st.path} does not exist"
        else:
            # The cargo beside the chosen rustc first: they come from one toolchain.
            dirs = ([str(rustc.path.parent)] if rustc.path else []) + self.rust_dirs
            st.path = self.which("cargo", dirs)
            if st.path is None:
                st.problem = "cargo not found"
        if st.ok:
            st.version = first_line([str(st.path), "--version"])
        return st

    def _opensbi_status(self) -> ToolStatus:
        st = ToolStatus(name="opensbi", purpose="reference firmware (fw_jump)",
                        packages=["opensbi"], fix="apt-get install opensbi")
        folder = Path(self.env.get("KEYSTONE_PY_OPENSBI_DIR", DEFAULT_OPENSBI_DIR))
        fw = folder / "fw_jump.bin"
        if fw.is_file():
            st.path = fw
            st.version = _dpkg_version("opensbi")
        else:
            st.problem = f"{fw} not found"
        return st

    def _file_status(self, name: str, path: Path, packages: List[str],
                     purpose: str) -> ToolStatus:
        st = ToolStatus(name=name, purpose=purpose, packages=packages,
                        fix=f"apt-get install {' '.join(packages)}")
        if path.exists():
            st.path = path
            st.version = _dpkg_version(packages[0])
        else:
            st.problem = f"{path} not found"
        return st

    def _python_status(self, dist: str, module: str, purpose: str,
                       required: bool) -> ToolStatus:
        st = ToolStatus(name=f"python:{dist}", purpose=f"Python package: {purpose}",
                        fix=PYTHON_FIX, required=required)
        try:
            spec = importlib.util.find_spec(module)
        except Exception as exc:  # noqa: BLE001 - a broken or refused package is missing
            st.problem = f"module {module} not importable ({exc})"
            return st
        if spec is None or (spec.origin is None and not spec.submodule_search_locations):
            st.problem = f"module {module} not importable"
            return st
        st.path = (Path(spec.origin).parent if spec.origin
                   else Path(list(spec.submodule_search_locations)[0]))
        try:
            from importlib.metadata import version
            st.version = version(dist)
        except Exception:  # noqa: BLE001 - metadata is best effort
            st.version = "?"
        return st

    def _interpreter_status(self) -> ToolStatus:
        """The Python running keystone_py: which one, and whether it is a virtual
        environment (``make`` runs everything in the checkout's ``.venv/``)."""
        st = ToolStatus(name="python", purpose="the Python running keystone_py",
                        fix="make setup", path=Path(sys.executable))
        where = (f"venv {sys.prefix}" if sys.prefix != sys.base_prefix
                 else "not a virtual environment")
        st.version = f"{platform.python_version()} ({where})"
        return st

    def _venv_status(self) -> ToolStatus:
        """Debian's python3 can make a virtual environment: its ``ensurepip`` comes
        in python3-venv, which ``make setup`` needs for ``python3 -m venv .venv``."""
        st = ToolStatus(name="python3-venv", purpose="python3 -m venv (make setup's .venv)",
                        packages=["python3-venv"], fix="apt-get install python3-venv")
        python3 = self.which("python3") if self.restricted else Path("/usr/bin/python3")
        if python3 is None or not python3.exists():
            st.problem = "Debian's python3 not found"
            return st
        try:
            out = run_tool([python3, "-I", "-c",
                            "import ensurepip, venv; print(ensurepip.__file__)"])
        except ToolchainError as exc:
            st.problem = f"{python3} does not run ({exc.__cause__})"
            return st
        if out.returncode != 0 or not out.stdout.strip():
            st.problem = f"{python3} has no ensurepip (cannot make a venv)"
            return st
        st.path = Path(out.stdout.strip()).parent
        st.version = _dpkg_version("python3-venv")
        return st

    def _checks(self) -> Dict[str, Callable[[], ToolStatus]]:
        checks: Dict[str, Callable[[], ToolStatus]] = {
            "rustc": self._rustc_status,
            "cargo": lambda: self._cargo_status(self.status("rustc")),
            "ld": lambda: self._exe_status(
                "ld", "riscv64-unknown-elf-ld", ["binutils-riscv64-unknown-elf"],
                "bare-metal linker"),
            "objcopy": lambda: self._exe_status(
                "objcopy", "riscv64-unknown-elf-objcopy", ["binutils-riscv64-unknown-elf"],
                "ELF to flat binary"),
            "linux-gcc": lambda: self._exe_status(
                "linux-gcc", "riscv64-linux-gnu-gcc", ["gcc-riscv64-linux-gnu"],
                "linker/C compiler for riscv64 Linux"),
            "linux-g++": lambda: self._exe_status(
                "linux-g++", "riscv64-linux-gnu-g++", ["g++-riscv64-linux-gnu"],
                "C++ compiler for riscv64 Linux (the C++ host SDK, sdk/cpp)"),
            "linux-libc": lambda: self._file_status(
                "riscv64-linux-gnu-libc", RISCV_LIBC_HEADER, ["libc6-dev-riscv64-cross"],
                "riscv64 Linux C library"),
            "qemu": lambda: self._exe_status(
                "qemu", "qemu-system-riscv64", ["qemu-system-misc"], "RISC-V machine emulator"),
            "gdb": lambda: self._exe_status(
                "gdb", "gdb-multiarch", ["gdb-multiarch"], "debugger (QEMU gdbstub)"),
            "opensbi": self._opensbi_status,
            # Building Linux (keystone-py build linux): Debian's source and the
            # host tools its build runs.
            "linux-source": lambda: self._file_status(
                "linux-source-6.1", LINUX_TARBALL, ["linux-source-6.1"],
                "Linux 6.1 source tarball (host OS)"),
            "make": lambda: self._exe_status("make", "make", ["make"], "kernel build driver"),
            "host-gcc": lambda: self._exe_status(
                "host-gcc", "gcc", ["gcc"], "C compiler for the kernel's host programs"),
            "host-libc": lambda: self._file_status(
                "libc6-dev", HOST_LIBC_HEADER, ["libc6-dev"],
                "C library headers for the kernel's host programs"),
            "bc": lambda: self._exe_status("bc", "bc", ["bc"], "kernel build (timeconst)",
                                           ("--version",)),
            "flex": lambda: self._exe_status("flex", "flex", ["flex"], "kernel config lexer"),
            "bison": lambda: self._exe_status("bison", "bison", ["bison"],
                                              "kernel config parser"),
            "openssl-headers": lambda: self._file_status(
                "libssl-dev", OPENSSL_HEADER, ["libssl-dev"],
                "OpenSSL headers for the kernel's certificate tools"),
            # Optional: Keystone's own CMake builds (tests/linux/keystone_sources.py
            # builds Keystone's SDK, Eyrie and examples when KEYSTONE_SOURCES is given).
            "cmake": lambda: self._optional(self._exe_status(
                "cmake", "cmake", ["cmake"],
                "Keystone's own CMake builds, test inputs (optional)")),
            # Optional: the SSH remote tests start a real sshd on loopback.
            "sshd": lambda: self._optional(self._file_status(
                "sshd", Path("/usr/sbin/sshd"), ["openssh-server"],
                "SSH server for the remote-target tests (optional)")),
            # Python: Debian's venv module for the bootstrap, then the interpreter
            # running this and every package of pyproject.toml.
            "python3-venv": self._venv_status,
            "python": self._interpreter_status,
        }
        for dist, module, purpose, required in PYTHON_PACKAGES:
            checks[f"python:{dist}"] = (
                lambda d=dist, m=module, p=purpose, r=required: self._python_status(d, m, p, r))
        return checks

    def status(self, name: str) -> ToolStatus:
        """The (cached) status of one tool by its doctor name."""
        if name not in self._cache:
            checks = self._checks()
            if name not in checks:
                raise KeyError(name)
            self._cache[name] = checks[name]()
        return self._cache[name]

    def check_all(self) -> List[ToolStatus]:
        """Every tool's status, in doctor order."""
        return [self.status(name) for name in self._checks()]

    def require(self, name: str) -> Path:
        """The path of a tool, or a ToolchainError naming the fix."""
        st = self.status(name)
        if not st.ok:
            raise ToolchainError(
                f"{st.name} is missing ({st.problem}); it is needed as {st.purpose}.\n"
                f"Fix: {st.fix}  (or run `keystone-py setup`; `keystone-py doctor` "
                "checks everything).")
        assert st.path is not None
        return st.path

    # -- convenience ------------------------------------------------------------
    @property
    def rustc(self) -> Path:
        return self.require("rustc")

    @property
    def cargo(self) -> Path:
        return self.require("cargo")

    @property
    def objcopy(self) -> Path:
        return self.require("objcopy")

    @property
    def qemu(self) -> Path:
        return self.require("qemu")

    @property
    def gdb(self) -> Path:
        return self.require("gdb")

    @property
    def opensbi_fw_jump(self) -> Path:
        return self.require("opensbi")

    def rustc_version(self) -> str:
        """``rustc -vV`` (full version, commit and host), part of build cache keys."""
        return tool_output([self.rustc, "-vV"])

    def cargo_env(self) -> Dict[str, str]:
        """Environment for running cargo: our rustc, nightly features unlocked,
        and the linker folder first on PATH (``.cargo/config.toml`` names the linker
        without a path)."""
        env = dict(self.env)
        env["RUSTC"] = str(self.rustc)
        env["RUSTC_BOOTSTRAP"] = "1"
        # Doctests need the rustdoc of the same rustc (rustup's may come first on PATH).
        rustdoc = self.rustc.parent / "rustdoc"
        if rustdoc.is_file():
            env["RUSTDOC"] = str(rustdoc)
        for var in ("RUSTUP_TOOLCHAIN", "CARGO_BUILD_TARGET", "CARGO_TARGET_DIR"):
            env.pop(var, None)
        ld = self.status("ld")
        extra = [str(ld.path.parent)] if ld.ok and ld.path else []
        env["PATH"] = os.pathsep.join(_dedupe(extra + [str(self.cargo.parent)] +
                                              env.get("PATH", "").split(os.pathsep)))
        return env

    @staticmethod
    def _optional(st: ToolStatus) -> ToolStatus:
        st.required = False
        return st

    def missing_packages(self, optional: bool = False) -> List[str]:
        """Debian packages that would fix every missing required tool (and the
        optional ones too with ``optional=True``, as ``setup`` installs them)."""
        pkgs: List[str] = []
        for st in self.check_all():
            if (st.required or optional) and not st.ok:
                pkgs.extend(p for p in st.packages if p not in pkgs)
        return pkgs


def python_setup_problem(root: str) -> Optional[str]:
    """What keeps this Python from running the checkout at ``root``: its keystone_py
    is not the one imported, or a package of :data:`PYTHON_PACKAGES` (the test ones
    too) is missing. None when there is nothing to install. ``make setup`` runs this
    in ``.venv`` and pip installs only when it answers something."""
    here = Path(__file__).resolve().parent
    wanted = (Path(root) / "keystone_py").resolve()
    if here != wanted:
        return f"keystone_py is imported from {here}, not {wanted}"
    missing = []
    for dist, module, _purpose, _required in PYTHON_PACKAGES:
        try:
            found = importlib.util.find_spec(module) is not None
        except Exception:  # noqa: BLE001 - broken counts as missing
            found = False
        if not found:
            missing.append(dist)
    return f"missing Python packages: {', '.join(missing)}" if missing else None


def _dedupe(items: Sequence[str]) -> List[str]:
    seen, out = set(), []
    for item in items:
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _rustup_nightly_dirs() -> List[str]:
    home = Path(os.environ.get("RUSTUP_HOME", Path.home() / ".rustup")) / "toolchains"
    try:
        return [str(p / "bin") for p in sorted(home.glob("nightly*"), reverse=True)]
    except OSError:
        return []


def _dpkg_version(package: str) -> str:
    if not shutil.which("dpkg-query"):
        return "present"
    v = first_line(["dpkg-query", "-W", "-f=${Version}", package])
    return f"{package} {v}" if v and "no packages" not in v else "present"


def format_report(statuses: Sequence[ToolStatus]) -> str:
    """The doctor table: one row per tool."""
    rows = []
    width = max(len(s.name) for s in statuses)
    for s in statuses:
        if s.ok:
            rows.append(f"  ok       {s.name:<{width}}  {s.version}  [{s.path}]")
        else:
            tag = "MISSING " if s.required else "optional"
            rows.append(f"  {tag} {s.name:<{width}}  {s.problem}; fix: {s.fix}")
    return "\n".join(rows)

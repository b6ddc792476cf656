"""Run files from the build machine in the guest: ``keystone-py run --eapp FILE``,
the ``ks_run`` fixture, ``keystone-py gdb --eapp FILE``.

The files go into the guest at boot in a second cpio archive appended to the
built initramfs (Linux unpacks concatenated archives one after the other; no
kernel or initramfs rebuild)::

    /user/eapp/<name>      the eapp
    /user/host/<name>      the host app (--host), run as HOST EAPP RUNTIME LOADER ARGS
    /user/runtime, /user/loader   --runtime/--loader when given

Without a host app the eapp runs through ``/bin/test-runner EAPP RUNTIME
LOADER ARGS`` (Keystone's test ocalls 1-4; ``--retval N`` checks the value),
unless it is a Linux program (a static glibc ELF: :func:`is_linux_program`):
that runs as a process would, through ``/bin/ks-run PROGRAM [--allow-read
PATH]... [--allow-write PATH]... --cwd DIR -- ARGS`` (its argv is the program
then ARGS; it exits with the program's status). The ``--allow-read`` files and
folders are copied into the guest at the same absolute paths, and ``--cwd`` is
the build machine's current folder, so the paths in ARGS mean in the guest
what they mean here.
"""

from __future__ import annotations

import logging
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from ..build import Artifacts
from ..build.cache import digest
from ..build.initramfs import Initramfs
from ..build.userapp import check_eapp_elf, elf_interpreter
from ..errors import KeystoneError
from ..paths import build_dir
from .guest import LinuxGuest, linux_machine, shell_status

log = logging.getLogger("keystone_py.run")

GUEST_DIR = "user"
#: test-runner's last line: ``test-runner: NAME returned V (interrupts I, ocalls O, ...``.
RETURNED = re.compile(r"returned (?P<value>\d+)(?: \(interrupts (?P<interrupts>\d+), "
                      r"ocalls (?P<ocalls>\d+)(?:, create (?P<create>\d+) us, "
                      r"run (?P<run>\d+) us)?)?")


@dataclass(frozen=True)
class UserFiles:
    """The build-machine files of one run and where they go in the guest."""

    eapp: Path
    host: Optional[Path] = None
    runtime: Optional[Path] = None
    loader: Optional[Path] = None
    #: A Linux program run by ks-run (see the module doc), with its file policy.
    program: bool = False
    allow_read: tuple[Path, ...] = ()
    allow_write: tuple[Path, ...] = ()
    cwd: Optional[Path] = None
    free_mem: Optional[int] = None

    @staticmethod
    def checked(eapp: Path, host: Optional[Path] = None, runtime: Optional[Path] = None,
                loader: Optional[Path] = None) -> "UserFiles":
        """Resolves the paths and checks each is what it claims (KeystoneError with
        the fix otherwise)."""
        def exists(p: Optional[Path], opt: str) -> Optional[Path]:
            if p is None:
                return None
            p = Path(p).expanduser().resolve()
            if not p.is_file():
                raise KeystoneError(f"{opt} {p}: no such file. Build it first "
                                    "(`keystone-py build --app DIR` puts eapps and host apps "
                                    "in DIR/build/).")
            return p
        files = UserFiles(eapp=exists(eapp, "--eapp"), host=exists(host, "--host"),  # type: ignore[arg-type]
                          runtime=exists(runtime, "--runtime"), loader=exists(loader, "--loader"))
        check_eapp_elf(files.eapp, "eapp")
        if files.host is not None:
            check_eapp_elf(files.host, "host app (riscv64 Linux)", linux=True)
        if files.runtime is not None:
            check_eapp_elf(files.runtime, "runtime")
        return files

    @staticmethod
    def linux_program(program: Path, allow_read: Sequence[Path] = (),
                      allow_write: Sequence[Path] = (), cwd: Optional[Path] = None,
                      free_mem: Optional[int] = None) -> "UserFiles":
        """A static Linux program for ks-run, checked (KeystoneError with the
        fix for a missing file, a dynamic program, a read path that is not there)."""
        prog = Path(program).expanduser().resolve()
        if not prog.is_file():
            raise KeystoneError(f"--eapp {program}: no such file.")
        check_eapp_elf(prog, "program", linux=True)
        interp = elf_interpreter(prog)
        if interp is not None:
            raise KeystoneError(f"--eapp {program} is a dynamically linked program (it needs "
                                f"{interp}); an enclave loads no shared libraries: link it "
                                "with -static (riscv64-linux-gnu-gcc -static ...).")
        reads = []
        for p in allow_read:
            r = Path(p).expanduser().resolve()
            if not r.exists():
                raise KeystoneError(f"--allow-read {p}: no such file or folder here (it is "
                                    "copied into the guest).")
            reads.append(r)
        writes = tuple(Path(p).expanduser().resolve() for p in allow_write)
        return UserFiles(eapp=prog, program=True, allow_read=tuple(reads), allow_write=writes,
                         cwd=Path(cwd or Path.cwd()).resolve(), free_mem=free_mem)

    def guest_paths(self) -> Dict[str, Path]:
        """guest path (no leading /) → build-machine file."""
        out = {f"{GUEST_DIR}/eapp/{self.eapp.name}": self.eapp}
        for r in self.allow_read:
            found = sorted(f for f in r.rglob("*") if f.is_file()) if r.is_dir() else [r]
            out.update({str(f).lstrip("/"): f for f in found})
        if self.host is not None:
            out[f"{GUEST_DIR}/host/{self.host.name}"] = self.host
        if self.runtime is not None:
            out[f"{GUEST_DIR}/runtime"] = self.runtime
        if self.loader is not None:
            out[f"{GUEST_DIR}/loader"] = self.loader
        return out

    def argv(self, args: Sequence[str] = ()) -> List[str]:
        """The command /init runs."""
        eapp = f"/{GUEST_DIR}/eapp/{self.eapp.name}"
        if self.program:
            return _words([PROGRAM_RUNNER, eapp, *(w for r in self.allow_read
                                                   for w in ("--allow-read", str(r))),
                           *(w for p in self.allow_write for w in ("--allow-write", str(p))),
                           *(["--free-mem", str(self.free_mem)] if self.free_mem else []),
                           "--cwd", str(self.cwd or "/"), "--", *args])
        runtime = f"/{GUEST_DIR}/runtime" if self.runtime else "/enclave/eyrie-rt"
        loader = f"/{GUEST_DIR}/loader" if self.loader else "/enclave/loader.bin"
        prog = f"/{GUEST_DIR}/host/{self.host.name}" if self.host else "/bin/test-runner"
        return _words([prog, eapp, runtime, loader, *args])


#: The host app that runs a Linux program as a process (examples/host).
PROGRAM_RUNNER = "/bin/ks-run"


def _words(argv: List[str]) -> List[str]:
    """``argv``, each word checked: /init splits its command line at spaces."""
    for a in argv:
        if not a or any(c.isspace() for c in a):
            raise KeystoneError(f"argument {a!r}: /init splits the command line at spaces; "
                                "pass arguments (and paths) without spaces.")
    return argv


def is_linux_program(path: Path) -> bool:
    """Whether the ELF at ``path`` is a Linux program (it carries glibc's
    ABI note, NT_GNU_ABI_TAG), not an eapp on the Keystone SDKs."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1 or len(data) < 64:
        return False
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        at = phoff + i * phentsize
        if at + 56 > len(data) or struct.unpack_from("<I", data, at)[0] != 4:  # PT_NOTE
            continue
        off, _, _, size = struct.unpack_from("<QQQQ", data, at + 8)
        note = data[off:off + size]
        while len(note) >= 12:
            namesz, descsz, kind = struct.unpack_from("<III", note, 0)
            name = note[12:12 + namesz]
            if kind == 1 and name.rstrip(b"\0") == b"GNU":
                return True
            note = note[12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4:]
    return False


def overlay_initramfs(base: Path, files: Dict[str, Path], out_dir: Path) -> Path:
    """``base`` followed by a cpio archive of ``files`` (guest path → file), in
    ``out_dir`` under a name that hashes the contents (written once)."""
    extra = Initramfs()
    dirs: List[str] = []
    for guest in sorted(files):
        parts = guest.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.append(d)
                extra.directory(d)
        extra.file_from(guest, files[guest], 0o755)
    data = extra.to_bytes()
    base_bytes = Path(base).read_bytes()
    pad = b"\0" * (-len(base_bytes) % 4)
    out = Path(out_dir) / f"initramfs-{digest(base_bytes, data)[:16]}.cpio"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base_bytes + pad + data)
    return out


@dataclass
class UserRun:
    """One run of the user's files: the console, /init's exit status and what
    the runner printed (the enclave's value and figures when it said them)."""

    argv: List[str]
    output: str
    status: Optional[int]
    signal: Optional[int] = None
    value: Optional[int] = None
    stats: Dict[str, int] = field(default_factory=dict)
    console: str = ""
    log_dir: Optional[Path] = None
    #: What the run booted (the SM, loader and runtime files, for a verifier).
    artifacts: Optional[Artifacts] = None

    @property
    def exit_code(self) -> int:
        """What a shell would report: the status, or 128 + the signal."""
        return shell_status(self.status, self.signal)


def parse_returned(output: str) -> tuple[Optional[int], Dict[str, int]]:
    """The last ``returned V (interrupts I, ocalls O, create C us, run R us)``."""
    found = list(RETURNED.finditer(output))
    if not found:
        return None, {}
    m = found[-1]
    stats = {k: int(v) for k, v in m.groupdict().items() if v is not None and k != "value"}
    return int(m.group("value")), stats


def run_user_files(artifacts: Artifacts, files: UserFiles, args: Sequence[str] = (), *,
                   smp: int = 1, memory: str = "512M", firmware: str = "ours",
                   icount: Optional[int] = None, extra_args: Sequence[str] = (),
                   timeout: float = 600.0, log_dir: Optional[Path] = None,
                   on_started: Optional[Callable[[], None]] = None,
                   root: Optional[Path] = None, append_extra: str = "quiet") -> UserRun:
    """Boots SM + Linux with ``files`` appended to the initramfs, runs them,
    powers off. ``on_started`` is called once /init's prompt is up (the CLI
    starts streaming the console there)."""
    base = artifacts.require("initramfs")
    initrd = overlay_initramfs(base, files.guest_paths(), build_dir(root) / "run")
    art = artifacts.merged(Artifacts(initramfs=initrd))
    argv = files.argv(args)
    kwargs = {"log_dir": log_dir} if log_dir is not None else {}
    m = linux_machine(art, firmware=firmware, smp=smp, memory=memory, icount=icount,
                      append_extra=append_extra, extra_args=list(extra_args), name="run-user",
                      **kwargs)
    with m:
        result = LinuxGuest(m).boot_and_run(argv, timeout, on_started)
        console = m.console_text
    value, stats = parse_returned(result.output)
    return UserRun(argv=argv, output=result.output, status=result.status, signal=result.signal,
                   value=value, stats=stats, console=console, log_dir=m.log_dir,
                   artifacts=artifacts)

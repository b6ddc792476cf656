"""Run files from the build machine in the guest: ``keystone-py run --eapp FILE``,
the ``ks_run`` fixture, ``keystone-py gdb --eapp FILE``.

The files go into the guest at boot in a second cpio archive appended to the
built initramfs (Linux unpacks concatenated archives one after the other; no
kernel or initramfs rebuild)::

    /user/eapp/<name>      the eapp
    /user/host/<name>      the host app (--host), run as HOST EAPP RUNTIME LOADER ARGS
    /user/runtime, /user/loader   --runtime/--loader when given

Without a host app the eapp runs through ``/bin/test-runner EAPP RUNTIME
LOADER ARGS`` (Keystone's test ocalls 1-4; ``--retval N`` checks the value).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from ..build import Artifacts
from ..build.cache import digest
from ..build.initramfs import Initramfs
from ..build.userapp import check_eapp_elf
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

    def guest_paths(self) -> Dict[str, Path]:
        """guest path (no leading /) → build-machine file."""
        out = {f"{GUEST_DIR}/eapp/{self.eapp.name}": self.eapp}
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
        runtime = f"/{GUEST_DIR}/runtime" if self.runtime else "/enclave/eyrie-rt"
        loader = f"/{GUEST_DIR}/loader" if self.loader else "/enclave/loader.bin"
        prog = f"/{GUEST_DIR}/host/{self.host.name}" if self.host else "/bin/test-runner"
        for a in args:
            if not a or any(c.isspace() for c in a):
                raise KeystoneError(f"argument {a!r}: /init splits the command line at spaces; "
                                    "pass arguments without spaces.")
        return [prog, eapp, runtime, loader, *args]


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
                   root: Optional[Path] = None) -> UserRun:
    """Boots SM + Linux with ``files`` appended to the initramfs, runs them,
    powers off. ``on_started`` is called once /init's prompt is up (the CLI
    starts streaming the console there)."""
    base = artifacts.require("initramfs")
    initrd = overlay_initramfs(base, files.guest_paths(), build_dir(root) / "run")
    art = artifacts.merged(Artifacts(initramfs=initrd))
    argv = files.argv(args)
    kwargs = {"log_dir": log_dir} if log_dir is not None else {}
    m = linux_machine(art, firmware=firmware, smp=smp, memory=memory, icount=icount,
                      append_extra="quiet", extra_args=list(extra_args), name="run-user",
                      **kwargs)
    with m:
        result = LinuxGuest(m).boot_and_run(argv, timeout, on_started)
        console = m.console_text
    value, stats = parse_returned(result.output)
    return UserRun(argv=argv, output=result.output, status=result.status, signal=result.signal,
                   value=value, stats=stats, console=console, log_dir=m.log_dir,
                   artifacts=artifacts)

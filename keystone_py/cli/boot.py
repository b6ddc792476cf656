"""``keystone-py boot``, ``gdb``, ``run`` and ``bench``: the commands that boot the stack.

The parsers are standard library only; each command imports the machine code
(pexpect, pygdbmi, pyelftools) when it runs, so ``doctor`` and ``setup`` work
before those are installed.
"""

from __future__ import annotations

import argparse
import logging
import re
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Tuple, Union

from ..build import ENCLAVE_TARGETS, build_targets
from ..build.hostapps import EAPPS, HOST_APPS, LINUX_USER_TARGET
from ..build.keystone_sm import KeystoneFirmware, KeystoneSourcesMissing, keystone_firmware
from ..build.zcore import ZcoreBuilder
from ..contract import PAYLOAD_DONE
from ..errors import KeystoneError
from ..paths import build_dir, find_root
from ..tap import parse_tap
from ..toolchain import Toolchain, run_attached

if TYPE_CHECKING:  # the qemu modules need pexpect: each command imports them when it runs
    from ..qemu.guest import GuestRun
    from ..qemu.machine import Machine
    from ..qemu.userrun import UserRun

log = logging.getLogger("keystone_py.cli")


class _BareConsoleLine(logging.Formatter):
    """Console records are ("[%s] %s", name, line): print the line alone."""

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.args, tuple) and len(record.args) == 2:
            return str(record.args[1])
        return super().format(record)


def _stream_console() -> None:
    from ..qemu.console import CONSOLE
    console = logging.getLogger("keystone_py.console")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_BareConsoleLine())
    console.handlers[:] = [handler]
    console.setLevel(CONSOLE)
    console.propagate = False


def _gdb_hint(m: Machine, elf: Union[Path, str]) -> None:
    """With ``--gdb``, QEMU waits halted: say how to attach."""
    if m.gdb_port:
        log.warning("QEMU is halted; attach with:\n  gdb-multiarch %s -ex 'target remote "
                    "127.0.0.1:%d'", elf, m.gdb_port)


def cmd_boot(args: argparse.Namespace) -> int:
    if args.host == "zcore":
        return _boot_zcore(args)
    if args.linux or args.host == "linux":
        return _boot_linux(args)
    from ..qemu import Machine, resolve_firmware

    artifacts = build_targets(["sm", "payload"])
    _stream_console()
    kernel = Path(args.kernel) if args.kernel else artifacts.require("payload_bin")
    with Machine(firmware=resolve_firmware(args.firmware, artifacts), kernel=kernel,
                 append=args.append, smp=args.smp, memory=args.memory, icount=args.icount,
                 extra_args=args.qemu_arg, gdb=args.gdb, name="boot") as m:
        _gdb_hint(m, artifacts.sm_elf or "")
        status = m.wait_exit(timeout=1e9 if args.gdb else args.timeout)
        report = parse_tap(m.console_text)
        if report.results:
            log.info("\nconformance: %s", report.summary())
        elif not re.search(PAYLOAD_DONE, m.console_text):
            log.info("\nconformance: no result lines printed")
        log.info("QEMU exit status %d; logs in %s", status, m.log_dir)
    return status


def _boot_linux(args: argparse.Namespace) -> int:
    """Linux + /init on the chosen firmware: runs ``--script`` and streams the
    console (``--interactive``: the console is this terminal, Ctrl-A X quits)."""
    from ..qemu import Console, LinuxGuest, linux_machine

    artifacts = build_targets(["sm", "linux"])
    script = args.script if args.script is not None else ("" if args.interactive
                                                          else "cpus,poweroff")
    m = linux_machine(artifacts, firmware=args.firmware, smp=args.smp, script=script or None,
                      append_extra=args.append or "", icount=args.icount, memory=args.memory,
                      extra_args=args.qemu_arg, gdb=args.gdb, name="linux")
    if args.interactive:
        argv = m.config.argv(Console.stdio())
        log.info("+ %s\n(/init prompt `ks> `: cpus, time, peek ADDR, run PROG, sleep MS, "
                 "echo TEXT, poweroff; Ctrl-A X quits QEMU)", shlex.join(argv))
        return run_attached(argv)
    _stream_console()
    with m:
        _gdb_hint(m, artifacts.vmlinux or "")
        guest = LinuxGuest(m)
        ready = guest.wait_ready(timeout=1e9 if args.gdb else args.timeout)
        status = m.wait_exit(timeout=1e9 if args.gdb else args.timeout)
        log.info("\nlinux: /init ready with %d cpus online at time %s; QEMU exit status %d; "
                 "logs in %s", ready.cpus, ready.time if ready.time is not None else
                 "unreadable", status, m.log_dir)
    return status


def _boot_zcore(args: argparse.Namespace) -> int:
    """zCore on the chosen firmware with its root image: runs ``--rootproc`` as
    the root process and streams the console until ``--until`` matches (zCore
    does not power off when that process ends) or ``--timeout``."""
    from ..qemu import resolve_firmware
    from ..qemu.zcore import zcore_machine

    artifacts = build_targets(["sm"])
    builder = ZcoreBuilder(sources=args.zcore_sources)
    zcore = builder.build()
    image = builder.default_root_image()
    _stream_console()
    with zcore_machine(resolve_firmware(args.firmware, artifacts), zcore, image,
                       shlex.split(args.rootproc), smp=args.smp, memory=args.memory,
                       log=args.log, icount=args.icount, extra_args=args.qemu_arg,
                       gdb=args.gdb, name="zcore") as m:
        _gdb_hint(m, builder.elf)
        m.expect(args.until, timeout=1e9 if args.gdb else args.timeout)
        log.info("\nzcore: saw %r; logs in %s", args.until, m.log_dir)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Boots the whole stack and runs one program in the guest: a host app
    (``ks-demo all``, ``test-runner ...``), a path in the guest, or an eapp by
    name (run by ``test-runner`` with the default runtime and loader)."""
    from ..qemu import LinuxGuest, linux_machine

    host_os = args.host if args.host in HOST_OSES else "linux"
    host_app = None if args.host in HOST_OSES else args.host
    if args.eapp or host_app or args.runtime or args.loader:
        return _run_user_files(args, host_os, host_app)
    if args.app is None:
        raise KeystoneError("run: name an app (`keystone-py run hello`, `keystone-py run ks-demo "
                            "all`) or give your own files (`keystone-py run --eapp FILE "
                            "[--host FILE] [-- ARGS]`).")
    app, rest = args.app, list(args.args)
    if app in HOST_APPS:
        argv = [f"/bin/{app}", *rest]
    elif app in EAPPS:
        argv = ["/bin/test-runner", f"/enclave/{app}", "/enclave/eyrie-rt",
                "/enclave/loader.bin", *rest]
    elif app.startswith("/"):
        argv = [app, *rest]
    else:
        raise KeystoneError(f"unknown app {app!r}: a host app ({', '.join(HOST_APPS)}), an eapp "
                            f"({', '.join(EAPPS)}) or a path in the guest")
    if host_os == "zcore":
        result, log_dir = _run_zcore(args, argv)
        return _exit_status(app, result, log_dir)
    artifacts = build_targets(["sm", "linux"])
    m = linux_machine(artifacts, firmware=args.firmware, smp=args.smp, memory=args.memory,
                      icount=args.icount, append_extra="quiet", extra_args=args.qemu_arg,
                      name="run")
    with m:  # the console is ours once /init's prompt is up
        result = LinuxGuest(m).boot_and_run(argv, args.timeout, on_started=_stream_console)
    return _exit_status(app, result, m.log_dir)


#: ``run --host`` values that name the host OS (any other value is a host app file).
HOST_OSES = ("linux", "zcore")


def _exit_status(what: str, run: Union[GuestRun, UserRun], log_dir: Optional[Path]) -> int:
    """What a shell would report for the guest program (128 + a signal); says
    which signal killed it."""
    if run.signal is not None:
        log.info("%s: killed by signal %d (logs in %s)", what, run.signal, log_dir)
    return run.exit_code


def _run_zcore(args: argparse.Namespace, argv: list[str],
               files: Optional[dict[str, Path]] = None) -> tuple:
    """Boots zCore (its root image with ``files`` added: guest path → file) and
    runs ``argv`` at /init's prompt; (the run, the logs folder)."""
    from ..qemu import resolve_firmware
    from ..qemu.zcore import ZCORE_MEMORY, run_on_zcore

    artifacts = build_targets(["sm"])
    builder = ZcoreBuilder(sources=args.zcore_sources)
    zcore = builder.build()
    image = builder.default_root_image(extra=files)
    extra = [*args.qemu_arg, *device_secret_args(args.device_secret)]
    memory = args.memory if args.memory != "512M" else ZCORE_MEMORY
    result, m = run_on_zcore(resolve_firmware(args.firmware, artifacts), zcore, image, argv,
                             smp=args.smp, memory=memory, icount=args.icount, extra_args=extra,
                             timeout=args.timeout, on_started=_stream_console)
    return result, m.log_dir


def _user_args(args: argparse.Namespace) -> list[str]:
    """With --eapp, the positional words are the runner's arguments (after ``--``)."""
    words = ([args.app] if args.app is not None else []) + list(args.args)
    return words[1:] if words[:1] == ["--"] else words


def device_secret_args(secret_file: Optional[str]) -> list[str]:
    """``--device-secret FILE`` (or the development secret) as QEMU arguments."""
    from ..attest.devkey import device_qemu_args  # PyNaCl

    return device_qemu_args(build_dir() / "run", Path(secret_file) if secret_file else None)


def _run_user_files(args: argparse.Namespace, host_os: str = "linux",
                    host_app: Optional[str] = None) -> int:
    """``run --eapp FILE [--host FILE] [--runtime FILE] [--loader FILE] [-- ARGS]``:
    the files go into the guest in an initramfs appended at boot (Linux) or into
    zCore's root image (``--host zcore``)."""
    from ..qemu.userrun import UserFiles, is_linux_program, run_user_files

    if not args.eapp:
        raise KeystoneError("run: --host FILE, --runtime and --loader go with --eapp FILE (the "
                            "enclave app to run).")
    policy = args.allow_read or args.allow_write or args.free_mem
    if Path(args.eapp).is_file() and not (host_app or args.runtime or args.loader) \
            and (policy or is_linux_program(Path(args.eapp))):
        return _run_program(args, host_os)
    if policy:
        raise KeystoneError("run: --allow-read, --allow-write and --free-mem are for a Linux "
                            "program run as a process (no --host FILE, --runtime or --loader).")
    files = UserFiles.checked(Path(args.eapp), host=host_app and Path(host_app),
                              runtime=args.runtime and Path(args.runtime),
                              loader=args.loader and Path(args.loader))
    if host_os == "zcore":
        if args.save_report:
            raise KeystoneError("run: --save-report is for Linux hosts for now; drop it or "
                                "leave out --host zcore.")
        result, log_dir = _run_zcore(args, files.argv(_user_args(args)), files.guest_paths())
        return _exit_status(files.argv()[0], result, log_dir)
    artifacts = build_targets(["sm", "loader", "runtime", "linux"])
    result = run_user_files(artifacts, files, _user_args(args), smp=args.smp, memory=args.memory,
                            firmware=args.firmware, icount=args.icount,
                            extra_args=[*args.qemu_arg, *device_secret_args(args.device_secret)],
                            timeout=args.timeout, on_started=_stream_console)
    if args.save_report:
        from ..attest import report_bytes_in
        raw = report_bytes_in(result.output)
        if raw is None:
            raise KeystoneError(f"--save-report {args.save_report}: the run printed no report "
                                "(`# report HEX`: test-runner prints one when the eapp sends "
                                "its report with ocall 3).")
        Path(args.save_report).write_text(raw.hex() + "\n")
        log.info("report saved to %s; check it with `keystone-py attest verify %s --eapp %s "
                 "--nonce ...`", args.save_report, args.save_report, args.eapp)
    return _exit_status(result.argv[0], result, result.log_dir)


def _run_program(args: argparse.Namespace, host_os: str) -> int:
    """``run --eapp PROGRAM [--allow-read PATH]... [--allow-write PATH]... -- ARGS``
    for a static Linux program: ks-run runs it in an enclave as a process (argv
    PROGRAM ARGS, the read paths copied into the guest and granted), and the
    command exits with the program's status."""
    from ..qemu.userrun import UserFiles, run_user_files

    if host_os != "linux":
        raise KeystoneError("run --eapp PROGRAM: a Linux program runs under the Linux host "
                            "for now; leave out --host zcore.")
    files = UserFiles.linux_program(Path(args.eapp), args.allow_read, args.allow_write,
                                    free_mem=args.free_mem)
    artifacts = build_targets(["sm", "loader", "runtime", "linux"])
    result = run_user_files(artifacts, files, _user_args(args), smp=args.smp, memory=args.memory,
                            firmware=args.firmware, icount=args.icount,
                            extra_args=list(args.qemu_arg), timeout=args.timeout,
                            on_started=_stream_console)
    return _exit_status(Path(args.eapp).name, result, result.log_dir)


def cmd_bench(args: argparse.Namespace) -> int:
    from ..qemu.bench import run_bench

    artifacts = build_targets(["sm", "payload"] + ([] if args.no_linux else ["linux"]))
    try:
        smps = [int(x) for x in args.smp.split(",") if x.strip()]
    except ValueError:
        raise KeystoneError(f"--smp {args.smp}: expected numbers like 1 or 1,4") from None
    zcore = None
    if args.zcore:
        builder = ZcoreBuilder(sources=args.zcore_sources)
        zcore = (builder.build(), builder.default_root_image())
    keystone, missing = _keystone_sm(args)
    report = run_bench(artifacts, firmwares=args.firmware or ["ours", "opensbi"],
                       linux_smp=[] if args.no_linux else smps, timeout=args.timeout,
                       phases=args.phases, zcore=zcore, keystone=keystone,
                       keystone_missing=missing)
    print(report.to_json() if args.json else report.format_table())
    if args.json_file:
        Path(args.json_file).write_text(report.to_json() + "\n")
        print(f"bench: JSON written to {args.json_file}", file=sys.stderr)
    if args.plot:
        print(f"bench: plot written to {report.plot(args.plot)}", file=sys.stderr)
    return 0 if report.ok else 1


def _keystone_sm(args: argparse.Namespace) -> Tuple[Optional[KeystoneFirmware], Optional[str]]:
    """Keystone's SM built from its sources for the bench's live column, or
    (None, why not): then the bench prints Keystone's recorded figures."""
    if args.no_keystone:
        return None, "--no-keystone"
    try:
        return keystone_firmware(find_root(), Toolchain().qemu,
                                 keystone=args.keystone_sources,
                                 opensbi=args.keystone_opensbi_sources), None
    except KeystoneSourcesMissing as exc:
        log.warning("bench: Keystone's SM is not measured (%s); its recorded figures stand in",
                    exc)
        return None, str(exc)


def cmd_gdb(args: argparse.Namespace) -> int:
    from ..gdb.interactive import run_gdb

    if args.host:
        return _gdb_host(args)
    app = args.app
    artifacts = build_targets(["sm", "payload", *ENCLAVE_TARGETS])
    if args.eapp:
        # Your eapp, with its symbols, hosted by the payload like the built ones.
        from ..qemu.userrun import UserFiles
        eapp = UserFiles.checked(Path(args.eapp)).eapp
        app = "user-" + re.sub(r"[^A-Za-z0-9_-]", "_", eapp.name)
        artifacts.eapp_elfs[app] = eapp
    return run_gdb(artifacts, app=app, breaks=args.breaks, smp=args.smp, ex=args.ex,
                   batch=args.batch, dry_run=args.dry_run)


def _gdb_host(args: argparse.Namespace) -> int:
    """``gdb --host linux|zcore``: the host OS runs test-runner for ``--app``."""
    from ..gdb.interactive import run_gdb_host

    if args.eapp:
        raise KeystoneError("gdb --host: --eapp is not supported with a host OS yet; use "
                            "--app NAME (a built eapp) or leave out --host to debug your eapp "
                            "on the payload host.")
    hostapp = build_dir() / "target" / LINUX_USER_TARGET / "release" / "test-runner"
    artifacts = build_targets(["sm", "linux", *ENCLAVE_TARGETS])
    if args.host == "linux":
        return run_gdb_host("linux", artifacts, host_elf=artifacts.require("vmlinux"),
                            hostapp=hostapp, app=args.app, breaks=args.breaks, smp=args.smp,
                            ex=args.ex, batch=args.batch, dry_run=args.dry_run)
    builder = ZcoreBuilder(sources=args.zcore_sources)
    zcore = (builder.build(), builder.default_root_image())
    return run_gdb_host("zcore", artifacts, host_elf=builder.elf, hostapp=hostapp,
                        app=args.app, breaks=args.breaks, smp=args.smp, ex=args.ex,
                        batch=args.batch, dry_run=args.dry_run, zcore=zcore)


def register(sub: argparse._SubParsersAction) -> None:
    """Adds ``boot``, ``gdb``, ``run`` and ``bench``."""
    s = sub.add_parser("boot", help="build if stale, boot SM + conformance payload (or "
                                    "Linux with --linux), stream the console, exit with "
                                    "QEMU's status")
    s.add_argument("--smp", type=int, default=1, help="number of harts (default 1)")
    s.add_argument("--memory", default="256M", help="guest RAM (default 256M)")
    s.add_argument("--append", default=None,
                   help="kernel command line (e.g. hang); with --linux: added to "
                        "console=ttyS0 earlycon ks.script=...")
    s.add_argument("--firmware", default="ours",
                   help="ours (build/sm_rs.bin), opensbi (Debian's fw_jump) or a path")
    s.add_argument("--kernel", default=None, help="S-mode payload (default: the "
                                                  "conformance payload)")
    s.add_argument("--qemu-arg", action="append", default=[], metavar="ARG",
                   help="extra QEMU argument (repeatable)")
    s.add_argument("--gdb", action="store_true",
                   help="start halted with a gdbstub; wait (no timeout) for QEMU to exit")
    s.add_argument("--timeout", type=float, default=120.0,
                   help="seconds before giving up on QEMU exiting (default 120)")
    s.add_argument("--icount", type=int, default=None, metavar="SHIFT",
                   help="QEMU -icount shift=SHIFT,sleep=off: deterministic instruction "
                        "counts and time")
    s.add_argument("--linux", action="store_true",
                   help="boot Linux 6.1 + the initramfs /init instead of the payload")
    s.add_argument("--host", choices=("linux", "zcore"), default=None,
                   help="boot a host OS instead of the payload: linux (= --linux) or zcore "
                        "(build/zcore.bin with its SFS root image; needs --zcore-sources or "
                        "$KEYSTONE_ZCORE_SOURCES)")
    s.add_argument("--zcore-sources", metavar="DIR", default=None,
                   help="with --host zcore: folder of zCore's source archives + MANIFEST.tsv")
    s.add_argument("--rootproc", default="/bin/hello zcore 25", metavar="'PROG ARGS'",
                   help="with --host zcore: zCore's root process (default '/bin/hello zcore 25')")
    s.add_argument("--until", default=r"zcore-hello: done", metavar="REGEX",
                   help="with --host zcore: stop once the console matches REGEX "
                        "(default: /bin/hello's last line)")
    s.add_argument("--log", default="warn", help="with --host zcore: zCore's LOG= level")
    s.add_argument("--script", default=None, metavar="CMD,CMD",
                   help="with --linux: /init commands (ks.script; '+' = space), default "
                        "cpus,poweroff; e.g. cpus,peek+0x80000000,poweroff")
    s.add_argument("--interactive", action="store_true",
                   help="with --linux: the console is this terminal (Ctrl-A X quits)")
    s.set_defaults(func=cmd_boot)
    s = sub.add_parser(
        "gdb", help="gdb-multiarch on a halted stack (SM + payload host + loader + runtime + "
                    "eapp) with every world's symbols loaded",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  keystone-py gdb                      # stops in the SM's create\n"
               "  keystone-py gdb --app fibonacci --break loader:_start --break eapp:main\n"
               "  keystone-py gdb --break runtime:rt_main --batch --ex continue --ex ks-world\n"
               "  keystone-py gdb --eapp build/my-eapp --break eapp:eapp_entry   # your own\n"
               "In gdb: `continue`, `ks-world` (which world), `info registers priv mstatus`.")
    s.add_argument("--app", default="hello", help="eapp to run (default hello)")
    s.add_argument("--eapp", metavar="FILE", default=None,
                   help="your eapp ELF instead of --app (its symbols loaded; e.g. "
                        "--break eapp:eapp_entry)")
    s.add_argument("--break", dest="breaks", action="append", default=[],
                   metavar="WORLD:FUNCTION",
                   help="hardware breakpoint, e.g. sm:enclave::create, loader:_start, "
                        "runtime:rt_main, eapp:main (repeatable; default sm:enclave::create)")
    s.add_argument("--smp", type=int, default=1, help="number of harts (default 1)")
    s.add_argument("--ex", action="append", default=[], metavar="CMD",
                   help="gdb command to run after the setup (repeatable)")
    s.add_argument("--batch", action="store_true", help="run gdb -batch (for scripts)")
    s.add_argument("--dry-run", action="store_true",
                   help="boot, print the generated gdb command file, stop")
    s.add_argument("--host", choices=("linux", "zcore"), default=None,
                   help="a host OS instead of the payload: it boots and runs test-runner for "
                        "--app at once; the worlds are sm, host (vmlinux or zCore), hostapp "
                        "(test-runner), loader, runtime, eapp")
    s.add_argument("--zcore-sources", metavar="DIR", default=None,
                   help="with --host zcore: folder of zCore's source archives + MANIFEST.tsv "
                        "(default $KEYSTONE_ZCORE_SOURCES)")
    s.set_defaults(func=cmd_gdb)
    s = sub.add_parser(
        "run", help="build what is stale, boot SM + Linux + driver, run APP in the guest, "
                    "stream its output, exit with its status",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  keystone-py run ks-demo all            # every example, a table\n"
               "  keystone-py run hello                  # an eapp through test-runner\n"
               "  keystone-py run fibonacci --retval 14930352\n"
               "  keystone-py run --smp 4 ks-demo procs 4 fibonacci\n"
               "  keystone-py run --eapp ./build/my-eapp -- --retval 0   # your own files\n"
               "  keystone-py run --eapp build/my-eapp --host build/my-host\n"
               "  keystone-py run --eapp build/thirdparty/jq-1.8.2/jq --allow-read tests -- "
               "--run-tests tests/jq.test   # a static Linux program, as a process")
    s.add_argument("app", nargs="?", default=None,
                   help="host app (ks-demo, test-runner), eapp name, or guest path")
    s.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    s.add_argument("--eapp", metavar="FILE", default=None,
                   help="your eapp ELF (from the build machine): copied into the guest at "
                        "boot and run by test-runner, or by --host; words after `--` are the "
                        "runner's arguments (test-runner: --retval N). A static Linux program "
                        "(glibc) runs as a process instead: the words after `--` are its "
                        "argv, and the command exits with its status")
    s.add_argument("--host", metavar="zcore|linux|FILE", default=None,
                   help="zcore or linux: the host OS (default linux; zcore needs "
                        "--zcore-sources or $KEYSTONE_ZCORE_SOURCES); any other value, with "
                        "--eapp: your host app (riscv64 Linux), run as HOST EAPP RUNTIME "
                        "LOADER ARGS (a file named zcore: ./zcore)")
    s.add_argument("--zcore-sources", metavar="DIR", default=None,
                   help="with --host zcore: folder of zCore's source archives + MANIFEST.tsv")
    s.add_argument("--allow-read", metavar="PATH", action="append", default=[],
                   help="with --eapp PROGRAM (a static Linux program, run as a process by "
                        "ks-run): copy PATH (a file or folder) into the guest at the same "
                        "absolute path and let the program read it (repeatable)")
    s.add_argument("--allow-write", metavar="PATH", action="append", default=[],
                   help="with --eapp PROGRAM: let the program create and write under PATH "
                        "in the guest (made there if missing; nothing is copied back)")
    s.add_argument("--free-mem", metavar="BYTES", type=int, default=None,
                   help="with --eapp PROGRAM: the enclave's free memory (ks-run's default "
                        "48 MiB)")
    s.add_argument("--runtime", metavar="FILE", default=None,
                   help="with --eapp: a runtime ELF instead of build/eyrie-rt.elf")
    s.add_argument("--loader", metavar="FILE", default=None,
                   help="with --eapp: a loader image instead of build/loader.bin")
    s.add_argument("--save-report", metavar="FILE", default=None,
                   help="with --eapp: write the attestation report the run printed (hex) to "
                        "FILE, for `keystone-py attest verify FILE --eapp ...`")
    s.add_argument("--device-secret", metavar="FILE", default=None,
                   help="with --eapp: the SM's device secret (32 bytes; default: the public "
                        "development secret `attest verify` trusts by default)")
    s.add_argument("--smp", type=int, default=1, help="number of harts (default 1)")
    s.add_argument("--memory", default="512M", help="guest RAM (default 512M)")
    s.add_argument("--firmware", default="ours", help="ours (default) or a path")
    s.add_argument("--icount", type=int, default=None, metavar="SHIFT",
                   help="QEMU -icount shift=SHIFT (deterministic instruction counts)")
    s.add_argument("--qemu-arg", action="append", default=[], metavar="ARG",
                   help="extra QEMU argument (repeatable)")
    s.add_argument("--timeout", type=float, default=600.0,
                   help="seconds for boot and for the app (default 600)")
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("bench", help="our SM beside OpenSBI and Keystone's SM (built from its "
                                     "sources; else its recorded figures) under -icount "
                                     "shift=0,sleep=off, with ours/Keystone: SBI round trips "
                                     "and enclave costs (payload) and Linux")
    s.add_argument("--smp", default="1", metavar="N[,N]",
                   help="harts of the Linux boots (default 1; e.g. 1,4)")
    s.add_argument("--firmware", action="append", choices=("ours", "opensbi"),
                   help="only this firmware (repeatable; default both)")
    s.add_argument("--no-linux", action="store_true", help="only the payload runs")
    s.add_argument("--phases", action="store_true",
                   help="also trace one of each hot-path operation on our SM and print where "
                        "its instructions go, per phase (JSON key `phases`; ~1 min)")
    s.add_argument("--zcore", action="store_true",
                   help="also zCore as the host on our SM, beside Linux: boot to the first user "
                        "program, ocall round trip, hello (needs --zcore-sources or "
                        "$KEYSTONE_ZCORE_SOURCES)")
    s.add_argument("--zcore-sources", metavar="DIR", default=None,
                   help="with --zcore: folder of zCore's source archives + MANIFEST.tsv")
    s.add_argument("--keystone-sources", metavar="DIR", type=Path, default=None,
                   help="Keystone's monorepo (tree or keystone-*.tar.gz) whose C SM is built "
                        "and measured beside ours (default $KEYSTONE_SOURCES)")
    s.add_argument("--keystone-opensbi-sources", metavar="DIR", type=Path, default=None,
                   help="OpenSBI v1.1 (tree or opensbi-*.tar.gz) Keystone's SM is built in "
                        "(default $KEYSTONE_OPENSBI_SOURCES)")
    s.add_argument("--no-keystone", action="store_true",
                   help="do not build and measure Keystone's SM: print its recorded figures")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--json-file", metavar="FILE", help="also write the JSON to FILE")
    s.add_argument("--plot", metavar="FILE.png", help="write a PNG plot (needs matplotlib)")
    s.add_argument("--timeout", type=float, default=600.0,
                   help="seconds per run before giving up (default 600)")
    s.set_defaults(func=cmd_bench)

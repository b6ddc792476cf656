"""``keystone-py``: the command line for people.

    keystone-py doctor              check every tool, name the package that fixes a gap
    keystone-py setup               apt-get install what is missing (as root)
    keystone-py build [sm|payload|linux|all] [--force]
    keystone-py artifacts           one JSON object: artifact name -> absolute path
    keystone-py boot [--smp N] [--append ARGS] [--firmware ours|opensbi|PATH] [--icount N]
    keystone-py boot --linux [--script CMD,CMD] [--interactive] [--smp N] [--firmware ...]
    keystone-py bench [--smp N[,N]] [--json]   our SM beside OpenSBI, under -icount
    keystone-py host-test           cargo test of the pure-logic crates on this machine
    keystone-py gdb [--app APP] [--break WORLD:FUNCTION]   gdb on a halted stack, all worlds
    keystone-py run APP [ARGS]      boot SM + Linux + driver, run a host app or an eapp in the
                                    guest, stream its output, exit with its status

Errors are one paragraph with the fix, exit status 1, no traceback.
Only the standard library is imported at start-up, so ``doctor`` and ``setup``
work before the Python dependencies are installed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence

from . import __version__
from .errors import KeystoneError
from .toolchain import PYTHON_FIX, Toolchain, format_report

log = logging.getLogger("keystone_py.cli")


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("keystone_py")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


# -- commands -------------------------------------------------------------------------
def cmd_doctor(args: argparse.Namespace) -> int:
    tc = Toolchain()
    statuses = tc.check_all()
    print(format_report(statuses))
    missing = [s for s in statuses if s.required and not s.ok]
    if missing:
        pkgs = tc.missing_packages()
        print(f"\n{len(missing)} required tool(s) missing.")
        if pkgs:
            print(f"Fix: apt-get install {' '.join(pkgs)}   (or: keystone-py setup)")
        if any(s.name.startswith("python:") for s in missing):
            print(f"Fix: {PYTHON_FIX}")
            print("     (make setup creates the checkout's .venv/ and installs them there; "
                  "run keystone-py as .venv/bin/keystone-py or after `. .venv/bin/activate`)")
        return 1
    print("\nall tools found.")
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    tc = Toolchain()
    pkgs = tc.missing_packages(optional=True)
    if not pkgs:
        print("setup: every Debian package needed is installed.")
        return 0
    apt = shutil.which("apt-get") or shutil.which("apt-get", path="/usr/bin:/bin") or "apt-get"
    cmd = [apt, "install", "-y", "--no-install-recommends", *pkgs]
    if os.geteuid() != 0:
        print("setup: missing Debian packages: " + " ".join(pkgs))
        print("setup: not running as root, so not installing them. Run:")
        print(f"    sudo apt-get update && sudo {shlex.join(['apt-get', *cmd[1:]])}")
        return 1
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print(f"setup: installing {' '.join(pkgs)}")
    for argv in ([apt, "update"], cmd):
        print("+ " + shlex.join(argv), flush=True)
        try:
            rc = subprocess.run(argv, env=env, check=False).returncode
        except OSError as exc:
            raise KeystoneError(f"cannot run {argv[0]}: {exc}. This needs a Debian-based "
                                f"system; install by hand: {' '.join(pkgs)}") from exc
        if rc != 0:
            raise KeystoneError(f"`{shlex.join(argv)}` failed with exit status {rc}; "
                                "see its output above (network? apt lock held?).")
    still = Toolchain().missing_packages(optional=True)
    if still:
        raise KeystoneError("after apt-get, still missing: " + " ".join(still)
                            + ". Run `keystone-py doctor` for details.")
    print("setup: done.")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from .build import build_targets
    artifacts = build_targets(args.targets, force=args.force)
    for name, path in artifacts.items():
        log.info("%-12s %s", name, path)
    return 0


def cmd_artifacts(args: argparse.Namespace) -> int:
    from .build import all_artifacts
    from .paths import find_root
    print(json.dumps(all_artifacts(root=find_root(), toolchain=Toolchain()), indent=2,
                     sort_keys=True))
    return 0


def cmd_host_test(args: argparse.Namespace) -> int:
    from .build import Builder
    return Builder().host_test()


class _BareConsoleLine(logging.Formatter):
    """Console records are ("[%s] %s", name, line): print the line alone."""

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.args, tuple) and len(record.args) == 2:
            return str(record.args[1])
        return super().format(record)


def _stream_console() -> None:
    from .console import CONSOLE
    console = logging.getLogger("keystone_py.console")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_BareConsoleLine())
    console.handlers[:] = [handler]
    console.setLevel(CONSOLE)
    console.propagate = False


def cmd_boot(args: argparse.Namespace) -> int:
    if args.linux:
        return _boot_linux(args)
    from .build import build_targets
    from .contract import PAYLOAD_DONE
    from .firmware import resolve_firmware
    from .machine import Machine
    from .tap import parse_tap

    artifacts = build_targets(["sm", "payload"])
    _stream_console()
    kernel = Path(args.kernel) if args.kernel else Path(artifacts["payload_bin"])
    with Machine(firmware=resolve_firmware(args.firmware, artifacts), kernel=kernel,
                 append=args.append, smp=args.smp, memory=args.memory, icount=args.icount,
                 extra_args=args.qemu_arg, gdb=args.gdb, name="boot") as m:
        if m.gdb_port:
            log.warning("QEMU is halted; attach with:\n  gdb-multiarch %s -ex 'target remote "
                        "127.0.0.1:%d'", artifacts.get("sm_elf", ""), m.gdb_port)
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
    from .build import build_targets
    from .guest import LinuxGuest, linux_machine
    from .machine import icount_arg

    artifacts = build_targets(["sm", "linux"])
    script = args.script if args.script is not None else ("" if args.interactive
                                                          else "cpus,poweroff")
    m = linux_machine(artifacts, firmware=args.firmware, smp=args.smp, script=script or None,
                      append_extra=args.append or "", icount=args.icount, memory=args.memory,
                      extra_args=args.qemu_arg, gdb=args.gdb, name="linux")
    if args.interactive:
        argv = [str(m.qemu), "-M", "virt", "-smp", str(m.smp), "-m", m.memory, "-nographic",
                "-bios", str(m.firmware), "-kernel", str(m.kernel), "-initrd", str(m.initrd),
                "-append", m.append or ""]
        if m.icount is not None:
            argv += ["-icount", icount_arg(m.icount)]
        argv += m.extra_args
        log.info("+ %s\n(/init prompt `ks> `: cpus, time, peek ADDR, run PROG, echo TEXT, "
                 "poweroff; Ctrl-A X quits QEMU)", shlex.join(argv))
        return subprocess.run(argv, check=False).returncode
    _stream_console()
    with m:
        if m.gdb_port:
            log.warning("QEMU is halted; attach with:\n  gdb-multiarch %s -ex 'target remote "
                        "127.0.0.1:%d'", artifacts.get("vmlinux", ""), m.gdb_port)
        guest = LinuxGuest(m)
        ready = guest.wait_ready(timeout=1e9 if args.gdb else args.timeout)
        status = m.wait_exit(timeout=1e9 if args.gdb else args.timeout)
        log.info("\nlinux: /init ready with %d cpus online at time %s; QEMU exit status %d; "
                 "logs in %s", ready.cpus, ready.time if ready.time is not None else
                 "unreadable", status, m.log_dir)
    return status


def cmd_run(args: argparse.Namespace) -> int:
    """Boots the whole stack and runs one program in the guest: a host app
    (``ks-demo all``, ``test-runner ...``), a path in the guest, or an eapp by
    name (run by ``test-runner`` with the default runtime and loader)."""
    from .build import build_targets
    from .guest import LinuxGuest, linux_machine
    from .hostapps import EAPPS, HOST_APPS

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
    artifacts = build_targets(["sm", "linux"])
    m = linux_machine(artifacts, firmware=args.firmware, smp=args.smp, memory=args.memory,
                      icount=args.icount, append_extra="quiet", extra_args=args.qemu_arg,
                      name="run")
    with m:
        guest = LinuxGuest(m)
        guest.wait_ready(timeout=args.timeout)
        guest.wait_prompt()
        _stream_console()  # from here on, the guest's console is ours
        result = guest.run(" ".join(argv), timeout=args.timeout)
        guest.poweroff()
    if result.signal is not None:
        log.info("%s: killed by signal %d (logs in %s)", app, result.signal, m.log_dir)
        return 128 + result.signal
    return result.status if result.status is not None else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench
    from .build import build_targets

    artifacts = build_targets(["sm", "payload"] + ([] if args.no_linux else ["linux"]))
    try:
        smps = [int(x) for x in args.smp.split(",") if x.strip()]
    except ValueError:
        raise KeystoneError(f"--smp {args.smp}: expected numbers like 1 or 1,4") from None
    report = run_bench(artifacts, firmwares=args.firmware or ["ours", "opensbi"],
                       linux_smp=[] if args.no_linux else smps, timeout=args.timeout)
    print(report.to_json() if args.json else report.format_table())
    if args.json_file:
        Path(args.json_file).write_text(report.to_json() + "\n")
        print(f"bench: JSON written to {args.json_file}", file=sys.stderr)
    if args.plot:
        print(f"bench: plot written to {report.plot(args.plot)}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_gdb(args: argparse.Namespace) -> int:
    from .build import ENCLAVE_TARGETS, build_targets
    from .gdbcli import run_gdb
    artifacts = build_targets(["sm", "payload", *ENCLAVE_TARGETS])
    return run_gdb(artifacts, app=args.app, breaks=args.breaks, smp=args.smp, ex=args.ex,
                   batch=args.batch, dry_run=args.dry_run)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="keystone-py",
        description="Build, boot and drive the keystone-rs security monitor in QEMU.",
        epilog="Logs of every QEMU run go to build/logs/<name>-<time>-<pid>/ "
               "(console.log, qemu-cmdline.txt, qemu-output.log, qmp.log, gdb.log).")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="debug output")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("doctor", help="check every tool; name the package that fixes a gap")
    s.set_defaults(func=cmd_doctor)
    s = sub.add_parser("setup", help="apt-get install the missing Debian packages (root)")
    s.set_defaults(func=cmd_setup)
    s = sub.add_parser("build", help="build firmware, payload and Linux into build/ (cached)")
    s.add_argument("targets", nargs="*", metavar="TARGET",
                   help="sm, payload, linux or all (default: all; linux = kernel Image, "
                        "vmlinux, /init and the initramfs)")
    s.add_argument("--force", action="store_true", help="ignore the cache, run cargo")
    s.set_defaults(func=cmd_build)
    s = sub.add_parser("artifacts", help="print a JSON object: artifact -> absolute path")
    s.set_defaults(func=cmd_artifacts)
    s = sub.add_parser("host-test", help="cargo test of pure-logic crates on this machine")
    s.set_defaults(func=cmd_host_test)
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
               "In gdb: `continue`, `ks-world` (which world), `info registers priv mstatus`.")
    s.add_argument("--app", default="hello", help="eapp to run (default hello)")
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
    s.set_defaults(func=cmd_gdb)
    s = sub.add_parser(
        "run", help="build what is stale, boot SM + Linux + driver, run APP in the guest, "
                    "stream its output, exit with its status",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  keystone-py run ks-demo all            # every example, a table\n"
               "  keystone-py run hello                  # an eapp through test-runner\n"
               "  keystone-py run fibonacci --retval 14930352\n"
               "  keystone-py run --smp 4 ks-demo procs 4 fibonacci")
    s.add_argument("app", help="host app (ks-demo, test-runner), eapp name, or guest path")
    s.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
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
    s = sub.add_parser("bench", help="our SM beside OpenSBI under -icount shift=0,sleep=off: SBI "
                                     "round trips (payload) and Linux boot to /init")
    s.add_argument("--smp", default="1", metavar="N[,N]",
                   help="harts of the Linux boots (default 1; e.g. 1,4)")
    s.add_argument("--firmware", action="append", choices=("ours", "opensbi"),
                   help="only this firmware (repeatable; default both)")
    s.add_argument("--no-linux", action="store_true", help="only the payload runs")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--json-file", metavar="FILE", help="also write the JSON to FILE")
    s.add_argument("--plot", metavar="FILE.png", help="write a PNG plot (needs matplotlib)")
    s.add_argument("--timeout", type=float, default=600.0,
                   help="seconds per run before giving up (default 600)")
    s.set_defaults(func=cmd_bench)
    from .cli_attest import register as register_attest
    register_attest(sub)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    _setup_logging(args.verbose, args.quiet)
    try:
        return int(args.func(args) or 0)
    except KeystoneError as exc:
        print(f"keystone-py {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"keystone-py {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

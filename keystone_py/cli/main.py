"""``keystone-py``: the command line for people.

    keystone-py doctor              check every tool, name the package that fixes a gap
    keystone-py setup               apt-get install what is missing (as root)
    keystone-py build [sm|payload|linux|all] [--force]
    keystone-py artifacts           one JSON object: artifact name -> absolute path
    keystone-py boot [--smp N] [--append ARGS] [--firmware ours|opensbi|PATH] [--icount N]
    keystone-py boot --linux [--script CMD,CMD] [--interactive] [--smp N] [--firmware ...]
    keystone-py bench [--smp N[,N]] [--json]   our SM beside OpenSBI and Keystone's, -icount
    keystone-py host-test           cargo test of the pure-logic crates on this machine
    keystone-py gdb [--app APP] [--break WORLD:FUNCTION]   gdb on a halted stack, all worlds
    keystone-py run APP [ARGS]      boot SM + Linux + driver, run a host app or an eapp in the
                                    guest, stream its output, exit with its status
    keystone-py new DIR [--lang rust|c] [--with-host]   a project of your own, outside
    keystone-py build --app DIR     build your eapp (C folder or Rust crate) into DIR/build
    keystone-py run --eapp FILE [--host FILE] [-- ARGS]  run your files in the guest
    keystone-py measure --loader F --runtime F --eapp F     predict an enclave's hash
    keystone-py attest verify REPORT --loader F ...         check a report against it

Errors are one paragraph with the fix, exit status 1, no traceback.
Only the standard library is imported at start-up, so ``doctor`` and ``setup``
work before the Python dependencies are installed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence

from .. import __version__
from ..errors import KeystoneError
from . import attest, boot, build, new, setup


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("keystone_py")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


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
    for register in (setup.register, build.register, boot.register, attest.register,
                     new.register):
        register(sub)
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

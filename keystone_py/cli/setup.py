"""``keystone-py doctor`` and ``keystone-py setup``: standard library only, so they
run on a fresh Debian before ``make setup`` has installed anything."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil

from ..errors import KeystoneError
from ..toolchain import PYTHON_FIX, Toolchain, format_report, run_attached


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
            rc = run_attached(argv, env=env)
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


def register(sub: argparse._SubParsersAction) -> None:
    """Adds ``doctor`` and ``setup``."""
    s = sub.add_parser("doctor", help="check every tool; name the package that fixes a gap")
    s.set_defaults(func=cmd_doctor)
    s = sub.add_parser("setup", help="apt-get install the missing Debian packages (root)")
    s.set_defaults(func=cmd_setup)

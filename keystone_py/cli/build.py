"""``keystone-py build``, ``artifacts`` and ``host-test`` (standard library only)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from ..build import Builder, all_artifacts, build_targets
from ..build.userapp import build_app
from ..errors import KeystoneError
from ..paths import find_root
from ..toolchain import Toolchain

log = logging.getLogger("keystone_py.cli")


def cmd_build(args: argparse.Namespace) -> int:
    if args.app:
        return _build_app(args)
    artifacts = build_targets(args.targets, force=args.force, zcore_sources=args.zcore_sources)
    for name, path in artifacts.to_dict().items():
        log.info("%-12s %s", name, path)
    return 0


def _build_app(args: argparse.Namespace) -> int:
    """``build --app DIR``: the user's C eapp folder or Rust crate, then (as
    ``run --eapp`` needs them) the loader and runtime."""
    if args.targets:
        raise KeystoneError("build: give either targets or --app DIR, not both.")
    result = build_app(Path(args.app), force=args.force)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    for name, path in result.eapps.items():
        log.info("eapp      %-16s %s", name, path)
    for name, path in result.hosts.items():
        log.info("host app  %-16s %s", name, path)
    return 0


def cmd_artifacts(args: argparse.Namespace) -> int:
    art = all_artifacts(root=find_root(), toolchain=Toolchain())
    print(json.dumps(art.to_dict(), indent=2, sort_keys=True))
    return 0


def cmd_host_test(args: argparse.Namespace) -> int:
    return Builder().host_test()


def register(sub: argparse._SubParsersAction) -> None:
    """Adds ``build``, ``artifacts`` and ``host-test``."""
    s = sub.add_parser("build", help="build firmware, payload and Linux into build/ (cached)")
    s.add_argument("targets", nargs="*", metavar="TARGET",
                   help="sm, payload, linux, zcore or all (default: all; linux = kernel Image, "
                        "vmlinux, /init and the initramfs; zcore = build/zcore.bin, only "
                        "with --zcore-sources or $KEYSTONE_ZCORE_SOURCES)")
    s.add_argument("--force", action="store_true", help="ignore the cache, run cargo")
    s.add_argument("--zcore-sources", metavar="DIR", default=None,
                   help="folder of zCore's source archives and MANIFEST.tsv (target zcore; "
                        "default: $KEYSTONE_ZCORE_SOURCES)")
    s.add_argument("--app", metavar="DIR", default=None,
                   help="build your own eapp: a C eapp folder (*.c, *.S; sdk/c) or a Rust "
                        "crate/workspace depending on keystone-enclave (eapps) and "
                        "keystone-host (host apps); outputs in DIR/build/")
    s.add_argument("--json", action="store_true", help="with --app: print the outputs as JSON")
    s.set_defaults(func=cmd_build)
    s = sub.add_parser("artifacts", help="print a JSON object: artifact -> absolute path")
    s.set_defaults(func=cmd_artifacts)
    s = sub.add_parser("host-test", help="cargo test of pure-logic crates on this machine")
    s.set_defaults(func=cmd_host_test)

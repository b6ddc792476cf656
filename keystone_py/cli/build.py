"""``keystone-py build``, ``artifacts`` and ``host-test`` (standard library only)."""

from __future__ import annotations

import argparse
import json
import logging

from ..build import Builder, all_artifacts, build_targets
from ..paths import find_root
from ..toolchain import Toolchain

log = logging.getLogger("keystone_py.cli")


def cmd_build(args: argparse.Namespace) -> int:
    artifacts = build_targets(args.targets, force=args.force)
    for name, path in artifacts.to_dict().items():
        log.info("%-12s %s", name, path)
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
                   help="sm, payload, linux or all (default: all; linux = kernel Image, "
                        "vmlinux, /init and the initramfs)")
    s.add_argument("--force", action="store_true", help="ignore the cache, run cargo")
    s.set_defaults(func=cmd_build)
    s = sub.add_parser("artifacts", help="print a JSON object: artifact -> absolute path")
    s.set_defaults(func=cmd_artifacts)
    s = sub.add_parser("host-test", help="cargo test of pure-logic crates on this machine")
    s.set_defaults(func=cmd_host_test)

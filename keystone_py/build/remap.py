"""The path remaps that make builds reproducible, written once.

Compilers put file paths into what they build (panic messages, debug info).
Each machine-specific folder is replaced by a fixed name, so two checkouts in
different folders, with different cargo homes and target folders, build the
same bytes, and a verifier can rebuild and predict every hash the SM measures:

* rustc ``--remap-path-prefix`` for the bare-metal crates (:mod:`.cargo`) and the
  user's Rust apps (:mod:`.userapp`);
* gcc ``-ffile-prefix-map`` for the C SDK and the user's C eapps (the Makefile
  ``keystone-py new`` writes spells the same two with ``$(CURDIR)`` and
  ``$(KEYSTONE)``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Sequence, Tuple

from ..toolchain import Toolchain, rust_sysroot

#: The fixed names the binaries see instead of the machine's folders.
CHECKOUT = "/keystone-rs"
CARGO_HOME = "/cargo-home"
TARGET = "/target"
RUST_SYSROOT = "/rust-sysroot"
APP = "/app"

Remaps = List[Tuple[Path, str]]


def cargo_home() -> Path:
    """Cargo's home (the crates' sources): ``$CARGO_HOME`` or ``~/.cargo``."""
    return Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")


def rust_remaps(root: Path, target_dir: Path, toolchain: Toolchain) -> Remaps:
    """(folder, fixed name) for a Rust build: the checkout, cargo's home, the
    target folder and, when rustc answers, its sysroot (core, alloc, std); each
    folder resolved."""
    pairs = [(Path(root), CHECKOUT), (cargo_home(), CARGO_HOME), (Path(target_dir), TARGET)]
    sysroot = rust_sysroot(toolchain.rustc)
    if sysroot is not None:
        pairs.append((sysroot, RUST_SYSROOT))
    return [(p.resolve(), name) for p, name in pairs]


def rustc_flags(remaps: Sequence[Tuple[Path, str]]) -> List[str]:
    """The remaps as rustc flags."""
    return [f"--remap-path-prefix={path}={name}" for path, name in remaps]


def c_prefix_maps(folder: Path, root: Path) -> List[str]:
    """gcc flags that name the app's folder ``/app`` and the checkout ``/keystone-rs``
    in debug info (the Makefile spells them with $(CURDIR) and $(KEYSTONE))."""
    return [f"-ffile-prefix-map={folder}={APP}", *c_checkout_map(root)]


def c_checkout_map(root: Path) -> List[str]:
    """The gcc flag that names the checkout ``/keystone-rs`` (the C SDK's library)."""
    return [f"-ffile-prefix-map={root}={CHECKOUT}"]

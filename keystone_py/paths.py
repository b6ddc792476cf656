"""Where the repository and its build outputs are."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import KeystoneError


def _looks_like_root(path: Path) -> bool:
    return (path / "Cargo.toml").is_file() and (path / "sm_rs").is_dir()


def find_root(start: Path | None = None) -> Path:
    """The repository root: ``$KEYSTONE_PY_ROOT``, else the first folder upwards
    from ``start`` (default: the current directory) holding ``Cargo.toml`` and
    ``sm_rs/``, else the checkout this package was imported from."""
    env = os.environ.get("KEYSTONE_PY_ROOT")
    if env:
        root = Path(env).resolve()
        if not _looks_like_root(root):
            raise KeystoneError(f"KEYSTONE_PY_ROOT={env} is not a keystone-rs checkout "
                                "(no Cargo.toml and sm_rs/ there).")
        return root
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if _looks_like_root(candidate):
            return candidate
    pkg_root = Path(__file__).resolve().parent.parent
    if _looks_like_root(pkg_root):
        return pkg_root
    raise KeystoneError(
        f"cannot find the keystone-rs checkout from {here}: run keystone-py inside the "
        "repository, or set KEYSTONE_PY_ROOT to its path.")


def build_dir(root: Path | None = None) -> Path:
    """``<root>/build``, where every output goes (git-ignored)."""
    return (root or find_root()) / "build"


def logs_dir(root: Path | None = None) -> Path:
    """``<root>/build/logs``: default parent of every Machine's log folder."""
    return build_dir(root) / "logs"

"""Keystone's own sources (its examples' host programs and eapps), for tests
that compile them unchanged as test inputs. They are not part of this
repository: ``KEYSTONE_SOURCES`` names a folder holding either Keystone's tree
(``keystone/examples``, or ``examples`` itself) or its source archive
(``keystone-*.tar.gz``, unpacked once under ``build/keystone-src``). Tests
skip, saying so, when it is not given."""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path
from typing import Optional

import pytest

ENV = "KEYSTONE_SOURCES"


def _tree_in(folder: Path) -> Optional[Path]:
    for cand in (folder / "keystone", folder):
        if (cand / "examples" / "tests" / "test-runner.cpp").is_file():
            return cand
    return None


def keystone_tree(build_dir: Path) -> Path:
    """Keystone's source tree (the folder holding ``examples/`` and ``sdk/``);
    skips the calling test when ``KEYSTONE_SOURCES`` is unset or holds neither."""
    given = os.environ.get(ENV)
    if not given:
        pytest.skip(f"{ENV} is not set: it names the folder of Keystone's sources "
                    "(its tree or keystone-*.tar.gz), which these tests compile unchanged")
    folder = Path(given).expanduser().resolve()
    tree = _tree_in(folder)
    if tree:
        return tree
    archives = sorted(folder.glob("keystone-*.tar.gz")) if folder.is_dir() else []
    if not archives:
        pytest.skip(f"{ENV}={folder}: neither Keystone's tree nor a keystone-*.tar.gz there")
    archive = archives[-1]
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    dest = build_dir / "keystone-src" / digest
    tree = _tree_in(dest)
    if tree:
        return tree
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    tree = _tree_in(dest)
    if not tree:
        pytest.skip(f"{archive} holds no examples/tests/test-runner.cpp")
    return tree

"""The build cache every builder uses: a key that hashes a step's inputs, and a
stamp file that remembers the key its outputs were built from.

A step is fresh when its stamp holds the current key and every output exists;
then it is not run at all, so a no-change ``keystone-py build`` takes about a
second. Keys hash file *contents* and relative paths (moving the checkout or
touching a file does not change them) plus whatever else the outputs depend on
(``rustc -vV``, the build flags, a cross compiler's version).
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import time
from pathlib import Path
from typing import Any, Iterable, List, Union

#: Folder names never hashed (build outputs, caches).
SKIP_DIRS = frozenset({"target", ".git", "__pycache__", "build", ".pytest_cache"})


def iter_input_files(root: Path, inputs: Iterable[str]) -> List[Path]:
    """Every file under ``inputs`` (files or folders, relative to ``root``), sorted,
    skipping build-output folders. Missing inputs are skipped (e.g. no Cargo.lock)."""
    files = set()
    for rel in inputs:
        p = root / rel
        if p.is_file():
            files.add(p)
        elif p.is_dir():
            for f in p.rglob("*"):
                if f.is_file() and not SKIP_DIRS.intersection(f.relative_to(root).parts):
                    files.add(f)
    return sorted(files)


def compute_cache_key(root: Path, inputs: Iterable[str], extra: str = "") -> str:
    """SHA-256 over the relative path and content of every input file, plus
    ``extra`` (toolchain version, build flags). Moving the checkout does not change
    the key; touching a file without changing it does not either."""
    h = hashlib.sha256()
    h.update(extra.encode())
    for f in iter_input_files(root, inputs):
        rel = f.relative_to(root).as_posix().encode()
        data = f.read_bytes()
        h.update(b"\0F" + rel + b"\0" + str(len(data)).encode() + b"\0")
        h.update(data)
    return h.hexdigest()


def digest(*parts: Union[bytes, str]) -> str:
    """SHA-256 (hex) of ``parts`` one after the other: the key of a step whose
    inputs are not a file tree (a single source, a tarball's identity, a version)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
    return h.hexdigest()


class Stamp:
    """One step's stamp file: ``{"key": ..., "built": <time>, ...}`` (JSON)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def key(self) -> str:
        """The key the outputs were last built from ("" when there is no stamp)."""
        try:
            return str(json.loads(self.path.read_text()).get("key", ""))
        except (OSError, ValueError, AttributeError):
            return ""

    def fresh(self, key: str, outputs: Iterable[Path] = ()) -> bool:
        """The stamp holds ``key`` and every output exists (file or folder)."""
        return self.key() == key and all(Path(p).exists() for p in outputs)

    def write(self, key: str, **info: Any) -> None:
        """Records ``key`` (call it once the outputs are in place)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"key": key, **info, "built": time.time()}) + "\n")


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, read a MiB at a time (archives,
    tarballs: what a pinned download is checked against)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def extract_tar(archive: Path, dest: Path) -> None:
    """Unpacks ``archive`` into ``dest``, refusing members that would land
    outside it: tarfile's "data" filter where this Python has it (3.12,
    3.11.4+), the same check by hand on older ones (Debian 12's 3.11.2)."""
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
            return
        def escapes(name: str) -> bool:
            return name.startswith("/") or ".." in Path(name).parts

        bad = [m.name for m in tar.getmembers()
               if escapes(m.name) or ((m.issym() or m.islnk()) and escapes(m.linkname))
               or not (m.isfile() or m.isdir() or m.issym() or m.islnk())]
        if bad:
            raise ValueError(f"{archive}: members outside the folder: {bad[:5]}")
        tar.extractall(dest)

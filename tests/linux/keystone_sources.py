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
from typing import Dict, List, Optional

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
        if hasattr(tarfile, "data_filter"):  # Python 3.12, 3.11.4+
            tar.extractall(dest, filter="data")
        else:  # Debian 12's 3.11.2 has no filters: refuse the names "data" would
            bad = [m.name for m in tar.getmembers()
                   if m.name.startswith("/") or ".." in Path(m.name).parts]
            if bad:
                pytest.fail(f"{archive}: members outside the folder: {bad[:5]}")
            tar.extractall(dest)
    tree = _tree_in(dest)
    if not tree:
        pytest.skip(f"{archive} holds no examples/tests/test-runner.cpp")
    return tree


def keystone_driver(tree: Path, root: Path, toolchain) -> Path:
    """Keystone's Linux driver (``linux-keystone-driver/``, unchanged) built out
    of tree against this checkout's kernel build, in ``build/keystone-driver``
    (rebuilt when its sources or the kernel changed)."""
    from keystone_py.build import LinuxBuilder, Stamp, digest
    from keystone_py.build.runner import run_logged

    linux = LinuxBuilder(root=root, toolchain=toolchain)
    src = tree / "linux-keystone-driver"
    files = sorted(p for p in src.iterdir() if p.is_file())
    key = digest(*(p.read_bytes() for p in files),
                 (linux.dir / "kernel.stamp").read_text())
    out = root / "build" / "keystone-driver"
    module = out / "keystone-driver.ko"
    stamp = Stamp(out / "driver.stamp")
    if stamp.fresh(key, [module]):
        return module
    work = out / "src"
    if work.exists():
        import shutil
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for p in files:
        (work / p.name).write_bytes(p.read_bytes())
    run_logged(["make", "-C", linux.src, f"O={linux.obj}", "ARCH=riscv",
                "CROSS_COMPILE=riscv64-linux-gnu-", f"M={work}",
                f"KEYSTONE_SDK_DIR={tree / 'sdk'}", "modules"],
               "make Keystone's driver", out / "make.log")
    (work / "keystone-driver.ko").replace(module)
    stamp.write(key)
    return module


#: Keystone's host programs: name -> the sources its CMake names (examples/).
HOSTS: Dict[str, List[str]] = {
    "test-runner": ["tests/test-runner.cpp", "tests/edge_wrapper.cpp"],
    "hello-runner": ["hello/host/host.cpp"],
    "hello-native-runner": ["hello-native/host/host_native.cpp"],
    "attestor-runner": ["attestation/host/attestor-runner.cpp", "attestation/host/host.cpp",
                        "attestation/host/verifier.cpp"],
}


def keystone_hosts(tree: Path, root: Path, toolchain) -> Dict[str, Path]:
    """Keystone's host programs compiled, sources untouched, against sdk/cpp
    (in ``build/cpp-keystone-hosts``, cached by their sources)."""
    from keystone_py.build.cppsdk import CppSdkBuilder

    sdk = CppSdkBuilder(root, toolchain)
    out = root / "build" / "cpp-keystone-hosts"
    return {name: sdk.host_program([tree / "examples" / s for s in srcs], out / name)
            for name, srcs in HOSTS.items()}


def keystone_c_eapp(dest: Path, files: Dict[str, Path]) -> Path:
    """A C eapp folder holding exactly ``files`` (name -> Keystone's source),
    built with `build --app`; its ELF."""
    import shutil

    from keystone_py.build.userapp import build_app

    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name, src in files.items():
        shutil.copy2(src, dest / name)
    return build_app(dest).eapp()

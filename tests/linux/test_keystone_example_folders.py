"""Keystone's example folders, copied unchanged, built by `keystone-py build --app`
and run on our SM, driver, runtime and C++ host SDK.

Each of Keystone's examples is a folder with ``eapp/`` (the enclave program),
``host/`` (its C++ host) and a CMakeLists.txt: ``build --app`` takes that layout
as it is, reading the sources and not the CMake file. ``hello`` is a plain static
glibc program (``main``, ``printf``; no eapp library), which Keystone's CMake
builds with the Linux toolchain; ``hello-native`` and ``attestation`` use the
eapp library. Each host then runs its eapp with our runtime and loader.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict

import pytest

from keystone_py.build.userapp import build_app

from .guests import overlay_guest
from .keystone_sources import EXPECTED_LINES, keystone_tree

#: Keystone's example folder -> the name its eapp's expected lines go by.
FOLDERS = {"hello": "hello", "hello-native": "hello-native", "attestation": "attestor"}
RT_LD = "/enclave/eyrie-rt /enclave/loader.bin"


@pytest.fixture(scope="module")
def builds(ks_paths, tmp_path_factory) -> Dict[str, object]:
    """Each example folder copied unchanged and built with ``build --app``."""
    examples = keystone_tree(ks_paths.build_dir) / "examples"
    work = tmp_path_factory.mktemp("keystone-example-folders")
    out = {}
    for folder in FOLDERS:
        shutil.copytree(examples / folder, work / folder)
        out[folder] = build_app(work / folder, root=ks_paths.root,
                                toolchain=ks_paths.toolchain)
    return out


@pytest.fixture(scope="module")
def runs(builds, ks_paths, ks_linux, ks_enclave, tmp_path_factory):
    files: Dict[str, Path] = {"user/sm.bin": ks_paths.sm_bin}
    for folder, b in builds.items():
        files[f"user/{folder}/eapp"] = b.eapp()
        files[f"user/{folder}/host"] = b.hosts[f"{folder}-host"]
    out = {}
    with overlay_guest(ks_paths, ks_linux, ks_enclave, files,
                       tmp_path_factory.mktemp("example-folders")) as guest:
        for folder in FOLDERS:
            extra = " --sm-bin /user/sm.bin" if folder == "attestation" else ""
            out[folder] = guest.run(f"/user/{folder}/host /user/{folder}/eapp {RT_LD}{extra}",
                                    600)
    return out


@pytest.mark.parametrize("folder", list(FOLDERS))
def test_the_folder_builds_an_eapp_and_its_host(builds, folder):
    b = builds[folder]
    assert b.kind == "c" and b.eapp().is_file(), b
    assert f"{folder}-host" in b.hosts, b


def test_hello_is_built_as_a_static_linux_program(builds):
    data = builds["hello"].eapp().read_bytes()
    assert b"__libc_start_main" in data  # glibc inside: Keystone's hello is a Linux program
    assert b"__libc_start_main" not in builds["hello-native"].eapp().read_bytes()


@pytest.mark.parametrize("folder", list(FOLDERS))
def test_the_host_runs_its_eapp_as_keystone_expects(runs, folder):
    run = runs[folder]
    assert run.status == 0, str(run)
    missing = [ln for ln in EXPECTED_LINES[FOLDERS[folder]] if ln not in run.lines]
    assert not missing, f"missing {missing}\n{run}"

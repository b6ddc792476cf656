"""Reproducible builds: a second clean build of the firmware, the payload and
the enclave files (in a fresh target directory) is bit-for-bit identical to
the tree's build, so the measurements Python predicts from files hold."""

from __future__ import annotations

import hashlib

from keystone_py.build import Builder, resolve_target

TARGETS = ("sm", "payload", "loader", "runtime", "eapp_hello", "eapp_attestation")


def test_a_second_clean_build_is_bit_for_bit_identical(ks_paths, tmp_path):
    fresh = Builder(root=ks_paths.root, toolchain=ks_paths.toolchain)
    fresh.build_dir = tmp_path / "build"
    fresh.target_dir = tmp_path / "target"
    fresh.build_dir.mkdir()
    fresh.build(TARGETS, force=True)
    reference = Builder(root=ks_paths.root, toolchain=ks_paths.toolchain)
    reference.build(TARGETS)
    for name in TARGETS:
        t = resolve_target(name)
        mine, theirs = fresh.bin_path(t).read_bytes(), reference.bin_path(t).read_bytes()
        assert mine == theirs, (f"{name}: sha3 {hashlib.sha3_512(mine).hexdigest()[:16]} != "
                                f"{hashlib.sha3_512(theirs).hexdigest()[:16]}")


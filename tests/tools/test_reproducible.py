"""Reproducible builds: a second clean build of the firmware, the payload and
the enclave files (in a fresh target directory) is bit-for-bit identical to
the tree's build, and so are the builds of two clones in other folders with
other cargo homes, so the measurements Python predicts from files hold
wherever a verifier rebuilds."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

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



def test_two_checkouts_in_different_folders_with_different_cargo_homes_build_the_same_bytes(
        ks_paths, tmp_path):
    """A verifier rebuilds from source anywhere: two clones of HEAD in folders of
    different names and lengths, each with its own fresh cargo home (crates
    fetched again, sources at other paths), build bit-identical SM and enclave
    files, so both predict the same SM hash and measurements."""
    sums = {}
    for name in ("a", "a-checkout-in-a-longer-folder"):
        dest = tmp_path / name / "keystone-rs"
        subprocess.run(["git", "clone", "-q", str(ks_paths.root), str(dest)], check=True,
                       timeout=120)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("KEYSTONE_PY_", "CARGO_TARGET_DIR"))}
        env["CARGO_HOME"] = str(tmp_path / f"cargo-home-{name}")
        res = subprocess.run([sys.executable, "-m", "keystone_py", "build", *TARGETS],
                             cwd=dest, env=env, capture_output=True, text=True, timeout=1800)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        files = {}
        for target in TARGETS:
            t = resolve_target(target)
            for ext in ("bin", "elf"):
                path = dest / "build" / f"{t.out_stem}.{ext}"
                files[path.name] = hashlib.sha3_512(path.read_bytes()).hexdigest()
        sums[name] = files
    first, second = sums.values()
    assert first == second, {k: (first[k][:16], second[k][:16]) for k in first
                             if first[k] != second.get(k)}
    print(f"SM hash in both folders: {first['sm_rs.bin']}")

"""The bare-metal build, run for real: `keystone-py artifacts` and the cache."""

import json
import subprocess
import sys

from keystone_py.build import Builder


def test_artifacts_command_prints_one_json_object_of_absolute_paths(ks_paths):
    res = subprocess.run([sys.executable, "-m", "keystone_py", "artifacts"], cwd=ks_paths.root,
                         capture_output=True, text=True, timeout=60, check=True)
    artifacts = json.loads(res.stdout)
    assert {"sm_elf", "sm_bin", "payload_elf", "payload_bin"} <= set(artifacts)
    for path in artifacts.values():
        assert path.startswith("/") and open(path, "rb").read(1)


def test_second_build_is_a_cache_hit_without_cargo(ks_paths, monkeypatch):
    def no_cargo(self, targets):
        raise AssertionError(f"cargo ran for {targets} on an unchanged tree")

    monkeypatch.setattr(Builder, "_cargo_build", no_cargo)
    artifacts = Builder(root=ks_paths.root, toolchain=ks_paths.toolchain).build()
    # The same paths as the session's first build (which may also hold the Linux
    # artifacts, when a Linux test ran first).
    first = ks_paths.artifacts.to_dict()
    assert all(first.get(name) == path for name, path in artifacts.to_dict().items())
    assert (artifacts.sm_bin, artifacts.payload_bin) == (ks_paths.sm_bin, ks_paths.payload_bin)

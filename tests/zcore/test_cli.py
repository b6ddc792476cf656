"""`keystone-py build zcore` and `keystone-py boot --host zcore`, as a user runs them."""

import os
import subprocess
import sys

from keystone_py.build.zcore import SOURCES_ENV


def ks(root, *args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "keystone_py", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_build_zcore_is_a_cache_hit_once_built(ks_paths, zcore_build):
    res = ks(ks_paths.root, "build", "zcore")
    assert res.returncode == 0, res.stderr
    assert "zcore: up to date (cache hit)" in res.stderr


def test_build_zcore_without_sources_says_how_to_give_them(ks_paths, zcore_build):
    env = {k: v for k, v in os.environ.items() if k != SOURCES_ENV}
    res = ks(ks_paths.root, "build", "zcore", env=env)
    assert res.returncode == 1
    assert "zcore: no sources folder given" in res.stderr
    assert "--zcore-sources DIR" in res.stderr and SOURCES_ENV in res.stderr


def test_boot_host_zcore_runs_the_root_process_given(ks_paths, zcore_build):
    res = ks(ks_paths.root, "boot", "--host", "zcore", "--rootproc", "/bin/hello cli 12",
             "--smp", "2", "--timeout", "120")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "zcore-hello: argc=3 [cli] [12]" in res.stdout
    assert "zcore-hello: fib(12)=144" in res.stdout
    assert "zcore: saw 'zcore-hello: done'" in res.stderr

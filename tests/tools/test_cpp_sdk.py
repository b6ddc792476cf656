"""sdk/cpp on the build machine: its SHA3-512 (our own Keccak, behind
Enclave::measure and hash_util.hpp) equals Python's at every length around the
block boundaries, incrementally too; its public headers compile as C++11 (the
standard Keystone's hello-native host is built with) and C++17."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CPP = REPO / "sdk/cpp"
CC, CXX = shutil.which("gcc"), shutil.which("g++")
INCLUDES = [f"-I{REPO / d}" for d in ("sdk/cpp/include", "sdk/cpp/include/host",
                                      "sdk/c/include", "sdk/c/include/edge")]

SHA3_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include "common/sha3.h"
int main(int argc, char** argv) {
  size_t n = strtoul(argv[1], 0, 10), step = strtoul(argv[2], 0, 10);
  unsigned char* buf = malloc(n + 1), md[64];
  for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(i * 7 + 3);
  sha3_ctx_t c;
  sha3_init(&c, 64);
  for (size_t at = 0; at < n; at += step) sha3_update(&c, buf + at, at + step > n ? n - at : step);
  sha3_final(md, &c);
  for (int i = 0; i < 64; i++) printf("%02x", md[i]);
  printf("\n");
  return 0;
}
"""


@pytest.fixture(scope="module")
def sha3_exe(tmp_path_factory) -> Path:
    if CC is None:
        pytest.skip("no host gcc")
    d = tmp_path_factory.mktemp("sha3")
    (d / "main.c").write_text(SHA3_MAIN)
    exe = d / "sha3"
    subprocess.run([CC, "-O2", "-Wall", "-Werror", *INCLUDES, str(d / "main.c"),
                    str(CPP / "src/sha3.c"), "-o", str(exe)], check=True)
    return exe


@pytest.mark.parametrize("length", [0, 1, 71, 72, 73, 143, 144, 145, 4096, 10007])
@pytest.mark.parametrize("step", [1, 72, 1000])
def test_sha3_512_matches_pythons(sha3_exe, length, step):
    data = bytes((i * 7 + 3) & 0xFF for i in range(length))
    out = subprocess.run([str(sha3_exe), str(length), str(step)], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == hashlib.sha3_512(data).hexdigest()


def test_sha3_init_refuses_other_sizes(tmp_path):
    if CC is None:
        pytest.skip("no host gcc")
    (tmp_path / "m.c").write_text('#include "common/sha3.h"\nint main(void) { sha3_ctx_t c; '
                                  "return sha3_init(&c, 64) == 0 && sha3_init(&c, 20) == -1 "
                                  "&& sha3_init(&c, 32) == 0 ? 0 : 1; }\n")
    exe = tmp_path / "m"
    subprocess.run([CC, *INCLUDES, str(tmp_path / "m.c"), str(CPP / "src/sha3.c"), "-o",
                    str(exe)], check=True)
    assert subprocess.run([str(exe)], check=False).returncode == 0


@pytest.mark.parametrize("std", ["c++11", "c++17"])
def test_the_headers_compile_by_keystones_names(tmp_path, std):
    if CXX is None:
        pytest.skip("no host g++")
    src = tmp_path / "all.cpp"
    src.write_text(
        '#include "host/keystone.h"\n#include <keystone.h>\n#include "edge/edge_call.h"\n'
        '#include <edge_call.h>\n#include "verifier/report.h"\n'
        '#include "verifier/test_dev_key.h"\n#include "common/sha3.h"\n'
        '#include "host/hash_util.hpp"\n'
        "int main() { Keystone::Params p; p.setFreeMemSize(1 << 20); p.setUntrustedSize(8192);\n"
        "  static_assert(sizeof(report_t) == 1352, \"report\");\n"
        "  Keystone::Enclave e; (void)e; return p.getFreeMemSize() == (1 << 20) &&"
        " _sanctum_dev_public_key[0] ? 0 : 1; }\n")
    proc = subprocess.run([CXX, f"-std={std}", "-Wall", "-Werror", "-fsyntax-only", *INCLUDES,
                           str(src)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr

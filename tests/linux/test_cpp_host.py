"""The C++ host SDK (sdk/cpp) on our Linux driver and on Keystone's: Keystone's
own host programs (its tests' test-runner, the hello, hello-native and
attestation examples), compiled unchanged against our headers, run Keystone's
eapps (compiled unchanged with `build --app`, or static glibc for hello) on our
runtime and return Keystone's expected values, one boot per driver (Keystone's
driver built unchanged from its sources and loaded in place of ours).
Keystone's sources come from $KEYSTONE_SOURCES (tests/linux/keystone_sources.py);
without them the tests skip."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Dict

import pytest

from .guests import overlay_guest
from .keystone_sources import keystone_c_eapp, keystone_driver, keystone_hosts, keystone_tree

#: Keystone's test eapps (examples/tests: the sources its CMake names for
#: each) and the value each returns (its `retval` file).
TEST_EAPPS = {
    "stack": ["stack/stack.S"],
    "loop": ["loop/loop.s"],
    "malloc": ["malloc/malloc.c"],
    "fibonacci": ["fibonacci/fibonacci.c"],
    "attestation": ["attestation/attestation.c", "attestation/edge_wrapper.c",
                    "attestation/edge_wrapper.h"],
    "untrusted": ["untrusted/untrusted.c", "untrusted/edge_wrapper.c",
                  "untrusted/edge_wrapper.h"],
    "data-sealing": ["data-sealing/data-sealing.c", "data-sealing/data-sealing.h"],
}
RT, LD = "/enclave/eyrie-rt", "/enclave/loader.bin"
#: Free memory Keystone's hello-runner gives its enclave (Params setFreeMemSize).
HELLO_RUNNER_FREE = 256 * 1024
#: A static glibc eapp of our own: buffered stdio, a heap block from malloc
#: (brk), and a sum the reader can check (1 + ... + 1000 = 500500).
GLIBC_TALLY = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    unsigned long *v = malloc(1000 * sizeof *v);
    unsigned long sum = 0;
    if (v == NULL) return 3;
    for (int i = 0; i < 1000; i++) v[i] = (unsigned long)i + 1;
    for (int i = 0; i < 1000; i++) sum += v[i];
    printf("tally of %d numbers: %lu\n", 1000, sum);
    free(v);
    return sum == 500500 ? 0 : 4;
}
"""


@pytest.fixture(scope="module")
def tree(ks_paths) -> Path:
    return keystone_tree(ks_paths.build_dir)


@pytest.fixture(scope="module")
def hosts(tree, ks_paths) -> Dict[str, Path]:
    """Keystone's host programs built against sdk/cpp, their sources untouched."""
    return keystone_hosts(tree, ks_paths.root, ks_paths.toolchain)


@pytest.fixture(scope="module")
def eapps(tree, ks_paths, tmp_path_factory) -> Dict[str, Path]:
    """Keystone's eapps, sources unchanged: the tests' and the examples'."""
    work = tmp_path_factory.mktemp("keystone-eapps")
    ex = tree / "examples"
    out = {}
    for name, srcs in TEST_EAPPS.items():
        out[name] = keystone_c_eapp(work / name, {Path(s).name: ex / "tests" / s for s in srcs})
    out["hello-native"] = keystone_c_eapp(
        work / "hello-native", {"eapp_native.c": ex / "hello-native/eapp/eapp_native.c"})
    out["attestor"] = keystone_c_eapp(
        work / "attestor", {"attestor.c": ex / "attestation/eapp/attestor.c"})
    # hello: a static glibc program, as Keystone builds it.
    hello = work / "hello"
    gcc = str(ks_paths.toolchain.require("linux-gcc"))
    subprocess.run([gcc, "-static", "-O2", str(ex / "hello/eapp/hello.c"), "-o", str(hello)],
                   check=True, capture_output=True, text=True)
    out["hello"] = hello
    # Our own static glibc program: stdio, the malloc heap (brk) and a
    # value computed at run time, to run with exactly 256 KiB of free memory.
    ours = work / "glibc-tally.c"
    ours.write_text(GLIBC_TALLY)
    tally = work / "glibc-tally"
    subprocess.run([gcc, "-static", "-O2", str(ours), "-o", str(tally)],
                   check=True, capture_output=True, text=True)
    out["glibc-tally"] = tally
    return out


def expected_retval(tree: Path, name: str) -> int:
    return int((tree / "examples/tests" / name / "retval").read_text().split()[0])


@pytest.fixture(scope="module", params=["our-driver", "keystones-driver"])
def runs(request, tree, hosts, eapps, ks_paths, ks_linux, ks_enclave, tmp_path_factory):
    """Every program in one boot per driver (the SM with the development device
    key, which sdk/cpp's verifier/test_dev_key.h holds)."""
    files = {f"user/bin/{n}": p for n, p in hosts.items()}
    if request.param == "keystones-driver":
        # Later in the initramfs than ours: /init loads Keystone's module.
        files["lib/modules/keystone-driver.ko"] = keystone_driver(tree, ks_paths.root,
                                                                  ks_paths.toolchain)
    files.update({f"user/eapp/{n}": p for n, p in eapps.items()})
    files["user/sm.bin"] = ks_paths.sm_bin
    out = {"driver": request.param}
    with overlay_guest(ks_paths, ks_linux, ks_enclave, files,
                       tmp_path_factory.mktemp("cpp-host")) as guest:
        # Which driver is loaded: ours maps the EPM whole, Keystone's page by page.
        out["which"] = guest.run(f"/bin/test-runner /user/eapp/loop {RT} {LD}", 600)
        for name in TEST_EAPPS:
            out[name] = guest.run(f"/user/bin/test-runner /user/eapp/{name} {RT} {LD} "
                                  f"--retval {expected_retval(tree, name)}", 600)
        # The check itself: a wrong expectation is reported.
        out["wrong-retval"] = guest.run(f"/user/bin/test-runner /user/eapp/loop {RT} {LD} "
                                        "--retval 7", 600)
        out["hello"] = guest.run(f"/user/bin/hello-runner /user/eapp/hello {RT} {LD}", 600)
        # The same eapp through the C++ SDK with 1 MiB of free memory (hello-runner gives 256 KiB).
        out["hello-1m"] = guest.run("/bin/ks-cpp-demo run /user/eapp/hello 0", 600)
        # Our static glibc eapp through the Rust host SDK, as much free memory as hello-runner.
        out["tally-256k"] = guest.run("/bin/ks-demo one /user/eapp/glibc-tally "
                                      f"--free-mem {HELLO_RUNNER_FREE}", 600)
        out["hello-native"] = guest.run(
            f"/user/bin/hello-native-runner /user/eapp/hello-native {RT} {LD}", 600)
        out["attestor"] = guest.run(f"/user/bin/attestor-runner /user/eapp/attestor {RT} {LD} "
                                    "--sm-bin /user/sm.bin", 600)
    return out


def test_the_driver_is_the_one_named(runs):
    want = "page-by-page" if runs["driver"] == "keystones-driver" else "whole"
    assert f"EPM mapped {want}" in runs["which"].output, str(runs["which"])


@pytest.mark.parametrize("name", list(TEST_EAPPS))
def test_keystones_test_runner_gets_keystones_value(runs, name):
    run = runs[name]
    assert run.status == 0, str(run)
    assert "[FAIL]" not in run.output, str(run)
    assert "failed" not in run.output.lower(), str(run)


def test_test_runner_reports_a_wrong_value(runs):
    run = runs["wrong-retval"]
    assert "[FAIL] enclave returned a wrong value (54321 != 7)" in run.output, str(run)


def test_untrusted_talks_both_ways(runs):
    lines = [ln.strip() for ln in runs["untrusted"].lines]
    assert lines[:4] == ["Enclave said: hello world!", "Enclave said: 2nd hello world!",
                         "Enclave said value: 13", "Enclave said value: 20"], lines


def test_test_runners_verifier_accepts_our_report(runs):
    assert "Attestation report SIGNATURE is valid" in runs["attestation"].output


def test_data_sealing_derives_its_key(runs):
    assert "Enclave said: Sealing key derivation successful!" in runs["data-sealing"].output


def test_hello_prints_through_the_cpp_host_with_a_mebibyte_free(runs):
    run = runs["hello-1m"]
    assert run.status == 0, str(run)
    # One ocall for printf's write, and one for a path glibc's start-up looks
    # up (readlinkat/faccessat), which the runtime asks the host about and
    # this host, serving no files, refuses.
    assert "hello, world!" in run.output and "returned 0 (ocalls 2," in run.output, str(run)


def test_keystones_hello_runner_prints_hello(runs):
    """hello-runner gives 256 KiB of free memory; the runtime maps the eapp's
    whole file pages in place (as Eyrie does), so static glibc fits."""
    run = runs["hello"]
    assert run.status == 0 and "hello, world!" in run.output, str(run)


def test_our_static_glibc_eapp_finishes_with_256_kib_free(runs):
    run = runs["tally-256k"]
    assert run.status == 0, str(run)
    assert "tally of 1000 numbers: 500500" in run.output, str(run)
    assert "one: /user/eapp/glibc-tally returned 0 (" in run.output, str(run)


def test_hello_native_ocall(runs):
    run = runs["hello-native"]
    assert run.status == 0 and 'Enclave said: "Hello World"' in run.output, str(run)


def test_attestation_example_verifies_everything(runs):
    """Keystone's verifier: both signatures, the enclave hash it computes with
    Enclave::measure, the SM hash from the firmware file, and the nonce."""
    out = runs["attestor"].output
    assert runs["attestor"].status == 0, out
    for line in ("Attestation report SIGNATURE is valid",
                 "Enclave and SM hashes match with expected.",
                 "Returned data in the report match with the nonce sent."):
        assert line in out, out

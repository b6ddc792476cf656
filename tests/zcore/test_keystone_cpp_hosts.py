"""Keystone's host programs compiled unchanged against the C++ host SDK
(sdk/cpp) run on zCore's /dev/keystone_enclave as its root process: the
tests' test-runner with Keystone's `untrusted` eapp (ocalls both ways, its
expected value checked by test-runner itself) and the hello-native example.
Needs zCore's sources and Keystone's ($KEYSTONE_SOURCES); skips otherwise."""

from __future__ import annotations

import re

import pytest

from keystone_py.qemu import resolve_firmware
from keystone_py.qemu.zcore import ZCORE_BOOTED, ZCORE_USER_FAULT, zcore_machine

from ..linux.keystone_sources import keystone_c_eapp, keystone_hosts, keystone_tree
from .conftest import ZCORE_TIMEOUT

ANSI = re.compile(r"\x1b\[[0-9;]*m")
RT, LD = "/enclave/eyrie-rt", "/enclave/loader.bin"


@pytest.fixture(scope="module")
def image(ks_paths, zcore_build, tmp_path_factory):
    tree = keystone_tree(ks_paths.build_dir)
    hosts = keystone_hosts(tree, ks_paths.root, ks_paths.toolchain)
    work = tmp_path_factory.mktemp("keystone-eapps")
    ex = tree / "examples"
    untrusted = keystone_c_eapp(work / "untrusted", {
        n: ex / "tests/untrusted" / n for n in ("untrusted.c", "edge_wrapper.c",
                                                "edge_wrapper.h")})
    native = keystone_c_eapp(work / "hello-native",
                             {"eapp_native.c": ex / "hello-native/eapp/eapp_native.c"})
    extra = {"user/test-runner": hosts["test-runner"],
             "user/hello-native-runner": hosts["hello-native-runner"],
             "user/untrusted": untrusted, "user/hello-native": native}
    return zcore_build.default_root_image(extra, out=zcore_build.dir / "rootfs-keystone-cpp.img")


def boot(ks_paths, zcore_build, image, ks_log_dir, argv, name, want, fail=(r"\[FAIL\]",)):
    fw = resolve_firmware(ks_paths.firmware_choice, ks_paths.artifacts, ks_paths.toolchain)
    m = zcore_machine(fw, zcore_build.image, image, argv, extra_args=ks_paths.qemu_args,
                      name=name, log_dir=ks_log_dir / name)
    try:
        m.launch()
        m.expect(ZCORE_BOOTED, timeout=ZCORE_TIMEOUT)
        m.expect(want, fail=[ZCORE_USER_FAULT, r"\[keystone\] ", *fail],
                 timeout=ZCORE_TIMEOUT)
        return ANSI.sub("", m.console_text)
    finally:
        m.shutdown()


def test_keystones_test_runner_with_untrusted(ks_paths, zcore_build, image, ks_log_dir):
    """test-runner speaks about the value only when it differs from --retval,
    and zCore's root process ends silently: asked for 0, it names the value
    untrusted returned, Keystone's 13."""
    text = boot(ks_paths, zcore_build, image, ks_log_dir,
                ["/user/test-runner", "/user/untrusted", RT, LD, "--retval", "0"],
                "test-runner-untrusted", r"\[FAIL\] enclave returned a wrong value \(13 != 0\)",
                fail=())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("Enclave said")]
    assert lines[:4] == ["Enclave said: hello world!", "Enclave said: 2nd hello world!",
                         "Enclave said value: 13", "Enclave said value: 20"], text[-2000:]


def test_keystones_hello_native_runner(ks_paths, zcore_build, image, ks_log_dir):
    text = boot(ks_paths, zcore_build, image, ks_log_dir,
                ["/user/hello-native-runner", "/user/hello-native", RT, LD],
                "hello-native-runner", r'Enclave said: "Hello World"')
    assert "panicked at" not in text

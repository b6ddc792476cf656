"""The project's host programs (Rust std, static, the Linux initramfs's binaries)
run unchanged on zCore from its root image: test-runner, zCore's root process,
reads the eapp, runtime and loader (glibc's statx falls back to fstat: patches
0006 and 0007) and runs the enclave through /dev/keystone_enclave (patch 0014)."""

import re

from keystone_py.qemu.zcore import ZCORE_BOOTED, ZCORE_USER_FAULT

from .conftest import ZCORE_TIMEOUT

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_test_runner_as_the_root_process_runs_hello_in_an_enclave(zcore_guest):
    argv = ["/bin/test-runner", "/enclave/hello", "/enclave/eyrie-rt", "/enclave/loader.bin",
            "--retval", "0"]
    with zcore_guest(argv, name="test-runner") as m:
        m.expect(ZCORE_BOOTED, timeout=ZCORE_TIMEOUT)
        m.expect(r"test-runner: hello returned 0 \(", fail=[ZCORE_USER_FAULT, r"\[FAIL\]"],
                 timeout=ZCORE_TIMEOUT)
        text = ANSI.sub("", m.console_text)
    assert "hello, world!" in text
    assert "panicked at" not in text


def test_a_host_app_without_arguments_prints_its_usage(zcore_guest):
    with zcore_guest(["/bin/ks-demo"], smp=2, name="ks-demo") as m:
        m.expect(ZCORE_BOOTED, timeout=ZCORE_TIMEOUT)
        usage = m.expect(r"usage: ks-demo one EAPP[^\r\n]*\r?\n", fail=[ZCORE_USER_FAULT],
                         timeout=ZCORE_TIMEOUT)
    assert "| all |" in usage.group(0)


def test_the_cpp_host_sdk_runs_hello_on_zcores_device(zcore_guest):
    """ks-cpp-demo (sdk/cpp: Keystone::Enclave over the driver's ioctls) as the
    root process, on zCore's /dev/keystone_enclave."""
    argv = ["/bin/ks-cpp-demo", "run", "hello", "0"]
    with zcore_guest(argv, name="ks-cpp-demo") as m:
        m.expect(ZCORE_BOOTED, timeout=ZCORE_TIMEOUT)
        m.expect(r"hello returned 0 \(ocalls \d+", fail=[ZCORE_USER_FAULT, r"\[keystone\] "],
                 timeout=ZCORE_TIMEOUT)
        text = ANSI.sub("", m.console_text)
    assert "hello, world!" in text

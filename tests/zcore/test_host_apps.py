"""The project's host programs (Rust std, static, the Linux initramfs's binaries)
run unchanged on zCore from its root image, up to the enclave device zCore does
not have yet: test-runner reads the eapp, runtime and loader (glibc's statx falls
back to fstat: patches 0006 and 0007) and reports the missing device, and zCore
keeps running."""

import re

from keystone_py.qemu.zcore import ZCORE_BOOTED, ZCORE_USER_FAULT

from .conftest import ZCORE_TIMEOUT

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_test_runner_reads_the_enclave_files_and_reports_the_missing_device(zcore_guest):
    argv = ["/bin/test-runner", "/enclave/hello", "/enclave/eyrie-rt", "/enclave/loader.bin"]
    with zcore_guest(argv, name="test-runner") as m:
        m.expect(ZCORE_BOOTED, timeout=ZCORE_TIMEOUT)
        line = m.expect(r"\[FAIL\] hello: ([^\r\n]*)\r?\n", fail=[ZCORE_USER_FAULT],
                        timeout=ZCORE_TIMEOUT)
        text = ANSI.sub("", m.console_text)
    assert line.group(1) == ("cannot create the enclave: /dev/keystone_enclave: "
                             "No such file or directory (os error 2)")
    assert "panicked at" not in text


def test_a_host_app_without_arguments_prints_its_usage(zcore_guest):
    with zcore_guest(["/bin/ks-demo"], smp=2, name="ks-demo") as m:
        m.expect(ZCORE_BOOTED, timeout=ZCORE_TIMEOUT)
        usage = m.expect(r"usage: ks-demo one EAPP[^\r\n]*\r?\n", fail=[ZCORE_USER_FAULT],
                         timeout=ZCORE_TIMEOUT)
    assert "| all |" in usage.group(0)

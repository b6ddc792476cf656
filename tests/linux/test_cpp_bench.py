"""The ocall round trip through the C++ host SDK beside the Rust host SDK's:
the same eapp (ocall-bench, 1000 NOP ocalls timed inside the enclave) served
by `ks-demo bench` (sdk/host) and `ks-cpp-demo bench` (sdk/cpp) in one boot
under QEMU -icount shift=0, where a guest nanosecond is one instruction."""

from __future__ import annotations

import logging
import re

import pytest

from keystone_py.qemu import LinuxGuest
from keystone_py.qemu import linux_machine as make_linux_machine

log = logging.getLogger(__name__)
LINE = (r"^{prefix}: ocall round trip: \d+ ticks for 1000 ocalls = (\d+) ns each "
        r"\(host saw 1000 ocalls")


@pytest.fixture(scope="module")
def figures(ks_paths, ks_linux, tmp_path_factory):
    logs = tmp_path_factory.mktemp("cpp-bench")
    with make_linux_machine(ks_linux, memory="512M", append_extra="quiet", log_dir=logs,
                            icount=0, toolchain=ks_paths.toolchain) as m:
        guest = LinuxGuest(m)
        guest.wait_ready(timeout=600)
        guest.wait_prompt()
        rust = guest.run("/bin/ks-demo bench --no-switchless", 900)
        cpp = guest.run("/bin/ks-cpp-demo bench", 900)
        guest.poweroff()
    return rust, cpp


def test_both_sdks_serve_every_ocall_and_report_their_cost(figures):
    rust, cpp = figures
    r = re.search(LINE.format(prefix="bench"), rust.output, re.M)
    c = re.search(LINE.format(prefix="bench-cpp"), cpp.output, re.M)
    assert r and c, f"{rust}\n{cpp}"
    rust_ins, cpp_ins = int(r.group(1)), int(c.group(1))
    log.warning("ocall round trip, instructions: Rust host SDK %d, C++ host SDK %d",
                rust_ins, cpp_ins)
    # Same eapp, runtime, driver and SM: the host SDKs' shares differ, the
    # round trip is the same order of magnitude.
    assert 0.5 < cpp_ins / rust_ins < 2, (rust_ins, cpp_ins)

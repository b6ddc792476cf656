"""Which firmware a machine boots: ours, OpenSBI or a file."""

from pathlib import Path

import pytest

from keystone_py.build import Artifacts
from keystone_py.errors import KeystoneError
from keystone_py.qemu.firmware import firmware_label, resolve_firmware


def test_firmware_ours_is_the_built_sm_and_unknown_files_are_refused(tmp_path):
    assert resolve_firmware("ours", Artifacts(sm_bin=Path("/x/sm_rs.bin"))) == Path("/x/sm_rs.bin")
    with pytest.raises(KeystoneError, match="not built"):
        resolve_firmware("ours", Artifacts())
    with pytest.raises(KeystoneError, match="no such file"):
        resolve_firmware(str(tmp_path / "nope.bin"), Artifacts())
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\0")
    assert resolve_firmware(str(fw), Artifacts()) == fw
    assert firmware_label(str(fw)) == "fw.bin" and firmware_label("opensbi") == "opensbi"

"""``keystone-py build`` target names and the typed Artifacts."""

import warnings
from pathlib import Path

import pytest

from keystone_py.build import TARGETS, Artifacts, expand_targets
from keystone_py.build.cargo import EAPPS
from keystone_py.errors import BuildError, KeystoneError


def test_targets_expand_all_and_aliases():
    assert expand_targets([]) == [*TARGETS, "linux", "c-sdk", "cpp-sdk"]
    assert expand_targets(["all"]) == [*TARGETS, "linux", "c-sdk", "cpp-sdk"]
    assert expand_targets(["sm_rs"]) == ["sm"]
    assert expand_targets(["linux", "sm", "linux"]) == ["linux", "sm"]
    assert expand_targets(["long-nop"]) == ["eapp_long_nop"]
    with pytest.raises(BuildError, match="unknown build target"):
        expand_targets(["kernel"])


def test_every_eapp_is_a_target_whose_outputs_carry_its_name():
    eapps = {t.eapp: t for t in TARGETS.values() if t.eapp}
    assert list(eapps) == list(EAPPS)
    assert eapps["long-nop"].out_stem == "eapp_long_nop" and eapps["long-nop"].bin == "long-nop"


def artifacts():
    return Artifacts(sm_elf=Path("/b/sm_rs.elf"), sm_bin=Path("/b/sm_rs.bin"),
                     eapp_elfs={"long-nop": Path("/b/eapp_long_nop.elf")},
                     eapp_bins={"long-nop": Path("/b/eapp_long_nop.bin")},
                     vmlinux=Path("/b/linux/vmlinux"))


def test_artifacts_json_keeps_the_flat_names_of_keystone_py_artifacts():
    assert artifacts().to_dict() == {
        "sm_elf": "/b/sm_rs.elf", "sm_bin": "/b/sm_rs.bin",
        "eapp_long_nop_elf": "/b/eapp_long_nop.elf", "eapp_long_nop_bin": "/b/eapp_long_nop.bin",
        "vmlinux": "/b/linux/vmlinux"}


def test_eapps_are_looked_up_by_name_and_a_missing_one_names_the_built_ones():
    art = artifacts()
    assert art.eapp("long-nop") == Path("/b/eapp_long_nop.elf")
    with pytest.raises(KeystoneError, match=r"no eapp 'hello' built \(have: long-nop\)"):
        art.eapp("hello")


def test_require_names_the_build_target_of_a_missing_artifact():
    assert artifacts().require("sm_bin") == Path("/b/sm_rs.bin")
    with pytest.raises(KeystoneError, match=r"initramfs is not built \(run `keystone-py build "
                                            r"linux`\)"):
        artifacts().require("initramfs")
    with pytest.raises(KeystoneError, match="the payload is not built .*build payload"):
        artifacts().require("payload_bin", what="the payload")
    with pytest.raises(AttributeError):
        artifacts().require("eapp_elfs")


def test_update_and_merged_take_the_other_sides_artifacts():
    linux = Artifacts(initramfs=Path("/b/linux/initramfs.cpio"),
                      eapp_elfs={"hello": Path("/b/eapp_hello.elf")})
    merged = artifacts().merged(linux)
    assert merged.initramfs and merged.sm_bin and merged.eapps == ["hello", "long-nop"]
    assert artifacts().eapps == ["long-nop"]  # merged() copies
    art = artifacts()
    assert art.update(linux) is art and art.vmlinux == Path("/b/linux/vmlinux")


def test_indexing_by_json_name_still_works_but_is_deprecated():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert artifacts()["eapp_long_nop_elf"] == "/b/eapp_long_nop.elf"
    assert caught and caught[0].category is DeprecationWarning
    with pytest.raises(KeyError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        artifacts()["linux_image"]

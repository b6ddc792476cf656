"""The musl tarball a user names in $KEYSTONE_MUSL_TARBALL is checked
against its pin before anything is built from it (keystone_py.build.musl)."""

from __future__ import annotations

import pytest

from keystone_py.build.musl import MUSL_SOURCE_ENV, musl_tarball
from keystone_py.errors import BuildError


def test_a_tarball_with_another_hash_is_refused_and_not_kept(tmp_path):
    other = tmp_path / "musl.tar.gz"
    other.write_bytes(b"not musl")
    downloads = tmp_path / "downloads"
    with pytest.raises(BuildError, match=f"{MUSL_SOURCE_ENV}.*SHA-256 is not the pinned"):
        musl_tarball(downloads, other)
    assert not any(downloads.iterdir())


def test_a_missing_tarball_is_named_in_the_error(tmp_path):
    with pytest.raises(BuildError, match="no such file"):
        musl_tarball(tmp_path / "downloads", tmp_path / "nowhere.tar.gz")

import os

import pytest

# The keystone_py plugin itself is loaded through its pytest11 entry point.
pytest_plugins = ["pytester"]


def pytest_addoption(parser):
    parser.addoption(
        "--fresh-clone", action="store_true", default=False,
        help="also run the fresh-clone end-to-end test (tests/test_fresh_python.py): "
             "`make run` in a git clone of HEAD with its own new .venv, everything built "
             "from scratch (about 10 minutes; `make test` passes this option, "
             "`make test FRESH_CLONE=` does not). KS_FRESH_CLONE=1 does the same.")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "fresh_clone: end-to-end test of a clean clone; runs only with "
                   "--fresh-clone (or KS_FRESH_CLONE=1)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--fresh-clone") or os.environ.get("KS_FRESH_CLONE") == "1":
        return
    skip = pytest.mark.skip(reason="fresh-clone end-to-end test: needs --fresh-clone "
                                   "(make test passes it)")
    for item in items:
        if "fresh_clone" in item.keywords:
            item.add_marker(skip)

# keystone-rs: two commands on a fresh machine.
#   make run    install what is missing, build (Linux too), boot the SM + conformance
#               payload, then the demo: Linux on the SM with 4 harts runs every example
#               enclave through the driver and prints a summary table
#   make test   install what is missing, build, run every test (cargo + pytest + ruff)
#   make bench  our SM beside OpenSBI, deterministic figures (QEMU -icount)
# keystone-py (python -m keystone_py) does the work; see `python3 -m keystone_py --help`.

PYTHON ?= python3
KS     := $(PYTHON) -m keystone_py
PYTEST_ARGS ?=

.PHONY: all setup build test host-test pytest pytest-parallel lint run bench doctor clean

all: build

# Debian packages (apt-get, only those missing), then the Python package and its
# test tools (pip, only when this checkout is not already installed with them).
setup:
	@$(KS) setup
	@(cd / && $(PYTHON) -c "import sys, keystone_py, pexpect, pygdbmi, elftools, nacl, paramiko, pytest, xdist, ruff, matplotlib; \
	  sys.exit(keystone_py.__file__ != '$(CURDIR)/keystone_py/__init__.py')") 2>/dev/null \
	  || $(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -e '.[test]'

build: setup
	$(KS) build

host-test: setup
	$(KS) host-test

pytest: setup build
	$(PYTHON) -m pytest -v $(PYTEST_ARGS)

# The GDB, plugin and SSH tests again on two pytest-xdist workers: no shared
# ports, sockets or log folders between tests.
XDIST_TESTS ?= tests/test_gdb.py tests/test_gdb_worlds.py tests/test_gdb_cli.py tests/test_remote.py \
               tests/test_plugin.py tests/test_worlds_units.py
pytest-parallel: setup build
	$(PYTHON) -m pytest -n 2 $(XDIST_TESTS)

lint: setup
	$(PYTHON) -m ruff check keystone_py tests

test: setup build host-test pytest pytest-parallel lint

run: setup build
	$(KS) boot
	$(KS) run --smp 4 ks-demo all

bench: setup build
	$(KS) bench

doctor:
	$(KS) doctor

clean:
	rm -rf build .pytest_cache .ruff_cache keystone_py.egg-info
	find keystone_py tests -name __pycache__ -type d -prune -exec rm -rf {} +

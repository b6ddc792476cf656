# keystone-rs: two commands on a fresh machine.
#   make run    install what is missing, build (Linux too), boot the SM + conformance
#               payload, then the demo: Linux on the SM with 4 harts runs every example
#               enclave through the driver and prints a summary table; then the same demo
#               on zCore when its sources are there (make run-zcore: zCore alone)
#   make test   install what is missing, build, run every test (cargo + pytest + ruff)
#   make bench  our SM beside OpenSBI, deterministic figures (QEMU -icount)
# keystone-py (python -m keystone_py) does the work; see `.venv/bin/keystone-py --help`.
#
# Python: `make setup` gives the checkout its own virtual environment, .venv/ (git-ignored),
# and installs keystone_py (editable) with its packages there from PyPI; every other target
# runs in it, so nothing installed by hand in the system's Python can hide a missing
# dependency. Use it yourself with `. .venv/bin/activate` or `.venv/bin/keystone-py ...`.
# `make distclean` removes it.

# The bootstrap interpreter: runs `keystone_py setup` (standard library only) and makes .venv.
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
KS     := $(VPY) -m keystone_py
PYTEST_ARGS ?=
# `make test` runs the fresh-clone end-to-end test (tests/tools/test_fresh_python.py: `make run`
# in a git clone of HEAD with a new .venv, ~10 min); `make test FRESH_CLONE=` skips it.
FRESH_CLONE ?= --fresh-clone

# zCore's source archives and MANIFEST.tsv (`keystone-py build zcore`, tests/zcore): the
# project machines' ../shared/vendor/zcore when it exists (or make ZCORE_SOURCES=DIR); a
# clone without it builds and tests everything else (the zCore tests skip, saying why).
ZCORE_SOURCES ?= $(wildcard $(abspath $(CURDIR)/../shared/vendor/zcore))
ifneq ($(ZCORE_SOURCES),)
export KEYSTONE_ZCORE_SOURCES ?= $(ZCORE_SOURCES)
endif

# Keystone's own sources (its source archive or tree), compiled unchanged as test inputs
# (tests/linux/keystone_sources.py): ../shared/vendor/keystone when it exists (or make
# KEYSTONE_SOURCES=DIR); without it those tests skip, saying why.
KEYSTONE_SOURCES ?= $(wildcard $(abspath $(CURDIR)/../shared/vendor/keystone))
ifneq ($(KEYSTONE_SOURCES),)
export KEYSTONE_SOURCES
endif
# OpenSBI v1.1's sources (tree or opensbi-*.tar.gz), in which `keystone-py bench` builds
# Keystone's C SM to measure it beside ours (keystone_py/build/keystone_sm.py): likewise
# ../shared/vendor/opensbi when it exists (or make KEYSTONE_OPENSBI_SOURCES=DIR).
KEYSTONE_OPENSBI_SOURCES ?= $(wildcard $(abspath $(CURDIR)/../shared/vendor/opensbi))
ifneq ($(KEYSTONE_OPENSBI_SOURCES),)
export KEYSTONE_OPENSBI_SOURCES
endif

.PHONY: all setup build test host-test pytest pytest-parallel pytest-matrix lint run run-zcore bench \
        doctor clean \
        distclean

all: build

# 1. Debian packages (apt-get, only those missing; python3-venv among them),
# 2. .venv/ made by $(PYTHON) when missing or unusable,
# 3. pip install -e '.[test]' into it, only when its keystone_py is not this checkout's or
#    a package of pyproject.toml is missing (so a second `make` does not touch it).
setup:
	@command -v $(PYTHON) >/dev/null || { echo "setup: $(PYTHON) not found." \
	  "Fix: apt-get install python3 python3-venv (or: make PYTHON=/path/to/python3)"; exit 1; }
	@$(PYTHON) -m keystone_py setup
	@$(VPY) -c "import pip" 2>/dev/null || { \
	  echo "setup: creating $(VENV)/ with $$($(PYTHON) -c 'import sys; print(sys.executable)')"; \
	  $(PYTHON) -m venv --clear $(VENV); }
	@(cd / && $(CURDIR)/$(VPY) -c "import sys; from keystone_py.toolchain import \
	  python_setup_problem as p; m = p('$(CURDIR)'); m and print('setup: $(VENV): ' + m); \
	  sys.exit(bool(m))" 2>/dev/null) \
	  || { echo "setup: pip install -e '.[test]' into $(VENV)/"; \
	       $(VPY) -m pip install --quiet --disable-pip-version-check -e '.[test]'; }

build: setup
	$(KS) build
	$(if $(ZCORE_SOURCES),$(KS) build zcore --zcore-sources $(ZCORE_SOURCES))

host-test: setup
	$(KS) host-test

pytest: setup build
	$(VPY) -m pytest -v $(FRESH_CLONE) $(PYTEST_ARGS)

# The GDB, plugin and SSH tests again on two pytest-xdist workers: no shared
# ports, sockets or log folders between tests.
XDIST_TESTS ?= tests/gdb/test_sm.py tests/gdb/test_worlds.py tests/gdb/test_cli.py \
               tests/gdb/test_symbols.py tests/tools/test_remote.py tests/unit/plugin tests/unit/gdb
pytest-parallel: setup build
	$(VPY) -m pytest -n 2 $(XDIST_TESTS)

# The Linux enclave tests again on the other CPUs of the machine matrix (the default
# CPU runs in `pytest`; the payload's conformance, fuzzer and attack suites take the CPU
# matrix themselves, see tests/conftest.py): no Sstc, and no H extension.
MATRIX_CPUS ?= rv64,sstc=false rv64,h=false
pytest-matrix: setup build
	@for cpu in $(MATRIX_CPUS); do \
	  echo "== tests/linux/test_enclaves.py on -cpu $$cpu"; \
	  $(VPY) -m pytest -q --qemu-arg=-cpu --qemu-arg=$$cpu tests/linux/test_enclaves.py \
	    || exit 1; \
	done

lint: setup
	$(VPY) -m ruff check keystone_py tests

test: setup build host-test pytest pytest-parallel pytest-matrix lint

run: setup build
	$(KS) boot
	$(KS) run --smp 4 ks-demo all
	$(if $(ZCORE_SOURCES),$(KS) run --host zcore --smp 4 ks-demo all)

# The demo with zCore as the host OS (needs its source archives: ZCORE_SOURCES=DIR).
run-zcore: setup build
	@test -n "$(ZCORE_SOURCES)" || { echo "run-zcore: no zCore sources; make run-zcore" \
	  "ZCORE_SOURCES=DIR (a folder of zCore's source archives and MANIFEST.tsv)"; exit 1; }
	$(KS) run --host zcore --smp 4 ks-demo all

bench: setup build
	$(KS) bench --phases $(if $(ZCORE_SOURCES),--zcore)

# Checks, installs nothing: in .venv/ once `make setup` made it, else with $(PYTHON).
doctor:
	@if [ -x $(VPY) ]; then $(KS) doctor; else \
	  echo "doctor: no $(VENV)/ yet (make setup makes it); checking with $(PYTHON)"; \
	  $(PYTHON) -m keystone_py doctor; fi

clean:
	rm -rf build .pytest_cache .ruff_cache keystone_py.egg-info
	find keystone_py tests -name __pycache__ -type d -prune -exec rm -rf {} +

# clean, and the virtual environment too (the next `make` makes it again).
distclean: clean
	rm -rf $(VENV)

"""Builds, cached by a hash of their inputs, into ``build/``.

* :mod:`.cargo` – the bare-metal worlds (SM, payload, loader, runtime, eapps);
* :mod:`.linux` – Debian's kernel, the enclave driver, /init and the initramfs;
* :mod:`.hostapps` – the host apps and the enclave files the guest carries;
* :mod:`.initramfs` – cpio newc archives, in Python;
* :mod:`.cache` – the key/stamp cache every builder uses;
* :mod:`.runner` – the one logged subprocess runner every builder uses;
* :mod:`.remap` – the path remaps that make builds reproducible;
* :mod:`.artifacts` – :class:`Artifacts`, what was built;
* :mod:`.targets` – ``keystone-py build`` target names and :func:`build_targets`.

Standard library only: the CLI imports this at start-up.
"""

from .artifacts import Artifacts
from .cache import Stamp, compute_cache_key, digest, iter_input_files
from .cargo import ENCLAVE_TARGETS, TARGETS, Builder, Target, resolve_target
from .hostapps import HostAppsBuilder
from .linux import LinuxBuilder
from .runner import run_logged
from .targets import ALL_TARGETS, LINUX_TARGET, all_artifacts, build_targets, expand_targets

__all__ = [
    "ALL_TARGETS", "ENCLAVE_TARGETS", "LINUX_TARGET", "TARGETS", "Artifacts", "Builder",
    "HostAppsBuilder", "LinuxBuilder", "Stamp", "Target", "all_artifacts", "build_targets",
    "compute_cache_key", "digest", "expand_targets", "iter_input_files", "resolve_target",
    "run_logged",
]

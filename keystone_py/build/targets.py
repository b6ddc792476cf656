"""What ``keystone-py build [TARGET...]`` means: the CLI's target names, and the
one call that builds them (cargo targets, then Linux) and reports every artifact."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

from ..toolchain import Toolchain
from .artifacts import Artifacts
from .cargo import TARGETS, Builder, resolve_target
from .cppsdk import CppSdkBuilder
from .linux import LinuxBuilder
from .userapp import CSdkBuilder
from .zcore import ZcoreBuilder

#: Build targets that are not cargo packages (``keystone-py build linux``).
LINUX_TARGET = "linux"
#: The C eapp library, build/c/libkeystone-eapp.a (``keystone-py build c-sdk``).
C_SDK_TARGET = "c-sdk"
#: The C++ host SDK, build/cpp/libkeystone-host.a (``keystone-py build cpp-sdk``).
CPP_SDK_TARGET = "cpp-sdk"
#: zCore, the Rust host OS (``keystone-py build zcore``): only when named, as it
#: needs its source archives (``make build`` names it when they are there).
ZCORE_TARGET = "zcore"
#: Every CLI target name but zcore, in build order; ``all`` means all of them.
ALL_TARGETS = (*TARGETS, LINUX_TARGET, C_SDK_TARGET, CPP_SDK_TARGET)


def expand_targets(names: Sequence[str]) -> List[str]:
    """CLI names to target names: ``all`` (or nothing) means every target,
    ``linux`` included (the kernel, /init and the initramfs), plus ``zcore``
    when it is named too."""
    if not names or "all" in names:
        return list(ALL_TARGETS) + ([ZCORE_TARGET] if ZCORE_TARGET in names else [])
    out: List[str] = []
    for n in names:
        plain = (LINUX_TARGET, C_SDK_TARGET, CPP_SDK_TARGET, ZCORE_TARGET)
        name = n if n in plain else resolve_target(n).name
        if name not in out:
            out.append(name)
    return out


def build_targets(names: Sequence[str], force: bool = False, root: Optional[Path] = None,
                  toolchain: Optional[Toolchain] = None,
                  zcore_sources: Optional[Path] = None) -> Artifacts:
    """Builds the named targets (CLI names, see :func:`expand_targets`), each
    only when stale, and returns every artifact that exists. ``zcore`` takes its
    sources from ``zcore_sources``, else ``$KEYSTONE_ZCORE_SOURCES``."""
    toolchain = toolchain or Toolchain()
    builder = Builder(root=root, toolchain=toolchain)
    targets = expand_targets(names)
    cargo = [t for t in targets
             if t not in (LINUX_TARGET, C_SDK_TARGET, CPP_SDK_TARGET, ZCORE_TARGET)]
    if cargo:
        builder.build(cargo, force=force)
    linux = LinuxBuilder(root=builder.root, toolchain=toolchain)
    if LINUX_TARGET in targets:
        linux.build(force=force)
    if C_SDK_TARGET in targets:
        CSdkBuilder(builder.root, toolchain).build(force=force)
    if CPP_SDK_TARGET in targets:
        CppSdkBuilder(builder.root, toolchain).build(force=force)
    if ZCORE_TARGET in targets:
        ZcoreBuilder(builder.root, toolchain, sources=zcore_sources).build(force=force)
    return builder.artifacts().update(linux.artifacts())


def all_artifacts(root: Optional[Path] = None,
                  toolchain: Optional[Toolchain] = None) -> Artifacts:
    """Every built artifact that exists (cargo targets and Linux)."""
    toolchain = toolchain or Toolchain()
    builder = Builder(root=root, toolchain=toolchain)
    return builder.artifacts().update(LinuxBuilder(builder.root, toolchain).artifacts())

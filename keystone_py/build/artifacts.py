"""What the build produced: one typed object, a field per artifact.

Every builder reports what exists in ``build/`` as an :class:`Artifacts`; the
CLI, the machines and the pytest fixtures take it. A field is ``None`` when that
artifact is not built; :meth:`Artifacts.require` turns that into an error that
names the ``keystone-py build`` target to run. Eapps are looked up by name
(``artifacts.eapp("long-nop")``).

The flat names of ``keystone-py artifacts`` (``sm_elf``, ``eapp_long_nop_elf``,
``linux_image``...) are its JSON form only: :meth:`Artifacts.to_dict` is the one
place they are spelled.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Dict, List, Optional

from ..errors import KeystoneError

#: The path fields of the cargo targets and of the Linux build, in build order.
_CARGO_FIELDS = ("sm_elf", "sm_bin", "payload_elf", "payload_bin", "loader_elf", "loader_bin",
                 "runtime_elf", "runtime_bin")
_LINUX_FIELDS = ("linux_image", "vmlinux", "init", "initramfs", "driver")
#: Path field → the ``keystone-py build`` target that makes it.
_BUILT_BY = {**{f: f.rsplit("_", 1)[0] for f in _CARGO_FIELDS},
             **dict.fromkeys(_LINUX_FIELDS, "linux")}


def _eapp_key(name: str, kind: str) -> str:
    return f"eapp_{name.replace('-', '_')}_{kind}"


@dataclass
class Artifacts:
    """Absolute paths of the built artifacts (``None``: not built)."""

    #: The security monitor (``-bios``): ELF with symbols, flat image.
    sm_elf: Optional[Path] = None
    sm_bin: Optional[Path] = None
    #: The SBI conformance payload (``-kernel``).
    payload_elf: Optional[Path] = None
    payload_bin: Optional[Path] = None
    #: The enclave loader and the Eyrie-compatible runtime.
    loader_elf: Optional[Path] = None
    loader_bin: Optional[Path] = None
    runtime_elf: Optional[Path] = None
    runtime_bin: Optional[Path] = None
    #: Eapps by name (``hello``, ``long-nop``...): their ELF and flat image.
    eapp_elfs: Dict[str, Path] = field(default_factory=dict)
    eapp_bins: Dict[str, Path] = field(default_factory=dict)
    #: The Linux host: kernel Image, vmlinux (symbols), /init, the initramfs
    #: and the enclave driver module.
    linux_image: Optional[Path] = None
    vmlinux: Optional[Path] = None
    init: Optional[Path] = None
    initramfs: Optional[Path] = None
    driver: Optional[Path] = None

    # -- lookups -------------------------------------------------------------------
    def require(self, name: str, what: Optional[str] = None) -> Path:
        """The path of field ``name`` (``"sm_bin"``, ``"linux_image"``...), or a
        KeystoneError naming the build target that makes it."""
        if name not in _BUILT_BY:
            raise AttributeError(f"Artifacts has no path field {name!r}")
        path = getattr(self, name)
        if path is None:
            raise KeystoneError(f"{what or name} is not built "
                                f"(run `keystone-py build {_BUILT_BY[name]}`).")
        return path

    def eapp(self, name: str) -> Path:
        """The ELF of eapp ``name`` (as ``examples/tests`` names it: ``long-nop``)."""
        try:
            return self.eapp_elfs[name]
        except KeyError:
            raise KeystoneError(f"no eapp {name!r} built (have: {', '.join(self.eapps) or 'none'})"
                                "; run `keystone-py build`") from None

    @property
    def eapps(self) -> List[str]:
        """The names of the built eapps, sorted."""
        return sorted(self.eapp_elfs)

    # -- combining -----------------------------------------------------------------
    def update(self, other: "Artifacts") -> "Artifacts":
        """Takes every artifact ``other`` has (in place); returns self."""
        for f in fields(self):
            value = getattr(other, f.name)
            if isinstance(value, dict):
                getattr(self, f.name).update(value)
            elif value is not None:
                setattr(self, f.name, value)
        return self

    def merged(self, other: "Artifacts") -> "Artifacts":
        """A new object with this one's artifacts, then ``other``'s."""
        return Artifacts().update(self).update(other)

    # -- the JSON form (keystone-py artifacts) ----------------------------------------
    def to_dict(self) -> Dict[str, str]:
        """``{"sm_elf": "/abs/path", "eapp_long_nop_elf": ..., "linux_image": ...}``."""
        out: Dict[str, str] = {}
        for name in _CARGO_FIELDS:
            if getattr(self, name) is not None:
                out[name] = str(getattr(self, name))
        for eapp in dict.fromkeys([*self.eapp_elfs, *self.eapp_bins]):
            for kind, table in (("elf", self.eapp_elfs), ("bin", self.eapp_bins)):
                if eapp in table:
                    out[_eapp_key(eapp, kind)] = str(table[eapp])
        for name in _LINUX_FIELDS:
            if getattr(self, name) is not None:
                out[name] = str(getattr(self, name))
        return out

    def __getitem__(self, key: str) -> str:
        """Deprecated: the JSON name (``artifacts["sm_bin"]``), as when artifacts
        were a dict. Use the fields and :meth:`eapp`."""
        warnings.warn("Artifacts[...] is deprecated: use the fields (artifacts.sm_bin) "
                      "and artifacts.eapp(name)", DeprecationWarning, stacklevel=2)
        try:
            return self.to_dict()[key]
        except KeyError:
            raise KeyError(f"{key!r} is not built (have: {', '.join(sorted(self.to_dict()))})"
                           ) from None

"""The worlds one hart passes through, as GDB sees them.

A :class:`World` is one ELF at its run address plus the privilege levels it
runs in: the SM (M), the host (the conformance payload or Linux's vmlinux, S),
a host app (U, Linux only), the enclave's loader (S, first at the EPM base
with paging off, then at its link address), the runtime (S) and the eapp (U).
Which world a stop is in follows from ``$priv`` and ``$pc``; where the enclave
sits physically comes from the running system (the SM's create arguments, see
:class:`EnclaveLayout`).

Also here: Rust v0 symbol lookup by path (``enclave::create``), the Sv39 walk
that turns a host virtual address into a physical one from M-mode, and a PMP
decoder for ``pmpcfg``/``pmpaddr`` values.
"""

from __future__ import annotations

import difflib
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..errors import ElfError
from .elf import ElfFile
from .paging import SATP_LEVELS, sv39_translate  # noqa: F401 (re-exported)

#: ``$priv`` values.
PRIV_U, PRIV_S, PRIV_M = 0, 1, 3
PRIV_NAMES = {PRIV_U: "U", PRIV_S: "S", PRIV_M: "M"}

#: Friendly names for entry points the SDKs define under other names.
ALIASES: Dict[str, Tuple[str, ...]] = {
    "main": ("main", "__keystone_eapp_main"),
}

#: The world names, host side first.
WORLD_NAMES = ("sm", "host", "hostapp", "loader", "runtime", "eapp")
#: Worlds that exist only while an enclave runs.
ENCLAVE_WORLDS = ("loader", "runtime", "eapp")
#: Order in which worlds claim a (priv, pc): enclave worlds before the host.
WORLD_ORDER = ("sm", "loader", "runtime", "eapp", "hostapp", "host")


def _v0_ident(name: str) -> str:
    """One identifier as Rust's v0 mangling writes it (``<len>[_]<ident>``)."""
    sep = "_" if name[:1].isdigit() or name[:1] == "_" else ""
    return f"{len(name)}{sep}{name}"


def find_symbol(elf: ElfFile, name: str) -> List[Tuple[str, int]]:
    """Symbols matching ``name``: the exact name, else an alias (``main``), else
    Rust v0-mangled symbols whose path ends with ``name`` (``create``,
    ``enclave::create``, ``sm_rs::enclave::create``)."""
    syms = elf.symbols
    for candidate in ALIASES.get(name, (name,)):
        if candidate in syms:
            return [(candidate, syms[candidate])]
    tail = "".join(_v0_ident(part) for part in name.split("::") if part)
    pattern = re.compile(r"(?:^|[A-Za-z_])" + re.escape(tail) + r"$")
    return sorted((s, a) for s, a in syms.items() if s.startswith("_R") and pattern.search(s))


@dataclass
class World:
    """One world: an ELF, where it runs and in which privilege levels."""

    name: str
    elf: ElfFile
    privs: Tuple[int, ...]
    #: Other places the same code runs (link address → run address): the
    #: loader's physical copy at the EPM base.
    aliases: List[Tuple[int, int]] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.elf.path

    def link_ranges(self) -> List[Tuple[int, int]]:
        """[start, end) of each executable PT_LOAD segment at its link address."""
        return [(s.vaddr, s.vaddr + s.memsz) for s in self.elf.load_segments
                if s.flags & 1 and s.memsz]

    def ranges(self) -> List[Tuple[int, int]]:
        """Every [start, end) this world's code runs at (link address and aliases)."""
        out = self.link_ranges()
        for link, run in self.aliases:
            out += [(lo - link + run, hi - link + run) for lo, hi in self.link_ranges()]
        return out

    def contains(self, pc: int) -> bool:
        return any(lo <= pc < hi for lo, hi in self.ranges())

    def addresses(self, function: str) -> List[int]:
        """Every address ``function``'s first instruction runs at (link
        address first, then aliases). ElfError if it is unknown or ambiguous."""
        hits = find_symbol(self.elf, function)
        if not hits:
            near = difflib.get_close_matches(function, list(self.elf.symbols), n=5)
            hint = f" (did you mean: {', '.join(near)}?)" if near else ""
            raise ElfError(f"no function {function!r} in the {self.name} world "
                           f"({self.path}){hint}")
        if len({a for _, a in hits}) > 1:
            raise ElfError(f"{function!r} is ambiguous in the {self.name} world: "
                           + ", ".join(s for s, _ in hits[:6]) + "; give more of its path")
        addr = hits[0][1]
        out = [addr]
        for link, run in self.aliases:
            lo, hi = self.elf.load_segments[0].vaddr, max(
                s.vaddr + s.memsz for s in self.elf.load_segments)
            if lo <= addr < hi:
                out.append(addr - link + run)
        return out


@dataclass(frozen=True)
class EnclaveLayout:
    """The physical layout of one enclave, as the host handed it to the SM."""

    epm_paddr: int
    epm_size: int
    utm_paddr: int
    utm_size: int
    runtime_paddr: int
    user_paddr: int
    free_paddr: int
    free_requested: int

    SIZE = 64

    @classmethod
    def parse(cls, raw: bytes) -> "EnclaveLayout":
        if len(raw) < cls.SIZE:
            raise ValueError(f"create arguments are {cls.SIZE} bytes, got {len(raw)}")
        return cls(*struct.unpack("<8Q", raw[: cls.SIZE]))


# -- PMP ------------------------------------------------------------------------------
PMP_R, PMP_W, PMP_X, PMP_L = 0x01, 0x02, 0x04, 0x80
PMP_MODES = {0: "OFF", 1: "TOR", 2: "NA4", 3: "NAPOT"}


@dataclass(frozen=True)
class PmpEntry:
    """One decoded PMP entry."""

    index: int
    cfg: int
    addr: int  # the raw pmpaddr value
    base: int
    size: int  # 0 when OFF

    @property
    def mode(self) -> str:
        return PMP_MODES[(self.cfg >> 3) & 3]

    @property
    def perms(self) -> str:
        return "".join(c if self.cfg & b else "-" for c, b in (("r", PMP_R), ("w", PMP_W),
                                                               ("x", PMP_X)))

    @property
    def locked(self) -> bool:
        return bool(self.cfg & PMP_L)

    def covers(self, base: int, size: int) -> bool:
        return self.mode != "OFF" and self.base == base and self.size == size

    def __str__(self) -> str:
        if self.mode == "OFF":
            return f"pmp{self.index}: OFF"
        return (f"pmp{self.index}: {self.mode:<5} {self.base:#018x}+{self.size:#x} "
                f"{self.perms}{' L' if self.locked else ''}")


def decode_pmp(cfgs: Sequence[int], addrs: Sequence[int]) -> List[PmpEntry]:
    """Entries from RV64 ``pmpcfg0, pmpcfg2, ...`` (8 entries each) and
    ``pmpaddr0..N-1``."""
    out: List[PmpEntry] = []
    prev_top = 0
    for i, addr in enumerate(addrs):
        cfg = (cfgs[i // 8] >> (8 * (i % 8))) & 0xFF
        a = (cfg >> 3) & 3
        if a == 0:
            base, size = 0, 0
        elif a == 1:  # TOR
            base, size = prev_top, max(0, (addr << 2) - prev_top)
        elif a == 2:  # NA4
            base, size = addr << 2, 4
        else:  # NAPOT: trailing ones give the size
            ones = (~addr & (addr + 1)).bit_length() - 1
            if ones >= 54:  # the whole address space
                base, size = 0, 1 << 64
            else:
                size = 1 << (ones + 3)
                base = (addr & ~((1 << ones) - 1)) << 2
        out.append(PmpEntry(i, cfg, addr, base, size))
        prev_top = addr << 2
    return out


def world_table(sm: Union[str, Path], host: Union[str, Path], *,
                loader: Optional[Union[str, Path]] = None,
                runtime: Optional[Union[str, Path]] = None,
                eapp: Optional[Union[str, Path]] = None,
                hostapp: Optional[Union[str, Path]] = None) -> Dict[str, World]:
    """The worlds of one stack, by name, from their ELF files."""
    worlds = {"sm": World("sm", ElfFile(sm), (PRIV_M,)),
              "host": World("host", ElfFile(host), (PRIV_S,))}
    for name, path, privs in (("hostapp", hostapp, (PRIV_U,)), ("loader", loader, (PRIV_S,)),
                              ("runtime", runtime, (PRIV_S,)), ("eapp", eapp, (PRIV_U,))):
        if path:
            worlds[name] = World(name, ElfFile(path), privs)
    return worlds

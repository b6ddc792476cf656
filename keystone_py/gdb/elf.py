"""ELF facts through pyelftools: symbols, entry point, segments."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Union

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from ..errors import ElfError


@dataclass(frozen=True)
class Segment:
    """One program header."""

    type: str  # "PT_LOAD", ...
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    flags: int  # PF_X=1, PF_W=2, PF_R=4

    @property
    def perms(self) -> str:
        return "".join(c if self.flags & bit else "-" for c, bit in (("r", 4), ("w", 2), ("x", 1)))


class ElfFile:
    """An ELF file read once: ``entry``, ``symbol(name)``, ``segments``."""

    def __init__(self, path: Union[str, Path]):
        self.path = Path(path)
        try:
            with open(self.path, "rb") as f:
                elf = ELFFile(f)
                self.entry: int = elf.header["e_entry"]
                self.machine: str = elf.header["e_machine"]
                self.elfclass: int = elf.elfclass
                self.segments: List[Segment] = [
                    Segment(seg["p_type"], seg["p_vaddr"], seg["p_paddr"], seg["p_filesz"],
                            seg["p_memsz"], seg["p_flags"]) for seg in elf.iter_segments()]
                self._symbols: Dict[str, int] = {}
                for sec in elf.iter_sections():
                    if isinstance(sec, SymbolTableSection):
                        for sym in sec.iter_symbols():
                            if sym.name and sym["st_info"]["type"] in ("STT_FUNC", "STT_OBJECT",
                                                                        "STT_NOTYPE"):
                                self._symbols.setdefault(sym.name, sym["st_value"])
        except OSError as exc:
            raise ElfError(f"cannot read ELF {self.path}: {exc}") from exc
        except Exception as exc:  # pyelftools raises its own types on bad input
            raise ElfError(f"{self.path} is not a valid ELF file: {exc}") from exc

    @property
    def symbols(self) -> Dict[str, int]:
        """Every named function/object/label and its address."""
        return dict(self._symbols)

    def symbol(self, name: str) -> int:
        """Address of symbol ``name``; ElfError (with near names) if absent."""
        try:
            return self._symbols[name]
        except KeyError:
            near = difflib.get_close_matches(name, list(self._symbols), n=5)
            hint = f" (did you mean: {', '.join(near)}?)" if near else ""
            raise ElfError(f"symbol {name!r} not found in {self.path}{hint}") from None

    @property
    def load_segments(self) -> List[Segment]:
        return [s for s in self.segments if s.type == "PT_LOAD"]

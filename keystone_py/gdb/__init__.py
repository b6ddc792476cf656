"""GDB on the running stack: sessions over MI, the worlds one hart passes through.

* :mod:`.session` – :class:`GdbSession`, gdb-multiarch over MI (pygdbmi);
* :mod:`.worlds` – :class:`World`, symbol lookup by Rust path, the Sv39 walk, PMP decoding;
* :mod:`.elf` – ELF facts through pyelftools;
* :mod:`.stack` – :class:`PayloadStack`, the payload hosting one eapp, and its worlds;
* :mod:`.interactive` – ``keystone-py gdb``: an interactive gdb on a halted stack.
"""

from .elf import ElfFile, Segment
from .session import GdbSession
from .stack import PayloadStack
from .worlds import (
    PRIV_M,
    PRIV_NAMES,
    PRIV_S,
    PRIV_U,
    WORLD_NAMES,
    EnclaveLayout,
    PmpEntry,
    World,
    decode_pmp,
    find_symbol,
    sv39_translate,
    world_table,
)

__all__ = ["PRIV_M", "PRIV_NAMES", "PRIV_S", "PRIV_U", "WORLD_NAMES", "ElfFile", "EnclaveLayout",
           "GdbSession", "PayloadStack", "PmpEntry", "Segment", "World", "decode_pmp",
           "find_symbol", "sv39_translate", "world_table"]

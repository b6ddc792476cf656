"""GDB sessions over MI (pygdbmi + gdb-multiarch) against QEMU's gdbstub.

Only MI records are read: every command carries a token and waits, within its
own timeout, for the result record with that token; ``*stopped`` async records
end execution commands. Every command and record goes to ``gdb.log``.
Breakpoint addresses come from pyelftools (:mod:`.elf`), so a
break at a function stops exactly at its first instruction.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Union

from pygdbmi.gdbcontroller import GdbController

from ..errors import GdbError
from ..toolchain import Toolchain
from .elf import ElfFile
from .worlds import (
    WORLD_ORDER,
    EnclaveLayout,
    PmpEntry,
    World,
    decode_pmp,
    find_symbol,
    sv39_translate,
)

log = logging.getLogger("keystone_py.gdb")

DEFAULT_TIMEOUT = 10.0


class GdbSession:
    """A gdb-multiarch process attached to a gdbstub, as a context manager.

    >>> with GdbSession(machine=m, elf="build/sm_rs.elf") as g:
    ...     g.break_at("sm_main")
    ...     g.cont()
    ...     g.read_register("mhartid")
    """

    def __init__(self, machine: Any = None, elf: Optional[Union[str, Path]] = None,
                 port: Optional[int] = None, host: str = "127.0.0.1",
                 gdb: Optional[Union[str, Path]] = None,
                 log_dir: Optional[Union[str, Path]] = None,
                 timeout: float = DEFAULT_TIMEOUT, architecture: str = "riscv:rv64",
                 worlds: Optional[Dict[str, World]] = None):
        if port is None and machine is not None:
            port = machine.gdb_port
        if port is None:
            raise GdbError("no gdbstub port: launch the Machine with gdb=True or pass port=")
        if log_dir is None and machine is not None:
            log_dir = machine.log_dir
        self.gdb = str(gdb if gdb is not None else Toolchain().gdb)
        self.port = port
        self.host = host
        self.timeout = timeout
        self.architecture = architecture
        self.elf = ElfFile(elf) if elf else None
        self.log_dir = Path(log_dir) if log_dir else None
        self._ctrl: Optional[GdbController] = None
        self._tokens = itertools.count(100)
        self._pending: List[Dict[str, Any]] = []  # async records not yet consumed
        self._transcript: Optional[IO[str]] = None
        self._regnums: Dict[str, int] = {}
        self.running = False  # the target runs (between ^running and *stopped)
        self.last_stop: Optional[Dict[str, Any]] = None
        #: World name -> World (see :mod:`.worlds`), loaded on enter.
        self.worlds: Dict[str, World] = dict(worlds or {})
        #: The enclave layout read at the SM's create (capture_enclave).
        self.enclave: Optional[EnclaveLayout] = None

    # -- life cycle ---------------------------------------------------------------
    def __enter__(self) -> "GdbSession":
        self.start()
        try:
            if self.worlds:
                self.load_worlds(self.worlds)
            elif self.elf:
                self.load_symbols(self.elf.path)
            self.connect()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Start gdb in MI mode and set it up for a bare RISC-V target."""
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._transcript = open(self.log_dir / "gdb.log", "w")
        argv = [self.gdb, "--nx", "--quiet", "--interpreter=mi3"]
        self._note("$", " ".join(argv))
        self._ctrl = GdbController(command=argv, time_to_check_for_additional_output_sec=0.05)
        # mi-async: commands (-exec-interrupt above all) are read while the target runs.
        for setting in ("confirm off", "pagination off", "width 0", "height 0", "mi-async on",
                        f"architecture {self.architecture}"):
            self.command(f"-gdb-set {setting}")

    def load_symbols(self, elf: Union[str, Path]) -> None:
        """``file``: the ELF's symbols (and its path for later breaks)."""
        if self.elf is None or self.elf.path != Path(elf):
            self.elf = ElfFile(elf)
        self.command(f"-file-exec-and-symbols {_mi_quote(str(elf))}")

    def add_symbols(self, elf: Union[str, Path], address: int) -> None:
        """Symbols of another world loaded at its run address (add-symbol-file)."""
        self.console(f"add-symbol-file {elf} 0x{address:x}")

    def connect(self) -> None:
        """``target remote host:port``."""
        self.command(f"-target-select remote {self.host}:{self.port}")
        log.info("gdb attached to %s:%d", self.host, self.port)

    def close(self) -> None:
        """Detach (the target runs on) and exit gdb; never raises."""
        if self._ctrl is not None:
            if self.running:
                try:
                    self.interrupt(timeout=3)
                except Exception as exc:  # noqa: BLE001 - best effort at teardown
                    self._note("!", f"interrupt: {exc}")
            for cmd in ("-target-detach", "-gdb-exit"):
                try:
                    self.command(cmd, timeout=3)
                except Exception as exc:  # noqa: BLE001 - best effort at teardown
                    self._note("!", f"{cmd}: {exc}")
                    if cmd == "-gdb-exit":
                        break
            try:
                self._ctrl.exit()
            except Exception:  # noqa: BLE001
                pass
            self._ctrl = None
        if self._transcript:
            self._transcript.close()
            self._transcript = None

    # -- MI plumbing ----------------------------------------------------------------
    def _note(self, direction: str, text: str) -> None:
        if self._transcript:
            self._transcript.write(f"{time.monotonic():.3f} {direction} {text}\n")
            self._transcript.flush()

    def _read(self, timeout: float) -> List[Dict[str, Any]]:
        assert self._ctrl is not None
        try:
            records = self._ctrl.get_gdb_response(timeout_sec=timeout, raise_error_on_timeout=False)
        except Exception as exc:  # noqa: BLE001 - gdb died
            raise GdbError(f"gdb stopped answering: {exc}") from exc
        for r in records:
            self._note("<-", json.dumps(r, default=str))
        return records

    def command(self, cmd: str, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Send one MI command; return the payload of its result record.
        GdbError on ``^error`` or when no result record arrives in time."""
        if self._ctrl is None:
            raise GdbError("gdb is not running")
        timeout = self.timeout if timeout is None else timeout
        token = next(self._tokens)
        self._note("->", f"{token}{cmd}")
        try:
            self._ctrl.write(f"{token}{cmd}", read_response=False)
        except Exception as exc:  # noqa: BLE001 - gdb died
            raise GdbError(f"cannot write to gdb: {exc}") from exc
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GdbError(f"gdb did not answer {cmd!r} within {timeout:.1f}s")
            result = None
            for r in self._read(min(remaining, 0.5)):
                if r.get("type") == "result" and r.get("token") == token:
                    result = r
                elif r.get("type") == "notify":
                    self._pending.append(r)
            if result is not None:
                if result.get("message") == "error":
                    msg = (result.get("payload") or {}).get("msg", result)
                    raise GdbError(f"gdb: {cmd}: {msg}")
                return result.get("payload") or {}

    def wait_stopped(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Wait for the next ``*stopped`` record; return its payload (``reason``,
        ``frame``...)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            for i, r in enumerate(self._pending):
                if r.get("message") == "stopped":
                    del self._pending[: i + 1]
                    self.running = False
                    self.last_stop = r.get("payload") or {}
                    return self.last_stop
            self._pending.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GdbError(f"target did not stop within {timeout:.1f}s")
            self._pending.extend(r for r in self._read(min(remaining, 0.5))
                                 if r.get("type") == "notify")

    def _exec(self, cmd: str, timeout: Optional[float]) -> Dict[str, Any]:
        self._pending = [r for r in self._pending if r.get("message") != "stopped"]
        self.command(cmd)
        self.running = True
        return self.wait_stopped(timeout)

    def resume(self) -> None:
        """Continue without waiting: the target runs on (while, say, a guest is
        driven over its console) until :meth:`wait_stopped` or :meth:`interrupt`."""
        self._pending = [r for r in self._pending if r.get("message") != "stopped"]
        self.command("-exec-continue")
        self.running = True

    def interrupt(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Stop a running target (like Ctrl-C in gdb)."""
        self.command("-exec-interrupt")
        return self.wait_stopped(timeout)

    # -- execution --------------------------------------------------------------------
    def break_at(self, function: str, hardware: bool = False) -> int:
        """Breakpoint at the first instruction of ``function`` (address from
        pyelftools); returns that address."""
        if self.elf is None:
            raise GdbError("break_at needs the ELF: pass elf= or call load_symbols()")
        addr = self.elf.symbol(function)
        self.break_at_address(addr, hardware=hardware)
        return addr

    def break_at_address(self, address: int, hardware: bool = False) -> int:
        """Breakpoint at an address (``hardware`` → ``hbreak``); returns its number."""
        flags = "-h " if hardware else ""
        payload = self.command(f"-break-insert {flags}*0x{address:x}")
        return int(payload.get("bkpt", {}).get("number", 0))

    def cont(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Continue until the target stops again; return the stop record."""
        return self._exec("-exec-continue", timeout)

    def step(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        """One source line (into calls)."""
        return self._exec("-exec-step", timeout)

    def stepi(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        """One instruction."""
        return self._exec("-exec-step-instruction", timeout)

    # -- state --------------------------------------------------------------------------
    def register_names(self) -> Dict[str, int]:
        """Register name → gdb register number (includes QEMU's CSRs)."""
        if not self._regnums:
            names = self.command("-data-list-register-names").get("register-names", [])
            self._regnums = {n: i for i, n in enumerate(names) if n}
        return self._regnums

    def read_register(self, name: str) -> int:
        """A general register (``pc``, ``sp``, ``a0``…) or CSR (``mhartid``,
        ``mstatus``, ``pmpcfg0``, ``pmpaddr0``…) as an unsigned integer."""
        nums = self.register_names()
        if name not in nums:
            raise GdbError(f"gdb knows no register {name!r} on this target "
                           f"({len(nums)} registers, e.g. {', '.join(list(nums)[:8])})")
        payload = self.command(f"-data-list-register-values --skip-unavailable x {nums[name]}")
        values = payload.get("register-values", [])
        if not values:
            raise GdbError(f"register {name} is unavailable")
        return int(values[0]["value"], 16) & 0xFFFF_FFFF_FFFF_FFFF

    @property
    def pc(self) -> int:
        return self.read_register("pc")

    def read_memory(self, address: int, length: int) -> bytes:
        """``length`` bytes at ``address`` (as the current hart sees memory)."""
        payload = self.command(f"-data-read-memory-bytes 0x{address:x} {length}")
        out = bytearray()
        for block in payload.get("memory", []):
            out += bytes.fromhex(block["contents"])
        if len(out) != length:
            raise GdbError(f"read {len(out)} of {length} bytes at 0x{address:x}")
        return bytes(out)

    def console(self, cli_command: str) -> None:
        """Run a CLI command through MI (its output lands in the transcript)."""
        self.command(f"-interpreter-exec console {_mi_quote(cli_command)}")


    # -- worlds ----------------------------------------------------------------------------
    def load_worlds(self, worlds: Dict[str, "World"]) -> None:
        """Symbols of every world at its run address: the SM as the main file
        (``file``), every other ELF with ``add-symbol-file`` (their link
        addresses are their run addresses; the loader's physical copy is an
        alias known once the enclave's layout is, see :meth:`capture_enclave`)."""
        self.worlds = dict(worlds)
        first = worlds.get("sm") or next(iter(worlds.values()))
        self.load_symbols(first.path)
        for w in worlds.values():
            if w is not first:
                self.console(f"add-symbol-file {w.path} -o 0")
        # Memory changes under gdb's feet as worlds switch: no caching.
        for setting in ("code-cache off", "stack-cache off"):
            self.command(f"-gdb-set {setting}")

    def _world(self, name: str) -> "World":
        worlds = self.worlds
        if name not in worlds:
            raise GdbError(f"no world {name!r} loaded (have: {', '.join(worlds) or 'none'}); "
                           "pass worlds= or call load_worlds()")
        return worlds[name]

    @property
    def priv(self) -> int:
        """The hart's privilege level: 3 = M, 1 = S, 0 = U (QEMU's ``$priv``)."""
        return self.read_register("priv") & 3

    def world_of(self, priv: int, pc: int) -> Optional[str]:
        """The world running at privilege ``priv`` and ``pc``, or None."""
        worlds = self.worlds
        hits = [n for n in WORLD_ORDER if n in worlds and priv in worlds[n].privs
                and worlds[n].contains(pc)]
        if len(hits) > 1 and "eapp" in hits and "hostapp" in hits:
            hits = ["eapp" if self.in_enclave() else "hostapp"]
        return hits[0] if hits else None

    def current_world(self) -> Optional[str]:
        return self.world_of(self.priv, self.pc)

    def where(self) -> Dict[str, Any]:
        """``{"world", "priv", "pc", "function"}`` of the current stop."""
        priv, pc = self.priv, self.pc
        frame = (self.last_stop or {}).get("frame") or {}
        return {"world": self.world_of(priv, pc), "priv": priv, "pc": pc,
                "function": frame.get("func")}

    def break_in(self, world: str, function: str) -> List[int]:
        """Hardware breakpoints at ``function`` of ``world`` (every address it
        runs at: the loader's entry runs at the EPM base before paging). Returns
        the addresses. Hardware breakpoints need no write into memory, which
        the worlds load and measure."""
        addrs = self._world(world).addresses(function)
        for addr in addrs:
            self.break_at_address(addr, hardware=True)
        return addrs

    def delete_breakpoints(self) -> None:
        self.command("-break-delete")

    def continue_until_world(self, world: str, timeout: Optional[float] = None,
                             max_stops: int = 1000) -> Dict[str, Any]:
        """Continue until the target stops in ``world`` (stops elsewhere, e.g. at
        a breakpoint another world shares an address with, are passed over).
        Returns :meth:`where` of that stop."""
        self._world(world)
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        seen: List[str] = []
        for _ in range(max_stops):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                self.cont(timeout=remaining)
            except GdbError:
                if self.running:
                    self.interrupt(timeout=5)
                    here = self.where()
                    raise GdbError(f"no stop in the {world} world within {timeout:.0f}s; "
                                   f"interrupted in {here['world']} at pc {here['pc']:#x} "
                                   f"(priv {here['priv']}); passed over: {seen[-5:]}") from None
                raise
            here = self.where()
            if here["world"] == world:
                return here
            seen.append(f"{here['world']}@{here['pc']:#x}")
        raise GdbError(f"no stop in the {world} world within {timeout:.0f}s "
                       f"(stops passed over: {seen[-5:]})")

    def backtrace(self) -> List[Dict[str, Any]]:
        """The frames of the current stop, innermost first (``level``, ``addr``,
        ``func``...)."""
        try:
            return list(self.command("-stack-list-frames").get("stack", []))
        except GdbError:
            pass
        # gdb gives up on the whole list when an outer frame cannot be unwound
        # (e.g. "PC not saved" at an eapp's entry): take frames one by one.
        frames: List[Dict[str, Any]] = []
        for level in range(64):
            try:
                got = self.command(f"-stack-list-frames {level} {level}").get("stack", [])
            except GdbError:
                break
            if not got:
                break
            frames.extend(got)
        return frames

    def read_physical(self, address: int, length: int) -> bytes:
        """``length`` bytes at physical ``address`` whatever mode the hart is in
        (M-mode sees physical memory; elsewhere QEMU's ``PhyMemMode``)."""
        if self.priv == 3:
            return self.read_memory(address, length)
        self.console("maintenance packet Qqemu.PhyMemMode:1")
        try:
            return self.read_memory(address, length)
        finally:
            self.console("maintenance packet Qqemu.PhyMemMode:0")

    def in_enclave(self) -> Optional[bool]:
        """Whether this hart runs an enclave, from the SM's per-hart record
        (``world::CURRENT``, ``enclave::CURRENT`` in older builds); None when
        the SM has no such symbol."""
        sm = (self.worlds).get("sm")
        hits = []
        for name in ("world::CURRENT", "enclave::CURRENT"):
            hits = find_symbol(sm.elf, name) if sm else []
            if hits:
                break
        if not hits:
            return None
        hart = self.read_register("mhartid")
        raw = self.read_physical(hits[0][1] + 8 * hart, 8)
        return int.from_bytes(raw, "little") != 0

    def capture_enclave(self, args_va: Optional[int] = None) -> "EnclaveLayout":
        """At a stop in the SM's create handler: read the create arguments the
        host passed (``a1``, a host virtual address translated through the
        host's ``satp``), keep the layout, and make the loader world know its
        physical copy at the EPM base."""
        if self.priv != 3:
            raise GdbError("capture_enclave needs a stop in the SM (M-mode), e.g. after "
                           "break_in('sm', 'create')")
        va = self.read_register("a1") if args_va is None else args_va
        satp = self.read_register("satp")
        try:
            pa = sv39_translate(va, satp, self.read_memory)
        except ValueError as exc:
            raise GdbError(f"create arguments at {va:#x}: {exc}") from None
        layout = EnclaveLayout.parse(self.read_memory(pa, EnclaveLayout.SIZE))
        self.enclave = layout
        loader = (self.worlds).get("loader")
        if loader is not None:
            link = loader.elf.load_segments[0].vaddr
            loader.aliases = [(link, layout.epm_paddr)]
        return layout

    def read_pmp(self, entries: int = 16) -> List["PmpEntry"]:
        """The hart's PMP entries, decoded (pmpcfg0/2.., pmpaddr0..)."""
        cfgs = [self.read_register(f"pmpcfg{2 * i}") for i in range((entries + 7) // 8)]
        addrs = [self.read_register(f"pmpaddr{i}") for i in range(entries)]
        return decode_pmp(cfgs, addrs)


def _mi_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

"""Where the instructions of one hot-path operation go: a per-phase breakdown.

The conformance payload booted with ``-append bench-phases`` performs one of
each hot-path operation (SBI null call, RUN to exit, edge-call round trip,
timer preemption round trip) between two calls of ``bench_phase_mark``.
QEMU runs it one instruction per translation block (``-singlestep``) and logs
every executed block (``-d exec,nochain``) into a FIFO, so the trace is every
retired instruction's pc, exactly, with nothing sampled. The pcs between the
two marks are then attributed:

* pcs in the SM image: by source file, from the SM ELF's DWARF line table
  (``addr2line -i``: the innermost frame that is not a plain CSR accessor or
  a core-library helper names the phase); assembly without line information
  by the nearest symbol (``sm_fp_switch``: FP registers); the trap vector split at
  ``sm_trap_resume`` into its save and its restore halves;
* pcs in the payload image: "host (payload S-mode)";
* everything else (the EPM): "enclave".

The counts are exact and repeat run after run; they include the payload's
own instructions around the call, so an operation's total here is a few
instructions above the bench's loop-corrected figure.
"""

from __future__ import annotations

import bisect
import logging
import os
import shutil
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..build.artifacts import Artifacts
from ..contract import SM_PANIC
from ..errors import KeystoneError
from ..toolchain import Toolchain, tool_output
from .machine import Machine

log = logging.getLogger("keystone_py.phases")

SM_IMAGE = (0x8000_0000, 0x8020_0000)
MARK_SYMBOL = "bench_phase_mark"
RETURN_SYMBOL = "sm_trap_resume"
TRAP_SYMBOL = "sm_trap_vector"
PHASE_LINE = "bench-phase: "
ADDR2LINE = "riscv64-unknown-elf-addr2line"

#: (source path fragment, phase), the first match wins; matched against the
#: innermost inlined frame that is not a generic helper (see ``_HELPERS``).
PHASE_BY_FILE: Tuple[Tuple[str, str], ...] = (
    ("arch/fpu.rs", "FP registers"),
    ("arch/hext.rs", "H/VS CSRs"),
    ("arch/context.rs", "S-mode CSRs, mstatus, mie"),
    ("arch/pmp.rs", "PMP registers"),
    ("pmp_global.rs", "PMP policy"),
    ("core/src/pmp", "PMP policy"),
    ("timer.rs", "timer guard"),
    ("timer_policy.rs", "timer guard"),
    ("clint.rs", "timer guard"),
    ("ipi.rs", "IPI poll"),
    ("/spin-", "locks"),
    ("enclave_state.rs", "enclave bookkeeping"),
    ("enclave/mod.rs", "enclave bookkeeping"),
    ("world.rs", "enclave bookkeeping"),
    ("sbi/", "SBI dispatch"),
    ("src/trap.rs", "trap handler"),
)
#: Frames that say nothing about the phase: the caller's frame decides.
_HELPERS = ("arch/csr.rs", "core/src/bits.rs", "hal/src/cpu.rs", "/library/core/", "/rustc/",
            "core/src/num", "core/src/ops", "core/src/ptr", "core/src/cmp", "core/src/option",
            "core/src/result", "core/src/slice", "core/src/sync")
HOST = "host (payload S-mode)"
ENCLAVE = "enclave"


class PhaseTraceError(KeystoneError):
    """The traced run did not produce the marks or the symbols it needs."""


@dataclass
class Breakdown:
    """One operation's instructions by phase."""

    name: str
    phases: Dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.phases.values())

    def sm_total(self) -> int:
        return sum(v for k, v in self.phases.items() if k not in (HOST, ENCLAVE))


def _symbol(elf: Path, name: str) -> int:
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        for sym in symtab.get_symbol_by_name(name) or []:
            return int(sym["st_value"])
    raise PhaseTraceError(f"{elf.name} has no symbol {name!r}; rebuild with `keystone-py build`")


def _frames(elf: Path, pcs: Sequence[int]) -> Dict[int, List[str]]:
    """pc -> its source files, innermost inlined frame first (addr2line -i)."""
    tool = shutil.which(ADDR2LINE)
    if tool is None:
        raise PhaseTraceError(f"{ADDR2LINE} not found; install binutils-riscv64-unknown-elf")
    out: Dict[int, List[str]] = {}
    query = "".join(f"{pc:#x}\n" for pc in pcs)
    text = tool_output([tool, "-a", "-i", "-e", elf], PhaseTraceError, input=query, timeout=None)
    current: Optional[List[str]] = None
    for line in text.splitlines():
        if line.startswith("0x"):
            current = out.setdefault(int(line, 16), [])
        elif current is not None and not line.startswith("??"):
            current.append(line.rsplit(":", 1)[0])
    return out


def phase_of(files: Sequence[str]) -> str:
    """The phase a pc belongs to, from its inline chain (innermost first)."""
    chain = [f for f in files if not any(h in f for h in _HELPERS)] or list(files)
    for f in chain[:1] or ["?"]:
        for fragment, phase in PHASE_BY_FILE:
            if fragment in f:
                return phase
        return f"other ({Path(f).name})"
    return "other"


#: Hand-written assembly has no DWARF lines: its pcs are named by the
#: nearest symbol before them instead (prefix, phase).
PHASE_BY_SYMBOL: Tuple[Tuple[str, str], ...] = (
    ("sm_fp_", "FP registers"),
    ("sm_mprv_", "caller memory (MPRV guard)"),
)


def _symbols(elf: Path) -> List[Tuple[int, str]]:
    """(address, name) of the ELF's named code symbols, sorted by address."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        syms = [(int(s["st_value"]), s.name) for s in symtab.iter_symbols()
                if s.name and s["st_info"]["type"] in ("STT_FUNC", "STT_NOTYPE")]
    return sorted(syms)


def phase_of_symbol(symbols: Sequence[Tuple[int, str]], pc: int) -> Optional[str]:
    """The phase of an assembly pc, from the nearest symbol at or before it."""
    i = bisect.bisect_right(symbols, (pc, "\uffff")) - 1
    if i < 0:
        return None
    name = symbols[i][1]
    return next((phase for prefix, phase in PHASE_BY_SYMBOL if name.startswith(prefix)), None)


def attribute(counts: Counter, sm_elf: Path, payload_range: Tuple[int, int],
              trap_vector: int, trap_return: int, trap_end: int) -> Dict[str, int]:
    """Sums per-pc counts into phases."""
    phases: Counter = Counter()
    sm_pcs = sorted(pc for pc in counts if SM_IMAGE[0] <= pc < SM_IMAGE[1])
    files = _frames(sm_elf, sm_pcs) if sm_pcs else {}
    symbols = _symbols(sm_elf) if any(not files.get(pc) for pc in sm_pcs) else []
    for pc, n in counts.items():
        if trap_vector <= pc < trap_return:
            phases["trap vector: GPR save"] += n
        elif trap_return <= pc < trap_end:
            phases["trap vector: GPR restore, mret"] += n
        elif SM_IMAGE[0] <= pc < SM_IMAGE[1]:
            chain = files.get(pc, [])
            asm = None if chain else phase_of_symbol(symbols, pc)
            phases[asm or phase_of(chain)] += n
        elif payload_range[0] <= pc < payload_range[1]:
            phases[HOST] += n
        else:
            phases[ENCLAVE] += n
    return dict(phases)


def _read_trace(path: Path, mark: int, into: List[Counter], error: List[str]) -> None:
    """Reads QEMU's exec log: per-pc counts of each begin..end mark pair."""
    inside = False
    current: Counter = Counter()
    mark_hex = f"{mark:016x}".encode()
    try:
        with open(path, "rb") as f:
            for line in f:
                # "Trace 0: 0x7f.. [0000000000000000/0000000080000000/...]"
                start = line.find(b"/")
                if start < 0:
                    continue
                pc_hex = line[start + 1:start + 17]
                if pc_hex == mark_hex:
                    if inside:
                        into.append(current)
                        current = Counter()
                    inside = not inside
                    continue
                if inside:
                    current[pc_hex] += 1
    except OSError as exc:
        error.append(str(exc))


def trace_phases(artifacts: Artifacts, log_dir: Path, toolchain: Optional[Toolchain] = None,
                 firmware: Optional[Path] = None, extra_args: Sequence[str] = (),
                 timeout: float = 600.0) -> List[Breakdown]:
    """Boots ``-append bench-phases`` with an exec trace; one Breakdown per operation."""
    tc = toolchain or Toolchain()
    sm_elf = artifacts.require("sm_elf")
    payload_elf = artifacts.require("payload_elf")
    mark = _symbol(payload_elf, MARK_SYMBOL)
    trap_vector = _symbol(sm_elf, TRAP_SYMBOL)
    trap_return = _symbol(sm_elf, RETURN_SYMBOL)
    trap_end = _symbol(sm_elf, "sm_enter_supervisor")
    payload_range = _image_range(payload_elf)
    log_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ks-phases-") as tmp:
        fifo = Path(tmp) / "exec.fifo"
        os.mkfifo(fifo)
        pairs: List[Counter] = []
        error: List[str] = []
        reader = threading.Thread(target=_read_trace, args=(fifo, mark, pairs, error),
                                  daemon=True)
        reader.start()
        m = Machine(firmware=firmware or artifacts.require("sm_bin"),
                    kernel=artifacts.require("payload_bin"), append="bench-phases", smp=1,
                    icount=0, log_dir=log_dir, name="bench-phases", qemu=tc.qemu,
                    fail_patterns=(SM_PANIC,),
                    extra_args=["-singlestep", "-d", "exec,nochain", "-dfilter",
                                "0x80000000..0xffffffff", "-D", str(fifo), *extra_args])
        res = m.run_to_exit(timeout=timeout, marks=[r"^bench: done"])
        reader.join(timeout=120)
    if error:
        raise PhaseTraceError(f"reading the trace failed: {error[0]}")
    if res.status != 0 or res.failure or res.timed_out:
        raise PhaseTraceError(f"the traced run failed (status {res.status}, "
                              f"{res.failure or 'timeout' if res.timed_out else ''}); "
                              f"see {log_dir}")
    names = [ln[len(PHASE_LINE):].strip() for ln in res.text.replace("\r", "").splitlines()
             if ln.startswith(PHASE_LINE)]
    if len(names) != len(pairs):
        raise PhaseTraceError(f"{len(names)} operations announced, {len(pairs)} traced; "
                              f"see {log_dir}")
    out = []
    for name, raw in zip(names, pairs):
        counts: Counter = Counter({int(k, 16): v for k, v in raw.items()})
        out.append(Breakdown(name, attribute(counts, sm_elf, payload_range, trap_vector,
                                             trap_return, trap_end)))
    return out


def _image_range(elf: Path) -> Tuple[int, int]:
    """[lowest, highest) address the ELF's loadable segments cover."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        segs = [s for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD"]
    return (min(s["p_vaddr"] for s in segs), max(s["p_vaddr"] + s["p_memsz"] for s in segs))


def format_breakdowns(rows: Sequence[Breakdown]) -> str:
    """A console table: each operation, its phases largest first, and totals."""
    lines = ["per-phase breakdown (exact: QEMU exec trace of one operation, "
             "-singlestep, instructions)"]
    for b in rows:
        lines.append(f"  {b.name}: {b.total} in all, {b.sm_total()} in the SM")
        for phase, n in sorted(b.phases.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {phase:<42} {n:>7}")
    return "\n".join(lines)

"""Where the instructions of an ocall round trip go, world by world, with
Linux or zCore as the host.

Boots Linux (or zCore, ``--host zcore``) on our SM under ``-icount shift=0``
with QEMU's ``-singlestep`` (one instruction per translation block), runs
``ks-demo one ocall-bench`` once to warm up, then again with QEMU's ``exec,nochain`` log switched on
through the monitor. Every logged block is one executed instruction, with
its pc and the TB flags (whose low bits are the privilege level the
instruction ran at). Between the ocall-bench eapp's first and last
instruction the enclave makes only its 1000 NOP ocalls, so each world's share
of that window, divided by the number of calls, is its cost per round trip:

- ``SM``: M-mode (the security monitor),
- ``runtime``: S-mode at the runtime's addresses (``RUNTIME_VA`` and up),
- ``eapp``: U-mode after the runtime,
- ``linux``: S-mode elsewhere (syscall entry/exit, the ioctl, the driver,
  timer interrupts), split into ``driver`` (the module area below the
  kernel image) and the rest,
- ``host``: U-mode after Linux (the host app and sdk/host).

On zCore the kernel world is ``zcore``, split into ``device`` (the enclave
device, ``linux_object::fs::keystone``, told apart by symbol) and the rest
(its syscall path, VMO copies, timers, the scheduler).

``python -m keystone_py.qemu.ocall_trace [--host zcore] [--top N]`` prints the
table and the most executed host and kernel symbols.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import re
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from ..build.targets import build_targets
from ..build.zcore import ZcoreBuilder
from ..toolchain import run_tool
from .firmware import resolve_firmware
from .guest import LinuxGuest, linux_machine
from .zcore import zcore_machine

RUNTIME_VA = 0xFFFF_FFFF_C000_0000
KERNEL_IMAGE = 0xFFFF_FFFF_8000_0000
MODULES = 0xFFFF_FFFF_0000_0000
SM_END = 0x8020_0000
CALLS = 1000
TRACE = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/([0-9a-f]+)/[0-9a-f]+\]")


class Symbols:
    """pc -> symbol name from ``nm`` of a non-relocated ELF."""

    def __init__(self, elf: Optional[Path]):
        self.addrs: List[int] = []
        self.names: List[str] = []
        if elf is None or not elf.exists():
            return
        out = run_tool(["nm", "-n", "--defined-only", elf]).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tTwW":
                self.addrs.append(int(parts[0], 16))
                self.names.append(parts[2])

    def name(self, pc: int) -> str:
        i = bisect.bisect_right(self.addrs, pc) - 1
        return self.names[i] if i >= 0 else f"{pc:#x}"


def classify(log: Path, kernel: str = "linux",
             device: Optional[Callable[[int], bool]] = None,
             ) -> Tuple[Dict[str, int], Dict[str, collections.Counter]]:
    """Counts of instructions per world inside the eapp's window, and pcs per world.
    ``kernel`` names the host kernel's world; Linux's module area is its
    ``driver``; for another kernel ``device(pc)`` tells the device's code apart."""
    seq: List[Tuple[str, int]] = []
    world_s = kernel  # the last S-mode world
    with open(log, errors="replace") as f:
        for line in f:
            m = TRACE.match(line)
            if not m:
                continue
            pc, flags = int(m.group(1), 16), int(m.group(2), 16)
            priv = flags & 3
            if pc < SM_END and pc >= 0x8000_0000 and priv == 3:
                w = "SM"
            elif priv == 1:
                if pc >= RUNTIME_VA:
                    world_s = w = "runtime"
                else:
                    world_s = kernel
                    if device is not None:
                        w = "device" if device(pc) else kernel
                    else:
                        w = "driver" if MODULES <= pc < KERNEL_IMAGE else kernel
            elif priv == 0:
                w = "eapp" if world_s == "runtime" else "host"
            else:
                w = "SM"
            seq.append((w, pc))
    eapp = [i for i, (w, _) in enumerate(seq) if w == "eapp"]
    counts: Dict[str, int] = collections.Counter()
    pcs: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    if not eapp:
        return counts, pcs
    for w, pc in seq[eapp[0]:eapp[-1] + 1]:
        counts[w] += 1
        pcs[w][pc] += 1
    return counts, pcs


def _trace_run(m, g: LinuxGuest) -> Tuple[object, object]:
    """ocall-bench once to warm up, then once with the exec log on."""
    g.wait_ready(timeout=600)
    g.wait_prompt()
    warm = g.run("/bin/ks-demo one ocall-bench", timeout=600)
    m.qmp.execute("human-monitor-command", **{"command-line": "log exec,nochain"})
    run = g.run("/bin/ks-demo one ocall-bench", timeout=1200)
    m.qmp.execute("human-monitor-command", **{"command-line": "log none"})
    return warm, run


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m keystone_py.qemu.ocall_trace",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--host", choices=("linux", "zcore"), default="linux",
                   help="the host OS (zcore needs --zcore-sources or $KEYSTONE_ZCORE_SOURCES)")
    p.add_argument("--zcore-sources", metavar="DIR", default=None,
                   help="with --host zcore: folder of zCore's source archives + MANIFEST.tsv")
    p.add_argument("--top", type=int, default=12, help="symbols to list per world")
    p.add_argument("--keep", action="store_true", help="keep the (large) trace log")
    p.add_argument("--pcs", action="store_true",
                   help="also write each world's executed pcs and counts per round trip "
                        "(pcs-WORLD.txt in the log directory), to annotate a disassembly")
    args = p.parse_args(argv)
    artifacts = build_targets(["sm", "linux"])
    root = Path(artifacts.require("linux_image")).parents[1]
    log_dir = root / "logs" / f"ocall-trace-{args.host}-{time.strftime('%Y%m%d-%H%M%S')}"
    log_dir.mkdir(parents=True, exist_ok=True)
    trace = log_dir / "exec.log"
    trace_args = ["-singlestep", "-D", str(trace)]
    device: Optional[Callable[[int], bool]] = None
    if args.host == "zcore":
        builder = ZcoreBuilder(root=root.parent, sources=args.zcore_sources)
        image = builder.build()
        kernel = Symbols(builder.elf)
        device = lambda pc: "keystone" in kernel.name(pc)  # noqa: E731
        m = zcore_machine(resolve_firmware("ours", artifacts), image,
                          builder.default_root_image(), ["/bin/init"], icount=0, log="error",
                          name="ocall-trace-zcore", log_dir=log_dir, extra_args=trace_args)
        with m:
            warm, run = _trace_run(m, LinuxGuest(m))
    else:
        kernel = Symbols(root / "linux" / "vmlinux")
        m = linux_machine(artifacts, icount=0, append_extra="quiet", name="ocall-trace",
                          memory="512M", log_dir=log_dir, extra_args=trace_args)
        with m:
            g = LinuxGuest(m)
            warm, run = _trace_run(m, g)
            g.poweroff()
    print(warm.output.splitlines()[-1] if warm.output else warm)
    print(run.output.splitlines()[-1] if run.output else run)
    counts, pcs = classify(trace, kernel=args.host, device=device)
    if not counts:
        print("no eapp instruction in the trace", file=sys.stderr)
        return 1
    total = sum(counts.values())
    split = "device" if device else "driver"
    print(f"\nper ocall round trip ({CALLS} NOP ocalls of ocall-bench, -icount shift=0, "
          f"-singlestep, {args.host} host):")
    for w in ("eapp", "runtime", "SM", args.host, split, "host"):
        print(f"  {w:<8} {counts.get(w, 0) / CALLS:>8.0f}")
    print(f"  {'total':<8} {total / CALLS:>8.0f}")
    syms = {
        args.host: kernel,
        split: kernel,
        "host": Symbols(root / "target" / "riscv64gc-unknown-linux-gnu" / "release" / "ks-demo"),
        "runtime": Symbols(root / "eyrie-rt.elf"),
        "SM": Symbols(root / "sm_rs.elf"),
    }
    if not device:
        del syms[split]  # Linux's module area: the driver's own symbols are not in vmlinux
    for w in ("host", args.host, split, "runtime", "SM"):
        by_sym: collections.Counter = collections.Counter()
        table = syms.get(w)
        for pc, n in pcs[w].items():
            by_sym[table.name(pc) if table else f"{pc & ~0xfff:#x}"] += n
        print(f"\n{w}: top symbols (instructions per round trip)")
        for name, n in by_sym.most_common(args.top):
            print(f"  {n / CALLS:>8.1f}  {name}")
    if args.pcs:
        for w, counter in pcs.items():
            with open(log_dir / f"pcs-{w}.txt", "w") as f:
                for pc, n in sorted(counter.items()):
                    f.write(f"{pc:#x} {n / CALLS:.2f}\n")
        print(f"\nper-pc counts: {log_dir}/pcs-*.txt")
    if not args.keep:
        trace.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``keystone-py gdb``: an interactive gdb-multiarch on a booted, halted stack
with every world's symbols already loaded.

QEMU runs in the background (halted at reset, gdbstub on a free port); the
generated command file (``gdb-commands.gdb`` in the run's log folder) loads the
SM as the main file and the host, loader, runtime and eapp with
``add-symbol-file``, attaches, sets the requested hardware breakpoints and
defines ``ks-world`` (which world is this stop in). When gdb exits, QEMU is
shut down.
"""

from __future__ import annotations

import logging
import shlex
import signal
import subprocess
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ..build.artifacts import Artifacts
from ..errors import KeystoneError
from ..qemu.firmware import resolve_firmware
from ..qemu.guest import linux_machine
from ..qemu.machine import Machine
from ..qemu.zcore import zcore_machine
from ..toolchain import Toolchain
from .stack import PayloadStack
from .worlds import PRIV_NAMES, WORLD_NAMES, WORLD_ORDER, World, world_table

log = logging.getLogger("keystone_py.gdb")

#: The file gdb sources for ``ks-capture`` (it runs in gdb's own Python).
IN_GDB = Path(__file__).with_name("in_gdb.py")
#: The world stops that always make sense on the payload stack.
DEFAULT_BREAKS = ("sm:enclave::create",)


def parse_breaks(specs: Sequence[str]) -> List[Tuple[str, str]]:
    out = []
    for spec in specs:
        world, sep, function = spec.partition(":")
        if not sep or not function or world not in WORLD_NAMES:
            raise KeystoneError(f"--break {spec!r}: expected WORLD:FUNCTION with WORLD one of "
                                f"{', '.join(WORLD_NAMES)} (e.g. eapp:main, runtime:rt_main, "
                                "loader:_start, sm:enclave::create)")
        out.append((world, function))
    return out


def command_file(worlds: Mapping[str, World], port: int, breaks: Sequence[Tuple[str, str]],
                 extra: Sequence[str] = ()) -> str:
    """The gdb script: symbols, attach, breakpoints, ``ks-world``."""
    sm = worlds["sm"]
    lines = ["set confirm off", "set pagination off", "set architecture riscv:rv64",
             f"file {sm.path}"]
    lines += [f"add-symbol-file {w.path} -o 0" for n, w in worlds.items() if n != "sm"]
    lines += ["set code-cache off", "set stack-cache off", f"target remote 127.0.0.1:{port}"]
    # ks-world: the world of this stop, from $priv and the ELFs' ranges.
    lines += ["define ks-world"]
    conds = []
    for name in WORLD_ORDER:
        w = worlds.get(name)
        if w is None:
            continue
        for lo, hi in w.link_ranges():
            privs = " || ".join(f"$priv == {p}" for p in w.privs)
            conds.append((f"({privs}) && $pc >= {lo:#x} && $pc < {hi:#x}",
                          f"{name} ({'/'.join(PRIV_NAMES[p] for p in w.privs)})"))
    if "loader" in worlds:  # the loader's physical entry, once the EPM is known
        size = max(hi for _, hi in worlds["loader"].link_ranges()) - min(
            lo for lo, _ in worlds["loader"].link_ranges())
        conds.append((f"$priv == 1 && $ks_epm != 0 && $pc >= $ks_epm && $pc < $ks_epm + {size:#x}",
                      "loader (S, physical, paging off)"))
    lines += _nested_ifs(conds, "  ")
    lines += ["end", "document ks-world", "Which keystone world this stop is in "
              "(SM, host, loader, runtime, eapp), from $priv and the ELFs' address ranges.",
              "end", "set $ks_epm = 0"]
    # The enclave's physical placement, read from the create arguments the host
    # passes the SM (a1: physical from the payload, walked through the host's satp
    # from Linux or zCore; ks-capture, in_gdb.py).
    create = sm.addresses("enclave::create")[0]
    wants_create = ("sm", "enclave::create") in breaks or ("sm", "create") in breaks
    loader_breaks = [f for w, f in breaks if w == "loader"]
    lines += [f"source {IN_GDB}", f"hbreak *{create:#x}", "commands", "  silent",
              "  ks-capture",
              "  printf \"keystone-py: enclave create, EPM at %#lx, UTM at %#lx\\n\", $ks_epm, "
              "$ks_utm"]
    for fn in loader_breaks:
        link = worlds["loader"].addresses(fn)[0]
        base = worlds["loader"].elf.load_segments[0].vaddr
        lines += [f"  hbreak *($ks_epm + {link - base:#x})"]
    lines += ["  ks-world", "  bt 1" if wants_create else "  continue", "end"]
    for world, fn in breaks:
        if world == "sm" and fn in ("create", "enclave::create"):
            continue
        if world not in worlds:
            raise KeystoneError(f"--break {world}:{fn}: no {world} world in this stack "
                                f"(have {', '.join(worlds)})")
        lines += [f"hbreak *{worlds[world].addresses(fn)[0]:#x}"]
    lines += [*extra]
    return "\n".join(lines) + "\n"


def _nested_ifs(conds: Sequence[Tuple[str, str]], indent: str) -> List[str]:
    """gdb has no ``else if``: nest the checks."""
    if not conds:
        return [f'{indent}printf "world: unknown (priv %d, pc %#lx)\\n", $priv, $pc']
    (cond, label), rest = conds[0], conds[1:]
    return [f"{indent}if {cond}", f'{indent}  printf "world: {label}, pc %#lx\\n", $pc',
            f"{indent}else", *_nested_ifs(rest, indent + "  "), f"{indent}end"]


def run_gdb(artifacts: Artifacts, app: str = "hello", breaks: Sequence[str] = (),
            smp: int = 1, ex: Sequence[str] = (), batch: bool = False,
            dry_run: bool = False) -> int:
    """Boot the payload stack halted and run gdb-multiarch on it; QEMU is shut
    down when gdb exits. Returns gdb's exit status."""
    tc = Toolchain()
    stack = PayloadStack(artifacts, app)
    worlds = stack.worlds()
    wanted = _checked_breaks(worlds, breaks)
    m = Machine(firmware=resolve_firmware("ours", artifacts, tc),
                kernel=artifacts.require("payload_bin"),
                smp=smp, extra_args=stack.extra_args, append=stack.append, gdb=True,
                name=f"gdb-{app}", qemu=tc.qemu)
    return _attach(m, worlds, wanted, tc, ex=ex, batch=batch, dry_run=dry_run)


#: Host OSes ``keystone-py gdb --host`` boots.
HOST_OSES = ("linux", "zcore")


def host_worlds(host: str, artifacts: Artifacts, host_elf: Path, hostapp: Path,
                app: str) -> Dict[str, World]:
    """SM, the host kernel (vmlinux or zCore's ELF), the host app (test-runner, U),
    loader, runtime and eapp: the worlds of one enclave run from a host OS."""
    if not host_elf.is_file():
        raise KeystoneError(f"gdb --host {host}: no kernel ELF at {host_elf} "
                            f"(keystone-py build {host})")
    if not hostapp.is_file():
        raise KeystoneError(f"gdb --host {host}: no host app at {hostapp} "
                            "(keystone-py build host)")
    return world_table(artifacts.require("sm_elf"), host_elf, hostapp=hostapp,
                       loader=artifacts.require("loader_elf"),
                       runtime=artifacts.require("runtime_elf"), eapp=artifacts.eapp(app))


def run_gdb_host(host: str, artifacts: Artifacts, *, host_elf: Path, hostapp: Path,
                 app: str = "hello", breaks: Sequence[str] = (), smp: int = 1,
                 ex: Sequence[str] = (), batch: bool = False, dry_run: bool = False,
                 zcore: Optional[Tuple[Path, Path]] = None) -> int:
    """Boot Linux or zCore halted with ``test-runner`` running ``app`` as soon
    as the host is up (Linux: /init's ks.script; zCore: its root process), and
    run gdb-multiarch with every world's symbols: the host kernel, the host app,
    the SM, the loader, the runtime and the eapp. ``zcore``: (zcore.bin, root
    image) for ``host == "zcore"``."""
    if host not in HOST_OSES:
        raise KeystoneError(f"gdb --host {host!r}: expected one of {', '.join(HOST_OSES)}")
    tc = Toolchain()
    worlds = host_worlds(host, artifacts, host_elf, hostapp, app)
    wanted = _checked_breaks(worlds, breaks)
    argv = ["/bin/test-runner", f"/enclave/{app}", "/enclave/eyrie-rt", "/enclave/loader.bin"]
    fw = resolve_firmware("ours", artifacts, tc)
    if host == "linux":
        m = linux_machine(artifacts, firmware=fw, smp=smp, script=["run " + " ".join(argv)],
                          memory="512M", toolchain=tc, gdb=True, name=f"gdb-linux-{app}")
    else:
        if zcore is None:
            raise KeystoneError("gdb --host zcore: zCore is not built (keystone-py build zcore)")
        m = zcore_machine(fw, zcore[0], zcore[1], argv, smp=smp, gdb=True,
                          name=f"gdb-zcore-{app}")
    return _attach(m, worlds, wanted, tc, ex=ex, batch=batch, dry_run=dry_run)


def _checked_breaks(worlds: Mapping[str, World], breaks: Sequence[str]) -> List[Tuple[str, str]]:
    """The parsed ``--break`` list, each looked up before booting (a typo fails at once)."""
    wanted = parse_breaks(list(breaks) or list(DEFAULT_BREAKS))
    for world, fn in wanted:
        if world in worlds:
            worlds[world].addresses(fn)
    return wanted


def _attach(m: Machine, worlds: Mapping[str, World], wanted: Sequence[Tuple[str, str]],
            tc: Toolchain, *, ex: Sequence[str], batch: bool, dry_run: bool) -> int:
    """Launch ``m`` halted, write the command file and run gdb on it until it exits."""
    with m:
        script = command_file(worlds, m.gdb_port or 0, wanted)
        path = Path(m.log_dir) / "gdb-commands.gdb"
        path.write_text(script)
        argv = [str(tc.gdb), "-q", "-x", str(path)]
        for cmd in ex:
            argv += ["-ex", cmd]
        if batch:
            argv.insert(1, "-batch")
        log.info("QEMU halted at reset (pid %s, console: %s); gdb commands: %s\n+ %s\n"
                 "(`continue` runs to the next breakpoint, `ks-world` names the world; "
                 "QEMU stops when gdb exits)", m.pid, m.console_log_path, path, shlex.join(argv))
        if dry_run:
            print(script, end="")
            return 0
        # Ctrl-C belongs to gdb (it interrupts the target), not to us.
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return subprocess.run(argv, check=False,
                                  preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                   signal.SIG_DFL)).returncode
        finally:
            signal.signal(signal.SIGINT, old)

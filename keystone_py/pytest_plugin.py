"""pytest plugin (entry point ``pytest11: keystone_py``).

Options::

    --smp N              harts of machines made by machine_factory (default 1)
    --firmware ours|opensbi
                         M-mode firmware: build/sm_rs.bin or Debian's OpenSBI fw_jump
    --qemu-arg ARG       extra QEMU argument for every machine (repeatable)
    --icount SHIFT       QEMU -icount shift=SHIFT for every machine (deterministic counts)
    --keep-logs          keep every test's log folder, not only failed ones
    --ks-log-root DIR    where per-test log folders go (default build/test-logs)

Fixtures::

    ks_paths         (session) the built tree: firmware and payload built, cached
    ks_log_dir       per-test log folder, named by the test id, kept on failure
    machine_factory  makes Machines (not yet launched) that log into ks_log_dir and are
                     shut down when the test ends
    ks_linux         (session) the Linux artifacts: kernel Image, vmlinux, initramfs (cached)
    linux_machine    makes Machines booting Linux + /init on ours or OpenSBI:
                     ``linux_machine(smp=4, firmware="opensbi", script=["cpus", "poweroff"])``
    ks_enclave       (session) every artifact, loader, runtime and eapps included (cached)
    payload_stack    ``payload_stack(eapp="hello")`` → a launched, halted Machine (gdbstub on)
                     whose payload hosts that eapp through loader and runtime, and its
                     :class:`~keystone_py.stack.PayloadStack`
    ks_gdb           ``ks_gdb(machine, worlds=None, elf=None)`` → an attached GdbSession whose
                     GDB/MI transcript (gdb.log) is in the machine's log folder; closed at the end
    ssh_target       a :class:`~keystone_py.remote.SshTarget` for ``--target ssh://user@host:port``
                     (``--target-key``); skips without ``--target``
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from .build import Builder
from .errors import KeystoneError
from .firmware import resolve_firmware
from .machine import Machine
from .paths import build_dir, find_root
from .toolchain import Toolchain


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("keystone_py", "keystone-rs machines (keystone_py)")
    group.addoption("--smp", type=int, default=1, help="harts per machine (default 1)")
    group.addoption("--firmware", choices=("ours", "opensbi"), default="ours",
                    help="M-mode firmware: ours (build/sm_rs.bin) or opensbi (Debian fw_jump)")
    group.addoption("--qemu-arg", action="append", default=[], metavar="ARG",
                    help="extra QEMU argument for every machine (repeatable)")
    group.addoption("--icount", type=int, default=None, metavar="SHIFT",
                    help="QEMU -icount shift=SHIFT for every machine (default: off)")
    group.addoption("--keep-logs", action="store_true",
                    help="keep the log folder of passing tests too")
    group.addoption("--ks-log-root", default=None, metavar="DIR",
                    help="parent of the per-test log folders (default build/test-logs)")
    group.addoption("--target", default=None, metavar="ssh://USER@HOST[:PORT]",
                    help="a board (or a QEMU guest) over SSH for the ssh_target fixture")
    group.addoption("--target-key", default=None, metavar="FILE",
                    help="private key for --target (default: the SSH agent / ~/.ssh keys)")


@dataclass
class KsPaths:
    """The built tree, as the tests see it."""

    root: Path
    build_dir: Path
    artifacts: Dict[str, str]
    toolchain: Toolchain
    firmware_choice: str = "ours"
    #: ``--qemu-arg`` values: every machine a test boots gets them (e.g. ``-cpu``).
    qemu_args: List[str] = field(default_factory=list)
    extra: Dict[str, Any] = field(default_factory=dict)

    def artifact(self, key: str) -> Path:
        try:
            return Path(self.artifacts[key])
        except KeyError:
            raise KeystoneError(f"artifact {key!r} was not built (have: "
                                f"{', '.join(sorted(self.artifacts))})") from None

    @property
    def sm_elf(self) -> Path:
        return self.artifact("sm_elf")

    @property
    def sm_bin(self) -> Path:
        return self.artifact("sm_bin")

    @property
    def payload_elf(self) -> Path:
        return self.artifact("payload_elf")

    @property
    def payload_bin(self) -> Path:
        return self.artifact("payload_bin")

    @property
    def firmware(self) -> Path:
        """The firmware chosen with ``--firmware``."""
        return resolve_firmware(self.firmware_choice, self.artifacts, self.toolchain)


@pytest.fixture(scope="session")
def ks_paths(pytestconfig: pytest.Config) -> KsPaths:
    """Builds the firmware and the conformance payload once per session (a cache hit
    when nothing changed) and returns their paths."""
    try:
        root = find_root(Path(str(pytestconfig.rootpath)))
        toolchain = Toolchain()
        artifacts = Builder(root=root, toolchain=toolchain).build()
    except KeystoneError as exc:
        pytest.fail(f"keystone_py build failed:\n{exc}", pytrace=False)
    return KsPaths(root=root, build_dir=build_dir(root), artifacts=artifacts,
                   toolchain=toolchain, firmware_choice=pytestconfig.getoption("firmware"),
                   qemu_args=list(pytestconfig.getoption("qemu_arg")))


def _safe_name(nodeid: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.=-]+", "_", nodeid.replace("::", "__")).strip("_")
    return name[-150:]


def _log_root(config: pytest.Config) -> Path:
    opt = config.getoption("ks_log_root")
    if opt:
        return Path(opt).resolve()
    try:
        return build_dir(find_root(Path(str(config.rootpath)))) / "test-logs"
    except KeystoneError:
        return Path(str(config.rootpath)) / "test-logs"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"_ks_rep_{rep.when}", rep)
    log_dir = getattr(item, "_ks_log_dir", None)
    if log_dir is not None and rep.failed:
        rep.sections.append(("keystone-py logs", f"kept in {log_dir}"))


@pytest.fixture
def ks_log_dir(request: pytest.FixtureRequest) -> Iterator[Path]:
    """``<log root>/<test id>/``: fresh for each test; removed after a pass unless
    ``--keep-logs``; kept (and its path shown in the report) on failure."""
    path = _log_root(request.config) / _safe_name(request.node.nodeid)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    request.node._ks_log_dir = path
    yield path
    reps = [getattr(request.node, f"_ks_rep_{w}", None) for w in ("setup", "call")]
    passed = all(r is not None and r.passed for r in reps)
    if passed and not request.config.getoption("keep_logs"):
        shutil.rmtree(path, ignore_errors=True)


MachineFactory = Callable[..., Machine]


@pytest.fixture
def machine_factory(request: pytest.FixtureRequest, ks_paths: KsPaths,
                    ks_log_dir: Path) -> Iterator[MachineFactory]:
    """``machine_factory(**kw)`` → a new, not yet launched :class:`Machine`
    (use it with ``with``). Defaults: the ``--firmware`` firmware, the conformance
    payload as kernel, ``--smp`` harts, ``--icount``, ``--qemu-arg`` extras, a log folder
    ``<test log dir>/<name>``. Any machine still running at the end is shut down."""
    made: List[Machine] = []
    config = request.config

    def make(name: Optional[str] = None, firmware: Optional[Path] = None,
             kernel: Optional[Path] = None, smp: Optional[int] = None,
             extra_args: Optional[List[str]] = None, **kwargs: Any) -> Machine:
        name = name or f"machine{len(made)}"
        kwargs.setdefault("icount", config.getoption("icount"))
        m = Machine(firmware=firmware or ks_paths.firmware,
                    kernel=kernel or ks_paths.payload_bin,
                    smp=smp or config.getoption("smp"),
                    extra_args=[*config.getoption("qemu_arg"), *(extra_args or [])],
                    log_dir=ks_log_dir / name, name=name,
                    qemu=ks_paths.toolchain.qemu, **kwargs)
        made.append(m)
        return m

    yield make
    for m in made:
        m.shutdown()


@pytest.fixture(scope="session")
def ks_linux(ks_paths: KsPaths) -> Dict[str, str]:
    """Builds the kernel, /init and the initramfs once per session (a cache hit
    when nothing changed; a cold kernel build takes minutes) and returns every
    artifact, the firmware's and payload's included."""
    from .linux import LinuxBuilder
    try:
        linux = LinuxBuilder(root=ks_paths.root, toolchain=ks_paths.toolchain).build()
    except KeystoneError as exc:
        pytest.fail(f"keystone_py Linux build failed:\n{exc}", pytrace=False)
    ks_paths.artifacts.update(linux)
    return dict(ks_paths.artifacts)


@pytest.fixture
def linux_machine(request: pytest.FixtureRequest, ks_paths: KsPaths, ks_linux: Dict[str, str],
                  ks_log_dir: Path) -> Iterator[MachineFactory]:
    """``linux_machine(smp=1, firmware=None, script=None, append_extra="", icount=None,
    name=None, **machine_kwargs)`` → a new, not yet launched Machine booting the
    kernel + initramfs. ``firmware``: ``ours``, ``opensbi`` or a path (default:
    the ``--firmware`` option); ``script``: /init commands run before its prompt
    (a list, or ``ks.script`` text); ``icount``: default the ``--icount`` option.
    Kernel and SM panics end any wait at once. Shut down when the test ends."""
    from .guest import linux_machine as make_linux_machine
    made: List[Machine] = []
    config = request.config

    def make(smp: int = 1, firmware: Any = None, script: Any = None, append_extra: str = "",
             icount: Optional[int] = None, name: Optional[str] = None,
             extra_args: Optional[List[str]] = None, **kwargs: Any) -> Machine:
        name = name or f"linux{len(made)}"
        m = make_linux_machine(
            ks_linux, firmware=firmware or ks_paths.firmware_choice, smp=smp, script=script,
            append_extra=append_extra,
            icount=icount if icount is not None else config.getoption("icount"),
            toolchain=ks_paths.toolchain, name=name, log_dir=ks_log_dir / name,
            extra_args=[*config.getoption("qemu_arg"), *(extra_args or [])], **kwargs)
        made.append(m)
        return m

    yield make
    for m in made:
        m.shutdown()


@pytest.fixture(scope="session")
def ks_enclave(ks_paths: KsPaths) -> Dict[str, str]:
    """Builds the loader, the runtime and every eapp once per session (a cache
    hit when nothing changed); returns every artifact."""
    from .build import ENCLAVE_TARGETS
    try:
        built = Builder(root=ks_paths.root, toolchain=ks_paths.toolchain).build(ENCLAVE_TARGETS)
    except KeystoneError as exc:
        pytest.fail(f"keystone_py enclave build failed:\n{exc}", pytrace=False)
    ks_paths.artifacts.update(built)
    return dict(ks_paths.artifacts)


@pytest.fixture
def payload_stack(machine_factory: MachineFactory,
                  ks_enclave: Dict[str, str]) -> Callable[..., Any]:
    """``payload_stack(eapp="hello", **machine_kwargs)`` → ``(machine, stack)``: a
    launched Machine, halted with its gdbstub on, whose conformance payload will
    host ``eapp`` through the loader and runtime (``-append runtime``)."""
    from .stack import PayloadStack

    def make(eapp: str = "hello", **kwargs: Any) -> Any:
        stack = PayloadStack(ks_enclave, eapp)
        kwargs.setdefault("name", f"stack-{eapp}")
        m = machine_factory(extra_args=[*stack.extra_args, *kwargs.pop("extra_args", [])],
                            append=stack.append, gdb=True, **kwargs)
        m.launch()
        return m, stack

    return make


@pytest.fixture
def ks_gdb() -> Iterator[Callable[..., Any]]:
    """``ks_gdb(machine, worlds=None, elf=None, timeout=20)`` → an attached
    :class:`~keystone_py.gdb.GdbSession`; its GDB/MI transcript is
    ``<machine log folder>/gdb.log``, so it is kept with the test's logs."""
    from .gdb import GdbSession
    sessions: List[Any] = []

    def make(machine: Machine, worlds: Any = None, elf: Any = None,
             timeout: float = 20.0) -> Any:
        g = GdbSession(machine=machine, worlds=worlds, elf=elf, timeout=timeout,
                       log_dir=machine.log_dir)
        g.__enter__()
        sessions.append(g)
        return g

    yield make
    for g in sessions:
        g.close()


@pytest.fixture
def ssh_target(request: pytest.FixtureRequest, ks_log_dir: Path) -> Iterator[Any]:
    """An :class:`~keystone_py.remote.SshTarget` for ``--target ssh://user@host:port``
    (key: ``--target-key``); its transcript is ``ssh.log`` in the test's log folder.
    Skips when no ``--target`` is given."""
    url = request.config.getoption("target")
    if not url:
        pytest.skip("no --target ssh://user@host:port given")
    from .remote import SshTarget
    target = SshTarget.from_url(url, key_filename=request.config.getoption("target_key"),
                                log_path=ks_log_dir / "ssh.log")
    try:
        target.connect()
        yield target
    finally:
        target.close()

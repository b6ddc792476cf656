"""The plugin's fixtures (see the package docstring for the list)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, Optional, Tuple

import pytest

from ..attest import devkey
from ..build import ENCLAVE_TARGETS, Artifacts, Builder, LinuxBuilder
from ..errors import KeystoneError, MachineShutdownError
from ..qemu import Machine
from ..qemu import linux_machine as make_linux_machine
from ..qemu.userrun import UserFiles, UserRun, run_user_files
from ..remote import SshTarget
from .session import KsPaths, ks_session, log_root, safe_name

if TYPE_CHECKING:
    from ..gdb import GdbSession, PayloadStack

MachineFactory = Callable[..., Machine]


@pytest.fixture(scope="session")
def ks_paths(pytestconfig: pytest.Config) -> KsPaths:
    """Builds the firmware and the conformance payload once per session (a cache hit
    when nothing changed) and returns their paths."""
    try:
        return ks_session(pytestconfig)
    except KeystoneError as exc:
        pytest.fail(f"keystone_py build failed:\n{exc}", pytrace=False)


@pytest.fixture
def ks_log_dir(request: pytest.FixtureRequest) -> Iterator[Path]:
    """``<log root>/<test id>/``: fresh for each test; removed after a pass unless
    ``--keep-logs``; kept (and its path shown in the report) on failure."""
    path = log_root(request.config) / safe_name(request.node.nodeid)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    request.node._ks_log_dir = path
    yield path
    reps = [getattr(request.node, f"_ks_rep_{w}", None) for w in ("setup", "call")]
    passed = all(r is not None and r.passed for r in reps)
    if passed and not request.config.getoption("keep_logs"):
        shutil.rmtree(path, ignore_errors=True)


def shutdown_all(machines: List[Machine]) -> None:
    """Shuts every machine down, then raises the first MachineShutdownError."""
    errors: List[MachineShutdownError] = []
    for m in machines:
        try:
            m.shutdown()
        except MachineShutdownError as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


@pytest.fixture
def machine_factory(ks_paths: KsPaths, ks_log_dir: Path) -> Iterator[MachineFactory]:
    """``machine_factory(**kw)`` → a new, not yet launched :class:`Machine`
    (use it with ``with``). Defaults: the ``--firmware`` firmware, the conformance
    payload as kernel, ``--smp`` harts, ``--icount``, ``--qemu-arg`` extras, a log folder
    ``<test log dir>/<name>``. Any machine still running at the end is shut down."""
    made: List[Machine] = []

    def make(name: Optional[str] = None, **kwargs: Any) -> Machine:
        name = name or f"machine{len(made)}"
        m = ks_paths.machine(name, ks_log_dir / name, **kwargs)
        made.append(m)
        return m

    yield make
    shutdown_all(made)


@pytest.fixture(scope="session")
def ks_linux(ks_paths: KsPaths) -> Artifacts:
    """Builds the kernel, /init and the initramfs once per session (a cache hit
    when nothing changed; a cold kernel build takes minutes) and returns every
    artifact, the firmware's and payload's included."""
    try:
        linux = LinuxBuilder(root=ks_paths.root, toolchain=ks_paths.toolchain).build()
    except KeystoneError as exc:
        pytest.fail(f"keystone_py Linux build failed:\n{exc}", pytrace=False)
    ks_paths.artifacts.update(linux)
    return Artifacts().update(ks_paths.artifacts)


@pytest.fixture
def linux_machine(request: pytest.FixtureRequest, ks_paths: KsPaths, ks_linux: Artifacts,
                  ks_log_dir: Path) -> Iterator[MachineFactory]:
    """``linux_machine(smp=1, firmware=None, script=None, append_extra="", icount=None,
    name=None, **machine_kwargs)`` → a new, not yet launched Machine booting the
    kernel + initramfs. ``firmware``: ``ours``, ``opensbi`` or a path (default:
    the ``--firmware`` option); ``script``: /init commands run before its prompt
    (a list, or ``ks.script`` text); ``icount``: default the ``--icount`` option.
    Kernel and SM panics end any wait at once. Shut down when the test ends."""
    made: List[Machine] = []

    def make(smp: int = 1, firmware: Any = None, script: Any = None, append_extra: str = "",
             icount: Optional[int] = None, name: Optional[str] = None,
             extra_args: Optional[List[str]] = None, **kwargs: Any) -> Machine:
        name = name or f"linux{len(made)}"
        m = make_linux_machine(
            ks_linux, firmware=firmware or ks_paths.firmware_choice, smp=smp, script=script,
            append_extra=append_extra, icount=icount if icount is not None else ks_paths.icount,
            toolchain=ks_paths.toolchain, name=name, log_dir=ks_log_dir / name,
            extra_args=[*ks_paths.qemu_args, *(extra_args or [])], **kwargs)
        made.append(m)
        return m

    yield make
    shutdown_all(made)


@pytest.fixture(scope="session")
def ks_enclave(ks_paths: KsPaths) -> Artifacts:
    """Builds the loader, the runtime and every eapp once per session (a cache
    hit when nothing changed); returns every artifact (``ks_enclave.eapp("hello")``)."""
    try:
        built = Builder(root=ks_paths.root, toolchain=ks_paths.toolchain).build(ENCLAVE_TARGETS)
    except KeystoneError as exc:
        pytest.fail(f"keystone_py enclave build failed:\n{exc}", pytrace=False)
    ks_paths.artifacts.update(built)
    return Artifacts().update(ks_paths.artifacts)


@pytest.fixture
def ks_run(ks_paths: KsPaths, ks_linux: Artifacts, ks_enclave: Artifacts,
           ks_log_dir: Path) -> Callable[..., UserRun]:
    """``ks_run(eapp=FILE, host=None, runtime=None, loader=None, args=(),
    expect_retval=None, smp=1, timeout=600)`` → :class:`~keystone_py.qemu.userrun.UserRun`:
    boots SM + Linux with your files appended to the initramfs, runs the eapp
    through test-runner (or ``host`` as ``HOST EAPP RUNTIME LOADER ARGS``) and
    powers off. ``run.output`` (what the programs printed), ``run.status``,
    ``run.value`` (the enclave's value, from the runner's ``returned V`` line),
    ``run.stats`` (interrupts, ocalls...), ``run.console``. With
    ``expect_retval`` the test fails unless the enclave returned it (and
    test-runner is passed ``--retval``)."""
    count = [0]
    # The public development secret: what `attest verify` and
    # devkey.device_public_key(devkey.load_secret(None)) trust by default.
    secret_args = devkey.device_qemu_args(ks_log_dir)

    def run(eapp: Any, host: Any = None, runtime: Any = None, loader: Any = None,
            args: Tuple[str, ...] = (), expect_retval: Optional[int] = None, smp: int = 1,
            timeout: float = 600.0) -> UserRun:
        words = list(args)
        if expect_retval is not None and host is None:
            words += ["--retval", str(expect_retval)]
        count[0] += 1
        try:
            files = UserFiles.checked(Path(eapp), host=host and Path(host),
                                      runtime=runtime and Path(runtime),
                                      loader=loader and Path(loader))
            result = run_user_files(
                Artifacts().update(ks_linux).update(ks_enclave), files, words, smp=smp,
                firmware=str(ks_paths.firmware_choice or "ours"), icount=ks_paths.icount,
                extra_args=[*ks_paths.qemu_args, *secret_args],
                timeout=timeout,
                log_dir=ks_log_dir / f"run{count[0]}", root=ks_paths.root)
        except KeystoneError as exc:
            pytest.fail(f"ks_run: {exc}", pytrace=False)
        if expect_retval is not None and result.value != expect_retval:
            pytest.fail(f"ks_run: the enclave returned {result.value}, expected {expect_retval} "
                        f"(exit status {result.status}); output:\n{result.output}",
                        pytrace=False)
        return result

    return run


@pytest.fixture
def payload_stack(machine_factory: MachineFactory,
                  ks_enclave: Artifacts) -> Callable[..., Tuple[Machine, "PayloadStack"]]:
    """``payload_stack(eapp="hello", **machine_kwargs)`` → ``(machine, stack)``: a
    launched Machine, halted with its gdbstub on, whose conformance payload will
    host ``eapp`` through the loader and runtime (``-append runtime``)."""
    from ..gdb import PayloadStack  # pygdbmi, pyelftools: only for tests that use GDB

    def make(eapp: str = "hello", **kwargs: Any) -> Tuple[Machine, PayloadStack]:
        stack = PayloadStack(ks_enclave, eapp)
        kwargs.setdefault("name", f"stack-{eapp}")
        m = machine_factory(extra_args=[*stack.extra_args, *kwargs.pop("extra_args", [])],
                            append=stack.append, gdb=True, **kwargs)
        m.launch()
        return m, stack

    return make


@pytest.fixture
def ks_gdb() -> Iterator[Callable[..., "GdbSession"]]:
    """``ks_gdb(machine, worlds=None, elf=None, timeout=20)`` → an attached
    :class:`~keystone_py.gdb.GdbSession`; its GDB/MI transcript is
    ``<machine log folder>/gdb.log``, so it is kept with the test's logs."""
    from ..gdb import GdbSession  # pygdbmi, pyelftools: only for tests that use GDB

    sessions: List[GdbSession] = []

    def make(machine: Machine, worlds: Any = None, elf: Any = None,
             timeout: float = 20.0) -> GdbSession:
        g = GdbSession(machine=machine, worlds=worlds, elf=elf, timeout=timeout,
                       log_dir=machine.log_dir)
        g.__enter__()
        sessions.append(g)
        return g

    yield make
    for g in sessions:
        g.close()


@pytest.fixture
def ssh_target(request: pytest.FixtureRequest, ks_log_dir: Path) -> Iterator[SshTarget]:
    """An :class:`~keystone_py.remote.SshTarget` for ``--target ssh://user@host:port``
    (key: ``--target-key``); its transcript is ``ssh.log`` in the test's log folder.
    Skips when no ``--target`` is given."""
    url = request.config.getoption("target")
    if not url:
        pytest.skip("no --target ssh://user@host:port given")
    target = SshTarget.from_url(url, key_filename=request.config.getoption("target_key"),
                                log_path=ks_log_dir / "ssh.log")
    try:
        target.connect()
        yield target
    finally:
        target.close()

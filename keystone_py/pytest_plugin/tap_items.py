"""One pytest item per TAP line.

A test marked ``@tap_checks(run, name="conformance")`` makes its assertions
over a whole TAP-printing run (the conformance payload prints one ``ok N -
name`` line per check). For each of its parametrizations that is selected, the
plugin calls ``run(ctx, **params)`` once — after ``-m``/``-k`` deselection, so
``pytest -m unit`` boots nothing — and puts one :class:`TapCheck` item per
result line in front of the test::

    tests/qemu/test_conformance.py::conformance[default-1]/003 base.get_spec_version is 2.0

A check passes, fails with its ``#`` diagnostics and the console log's path,
or skips (``# SKIP why``). The test itself gets the run as the ``tap_run``
fixture and keeps the whole-run assertions (complete plan, summary, exit
status); its failure also carries a failed boot, where no check items exist.

``run`` receives a :class:`TapContext` (``ctx.machine(name, **kw)`` makes a
machine with the session's options that logs into the run's folder) and the
test's parameters, and returns a :class:`TapRun`. The log folder (``<log
root>/<test id>__run``) is removed when the test and every check passed (unless
``--keep-logs``). Listing the checks means running them: ``pytest
--collect-only`` boots the selected runs too.
"""

from __future__ import annotations

import shutil
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from ..qemu import Machine
from ..tap import TapReport, TapResult, parse_tap
from .session import KsPaths, ks_session, log_root, passed, safe_name

MARKER = "ks_tap"


@dataclass
class TapRun:
    """What one TAP-printing run gave: its console text, QEMU's exit status and
    where its logs are; :attr:`report` is the parsed TAP."""

    text: str
    status: Optional[int]
    log_dir: Path
    report: TapReport = field(init=False)

    def __post_init__(self) -> None:
        self.report = parse_tap(self.text)

    @classmethod
    def of(cls, machine: Machine, status: Optional[int]) -> "TapRun":
        """The run of a machine that has ended."""
        return cls(machine.console_text, status, machine.log_dir)

    @property
    def console_log(self) -> Path:
        return self.log_dir / "console.log"


@dataclass
class TapContext:
    """What a run function gets: the pytest config and the run's log folder; the
    session's built tree (:attr:`ks`, built on first use) and :meth:`machine`."""

    config: pytest.Config
    log_dir: Path

    @property
    def ks(self) -> KsPaths:
        return ks_session(self.config)

    def machine(self, name: str, **kwargs: Any) -> Machine:
        """A new Machine with the session's options, logging into ``<log_dir>/<name>``
        (see :meth:`KsPaths.machine`)."""
        return self.ks.machine(name, self.log_dir / name, **kwargs)


TapRunner = Callable[..., TapRun]


def tap_checks(run: TapRunner, name: Optional[str] = None) -> pytest.MarkDecorator:
    """Marks a whole-run test: ``run(ctx, **params) -> TapRun`` is called
    once per parametrization, and each TAP line becomes an item named
    ``<name>[<params id>]/<NNN> <check>`` (``name`` defaults to the test's)."""
    return getattr(pytest.mark, MARKER)(run, name=name)


@dataclass
class _Group:
    """One parametrization of a marked test: its run (or why there is none)."""

    log_dir: Path
    run: Optional[TapRun] = None
    error: Optional[str] = None
    items: List[pytest.Item] = field(default_factory=list)


_GROUPS = pytest.StashKey[Dict[str, _Group]]()


class TapCheckFailed(Exception):
    """A ``not ok`` line (reported without a Python traceback)."""


class TapCheck(pytest.Item):
    """One TAP line of a run, as a test of its own."""

    def __init__(self, *, result: TapResult, group: _Group, lineno: Optional[int] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result = result
        self.group = group
        self.lineno = lineno  # the whole-run test's line (0-based, as pytest keeps it)
        self._ks_log_dir = group.log_dir

    def runtest(self) -> None:
        if self.result.skipped:
            reason = f"{self.result.name}: {self.result.reason or 'SKIP'}"
            try:  # reported at the test's file, not here (pytest >= 7)
                raise pytest.skip.Exception(reason, _use_item_location=True)
            except TypeError:
                pytest.skip(reason)
        if not self.result.ok:
            raise TapCheckFailed(self.result.description)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Optional[str] = None) -> Any:
        if isinstance(excinfo.value, TapCheckFailed):
            r = self.result
            lines = [f"not ok {r.number} - {r.description}"]
            lines += [f"#   {d[:300]}" for d in r.diagnostics]
            if self.group.run is not None:
                lines.append(f"console log: {self.group.run.console_log}")
            return "\n".join(lines)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> Any:
        return self.path, self.lineno, self.name


def _check_name(base: str, result: TapResult, seen: Dict[str, int]) -> str:
    name = " ".join(result.name.replace("::", ":").split()) or "(no description)"
    text = f"{base}/{result.number:03d} {name}"
    seen[text] = seen.get(text, 0) + 1
    return text if seen[text] == 1 else f"{text} #{seen[text]}"


def _run_group(config: pytest.Config, item: pytest.Function, run: TapRunner) -> _Group:
    group = _Group(log_dir=log_root(config) / safe_name(item.nodeid + "::run"))
    shutil.rmtree(group.log_dir, ignore_errors=True)
    group.log_dir.mkdir(parents=True)
    params = dict(item.callspec.params) if hasattr(item, "callspec") else {}
    try:
        group.run = run(TapContext(config, group.log_dir), **params)
    except Exception:  # noqa: BLE001 - reported by the test itself (tap_run)
        group.error = f"the run of {item.nodeid} failed:\n{traceback.format_exc()}"
    return group


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """After deselection: run each selected marked test's parametrization and put
    its TAP lines, one item each, in front of it."""
    groups = config.stash.setdefault(_GROUPS, {})
    out: List[pytest.Item] = []
    for item in items:
        mark = item.get_closest_marker(MARKER)
        if mark is None or not isinstance(item, pytest.Function):
            out.append(item)
            continue
        group = groups.get(item.nodeid) or _run_group(config, item, mark.args[0])
        groups[item.nodeid] = group
        base = (mark.kwargs.get("name") or item.originalname) + \
            (f"[{item.callspec.id}]" if hasattr(item, "callspec") else "")
        seen: Dict[str, int] = {}
        for result in (group.run.report.results if group.run else []):
            check = TapCheck.from_parent(item.parent, name=_check_name(base, result, seen),
                                         result=result, group=group, lineno=item.location[1])
            for marker in item.iter_markers():
                if marker.name not in (MARKER, "parametrize"):
                    check.add_marker(marker.name)
            group.items.append(check)
            out.append(check)
        group.items.append(item)
        out.append(item)
    # "collected N items" counts what the collectors reported: add the check items
    # (a private counter of the terminal reporter; left alone if it is not there).
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if isinstance(getattr(reporter, "_numcollected", None), int):
        reporter._numcollected += len(out) - len(items)
    items[:] = out


@pytest.fixture
def tap_run(request: pytest.FixtureRequest) -> Iterator[TapRun]:
    """The run of a ``tap_checks`` test (made during collection). Its log folder
    is removed after the test when it and every check passed (unless
    ``--keep-logs``)."""
    group = request.config.stash.get(_GROUPS, {}).get(request.node.nodeid)
    if group is None:
        raise pytest.UsageError(f"{request.node.nodeid}: tap_run needs a test marked with "
                                "keystone_py.pytest_plugin.tap_checks(run)")
    request.node._ks_log_dir = group.log_dir
    if group.run is None:
        pytest.fail(group.error or "no run", pytrace=False)
    yield group.run
    if all(passed(i) for i in group.items[:-1]) and passed(request.node) \
            and not request.config.getoption("keep_logs"):
        shutil.rmtree(group.log_dir, ignore_errors=True)

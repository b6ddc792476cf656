"""Parse the conformance payload's TAP-like output.

    ok 1 - base.get_spec_version == 2.0
    not ok 2 - base.probe(TIME)
    #   got (error 0, value 0x0), want (error 0, value 0x1)
    ok 3 - h-state: hvip survives # SKIP no H extension
    1..3
    payload: done (passed 2, failed 1)

A ``#`` line right after a result is that result's diagnostic; ``# SKIP why``
(or ``# TODO``) after a description is a TAP directive. Other ``#`` comments
(``# rounds 2000``) stay part of the description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

_RESULT = re.compile(r"^(?P<not>not )?ok (?P<num>\d+)(?: -+ ?(?P<desc>.*?))?\s*$")
_DIRECTIVE = re.compile(r"\s+#\s*(?P<kind>SKIP|TODO)\b\s*(?P<reason>.*)$", re.IGNORECASE)
_PLAN = re.compile(r"^1\.\.(\d+)\s*$")
_DONE = re.compile(r"^payload: done \(passed (\d+), failed (\d+)\)")


@dataclass(frozen=True)
class TapResult:
    ok: bool
    number: int
    #: Everything after ``ok N -``, directive included.
    description: str
    #: The ``#`` lines that followed it (a failed check's details), without the ``#``.
    diagnostics: Tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The description without a ``# SKIP``/``# TODO`` directive."""
        m = _DIRECTIVE.search(self.description)
        return self.description[:m.start()].strip() if m else self.description

    @property
    def directive(self) -> Optional[str]:
        """``"SKIP"`` or ``"TODO"`` when the line carries one."""
        m = _DIRECTIVE.search(self.description)
        return m.group("kind").upper() if m else None

    @property
    def reason(self) -> str:
        """What follows the directive (why it was skipped)."""
        m = _DIRECTIVE.search(self.description)
        return m.group("reason").strip() if m else ""

    @property
    def skipped(self) -> bool:
        return self.directive == "SKIP"


@dataclass
class TapReport:
    results: List[TapResult] = field(default_factory=list)
    plan: Optional[int] = None
    done: Optional[Tuple[int, int]] = None  # (passed, failed) from the summary line

    @property
    def passed(self) -> List[TapResult]:
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> List[TapResult]:
        return [r for r in self.results if not r.ok]

    @property
    def complete(self) -> bool:
        """A plan was printed and it counts exactly the results, numbered 1..N."""
        return (self.plan is not None and self.plan == len(self.results)
                and [r.number for r in self.results] == list(range(1, self.plan + 1)))

    @property
    def all_ok(self) -> bool:
        """Complete, non-empty, every result ok, and the summary agrees."""
        return (self.complete and bool(self.results) and not self.failed
                and self.done in (None, (len(self.results), 0)))

    def summary(self) -> str:
        lines = [f"{len(self.passed)} passed, {len(self.failed)} failed"
                 + (f" (plan 1..{self.plan})" if self.plan is not None else " (no plan)")]
        lines += [f"  not ok {r.number} - {r.description}" for r in self.failed]
        return "\n".join(lines)


def parse_tap(text: str) -> TapReport:
    """Pick the result, plan and summary lines out of console text (other lines,
    such as firmware messages, are ignored)."""
    report = TapReport()
    diagnostics: List[str] = []

    def close() -> None:  # attach the diagnostics gathered to the last result
        if diagnostics and report.results:
            last = report.results[-1]
            report.results[-1] = TapResult(last.ok, last.number, last.description,
                                           tuple(diagnostics))
        diagnostics.clear()

    in_result = False
    for raw in text.replace("\r", "").split("\n"):
        line = raw.strip()
        m = _RESULT.match(line)
        if m:
            close()
            report.results.append(TapResult(not m.group("not"), int(m.group("num")),
                                            m.group("desc") or ""))
            in_result = True
            continue
        if in_result and line.startswith("#"):
            diagnostics.append(line[1:].strip())
            continue
        close()
        in_result = False
        m = _PLAN.match(line)
        if m:
            report.plan = int(m.group(1))
            continue
        m = _DONE.match(line)
        if m:
            report.done = (int(m.group(1)), int(m.group(2)))
    close()
    return report

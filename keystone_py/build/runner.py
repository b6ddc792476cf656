"""The one way a build step runs a program: its output goes to a log file, each
line is handed to the caller as it comes, and a failure is one BuildError with
the last lines, the log's path and the fix."""

from __future__ import annotations

import subprocess
import time
from collections import deque
from pathlib import Path
from typing import Callable, Deque, Mapping, Optional, Sequence, Union

from ..errors import BuildError

PathLike = Union[str, Path]


def run_logged(argv: Sequence[PathLike], what: str, log_path: Path, *,
               cwd: Optional[PathLike] = None, env: Optional[Mapping[str, str]] = None,
               on_line: Optional[Callable[[str], None]] = None, tail: int = 30,
               fix: str = "") -> float:
    """Runs ``argv`` with stdout and stderr into ``log_path`` (which starts with a
    ``$ argv`` line); each output line, without its newline, also goes to
    ``on_line``. Returns the seconds it took. Raises BuildError when the program
    cannot start or exits non-zero: ``what`` failed, the last ``tail`` lines, the
    log's path, then ``fix``."""
    args = [str(a) for a in argv]
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    last: Deque[str] = deque(maxlen=tail)
    start = time.monotonic()
    with open(log_path, "w") as logf:
        logf.write("$ " + " ".join(args) + "\n")
        logf.flush()
        try:
            proc = subprocess.Popen(args, cwd=cwd, env=dict(env) if env is not None else None,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, text=True, errors="replace")
        except OSError as exc:
            raise BuildError(f"{what}: cannot run {args[0]}: {exc}.\n"
                             "Fix: run `keystone-py doctor`.") from exc
        assert proc.stdout is not None
        for line in proc.stdout:
            logf.write(line)
            line = line.rstrip("\n")
            last.append(line.rstrip())
            if on_line is not None:
                on_line(line)
        rc = proc.wait()
    if rc != 0:
        raise BuildError(f"{what} failed (exit {rc}). Last lines:\n"
                         + "\n".join(f"    {x}" for x in last)
                         + f"\nFull log: {log_path}" + (f"\n{fix}" if fix else ""))
    return time.monotonic() - start

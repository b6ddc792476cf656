"""A minimal QMP (QEMU Machine Protocol) client over a Unix socket."""

from __future__ import annotations

import json
import logging
import socket
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, TextIO

from ..errors import QMPError

log = logging.getLogger("keystone_py.qmp")

__all__ = ["QMPClient", "QMPError"]


class QMPClient:
    """Speaks QMP: greeting, ``qmp_capabilities``, then ``execute``.

    Every message in and out is appended to ``transcript`` (if given)."""

    def __init__(self, path: Path, timeout: float = 5.0, transcript: Optional[TextIO] = None):
        self.path = Path(path)
        self.timeout = timeout
        self.transcript = transcript
        self.events: List[Dict[str, Any]] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(self.path))
        self._rfile = self.sock.makefile("rb")
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError(f"unexpected QMP greeting: {greeting}")
        self.execute("qmp_capabilities")

    def _note(self, direction: str, msg: Any) -> None:
        if self.transcript:
            self.transcript.write(f"{time.monotonic():.3f} {direction} {json.dumps(msg)}\n")
            self.transcript.flush()

    def _read(self) -> Dict[str, Any]:
        try:
            line = self._rfile.readline()
        except (OSError, socket.timeout) as exc:
            raise QMPError(f"QMP read failed: {exc}") from exc
        if not line:
            raise QMPError("QMP socket closed by QEMU")
        msg = json.loads(line)
        self._note("<-", msg)
        return msg

    def execute(self, command: str, timeout: Optional[float] = None, **arguments: Any) -> Any:
        """Run a QMP command and return its ``return`` value (events are kept in
        :attr:`events`). ``timeout`` bounds each read (default: the client's)."""
        msg: Dict[str, Any] = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self._note("->", msg)
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            self.sock.sendall(json.dumps(msg).encode() + b"\n")
        except OSError as exc:
            raise QMPError(f"QMP send failed: {exc}") from exc
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                log.debug("QMP event %s", reply.get("event"))
                continue
            if "error" in reply:
                raise QMPError(f"QMP {command} failed: {reply['error']}")
            if "return" in reply:
                return reply["return"]

    def close(self) -> None:
        for closer in (self._rfile.close, self.sock.close):
            try:
                closer()
            except OSError:
                pass

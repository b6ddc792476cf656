"""The serial console: a socket drained by a thread, searched by pexpect.

QEMU's UART writes one byte per socket message; unread, a Unix socket fills
after a few hundred bytes and the guest stalls in its UART loop (e.g. while GDB
holds the test in a breakpoint). A reader thread therefore drains the socket
all the time, records every byte at once (``console.log``, the CONSOLE log
level, an in-memory tail) and queues it for pexpect's ``expect``.
"""

from __future__ import annotations

import codecs
import logging
import queue
import socket
import threading
from collections import deque
from pathlib import Path
from typing import IO, Deque, List, Optional

from pexpect import EOF
from pexpect.spawnbase import SpawnBase

console_log = logging.getLogger("keystone_py.console")

#: Log level of console traffic (between DEBUG and INFO), as labgrid does.
CONSOLE = 15
logging.addLevelName(CONSOLE, "CONSOLE")

TAIL_LINES = 20


class ConsoleRecorder:
    """Writes ``console.log``, logs whole lines at level CONSOLE, keeps the full
    text and the last lines for error messages. Thread-safe."""

    def __init__(self, path: Path, name: str, keep: int = 500):
        self.path = path
        self.name = name
        self._file: Optional[IO[str]] = open(path, "w", encoding="utf-8", errors="replace")
        self._parts: List[str] = []
        self.lines: Deque[str] = deque(maxlen=keep)
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, data: str) -> None:
        with self._lock:
            if self._file:
                self._file.write(data)
                self._file.flush()
            self._parts.append(data)
            text = self._partial + data.replace("\r", "")
            *complete, self._partial = text.split("\n")
            for line in complete:
                self.lines.append(line)
                console_log.log(CONSOLE, "[%s] %s", self.name, line)

    def close(self) -> None:
        with self._lock:
            if self._partial:
                console_log.log(CONSOLE, "[%s] %s", self.name, self._partial)
            if self._file:
                self._file.close()
                self._file = None

    @property
    def text(self) -> str:
        with self._lock:
            return "".join(self._parts)

    def tail(self, n: int = TAIL_LINES) -> List[str]:
        with self._lock:
            lines = list(self.lines) + ([self._partial] if self._partial else [])
        return lines[-n:]


class SocketConsole(SpawnBase):
    """pexpect over a connected socket, read by a background thread."""

    def __init__(self, sock: socket.socket, recorder: ConsoleRecorder, timeout: float = 30,
                 encoding: str = "utf-8"):
        super().__init__(timeout=timeout, maxread=4096, searchwindowsize=None,
                         logfile=None, encoding=encoding, codec_errors="replace")
        self.sock = sock
        self.recorder = recorder
        self.closed = False
        self._buf = self.string_type()
        self._queue: "queue.Queue[Optional[str]]" = queue.Queue()
        self._eof = False
        self._thread = threading.Thread(target=self._reader, name=f"console-{recorder.name}",
                                        daemon=True)
        self._thread.start()

    def _reader(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                tail = decoder.decode(b"", final=True)
                if tail:
                    self.recorder.write(tail)
                    self._queue.put(tail)
                self._queue.put(None)
                return
            text = decoder.decode(data)
            if text:
                self.recorder.write(text)
                self._queue.put(text)

    def read_nonblocking(self, size: int = 1, timeout: Optional[float] = -1) -> str:
        if timeout == -1:
            timeout = self.timeout
        buf = self._buf
        if not buf and not self._eof:
            try:  # block for the first chunk, up to timeout
                item = self._queue.get(timeout=timeout if timeout is not None else 1e6)
            except queue.Empty:
                item = ""
            if item is None:
                self._eof = True
            else:
                buf += item
        while not self._eof and len(buf) < size:  # then take what is already there
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._eof = True
            else:
                buf += item
        if not buf and self._eof:
            self.flag_eof = True
            raise EOF("console closed (QEMU exited)")
        r, self._buf = buf[:size], buf[size:]
        return r

    def send(self, s: str) -> int:
        b = self._encoder.encode(self._coerce_send_string(s), final=False)
        self.sock.sendall(b)
        return len(b)

    def sendline(self, s: str = "") -> int:
        return self.send(s + "\n")

    def close(self, wait_eof: float = 0.0) -> None:
        """Stop reading; first wait up to ``wait_eof`` s for the peer to close
        (so bytes still in flight reach console.log)."""
        if self.closed:
            return
        self.closed = True
        self._thread.join(timeout=wait_eof)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._thread.join(timeout=2)
        self.sock.close()

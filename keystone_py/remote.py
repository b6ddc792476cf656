"""A target over SSH (paramiko): a board, or a QEMU guest with sshd.

>>> with SshTarget("board.local", user="root", key_filename="~/.ssh/id_ed25519") as t:
...     t.upload("build/eapp_hello.elf")
...     r = t.run("./eapp_hello.elf", timeout=30)
...     r.check()

Every upload goes to a private work folder on the target (``/tmp/keystone-py.XXXX``)
that :meth:`close` removes. Each failure is one :class:`RemoteError` naming the
host, the cause and the fix: a refused or silent port, a rejected key, a
command that outlives its timeout.
"""

from __future__ import annotations

import io
import logging
import os
import shlex
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, List, Optional, Sequence, Union
from urllib.parse import urlparse

from .errors import RemoteError

log = logging.getLogger("keystone_py.remote")

__all__ = ["RemoteError", "RunResult", "SshTarget", "default_key"]


@dataclass
class RunResult:
    """What one remote command did."""

    command: str
    status: int
    stdout: str
    stderr: str
    wall_s: float

    @property
    def ok(self) -> bool:
        return self.status == 0

    def check(self) -> "RunResult":
        if self.status != 0:
            tail = "\n".join((self.stdout + self.stderr).splitlines()[-10:])
            raise RemoteError(f"`{self.command}` exited with status {self.status}:\n{tail}")
        return self


class SshTarget:
    """One SSH connection to ``user@host:port``; a context manager."""

    def __init__(self, host: str, user: str = "root", port: int = 22,
                 key_filename: Optional[Union[str, Path]] = None, password: Optional[str] = None,
                 timeout: float = 10.0, log_path: Optional[Union[str, Path]] = None,
                 known_hosts: Optional[Union[str, Path]] = None):
        self.host, self.user, self.port = host, user, port
        self.key_filename = str(Path(key_filename).expanduser()) if key_filename else None
        self.password = password
        self.timeout = timeout
        self.known_hosts = known_hosts
        self.log_path = Path(log_path) if log_path else None
        self.workdir: Optional[str] = None
        self._client = None
        self._log: Optional[IO[str]] = None

    @classmethod
    def from_url(cls, url: str, **kwargs) -> "SshTarget":
        """``ssh://user@host:port`` (user default root, port default 22)."""
        u = urlparse(url if "://" in url else f"ssh://{url}")
        if u.scheme != "ssh" or not u.hostname:
            raise RemoteError(f"--target {url!r}: expected ssh://user@host[:port]")
        return cls(u.hostname, user=u.username or "root", port=u.port or 22, **kwargs)

    @property
    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    # -- life cycle ------------------------------------------------------------------
    def __enter__(self) -> "SshTarget":
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _note(self, text: str) -> None:
        log.debug("[%s] %s", self.where, text)
        if self.log_path and self._log is None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "a")
        if self._log:
            self._log.write(f"{time.monotonic():.3f} {text}\n")
            self._log.flush()

    def connect(self) -> "SshTarget":
        """Connect and authenticate within ``timeout``; RemoteError with the cause."""
        try:
            import paramiko
        except ImportError as exc:
            raise RemoteError("paramiko is not installed. Fix: pip install -e .[test] "
                              "(or pip install paramiko)") from exc
        client = paramiko.SSHClient()
        if self.known_hosts:
            client.load_host_keys(str(self.known_hosts))
        else:  # boards and fresh QEMU guests have new host keys each time
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self._note(f"connect {self.where} key={self.key_filename}")
        deadline = time.monotonic() + self.timeout
        try:
            client.connect(self.host, port=self.port, username=self.user,
                           key_filename=self.key_filename, password=self.password,
                           timeout=self.timeout, banner_timeout=self.timeout,
                           auth_timeout=self.timeout, channel_timeout=self.timeout,
                           allow_agent=self.key_filename is None and self.password is None,
                           look_for_keys=self.key_filename is None and self.password is None)
        except paramiko.AuthenticationException as exc:
            client.close()
            raise RemoteError(
                f"{self.where}: authentication failed ({exc}). The server rejected key "
                f"{self.key_filename or '(agent/default keys)'}; fix: add its public key to "
                f"~{self.user}/.ssh/authorized_keys on the target, or pass the right key "
                "(--target-key).") from None
        except (socket.timeout, TimeoutError) as exc:
            client.close()
            raise RemoteError(f"{self.where}: no answer within {self.timeout:.0f}s ({exc}); "
                              "is the host up and is sshd listening on that port?") from None
        except (ConnectionRefusedError, paramiko.ssh_exception.NoValidConnectionsError) as exc:
            client.close()
            raise RemoteError(f"{self.where}: connection refused ({exc}); nothing listens "
                              "there: start sshd on the target or fix the port.") from None
        except (OSError, paramiko.SSHException) as exc:
            client.close()
            raise RemoteError(f"{self.where}: SSH connection failed: {exc}") from None
        self._client = client
        self._note(f"connected in {self.timeout - (deadline - time.monotonic()):.2f}s")
        return self

    def close(self) -> None:
        """Remove the work folder and disconnect; never raises."""
        if self._client is not None:
            if self.workdir:
                try:
                    self.run(f"rm -rf {shlex.quote(self.workdir)}", timeout=10)
                except Exception as exc:  # noqa: BLE001 - best effort
                    self._note(f"cleanup failed: {exc}")
                self.workdir = None
            self._client.close()
            self._client = None
        if self._log:
            self._log.close()
            self._log = None

    def _require(self):
        if self._client is None:
            raise RemoteError(f"{self.where}: not connected (call connect() or use `with`)")
        return self._client

    # -- files -------------------------------------------------------------------------
    def work_dir(self) -> str:
        """The private work folder on the target (made on first use)."""
        if self.workdir is None:
            self.workdir = self.run("mktemp -d /tmp/keystone-py.XXXXXX", timeout=10) \
                .check().stdout.strip()
        return self.workdir

    def upload(self, local: Union[str, Path], remote: Optional[str] = None,
               mode: int = 0o755) -> str:
        """Copy ``local`` to ``remote`` (default: the work folder, same name);
        returns the remote path."""
        local = Path(local)
        if not local.is_file():
            raise RemoteError(f"cannot upload {local}: no such file (run `keystone-py build`?)")
        dest = remote or f"{self.work_dir()}/{local.name}"
        self._note(f"upload {local} -> {dest}")
        try:
            with self._require().open_sftp() as sftp:
                sftp.put(str(local), dest)
                sftp.chmod(dest, mode)
        except (OSError, Exception) as exc:  # paramiko raises IOError/SSHException
            raise RemoteError(f"{self.where}: upload of {local} to {dest} failed: {exc} (does "
                              "the target's sshd offer the sftp subsystem?)") from None
        return dest

    def upload_all(self, files: Sequence[Union[str, Path]]) -> List[str]:
        """Upload host apps, eapps, runtime and loader in one go."""
        return [self.upload(f) for f in files]

    def download(self, remote: str, local: Union[str, Path]) -> Path:
        with self._require().open_sftp() as sftp:
            sftp.get(remote, str(local))
        return Path(local)

    # -- commands ------------------------------------------------------------------------
    def run(self, command: Union[str, Sequence[str]], timeout: float = 60.0,
            on_line: Optional[Callable[[str], None]] = None, cwd: Optional[str] = None,
            env: Optional[dict] = None) -> RunResult:
        """Run ``command`` in a shell on the target; stream its stdout lines to
        ``on_line`` as they come; return status and output. RemoteError if it
        still runs after ``timeout`` seconds (it is killed with the channel)."""
        cmd = command if isinstance(command, str) else shlex.join(command)
        if env:
            cmd = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in env.items()) + " " + cmd
        if cwd:
            cmd = f"cd {shlex.quote(cwd)} && {cmd}"
        self._note(f"$ {cmd}")
        start = time.monotonic()
        try:
            chan = self._require().get_transport().open_session(timeout=self.timeout)
            chan.exec_command(cmd)
        except Exception as exc:  # noqa: BLE001 - paramiko's exceptions vary
            raise RemoteError(f"{self.where}: cannot start `{cmd}`: {exc}") from None
        out, err = io.StringIO(), io.StringIO()
        partial = ""
        chan.settimeout(0.1)
        try:
            while True:
                if time.monotonic() - start > timeout:
                    raise RemoteError(f"{self.where}: `{cmd}` still running after {timeout:.0f}s "
                                      f"(killed); last output: {out.getvalue()[-300:]!r}")
                got = False
                if chan.recv_ready():
                    text = chan.recv(65536).decode("utf-8", errors="replace")
                    out.write(text)
                    got = True
                    partial += text
                    *lines, partial = partial.split("\n")
                    for line in lines:
                        self._note(f"| {line}")
                        if on_line:
                            on_line(line)
                if chan.recv_stderr_ready():
                    text = chan.recv_stderr(65536).decode("utf-8", errors="replace")
                    err.write(text)
                    self._note(f"! {text.rstrip()}")
                    got = True
                if (chan.exit_status_ready() and not chan.recv_ready()
                        and not chan.recv_stderr_ready()):
                    break
                if not got:
                    time.sleep(0.02)
            status = chan.recv_exit_status()
        finally:
            chan.close()
        if partial:
            self._note(f"| {partial}")
            if on_line:
                on_line(partial)
        result = RunResult(cmd, status, out.getvalue(), err.getvalue(), time.monotonic() - start)
        self._note(f"exit {status} after {result.wall_s:.2f}s")
        return result


def default_key() -> Optional[str]:
    """``$KEYSTONE_PY_SSH_KEY`` if set."""
    return os.environ.get("KEYSTONE_PY_SSH_KEY")

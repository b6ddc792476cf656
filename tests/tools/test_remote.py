"""keystone_py.remote against a real OpenSSH server started on loopback.

The test runs ``/usr/sbin/sshd -D`` (Debian's openssh-server) as root with a
temporary host key, an authorized_keys holding a freshly generated client key,
``UsePAM no`` and ``StrictModes no``, on a free port: no mock, no shared files,
so it is safe under pytest-xdist.
"""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from keystone_py.qemu.machine import free_tcp_port
from keystone_py.remote import RemoteError, SshTarget

SSHD = "/usr/sbin/sshd"

pytestmark = pytest.mark.skipif(
    not os.path.exists(SSHD) or os.geteuid() != 0 or not shutil.which("ssh-keygen"),
    reason="needs root and openssh-server (keystone-py setup installs it)")


def keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.fixture
def sshd(tmp_path, ks_log_dir):
    """A real sshd on 127.0.0.1:<free port>; yields (port, client key path)."""
    host_key = keygen(tmp_path / "host_key")
    client_key = keygen(tmp_path / "client_key")
    (tmp_path / "authorized_keys").write_text((tmp_path / "client_key.pub").read_text())
    os.makedirs("/run/sshd", exist_ok=True)  # privilege separation directory
    for _ in range(3):
        port = free_tcp_port()
        conf = tmp_path / "sshd_config"
        conf.write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
AuthorizedKeysFile {tmp_path}/authorized_keys
PidFile {tmp_path}/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
""")
        log = open(ks_log_dir / "sshd.log", "w")
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(conf)], stdout=log,
                                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        if proc.poll() is None:
            break
        log.close()  # port taken between the probe and sshd's bind: try another
    else:
        pytest.fail("sshd did not start: " + (ks_log_dir / "sshd.log").read_text())
    try:
        yield port, client_key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


SCRIPT = """#!/bin/sh
echo "hello from $(id -un) in $(pwd)"
echo "args: $*"
echo "to stderr" >&2
exit 3
"""


def test_upload_and_run_gets_output_and_exit_status(sshd, tmp_path, ks_log_dir):
    port, key = sshd
    script = tmp_path / "example.sh"
    script.write_text(SCRIPT)
    lines = []
    with SshTarget("127.0.0.1", user="root", port=port, key_filename=key, timeout=10,
                   log_path=ks_log_dir / "ssh.log") as t:
        remote = t.upload(script)
        assert remote.startswith("/tmp/keystone-py.")
        r = t.run([remote, "one", "two"], timeout=20, on_line=lines.append, cwd=t.work_dir())
        assert r.status == 3 and not r.ok
        assert lines == [f"hello from root in {t.work_dir()}", "args: one two"]
        assert r.stderr.strip() == "to stderr"
        with pytest.raises(RemoteError, match="exited with status 3"):
            r.check()
        workdir = t.work_dir()
        assert t.run(["test", "-d", workdir]).ok
    # close() removed the work folder
    with SshTarget("127.0.0.1", user="root", port=port, key_filename=key) as t:
        assert t.run(["test", "-e", workdir]).status == 1
    assert "exit 3" in (ks_log_dir / "ssh.log").read_text()


def test_upload_a_host_binary_and_run_it(sshd, ks_paths):
    """A built artifact crosses over intact (what a board run uploads)."""
    port, key = sshd
    with SshTarget("127.0.0.1", user="root", port=port, key_filename=key) as t:
        remote = t.upload(ks_paths.sm_bin)
        r = t.run(f"sha256sum {remote}").check()
    import hashlib
    assert r.stdout.split()[0] == hashlib.sha256(ks_paths.sm_bin.read_bytes()).hexdigest()


def test_command_timeout_is_an_error_in_time(sshd):
    port, key = sshd
    with SshTarget("127.0.0.1", user="root", port=port, key_filename=key) as t:
        start = time.monotonic()
        with pytest.raises(RemoteError, match="still running after 1s"):
            t.run("echo started; sleep 30", timeout=1)
        assert time.monotonic() - start < 5


def test_wrong_key_is_a_clear_error_within_the_timeout(sshd, tmp_path):
    port, _ = sshd
    wrong = keygen(tmp_path / "wrong_key")
    start = time.monotonic()
    with pytest.raises(RemoteError, match="authentication failed.*authorized_keys"):
        SshTarget("127.0.0.1", user="root", port=port, key_filename=wrong, timeout=5).connect()
    assert time.monotonic() - start < 6


def test_dead_port_is_a_clear_error_within_the_timeout(tmp_path):
    key = keygen(tmp_path / "key")
    start = time.monotonic()
    with pytest.raises(RemoteError, match="connection refused.*start sshd"):
        SshTarget("127.0.0.1", port=free_tcp_port(), key_filename=key, timeout=3).connect()
    assert time.monotonic() - start < 4


def test_silent_host_times_out_with_a_clear_error(tmp_path):
    """A listener that never speaks SSH (a hung board): the banner wait is bounded."""
    key = keygen(tmp_path / "key")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        start = time.monotonic()
        with pytest.raises(RemoteError, match=r"no answer within 2s|SSH connection failed"):
            SshTarget("127.0.0.1", port=s.getsockname()[1], key_filename=key,
                      timeout=2).connect()
        assert time.monotonic() - start < 5


TARGET_TEST = """
def test_on_target(ssh_target):
    r = ssh_target.run("uname -s; exit 0")
    assert r.ok and r.stdout.strip() == "Linux"
"""


def test_ssh_target_fixture_follows_the_target_option(sshd, pytester, monkeypatch):
    """The same test runs against any board: ``--target ssh://user@host:port``."""
    port, key = sshd
    # The inner pytest loads this checkout's plugin, whatever is installed.
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    pytester.makepyfile(test_board=TARGET_TEST)
    result = pytester.runpytest_subprocess(f"--target=ssh://root@127.0.0.1:{port}",
                                           f"--target-key={key}",
                                           f"--ks-log-root={pytester.path / 'logs'}")
    result.assert_outcomes(passed=1)
    result = pytester.runpytest_subprocess(f"--ks-log-root={pytester.path / 'logs'}")
    result.assert_outcomes(skipped=1)

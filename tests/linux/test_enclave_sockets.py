"""Linux programs inside enclaves, with sockets (docs/runtime.md, "Sockets"):
a static glibc program (examples/linux/net) runs as an eapp on our runtime
under `ks-net`, a host that grants it addresses with the host SDK's
SocketPolicy. Its socket/bind/listen/connect/accept4/read/write/send/
recvfrom/sendto/getsockname/getpeername/setsockopt/getsockopt/shutdown/close
calls reach host sockets through EDGECALL_SOCKET, TCP and UDP over the
guest's loopback; what the policy does not grant is EACCES. Then the same
program under hosts that lie (address lengths, byte counts, handles, ranges):
the call fails with EIO, and the canary bytes around the eapp's buffer show
the runtime wrote nothing outside it. Then a Rust std program (net-rs) that
writes and reads a file and talks TCP to itself, with the policy allowing
exactly its port and with none. Last, the instructions of a proxied 4 KiB
send and receive beside a plain ocall.

One guest boot (under -icount shift=0, for the cost figure) for all of it."""

from __future__ import annotations

import logging
import re

import pytest

from keystone_py.qemu import LinuxGuest

from .program_checks import check_line, checks, expect, program_guest

log = logging.getLogger(__name__)

DIR = "/tmp/ksn"
EIO, EBADF, EACCES, ESPIPE = 5, 9, 13, 29
ENOPROTOOPT, EAFNOSUPPORT = 92, 97
#: The policy net.c expects: TCP 127.0.0.1:7401 and UDP 127.0.0.1:7411.
POLICY = ("--bind tcp:127.0.0.1:7401 --connect tcp:127.0.0.1:7401 "
          "--bind udp:127.0.0.1:7411 --connect udp:127.0.0.1:7411")
LINE = check_line("net")
BENCH = re.compile(r"^net: bench rounds=(\d+) send4k=(\d+) recv4k=(\d+) ocall=(\d+)$", re.M)
RETURNED = re.compile(r"^ks-net: returned (\d+) \(socket calls (\d+), open at the end (\d+)\)$",
                      re.M)


@pytest.fixture(scope="module")
def guest(ks_paths, ks_linux, tmp_path_factory):
    logs = tmp_path_factory.mktemp("enclave-sockets")
    with program_guest(ks_paths, ks_linux, logs, "enclave-sockets") as g:
        yield g


def ks_net(guest: LinuxGuest, extra: str = POLICY):
    run = guest.run(f"/bin/ks-net /enclave/linux-net {extra}".strip(), 600)
    return run, checks(LINE, run.output)


@pytest.fixture(scope="module")
def honest(guest):
    return ks_net(guest)


def test_a_glibc_program_talks_tcp_over_loopback_as_the_policy_allows(honest):
    run, c = honest
    r = RETURNED.search(run.output)
    assert r and r.group(1) == "0", str(run)
    assert r.group(3) == "0", "every socket the eapp made was closed"
    expect(c, "socket", 3, extra="fd=3")
    expect(c, "setsockopt", 0)
    expect(c, "bind", 0)
    expect(c, "listen", 0)
    expect(c, "getsockname", 0, extra="len=16 family=2 port=7401")
    expect(c, "connect", 0)
    expect(c, "accept", 5)
    assert c["accept"].group("extra").startswith("len=16 family=2 port="), c["accept"].group(0)
    expect(c, "getpeername", 0, extra="len=16 family=2 port=7401")
    expect(c, "send", 16)
    expect(c, "recv", 16, extra="data=ping from client")
    expect(c, "send-back", 4)
    expect(c, "recvfrom", 4, extra="data=pong len=0")
    expect(c, "getsockopt", 0, extra="type=1 len=4")
    expect(c, "nodelay", 0)
    expect(c, "shutdown", 0)
    expect(c, "recv-eof", 0)
    expect(c, "close", 0)


def test_udp_datagrams_go_where_the_policy_allows(honest):
    _, c = honest
    expect(c, "udp-bind", 0)
    expect(c, "udp-sendto", 8)
    expect(c, "udp-recvfrom", 8, extra="data=datagram len=16 family=2")


def test_what_the_policy_does_not_grant_is_refused(honest):
    _, c = honest
    expect(c, "bind-refused", -1, EACCES)
    expect(c, "connect-refused", -1, EACCES)
    expect(c, "udp-sendto-refused", -1, EACCES)


def test_the_runtime_refuses_unix_sockets_odd_options_and_seeks(honest):
    _, c = honest
    expect(c, "unix", -1, EAFNOSUPPORT)
    expect(c, "setsockopt-outside-subset", -1, ENOPROTOOPT)
    expect(c, "lseek", -1, ESPIPE)
    expect(c, "close-again", -1, EBADF)


def test_a_host_without_socket_rules_refuses_every_socket(guest):
    run, c = ks_net(guest, "")
    assert RETURNED.search(run.output), str(run)
    expect(c, "socket", -1, EACCES, extra="fd=-1")
    expect(c, "bind", -1, EBADF)
    expect(c, "udp-sendto", -1, EBADF)


def test_a_host_without_a_socket_server_refuses_every_socket(guest):
    """Keystone's test-runner (no Builder::sockets): the SDK answers every
    socket call EACCES."""
    run = guest.run("/bin/test-runner /enclave/linux-net /enclave/eyrie-rt "
                    "/enclave/loader.bin", 600)
    c = checks(LINE, run.output)
    expect(c, "unix", -1, EAFNOSUPPORT)
    expect(c, "socket", -1, EACCES, extra="fd=-1")


def test_an_address_longer_than_a_sockaddr_storage_gets_eio(guest):
    run, c = ks_net(guest, f"{POLICY} --lie addr-long")
    assert RETURNED.search(run.output), str(run)
    expect(c, "getsockname", -1, EIO, extra="len=-1")
    expect(c, "accept", -1, EIO, extra="len=-1")
    expect(c, "getpeername", -1, EIO, extra="len=-1")
    expect(c, "udp-recvfrom", -1, EIO)
    expect(c, "send", 16)  # calls without an address still work


def test_an_address_longer_than_the_eapps_buffer_is_cut_to_it(guest):
    """128 bytes of address for a 16-byte buffer: Linux's contract (the
    whole length reported, the bytes cut), and not a byte past the 16."""
    run, c = ks_net(guest, f"{POLICY} --lie addr-over-buffer")
    assert RETURNED.search(run.output), str(run)
    x = ord("X") * 256 + ord("X")
    expect(c, "getsockname", 0, extra=f"len=128 family={x} port={x}")
    expect(c, "accept", 5, extra=f"len=128 family={x} port={x}")
    expect(c, "udp-recvfrom", 8, extra=f"data=datagram len=128 family={x}")


@pytest.mark.parametrize("mode", ["recv-more", "recv-short", "outside"])
def test_a_host_lying_about_a_receive_gets_eio_and_no_byte_outside_the_buffer(guest, mode):
    run, c = ks_net(guest, f"{POLICY} --lie {mode}")
    assert RETURNED.search(run.output), str(run)
    expect(c, "recv", -1, EIO, extra="data=")
    expect(c, "recvfrom", -1, EIO, extra="data= len=16")
    expect(c, "udp-recvfrom", -1, EIO)
    expect(c, "send", 16)  # the rest still works


def test_a_host_lying_about_a_send_gets_eio(guest):
    run, c = ks_net(guest, f"{POLICY} --lie send-more")
    assert RETURNED.search(run.output), str(run)
    expect(c, "send", -1, EIO)
    expect(c, "udp-sendto", -1, EIO)
    expect(c, "getsockname", 0, extra="len=16 family=2 port=7401")


def test_a_host_answering_an_accept_with_an_open_sockets_handle_gets_eio(guest):
    """The listener's own handle for the new connection: two of the eapp's
    descriptors would name one host socket; the runtime refuses it."""
    run, c = ks_net(guest, f"{POLICY} --lie accept-alias")
    assert RETURNED.search(run.output), str(run)
    expect(c, "accept", -1, EIO, extra="len=-1")
    expect(c, "recv", -1, EBADF, extra="data=")


def test_a_longer_option_than_asked_gets_eio(guest):
    run, c = ks_net(guest, f"{POLICY} --lie opt-more")
    assert RETURNED.search(run.output), str(run)
    expect(c, "getsockopt", -1, EIO, extra="type=-1 len=4")


NET_RS = f"/bin/ks-net /bin/net-rs --setup {DIR} --rw {DIR}/rw"


def test_a_rust_std_program_uses_files_and_tcp_through_std(guest):
    run = guest.run(f"{NET_RS} --bind tcp:127.0.0.1:7401 --connect tcp:127.0.0.1:7401 "
                    "-- 7401", 600)
    r = RETURNED.search(run.output)
    assert r and r.group(1) == "0" and r.group(3) == "0", str(run)
    assert f"net-rs: file {DIR}/rw/net-rs.txt read back 32 bytes" in run.lines, str(run)
    assert "net-rs: listening on 127.0.0.1:7401" in run.lines, str(run)
    assert "net-rs: accepted the client (peer is 127.0.0.1: true)" in run.lines, str(run)
    assert 'net-rs: server got "hello from the client"' in run.lines, str(run)
    assert ('net-rs: client got "and back from the server" then end of stream'
            in run.lines), str(run)
    assert ("net-rs: verified a file round trip and TCP both ways over 127.0.0.1:7401"
            in run.lines), str(run)


def test_a_rust_std_program_refused_its_socket_gets_a_clean_error(guest):
    """The same program with files but no socket rule: std's bind reports
    EACCES as an io::Error, the program says so and returns 1; the enclave
    ends normally (no fault, no crash)."""
    run = guest.run(f"{NET_RS} -- 7401", 600)
    r = RETURNED.search(run.output)
    assert r and r.group(1) == "1" and r.group(3) == "0", str(run)
    assert f"net-rs: file {DIR}/rw/net-rs.txt read back 32 bytes" in run.lines, str(run)
    assert "net-rs: listen failed: Permission denied (os error 13)" in run.lines, str(run)


def test_cost_of_a_proxied_4k_send_and_receive_beside_a_plain_ocall(honest):
    run, _ = honest
    m = BENCH.search(run.output)
    assert m, str(run)
    rounds, send, recv, ocall = (int(g) for g in m.groups())
    log.warning("instructions each (-icount shift=0, %d rounds): send 4 KiB %d, "
                "recv 4 KiB %d, plain ocall %d", rounds, send, recv, ocall)
    # A proxied call is an ocall plus the copies and the host's socket work.
    assert ocall > 0 and send > ocall and recv > ocall, m.group(0)

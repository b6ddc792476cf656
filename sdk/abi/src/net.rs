//! Sockets proxied to the host (ours; docs/runtime.md, "Sockets"): the
//! runtime's [`EDGECALL_SOCKET`] calls, the Linux numbers they use, and the
//! socket options an eapp may set or read.
//!
//! A call has the shape of a file call (`edge::FileCall`: a Linux syscall
//! number and four u64 arguments, then its bytes); the answer a
//! `edge::FileReply` (an i64 result, `-errno` on failure) then its bytes.
//! A `handle` is the host's name for a socket; the eapp's descriptors are
//! the runtime's own (the same table as its files).
//!
//! - `SOCKET`: `[domain, type, protocol, 0]`; result: a handle.
//! - `BIND`, `CONNECT`: `[handle, 0, 0, 0]`, bytes = the address
//!   (at most [`SOCKADDR_MAX`]).
//! - `LISTEN`: `[handle, backlog, 0, 0]`. `SHUTDOWN`: `[handle, how, 0, 0]`.
//!   `CLOSE`: `[handle, 0, 0, 0]`.
//! - `ACCEPT4`: `[handle, flags, 0, 0]`; result: the new socket's handle;
//!   answered: an address block ([`ADDR_BLOCK`]).
//! - `GETSOCKNAME`, `GETPEERNAME`: `[handle, 0, 0, 0]`; answered: an
//!   address block.
//! - `SENDTO`: `[handle, count, flags, with_address]`, bytes = an address
//!   block then `count` bytes; result: bytes sent (<= count).
//! - `RECVFROM`: `[handle, count, flags, 0]`; result: bytes received
//!   (<= count); answered: an address block then that many bytes.
//! - `SETSOCKOPT`: `[handle, level, name, len]`, bytes = the value (at most
//!   [`OPT_MAX`]). `GETSOCKOPT`: `[handle, level, name, len]`; result: the
//!   value's length (<= len), answered after the header.
//!
//! An address block is a u64 length (at most [`SOCKADDR_MAX`]) then
//! [`SOCKADDR_MAX`] bytes, the address at their start.

/// Call id of a proxied socket call.
pub const EDGECALL_SOCKET: u64 = 13;

/// `sizeof(struct sockaddr_storage)`: the longest address a call carries.
pub const SOCKADDR_MAX: usize = 128;
/// An address block: its u64 length, then [`SOCKADDR_MAX`] bytes.
pub const ADDR_BLOCK: usize = 8 + SOCKADDR_MAX;
/// The longest socket option value a call carries.
pub const OPT_MAX: usize = 64;

/// Linux (riscv64, asm-generic) system call numbers.
pub const SOCKET: usize = 198;
pub const BIND: usize = 200;
pub const LISTEN: usize = 201;
pub const ACCEPT: usize = 202;
pub const CONNECT: usize = 203;
pub const GETSOCKNAME: usize = 204;
pub const GETPEERNAME: usize = 205;
pub const SENDTO: usize = 206;
pub const RECVFROM: usize = 207;
pub const SETSOCKOPT: usize = 208;
pub const GETSOCKOPT: usize = 209;
pub const SHUTDOWN: usize = 210;
pub const ACCEPT4: usize = 242;

/// Address families.
pub const AF_UNIX: u64 = 1;
pub const AF_INET: u64 = 2;
pub const AF_INET6: u64 = 10;
/// Socket types (the low bits of `type`) and the flags beside them.
pub const SOCK_STREAM: u64 = 1;
pub const SOCK_DGRAM: u64 = 2;
pub const SOCK_TYPE_MASK: u64 = 0xf;
pub const SOCK_NONBLOCK: u64 = 0o4000;
pub const SOCK_CLOEXEC: u64 = 0o2000000;
/// Protocols (and option levels).
pub const IPPROTO_IP: u64 = 0;
pub const IPPROTO_TCP: u64 = 6;
pub const IPPROTO_UDP: u64 = 17;
pub const IPPROTO_IPV6: u64 = 41;
pub const SOL_SOCKET: u64 = 1;
/// `shutdown`'s `how`: SHUT_RD, SHUT_WR, SHUT_RDWR.
pub const SHUT_RDWR: u64 = 2;

/// The flags a send may carry (MSG_OOB, MSG_DONTWAIT, MSG_EOR, MSG_MORE);
/// the host drops others and always adds MSG_NOSIGNAL (a closed peer is
/// EPIPE, not a signal that would end the host).
pub const SEND_FLAGS: u64 = 0x1 | 0x40 | 0x80 | 0x8000;
pub const MSG_NOSIGNAL: u64 = 0x4000;
/// The flags a receive may carry (MSG_OOB, MSG_PEEK, MSG_DONTWAIT,
/// MSG_WAITALL); not MSG_TRUNC, whose count could pass the buffer.
pub const RECV_FLAGS: u64 = 0x1 | 0x2 | 0x40 | 0x100;

/// errno values (returned negated) the socket calls add.
pub const ESPIPE: isize = 29;
pub const ENOTSOCK: isize = 88;
pub const ENOPROTOOPT: isize = 92;
pub const EOPNOTSUPP: isize = 95;
pub const EAFNOSUPPORT: isize = 97;

/// The options an eapp may set and read: (level, name, value length).
/// Anything else is ENOPROTOOPT without asking the host.
pub const OPTIONS: &[(u64, u64, usize)] = &[
    (SOL_SOCKET, 2, 4),    // SO_REUSEADDR
    (SOL_SOCKET, 3, 4),    // SO_TYPE (read only on Linux)
    (SOL_SOCKET, 4, 4),    // SO_ERROR (read only on Linux)
    (SOL_SOCKET, 7, 4),    // SO_SNDBUF
    (SOL_SOCKET, 8, 4),    // SO_RCVBUF
    (SOL_SOCKET, 9, 4),    // SO_KEEPALIVE
    (SOL_SOCKET, 13, 8),   // SO_LINGER
    (SOL_SOCKET, 15, 4),   // SO_REUSEPORT
    (IPPROTO_IP, 2, 4),    // IP_TTL
    (IPPROTO_TCP, 1, 4),   // TCP_NODELAY
    (IPPROTO_IPV6, 26, 4), // IPV6_V6ONLY
];

/// The value length of option (`level`, `name`) if an eapp may use it.
pub fn option_len(level: u64, name: u64) -> Option<usize> {
    OPTIONS.iter().find(|&&(l, n, _)| l == level && n == name).map(|&(_, _, len)| len)
}

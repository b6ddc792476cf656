//! The host's side of the enclave's sockets: a [`SocketPolicy`] says which
//! addresses the eapp may connect (or send) to and which it may bind and
//! listen on; a [`SocketServer`] answers the runtime's EDGECALL_SOCKET
//! calls (`keystone_abi::net`) under it with real host sockets. Anything
//! the policy does not grant is refused with EACCES; with no rule at all
//! even making a socket is refused.
//!
//! ```no_run
//! use keystone_host::{Enclave, SocketPolicy, Transport};
//! let policy = SocketPolicy::new()
//!     .allow_bind(Transport::Tcp, "127.0.0.1:7401".parse().unwrap())
//!     .allow_connect(Transport::Tcp, "127.0.0.1:7401".parse().unwrap());
//! let enclave = Enclave::builder().sockets(policy) /* .loader(..).runtime(..).eapp(..) */;
//! ```

use crate::netsys;
use crate::Reply;
use keystone_abi::edge::{FILE_CALL_SIZE, FILE_REPLY_SIZE};
use keystone_abi::eyrie::linux;
use keystone_abi::net::{self, ADDR_BLOCK, OPT_MAX, SOCKADDR_MAX};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::OwnedFd;

/// TCP (stream sockets) or UDP (datagram sockets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

/// Which addresses an enclave's sockets may reach. A rule names a
/// transport, an IP address and a port, 0 standing for any port of that
/// address (for a bind, the kernel's choice too). An IPv4-mapped IPv6
/// address is taken as the IPv4 one. No rule, no access (EACCES).
#[derive(Debug, Clone, Default)]
pub struct SocketPolicy {
    connect: Vec<(Transport, SocketAddr)>,
    bind: Vec<(Transport, SocketAddr)>,
}

fn matches(rules: &[(Transport, SocketAddr)], t: Transport, addr: &SocketAddr) -> bool {
    let ip = addr.ip().to_canonical();
    rules.iter().any(|&(rt, r)| {
        rt == t && r.ip().to_canonical() == ip && (r.port() == 0 || r.port() == addr.port())
    })
}

impl SocketPolicy {
    /// Refuses everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets the eapp connect (or, for UDP, send) to `addr` (port 0: any).
    pub fn allow_connect(mut self, t: Transport, addr: SocketAddr) -> Self {
        self.connect.push((t, addr));
        self
    }

    /// Lets the eapp bind to `addr` (port 0: any, the kernel's choice too)
    /// and, for TCP, listen there.
    pub fn allow_bind(mut self, t: Transport, addr: SocketAddr) -> Self {
        self.bind.push((t, addr));
        self
    }

    /// Whether a `t` socket may connect or send to `addr`.
    pub fn may_connect(&self, t: Transport, addr: &SocketAddr) -> bool {
        matches(&self.connect, t, addr)
    }

    /// Whether a `t` socket may bind to `addr`.
    pub fn may_bind(&self, t: Transport, addr: &SocketAddr) -> bool {
        matches(&self.bind, t, addr)
    }

    /// Whether any rule names transport `t` (else no such socket is made).
    pub fn uses(&self, t: Transport) -> bool {
        self.connect.iter().chain(&self.bind).any(|&(rt, _)| rt == t)
    }
}

/// An address in `struct sockaddr_in`/`sockaddr_in6` bytes, if it is one.
pub fn parse_sockaddr(b: &[u8]) -> Option<SocketAddr> {
    let family = u16::from_le_bytes(b.get(..2)?.try_into().ok()?) as u64;
    let port = u16::from_be_bytes(b.get(2..4)?.try_into().ok()?);
    match family {
        net::AF_INET if b.len() >= 16 => {
            let ip: [u8; 4] = b[4..8].try_into().ok()?;
            Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port))
        }
        net::AF_INET6 if b.len() >= 28 => {
            let ip: [u8; 16] = b[8..24].try_into().ok()?;
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port))
        }
        _ => None,
    }
}

struct Socket {
    fd: OwnedFd,
    transport: Transport,
    /// Bound under the policy (only such a socket may listen).
    bound: bool,
}

/// Serves the enclave's socket calls under a policy: the host's sockets by
/// handle (a counter, never reused while the server lives).
#[derive(Default)]
pub struct SocketServer {
    policy: SocketPolicy,
    open: HashMap<u64, Socket>,
    next: u64,
}

impl std::fmt::Debug for SocketServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketServer")
            .field("policy", &self.policy)
            .field("open", &self.open.len())
            .finish()
    }
}

fn errno(e: &io::Error) -> i64 {
    -(e.raw_os_error().map_or(linux::EIO as i64, i64::from))
}

fn err(e: isize) -> i64 {
    -(e as i64)
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// An address block: its length, then the address padded to SOCKADDR_MAX.
fn addr_block(addr: &[u8]) -> Vec<u8> {
    let n = addr.len().min(SOCKADDR_MAX);
    let mut b = vec![0u8; ADDR_BLOCK];
    b[..8].copy_from_slice(&(n as u64).to_le_bytes());
    b[8..8 + n].copy_from_slice(&addr[..n]);
    b
}

impl SocketServer {
    pub fn new(policy: SocketPolicy) -> Self {
        SocketServer { policy, open: HashMap::new(), next: 1 }
    }

    /// How many sockets the enclave has open.
    pub fn open_sockets(&self) -> usize {
        self.open.len()
    }

    /// The answer to one EDGECALL_SOCKET call (its argument bytes): a
    /// result header, then the call's bytes.
    pub fn serve(&mut self, call: &[u8]) -> Reply {
        let (result, bytes) = self.answer(call).unwrap_or((err(linux::EINVAL), Vec::new()));
        let mut out = Vec::with_capacity(FILE_REPLY_SIZE + bytes.len());
        out.extend_from_slice(&result.to_le_bytes());
        out.extend_from_slice(&bytes);
        Reply::Data(out)
    }

    fn answer(&mut self, call: &[u8]) -> Option<(i64, Vec<u8>)> {
        let num = u64_at(call, 0)? as usize;
        let a = [u64_at(call, 8)?, u64_at(call, 16)?, u64_at(call, 24)?, u64_at(call, 32)?];
        let bytes = call.get(FILE_CALL_SIZE..)?;
        if num == net::SOCKET {
            return Some((self.socket(a[0], a[1], a[2]).unwrap_or_else(|e| e), vec![]));
        }
        let none = |r: io::Result<()>| Some((r.map_or_else(|e| errno(&e), |_| 0), vec![]));
        let Some(sock) = self.open.get_mut(&a[0]) else { return Some((err(linux::EBADF), vec![])) };
        match num {
            net::BIND | net::CONNECT => {
                let connecting = num == net::CONNECT;
                let addr = bytes.get(..bytes.len().min(SOCKADDR_MAX))?;
                let Some(to) = parse_sockaddr(addr) else {
                    return Some((err(net::EAFNOSUPPORT), vec![]));
                };
                let allowed = if connecting {
                    self.policy.may_connect(sock.transport, &to)
                } else {
                    self.policy.may_bind(sock.transport, &to)
                };
                if !allowed {
                    return Some((err(linux::EACCES), vec![]));
                }
                let r = netsys::bind_or_connect(&sock.fd, addr, connecting);
                if r.is_ok() && !connecting {
                    sock.bound = true;
                }
                none(r)
            }
            net::LISTEN => {
                if !sock.bound || sock.transport != Transport::Tcp {
                    return Some((err(linux::EACCES), vec![]));
                }
                none(netsys::listen_on(&sock.fd, a[1] as i32))
            }
            net::SHUTDOWN => none(netsys::shutdown_of(&sock.fd, a[1] as i32)),
            net::ACCEPT4 => {
                let transport = sock.transport;
                let flags = (a[1] & net::SOCK_CLOEXEC) as i32;
                match netsys::accept_on(&sock.fd, flags | net::SOCK_CLOEXEC as i32) {
                    Ok((fd, peer)) => {
                        let h = self.insert(Socket { fd, transport, bound: true });
                        Some((h as i64, addr_block(&peer)))
                    }
                    Err(e) => Some((errno(&e), vec![])),
                }
            }
            net::GETSOCKNAME | net::GETPEERNAME => {
                match netsys::name_of(&sock.fd, num == net::GETPEERNAME) {
                    Ok(addr) => Some((0, addr_block(&addr))),
                    Err(e) => Some((errno(&e), vec![])),
                }
            }
            net::SENDTO => {
                let block = bytes.get(..ADDR_BLOCK)?;
                let data = bytes.get(ADDR_BLOCK..)?.get(..a[1] as usize)?;
                let mut addr: &[u8] = &[];
                if a[3] != 0 {
                    let len = (u64_at(block, 0)? as usize).min(SOCKADDR_MAX);
                    addr = &block[8..8 + len];
                    let allowed = parse_sockaddr(addr)
                        .is_some_and(|to| self.policy.may_connect(sock.transport, &to));
                    if !allowed {
                        return Some((err(linux::EACCES), vec![]));
                    }
                }
                let flags = (a[2] & net::SEND_FLAGS) | net::MSG_NOSIGNAL;
                match netsys::send_to(&sock.fd, data, flags as i32, addr) {
                    Ok(n) => Some((n as i64, vec![])),
                    Err(e) => Some((errno(&e), vec![])),
                }
            }
            net::RECVFROM => {
                let mut buf = vec![0u8; a[1].min(1 << 24) as usize];
                match netsys::recv_from(&sock.fd, &mut buf, (a[2] & net::RECV_FLAGS) as i32) {
                    Ok((n, addr)) => {
                        let n = n.min(buf.len());
                        let mut out = addr_block(&addr);
                        out.extend_from_slice(&buf[..n]);
                        Some((n as i64, out))
                    }
                    Err(e) => Some((errno(&e), vec![])),
                }
            }
            net::SETSOCKOPT | net::GETSOCKOPT => {
                let Some(len) = net::option_len(a[1], a[2]) else {
                    return Some((err(net::ENOPROTOOPT), vec![]));
                };
                let (level, name) = (a[1] as i32, a[2] as i32);
                if num == net::SETSOCKOPT {
                    none(netsys::set_option(&sock.fd, level, name, bytes.get(..len)?))
                } else {
                    match netsys::get_option(&sock.fd, level, name, (a[3] as usize).min(OPT_MAX)) {
                        Ok(v) => Some((v.len() as i64, v)),
                        Err(e) => Some((errno(&e), vec![])),
                    }
                }
            }
            linux::CLOSE => {
                self.open.remove(&a[0]);
                Some((0, vec![]))
            }
            _ => Some((err(linux::ENOSYS), vec![])),
        }
    }

    fn insert(&mut self, s: Socket) -> u64 {
        let h = self.next;
        self.next += 1;
        self.open.insert(h, s);
        h
    }

    /// socket(domain, type, protocol): a handle, or -errno.
    fn socket(&mut self, domain: u64, kind: u64, protocol: u64) -> Result<i64, i64> {
        if domain != net::AF_INET && domain != net::AF_INET6 {
            return Err(err(net::EAFNOSUPPORT));
        }
        let transport = match kind & net::SOCK_TYPE_MASK {
            net::SOCK_STREAM => Transport::Tcp,
            net::SOCK_DGRAM => Transport::Udp,
            _ => return Err(err(linux::EINVAL)),
        };
        if !self.policy.uses(transport) {
            return Err(err(linux::EACCES));
        }
        // The host's socket is always close-on-exec and blocking.
        let kind = (kind & net::SOCK_TYPE_MASK) | net::SOCK_CLOEXEC;
        let fd = netsys::new_socket(domain as i32, kind as i32, protocol as i32)
            .map_err(|e| errno(&e))?;
        Ok(self.insert(Socket { fd, transport, bound: false }) as i64)
    }
}

/// EDGECALL_SOCKET with no [`crate::Builder::sockets`]: every call refused
/// (EACCES).
pub(crate) fn refuse_socket(_: &[u8]) -> Reply {
    Reply::Data(err(linux::EACCES).to_le_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_policy_refuses_what_no_rule_grants() {
        let p = SocketPolicy::new();
        assert!(!p.uses(Transport::Tcp) && !p.may_connect(Transport::Tcp, &sa("127.0.0.1:80")));
        let p = p
            .allow_connect(Transport::Tcp, sa("127.0.0.1:7401"))
            .allow_bind(Transport::Udp, sa("127.0.0.1:0"));
        assert!(p.may_connect(Transport::Tcp, &sa("127.0.0.1:7401")));
        assert!(p.may_connect(Transport::Tcp, &sa("[::ffff:127.0.0.1]:7401")), "mapped");
        assert!(!p.may_connect(Transport::Tcp, &sa("127.0.0.1:7402")), "another port");
        assert!(!p.may_connect(Transport::Udp, &sa("127.0.0.1:7401")), "another transport");
        assert!(!p.may_connect(Transport::Tcp, &sa("127.0.0.2:7401")), "another address");
        assert!(!p.may_bind(Transport::Tcp, &sa("127.0.0.1:7401")), "connect is not bind");
        assert!(p.may_bind(Transport::Udp, &sa("127.0.0.1:0")));
        assert!(p.may_bind(Transport::Udp, &sa("127.0.0.1:9999")), "port 0: any");
    }

    #[test]
    fn sockaddrs_parse_by_family_and_length() {
        let mut v4 = [0u8; 16];
        v4[..2].copy_from_slice(&2u16.to_le_bytes());
        v4[2..4].copy_from_slice(&7401u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(parse_sockaddr(&v4), Some(sa("127.0.0.1:7401")));
        assert_eq!(parse_sockaddr(&v4[..15]), None, "short");
        let mut v6 = [0u8; 28];
        v6[..2].copy_from_slice(&10u16.to_le_bytes());
        v6[2..4].copy_from_slice(&80u16.to_be_bytes());
        v6[23] = 1;
        assert_eq!(parse_sockaddr(&v6), Some(sa("[::1]:80")));
        v6[0] = 1;
        assert_eq!(parse_sockaddr(&v6), None, "AF_UNIX");
    }

    fn call(num: usize, args: [u64; 4], bytes: &[u8]) -> Vec<u8> {
        let mut c = (num as u64).to_le_bytes().to_vec();
        for a in args {
            c.extend_from_slice(&a.to_le_bytes());
        }
        c.extend_from_slice(bytes);
        c
    }

    fn result(r: Reply) -> (i64, Vec<u8>) {
        let Reply::Data(d) = r else { panic!("not data") };
        (i64::from_le_bytes(d[..8].try_into().unwrap()), d[8..].to_vec())
    }

    #[test]
    fn a_server_without_rules_makes_no_socket() {
        let mut s = SocketServer::new(SocketPolicy::new());
        let r = result(s.serve(&call(net::SOCKET, [net::AF_INET, net::SOCK_STREAM, 0, 0], &[])));
        assert_eq!(r.0, err(linux::EACCES));
        let r = result(s.serve(&call(net::SOCKET, [net::AF_UNIX, net::SOCK_STREAM, 0, 0], &[])));
        assert_eq!(r.0, err(net::EAFNOSUPPORT));
        let r = result(s.serve(&call(net::LISTEN, [5, 1, 0, 0], &[])));
        assert_eq!(r.0, err(linux::EBADF), "a handle it never gave");
    }

    #[test]
    fn tcp_over_loopback_as_the_policy_allows() {
        let p = SocketPolicy::new()
            .allow_bind(Transport::Tcp, sa("127.0.0.1:0"))
            .allow_connect(Transport::Tcp, sa("127.0.0.1:0"));
        let mut s = SocketServer::new(p);
        let sock = |s: &mut SocketServer| {
            result(s.serve(&call(net::SOCKET, [net::AF_INET, net::SOCK_STREAM, 0, 0], &[]))).0
        };
        let l = sock(&mut s) as u64;
        let c = sock(&mut s) as u64;
        assert!(l > 0 && c > l);
        let r = result(s.serve(&call(net::LISTEN, [l, 4, 0, 0], &[])));
        assert_eq!(r.0, err(linux::EACCES), "listen before a granted bind");
        let mut any = [0u8; 16];
        any[..2].copy_from_slice(&2u16.to_le_bytes());
        any[4..8].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(result(s.serve(&call(net::BIND, [l, 0, 0, 0], &any))).0, 0);
        assert_eq!(result(s.serve(&call(net::LISTEN, [l, 4, 0, 0], &[]))).0, 0);
        let (r, name) = result(s.serve(&call(net::GETSOCKNAME, [l, 0, 0, 0], &[])));
        assert_eq!((r, name.len(), u64_at(&name, 0)), (0, ADDR_BLOCK, Some(16)));
        let to = &name[8..24];
        assert_eq!(result(s.serve(&call(net::CONNECT, [c, 0, 0, 0], to))).0, 0);
        let (a, peer) = result(s.serve(&call(net::ACCEPT4, [l, 0, 0, 0], &[])));
        assert!(a > c as i64 && u64_at(&peer, 0) == Some(16));
        let mut send = addr_block(&[]);
        send.extend_from_slice(b"ping");
        assert_eq!(result(s.serve(&call(net::SENDTO, [c, 4, 0, 0], &send))).0, 4);
        let (n, got) = result(s.serve(&call(net::RECVFROM, [a as u64, 16, 0, 0], &[])));
        assert_eq!((n, &got[ADDR_BLOCK..]), (4, &b"ping"[..]));
        assert_eq!(s.open_sockets(), 3);
        for h in [l, c, a as u64] {
            assert_eq!(result(s.serve(&call(linux::CLOSE, [h, 0, 0, 0], &[]))).0, 0);
        }
        assert_eq!(s.open_sockets(), 0);
    }

    #[test]
    fn a_connect_the_policy_does_not_grant_is_eacces() {
        let p = SocketPolicy::new().allow_connect(Transport::Tcp, sa("127.0.0.1:7401"));
        let mut s = SocketServer::new(p);
        let h = result(s.serve(&call(net::SOCKET, [net::AF_INET, net::SOCK_STREAM, 0, 0], &[]))).0;
        let mut to = [0u8; 16];
        to[..2].copy_from_slice(&2u16.to_le_bytes());
        to[2..4].copy_from_slice(&7402u16.to_be_bytes());
        to[4..8].copy_from_slice(&[127, 0, 0, 1]);
        let r = result(s.serve(&call(net::CONNECT, [h as u64, 0, 0, 0], &to)));
        assert_eq!(r.0, err(linux::EACCES));
        let r = result(s.serve(&call(net::BIND, [h as u64, 0, 0, 0], &to)));
        assert_eq!(r.0, err(linux::EACCES));
        let r = result(s.serve(&call(net::SETSOCKOPT, [h as u64, 1, 25, 4], &[0; 16])));
        assert_eq!(r.0, err(net::ENOPROTOOPT), "SO_BINDTODEVICE is not in the subset");
    }
}

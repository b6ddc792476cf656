//! A host that gives its eapp sockets (and files): `ks-net EAPP [--setup
//! DIR] [--rw PATH]... [--bind PROTO:ADDR:PORT]... [--connect
//! PROTO:ADDR:PORT]... [--lie MODE] [-- ARG...]`, PROTO `tcp` or `udp`,
//! port 0 for any. The eapp's argv is EAPP then the ARGs.
//! `--setup` first makes DIR with an empty folder `rw` (the guest has no
//! shell to make it). The eapp runs on the default loader and runtime with
//! a [`SocketPolicy`] of the rules given (nothing else may be reached), a
//! [`FilePolicy`] of the `--rw` paths, the plain NOP ocall (for the cost
//! figure), and, with `--lie`, a socket server that lies in one way, as a
//! hostile host would:
//!
//! - `addr-long`: every address it answers claims 4096 bytes (more than a
//!   `sockaddr_storage`);
//! - `addr-over-buffer`: every address claims 128 bytes of `X` (a true
//!   length for Linux, longer than a `sockaddr_in`: cut to the eapp's buffer);
//! - `recv-more`: a receive answers more bytes than were asked for;
//! - `recv-short`: a receive claims its count but carries half the bytes;
//! - `send-more`: a send claims more bytes sent than it was given;
//! - `accept-alias`: an accept answers the listening socket's own handle;
//! - `opt-more`: a getsockopt answers a longer value than was asked for;
//! - `outside`: a receive's answer range points past the UTM's end.
//!
//! Ends with `ks-net: returned V (socket calls N, open at the end K)`.

use host_examples::builder;
use keystone_abi::edge::{status, test_ocall, FILE_CALL_SIZE};
use keystone_abi::net::{self, ADDR_BLOCK, EDGECALL_SOCKET};
use keystone_host::{FilePolicy, Reply, SocketPolicy, SocketServer, Transport};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const USAGE: &str = "usage: ks-net EAPP [--setup DIR] [--rw PATH]... [--bind PROTO:ADDR:PORT]... \
                     [--connect PROTO:ADDR:PORT]... [--lie MODE] [-- ARG...]";
const UTM_SIZE: u64 = 2 << 20;
const MODES: &[&str] = &[
    "addr-long",
    "addr-over-buffer",
    "recv-more",
    "recv-short",
    "send-more",
    "accept-alias",
    "opt-more",
    "outside",
];

fn num(call: &[u8]) -> usize {
    call.get(..8).map_or(0, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
}

fn arg(call: &[u8], i: usize) -> u64 {
    let at = 8 + 8 * i;
    call.get(at..at + 8).map_or(0, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

fn data(result: i64, bytes: &[u8]) -> Reply {
    let mut d = result.to_le_bytes().to_vec();
    d.extend_from_slice(bytes);
    Reply::Data(d)
}

/// The honest answer's result and bytes, when it is data and a success.
fn success(honest: &Reply) -> Option<(i64, &[u8])> {
    match honest {
        Reply::Data(d) if d.len() >= 8 => {
            let r = i64::from_le_bytes(d[..8].try_into().expect("8"));
            (r >= 0).then_some((r, &d[8..]))
        }
        _ => None,
    }
}

/// An address block claiming `len` bytes, filled with `X`.
fn block(len: u64) -> Vec<u8> {
    let mut b = vec![b'X'; ADDR_BLOCK];
    b[..8].copy_from_slice(&len.to_le_bytes());
    b
}

/// The honest answer to `call`, or the lie `mode` tells instead.
fn lie(mode: &str, call: &[u8], honest: Reply) -> Reply {
    let Some((r, bytes)) = success(&honest) else { return honest };
    let asked = arg(call, 1);
    let has_addr =
        matches!(num(call), net::ACCEPT4 | net::GETSOCKNAME | net::GETPEERNAME | net::RECVFROM);
    match (mode, num(call)) {
        ("addr-long", _) if has_addr => {
            let mut b = block(4096);
            b.extend_from_slice(&bytes[ADDR_BLOCK..]);
            data(r, &b)
        }
        ("addr-over-buffer", _) if has_addr => {
            let mut b = block(128);
            b.extend_from_slice(&bytes[ADDR_BLOCK..]);
            data(r, &b)
        }
        ("recv-more", net::RECVFROM) => {
            let mut b = bytes[..ADDR_BLOCK].to_vec();
            b.extend_from_slice(&vec![b'X'; asked as usize + 4096]);
            data(asked as i64 + 4096, &b)
        }
        ("recv-short", net::RECVFROM) if r > 1 => data(r, &bytes[..ADDR_BLOCK + r as usize / 2]),
        ("send-more", net::SENDTO) => data(asked as i64 + 1, &[]),
        ("accept-alias", net::ACCEPT4) => data(arg(call, 0) as i64, bytes),
        ("opt-more", net::GETSOCKOPT) => data(asked as i64 + 8, &vec![b'X'; asked as usize + 8]),
        ("outside", net::RECVFROM) => {
            Reply::Raw { status: status::OK, offset: UTM_SIZE - 8, size: 8 + asked }
        }
        _ => honest,
    }
}

/// `tcp:127.0.0.1:7401` -> (Tcp, 127.0.0.1:7401); `udp:[::1]:0` too.
fn rule(s: &str) -> Result<(Transport, std::net::SocketAddr), String> {
    let (proto, addr) = s.split_once(':').ok_or_else(|| format!("{s}: not PROTO:ADDR:PORT"))?;
    let t = match proto {
        "tcp" => Transport::Tcp,
        "udp" => Transport::Udp,
        _ => return Err(format!("{s}: protocol {proto} is not tcp or udp")),
    };
    Ok((t, addr.parse().map_err(|e| format!("{s}: {e}"))?))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut eapp, mut sockets, mut files, mut mode) =
        (None, SocketPolicy::new(), FilePolicy::new(), None);
    let mut argv = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{a} needs a value"));
        let r = match a.as_str() {
            "--setup" => value().and_then(|d| {
                let _ = std::fs::remove_dir_all(&d);
                std::fs::create_dir_all(format!("{d}/rw")).map_err(|e| format!("--setup {d}: {e}"))
            }),
            "--rw" => value().map(|p| files = files.clone().read_write(p)),
            "--bind" => value()
                .and_then(|r| rule(&r))
                .map(|(t, addr)| sockets = sockets.clone().allow_bind(t, addr)),
            "--connect" => value()
                .and_then(|r| rule(&r))
                .map(|(t, addr)| sockets = sockets.clone().allow_connect(t, addr)),
            "--lie" => value().and_then(|m| {
                if MODES.contains(&m.as_str()) {
                    mode = Some(m);
                    Ok(())
                } else {
                    Err(format!("unknown --lie mode {m} (modes: {})", MODES.join(", ")))
                }
            }),
            "--" => {
                argv.extend(it.by_ref().cloned());
                Ok(())
            }
            _ if a.starts_with("--") => Err(format!("unknown option {a}")),
            _ => {
                eapp = Some(a.clone());
                Ok(())
            }
        };
        if let Err(e) = r {
            eprintln!("ks-net: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let Some(eapp) = eapp else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let server = Arc::new(Mutex::new(SocketServer::new(sockets)));
    let calls = Arc::new(AtomicU64::new(0));
    let (s, c) = (server.clone(), calls.clone());
    let handler = move |call: &[u8]| {
        c.fetch_add(1, Ordering::Relaxed);
        let honest = s.lock().expect("socket server").serve(call);
        match &mode {
            Some(m) if call.len() >= FILE_CALL_SIZE => lie(m, call, honest),
            _ => honest,
        }
    };
    argv.insert(0, eapp.clone());
    let built = builder(&eapp)
        .args(argv, Vec::<String>::new())
        .free_mem(48 << 20)
        .utm_size(UTM_SIZE)
        .files(files)
        .ocall(EDGECALL_SOCKET, handler)
        .ocall(test_ocall::NOP, |_| Reply::None)
        .build();
    let mut enclave = match built {
        Ok(e) => e,
        Err(e) => {
            eprintln!("ks-net: cannot create the enclave: {e}");
            return ExitCode::from(3);
        }
    };
    match enclave.run() {
        Ok(v) => {
            let open = server.lock().expect("socket server").open_sockets();
            println!(
                "ks-net: returned {v} (socket calls {}, open at the end {open})",
                calls.load(Ordering::Relaxed)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("ks-net: enclave failed: {e}");
            ExitCode::from(1)
        }
    }
}

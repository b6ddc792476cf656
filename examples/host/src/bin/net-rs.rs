//! A Rust std program (no Keystone SDK) run as an eapp: it writes a file
//! and reads it back through std::fs, then listens on 127.0.0.1:PORT
//! (argv[1], default 7401), connects to itself, accepts, and sends bytes
//! each way through std::net, the runtime proxying every call to the host
//! (docs/runtime.md, "Sockets"). One thread does it all: the runtime runs
//! one eapp thread, and a loopback connect completes in the kernel's
//! backlog before the accept. Prints `net-rs: ...` lines for
//! tests/linux/test_enclave_sockets.py; returns 0 when every step went as
//! expected, 1 (after a line saying why) when one failed.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};

const DIR: &str = "/tmp/ksn";
const TO_SERVER: &[u8] = b"hello from the client";
const TO_CLIENT: &[u8] = b"and back from the server";

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    println!("net-rs: {what} failed: {e}");
    std::process::exit(1);
}

fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(7401);
    let path = format!("{DIR}/rw/net-rs.txt");
    let text = format!("written by net-rs for port {port}\n");
    std::fs::write(&path, &text).unwrap_or_else(|e| fail("file write", e));
    let back = std::fs::read_to_string(&path).unwrap_or_else(|e| fail("file read", e));
    if back != text {
        fail("file read back", format!("{back:?} != {text:?}"));
    }
    println!("net-rs: file {path} read back {} bytes", back.len());

    let at = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = TcpListener::bind(at).unwrap_or_else(|e| fail("listen", e));
    let local = listener.local_addr().unwrap_or_else(|e| fail("local_addr", e));
    println!("net-rs: listening on {local}");
    let mut client = TcpStream::connect(local).unwrap_or_else(|e| fail("connect", e));
    let (mut server, peer) = listener.accept().unwrap_or_else(|e| fail("accept", e));
    let mine = client.local_addr().unwrap_or_else(|e| fail("client local_addr", e));
    if mine != peer {
        fail("accept", format!("peer {peer} is not the client {mine}"));
    }
    println!("net-rs: accepted the client (peer is 127.0.0.1: {})", peer.ip() == at.ip());

    client.write_all(TO_SERVER).unwrap_or_else(|e| fail("client write", e));
    let mut got = vec![0u8; TO_SERVER.len()];
    server.read_exact(&mut got).unwrap_or_else(|e| fail("server read", e));
    println!("net-rs: server got {:?}", String::from_utf8_lossy(&got));
    server.write_all(TO_CLIENT).unwrap_or_else(|e| fail("server write", e));
    drop(server);
    let mut back = Vec::new();
    client.read_to_end(&mut back).unwrap_or_else(|e| fail("client read", e));
    println!("net-rs: client got {:?} then end of stream", String::from_utf8_lossy(&back));
    if got != TO_SERVER || back != TO_CLIENT {
        fail("exchange", "bytes differ");
    }
    println!("net-rs: verified a file round trip and TCP both ways over 127.0.0.1:{port}");
}

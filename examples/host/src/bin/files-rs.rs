//! A Rust std program (no Keystone SDK) run as an eapp: it reads and writes
//! the files `ks-files` grants it through std::fs, the runtime proxying the
//! calls (docs/runtime.md, "Files"). Prints `files-rs: ...` lines for
//! tests/linux/test_enclave_files.py; returns 0 when every step went as
//! expected.

use std::io::ErrorKind;

const DIR: &str = "/tmp/ksf";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("files-rs: args {args:?}");
    let mut ok = true;
    match std::fs::read_to_string(format!("{DIR}/in.txt")) {
        Ok(text) => println!(
            "files-rs: read {} bytes, first line {:?}",
            text.len(),
            text.lines().next().unwrap_or("")
        ),
        Err(e) => {
            ok = false;
            println!("files-rs: read failed: {e}");
        }
    }
    match std::fs::read(format!("{DIR}/secret")) {
        Err(e) if e.kind() == ErrorKind::PermissionDenied => println!("files-rs: secret refused"),
        other => {
            ok = false;
            println!("files-rs: secret not refused: {other:?}");
        }
    }
    let out = format!("{DIR}/rw/rust.txt");
    match std::fs::write(&out, "written by Rust std in an enclave\n") {
        Ok(()) => println!("files-rs: wrote {out}"),
        Err(e) => {
            ok = false;
            println!("files-rs: write failed: {e}");
        }
    }
    std::process::exit(if ok { 0 } else { 1 });
}

//! A host that gives its eapp files: `ks-files EAPP [--setup DIR] [--ro
//! PATH]... [--rw PATH]... [--lie MODE] [--utm-size BYTES] [--cat PATH]...
//! [--env NAME=VALUE]... [-- ARG...]`: the eapp's argv is EAPP then the ARGs,
//! its environment the `--env` strings.
//! `--setup` first makes DIR with `in.txt` ([`IN_TXT`]), `secret` and an
//! empty folder `rw` (the guest has no shell to make them); `--cat` prints
//! a file after the run, as `ks-files: cat PATH: TEXT` (newlines as `|`).
//! The eapp runs on the default
//! loader and runtime with a [`FilePolicy`] of the paths given (nothing else
//! may be opened), the plain NOP ocall (for the cost figure), and, with
//! `--lie`, a file server that lies in one way, as a hostile host would:
//!
//! - `read-more`: a read answers more bytes than were asked for;
//! - `read-short`: a read claims its count but carries half the bytes;
//! - `read-outside`: a read's answer range points past the UTM's end;
//! - `read-not-errno`: a read answers a negative value that is no errno;
//! - `write-more`: a write claims more bytes written than it was given;
//! - `stat-short`: fstat answers half a `struct stat`;
//! - `open-handle-1`: every open answers handle 1 (stdout's number);
//! - `dents-bad-reclen`: getdents64's first record claims a length past
//!   the answer;
//! - `dents-more`: getdents64 answers more bytes than were asked for;
//! - `stat-path-short`: a stat by path answers half a `struct stat`;
//! - `rollback-reopen`: the second open of a `--sealed` file first puts
//!   back the copy `--keep` saved (an older version, within one run).
//!
//! Sealed files: `--sealed PATH` grants PATH sealed; `--tamper MODE:PATH`
//! changes the sealed host file before the run as a hostile host would
//! (`edit`: one byte of block 0; `swap`: blocks 0 and 1; `truncate`: into
//! block 1; `replay-block`: block 0 from the `--keep` copy; `replay-file`:
//! the whole `--keep` copy); `--keep PATH` copies PATH to PATH.old after
//! the run; `--contains PATH TEXT` prints `ks-files: PATH contains TEXT:
//! yes|no` after the run.
//!
//! Ends with `ks-files: returned V (file calls N, open at the end K)`.

use host_examples::builder;
use keystone_abi::edge::{status, test_ocall, EDGECALL_FILE, FILE_CALL_SIZE};
use keystone_abi::eyrie::linux;
use keystone_host::{FilePolicy, FileServer, Reply};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const USAGE: &str = "usage: ks-files EAPP [--setup DIR] [--ro PATH]... [--rw PATH]... \
                     [--lie MODE] [--utm-size BYTES] [--cat PATH]... [--env NAME=VALUE]... \
                     [-- ARG...]";
/// What `--setup` writes to DIR/in.txt.
const IN_TXT: &str = "first line of in.txt\nsecond line\n";

fn setup(dir: &str) -> std::io::Result<()> {
    let dir = std::path::Path::new(dir);
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("rw"))?;
    std::fs::write(dir.join("in.txt"), IN_TXT)?;
    std::fs::write(dir.join("secret"), "the host's secret\n")
}
const MODES: &[&str] = &[
    "read-more",
    "read-short",
    "read-outside",
    "read-not-errno",
    "write-more",
    "stat-short",
    "open-handle-1",
    "rollback-reopen",
    "dents-bad-reclen",
    "dents-more",
    "stat-path-short",
];

/// Where block `i` of a sealed host file starts (after its header page).
const fn block_at(i: usize) -> usize {
    4096 * (i + 1)
}

/// Changes sealed host file `path` as `mode` says (see the module doc).
fn tamper(mode: &str, path: &str) -> Result<(), String> {
    let old = format!("{path}.old");
    let mut b = std::fs::read(path).map_err(|e| format!("--tamper {path}: {e}"))?;
    let need = |n: usize| {
        if b.len() < n {
            Err(format!("--tamper {mode}: {path} is too short"))
        } else {
            Ok(())
        }
    };
    match mode {
        "edit" => {
            need(block_at(0) + 101)?;
            b[block_at(0) + 100] ^= 1;
        }
        "swap" => {
            need(block_at(2))?;
            let first = b[block_at(0)..block_at(1)].to_vec();
            b.copy_within(block_at(1)..block_at(2), block_at(0));
            b[block_at(1)..block_at(2)].copy_from_slice(&first);
        }
        "truncate" => {
            need(block_at(1) + 100)?;
            b.truncate(block_at(1) + 100);
        }
        "replay-block" => {
            need(block_at(1))?;
            let o = std::fs::read(&old).map_err(|e| format!("--tamper {old}: {e}"))?;
            if o.len() < block_at(1) {
                return Err(format!("--tamper {old} is too short"));
            }
            b[block_at(0)..block_at(1)].copy_from_slice(&o[block_at(0)..block_at(1)]);
        }
        "replay-file" => b = std::fs::read(&old).map_err(|e| format!("--tamper {old}: {e}"))?,
        _ => {
            return Err(format!(
                "unknown --tamper mode {mode} (edit, swap, truncate, replay-block, replay-file)"
            ))
        }
    }
    std::fs::write(path, b).map_err(|e| format!("--tamper {path}: {e}"))
}

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

/// The honest answer to `call`, or the lie `mode` tells instead.
fn lie(mode: &str, call: &[u8], honest: Reply, utm_size: u64) -> Reply {
    let asked = arg(call, 1);
    match (mode, num(call)) {
        ("read-more", linux::READ) => data(asked as i64 + 4096, &vec![b'X'; asked as usize + 4096]),
        ("read-short", linux::READ) => data(asked as i64, &vec![b'X'; asked as usize / 2]),
        ("read-outside", linux::READ) => {
            Reply::Raw { status: status::OK, offset: utm_size - 8, size: 8 + asked }
        }
        ("read-not-errno", linux::READ) => data(-100_000, &[]),
        ("write-more", linux::WRITE) => data(asked as i64 + 1, &[]),
        ("stat-short", linux::FSTAT) => data(0, &[b'X'; linux::STAT_SIZE / 2]),
        ("stat-path-short", linux::NEWFSTATAT) => data(0, &[b'X'; linux::STAT_SIZE / 2]),
        ("dents-more", linux::GETDENTS64) => data(asked as i64 + 8, &vec![0; asked as usize + 8]),
        ("dents-bad-reclen", linux::GETDENTS64) => match honest {
            Reply::Data(mut d) if d.len() >= 8 + 24 => {
                d[8 + 16..8 + 18].copy_from_slice(&0xfff8u16.to_le_bytes());
                Reply::Data(d)
            }
            other => other,
        },
        ("open-handle-1", linux::OPENAT) => match honest {
            Reply::Data(d) if i64::from_le_bytes(d[..8].try_into().expect("8")) >= 0 => {
                data(1, &[])
            }
            other => other,
        },
        _ => honest,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut eapp, mut policy, mut mode, mut utm_size) =
        (None, FilePolicy::new(), None, 2u64 << 20);
    let mut cat = Vec::new();
    let (mut sealed, mut keep, mut contains) = (Vec::new(), Vec::new(), Vec::new());
    let (mut argv, mut env) = (Vec::new(), Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{a} needs a value"));
        let r = match a.as_str() {
            "--setup" => value().and_then(|d| setup(&d).map_err(|e| format!("--setup {d}: {e}"))),
            "--cat" => value().map(|p| cat.push(p)),
            "--env" => value().map(|e| env.push(e)),
            "--" => {
                argv.extend(it.by_ref().cloned());
                Ok(())
            }
            "--ro" => value().map(|p| policy = policy.clone().read_only(p)),
            "--rw" => value().map(|p| policy = policy.clone().read_write(p)),
            "--sealed" => value().map(|p| {
                policy = policy.clone().sealed(&p);
                sealed.push(p)
            }),
            "--keep" => value().map(|p| keep.push(p)),
            "--contains" => value().and_then(|p| {
                let text = it.next().cloned().ok_or("--contains needs PATH TEXT")?;
                contains.push((p, text));
                Ok(())
            }),
            "--tamper" => value().and_then(|v| match v.split_once(':') {
                Some((m, p)) => tamper(m, p),
                None => Err(format!("--tamper {v}: MODE:PATH")),
            }),
            "--lie" => value().and_then(|m| {
                if MODES.contains(&m.as_str()) {
                    mode = Some(m);
                    Ok(())
                } else {
                    Err(format!("unknown --lie mode {m} (modes: {})", MODES.join(", ")))
                }
            }),
            "--utm-size" => value()
                .and_then(|v| v.parse().map_err(|_| format!("--utm-size {v}: not a number")))
                .map(|v| utm_size = v),
            _ if a.starts_with("--") => Err(format!("unknown option {a}")),
            _ => {
                eapp = Some(a.clone());
                Ok(())
            }
        };
        if let Err(e) = r {
            eprintln!("ks-files: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let Some(eapp) = eapp else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let server = Arc::new(Mutex::new(FileServer::new(policy)));
    let calls = Arc::new(AtomicU64::new(0));
    let (s, c) = (server.clone(), calls.clone());
    let opens = AtomicU64::new(0);
    let handler = move |call: &[u8]| {
        c.fetch_add(1, Ordering::Relaxed);
        if mode.as_deref() == Some("rollback-reopen")
            && num(call) == linux::OPENAT
            && sealed.iter().any(|p| call.get(FILE_CALL_SIZE..) == Some(p.as_bytes()))
            && opens.fetch_add(1, Ordering::Relaxed) == 1
        {
            let p = std::str::from_utf8(&call[FILE_CALL_SIZE..]).unwrap_or_default();
            if let Err(e) = std::fs::copy(format!("{p}.old"), p) {
                eprintln!("ks-files: rollback-reopen {p}: {e}");
            }
        }
        let honest = s.lock().expect("file server").serve(call);
        match &mode {
            Some(m) if call.len() >= FILE_CALL_SIZE => lie(m, call, honest, utm_size),
            _ => honest,
        }
    };
    argv.insert(0, eapp.clone());
    let built = builder(&eapp)
        .args(argv, env)
        .free_mem(48 << 20)
        .utm_size(utm_size)
        .ocall(EDGECALL_FILE, handler)
        .ocall(test_ocall::NOP, |_| Reply::None)
        .build();
    let mut enclave = match built {
        Ok(e) => e,
        Err(e) => {
            eprintln!("ks-files: cannot create the enclave: {e}");
            return ExitCode::from(3);
        }
    };
    match enclave.run() {
        Ok(v) => {
            let open = server.lock().expect("file server").open_files();
            println!(
                "ks-files: returned {v} (file calls {}, open at the end {open})",
                calls.load(Ordering::Relaxed)
            );
            for p in &keep {
                if let Err(e) = std::fs::copy(p, format!("{p}.old")) {
                    println!("ks-files: keep {p}: {e}");
                }
            }
            for (p, text) in &contains {
                let yes = std::fs::read(p)
                    .is_ok_and(|b| b.windows(text.len().max(1)).any(|w| w == text.as_bytes()));
                println!("ks-files: {p} contains {text}: {}", if yes { "yes" } else { "no" });
            }
            for p in &cat {
                let text = std::fs::read_to_string(p).unwrap_or_else(|e| format!("<{e}>"));
                println!("ks-files: cat {p}: {}", text.replace('\n', "|"));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("ks-files: enclave failed: {e}");
            ExitCode::from(1)
        }
    }
}

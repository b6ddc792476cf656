//! Runs a Linux program in an enclave as if it were a process:
//! `ks-run PROGRAM [--allow-read PATH]... [--allow-write PATH]...
//! [--env NAME=VALUE]... [--cwd DIR] [--free-mem BYTES] [-- ARG...]`.
//!
//! The program (a static riscv64 Linux executable) runs on the default
//! loader and runtime with argv PROGRAM ARG..., the `--env` strings as its
//! environment, and a [`FilePolicy`] of the paths given: `--allow-read`
//! read-only, `--allow-write` read-write (a missing folder is made first);
//! nothing else may be opened. Relative paths, the program's and the
//! policy's, are taken from `--cwd` (default: the current folder). Its
//! stdout and stderr are ours; `ks-run` exits with its exit status, or, when
//! the enclave ended any other way (a fault, a bad pointer, no memory),
//! says so on stderr and exits with 125 (126 when no enclave could be
//! made, 2 for a usage error).

use host_examples::builder;
use keystone_host::FilePolicy;
use std::process::ExitCode;

const USAGE: &str = "usage: ks-run PROGRAM [--allow-read PATH]... [--allow-write PATH]... \
                     [--env NAME=VALUE]... [--cwd DIR] [--free-mem BYTES] [-- ARG...]";
/// The enclave's free memory unless `--free-mem` says otherwise: room for
/// the program's heap, mmap and stack (its EPM comes from the guest's 64 MiB CMA).
const DEFAULT_FREE_MEM: u64 = 48 << 20;

struct Options {
    program: String,
    read: Vec<String>,
    write: Vec<String>,
    env: Vec<String>,
    argv: Vec<String>,
    cwd: Option<String>,
    free_mem: u64,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        program: String::new(),
        read: Vec::new(),
        write: Vec::new(),
        env: Vec::new(),
        argv: Vec::new(),
        cwd: None,
        free_mem: DEFAULT_FREE_MEM,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--allow-read" => o.read.push(value()?),
            "--allow-write" => o.write.push(value()?),
            "--env" => o.env.push(value()?),
            "--cwd" => o.cwd = Some(value()?),
            "--free-mem" => {
                let v = value()?;
                o.free_mem = v.parse().map_err(|_| format!("--free-mem {v}: not a number"))?;
            }
            "--" => o.argv.extend(it.by_ref().cloned()),
            _ if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ if o.program.is_empty() => o.program = a.clone(),
            _ => return Err(format!("{a}: a second program (its arguments go after `--`)")),
        }
    }
    if o.program.is_empty() {
        return Err("no program".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ks-run: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &o.cwd {
        if let Err(e) = std::fs::create_dir_all(dir).and_then(|_| std::env::set_current_dir(dir)) {
            eprintln!("ks-run: --cwd {dir}: {e}");
            return ExitCode::from(2);
        }
    }
    let mut policy = FilePolicy::new();
    for p in &o.read {
        policy = policy.read_only(p);
    }
    for p in &o.write {
        if !std::path::Path::new(p).exists() {
            if let Err(e) = std::fs::create_dir_all(p) {
                eprintln!("ks-run: --allow-write {p}: {e}");
                return ExitCode::from(2);
            }
        }
        policy = policy.read_write(p);
    }
    let program =
        if o.program.contains('/') { o.program.clone() } else { format!("./{}", o.program) };
    let mut argv = vec![o.program.clone()];
    argv.extend(o.argv.iter().cloned());
    let built =
        builder(&program).args(argv, o.env.clone()).free_mem(o.free_mem).files(policy).build();
    let mut enclave = match built {
        Ok(e) => e,
        Err(e) => {
            eprintln!("ks-run: cannot create the enclave for {}: {e}", o.program);
            return ExitCode::from(126);
        }
    };
    match enclave.run() {
        Ok(v) if v <= 255 => ExitCode::from(v as u8),
        Ok(v) => {
            eprintln!("ks-run: {} ended the enclave with {v:#x} ({})", o.program, ended(v));
            ExitCode::from(125)
        }
        Err(e) => {
            eprintln!("ks-run: the enclave failed: {e}");
            ExitCode::from(125)
        }
    }
}

/// What an enclave's value above 255 means (`keystone_abi::eyrie::exit_code`).
fn ended(v: u64) -> String {
    use keystone_abi::eyrie::exit_code as c;
    let v = v as usize;
    match v {
        c::BAD_POINTER => "a system call named memory not its own".into(),
        c::BAD_ELF => "the runtime could not load it".into(),
        c::OUT_OF_MEMORY => "out of memory while loading; try a larger --free-mem".into(),
        c::BAD_ARGS => "its arguments did not fit".into(),
        _ if (c::FAULT_BASE..c::FAULT_BASE + 0x100).contains(&v) => {
            format!("exception {} (a page fault may be the end of its memory)", v - c::FAULT_BASE)
        }
        _ => "see keystone_abi::eyrie::exit_code".into(),
    }
}

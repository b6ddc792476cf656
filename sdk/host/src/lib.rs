//! Host SDK: create, load, run and serve Keystone-compatible enclaves from a
//! Linux process through `/dev/keystone_enclave` (KEYSTONE_ABI.md §6-7).
//!
//! ```no_run
//! use keystone_host::{Enclave, Reply};
//! let mut enclave = Enclave::builder()
//!     .loader("/enclave/loader.bin")
//!     .runtime("/enclave/eyrie-rt")
//!     .eapp("/enclave/hello")
//!     .ocall(1, |args| { print!("{}", String::from_utf8_lossy(args)); Reply::None })
//!     .build()?;
//! let value = enclave.run()?;
//! # Ok::<(), keystone_host::Error>(())
//! ```
//!
//! The enclave is destroyed when the `Enclave` is dropped (the driver also
//! destroys it when the process dies).

mod sys;

/// The driver's ioctls and mmap without the SDK's checks, for tests that
/// feed the driver bad input on purpose.
pub mod raw {
    pub use crate::sys::{ioctl_addr, ioctl_with as ioctl, Mapping};
}

use keystone_abi::edge::{self, status, DATA_OFFSET, EDGE_CALL_SIZE};
use keystone_abi::eyrie::linux;
use keystone_abi::ioctl::{self as kio, CreateEnclave, RunEnclave};
use keystone_abi::sm::err;
use std::collections::HashMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use sys::Mapping;

pub const PAGE: u64 = 4096;
/// Keystone's defaults (`Params.hpp`): 1 MiB free memory, 8 KiB UTM.
pub const DEFAULT_FREE_MEM: u64 = 1 << 20;
pub const DEFAULT_UTM_SIZE: u64 = 8 << 10;
/// Pages added to the EPM for the loader's page tables and stacks (Keystone's 16).
const EXTRA_PAGES: u64 = 16;

/// What went wrong, with the code the driver or the SM gave.
#[derive(Debug)]
pub enum Error {
    /// A builder field is missing or invalid.
    Config(String),
    /// An enclave file could not be read.
    File { path: PathBuf, source: io::Error },
    /// The device could not be opened (driver not loaded?).
    Device(io::Error),
    /// An ioctl or mmap failed: the operation and the driver's errno.
    Driver { op: &'static str, source: io::Error },
    /// RUN/RESUME returned an SM code that is neither exit, edge call nor interrupt.
    Sm { op: &'static str, code: u64 },
}

impl Error {
    /// The driver's errno, when the driver refused.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Driver { source, .. } | Error::Device(source) => source.raw_os_error(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m) => write!(f, "enclave configuration: {m}"),
            Error::File { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Device(e) => write!(f, "{}: {e}", kio::DEVICE_PATH),
            Error::Driver { op, source } => write!(f, "driver refused {op}: {source}"),
            Error::Sm { op, code } => write!(f, "security monitor: {op} failed with {code}"),
        }
    }
}

impl std::error::Error for Error {}

/// A handler's answer to an ocall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// OK, no data back.
    None,
    /// OK, these bytes at the UTM's data area (`edge_call_setup_ret`).
    Data(Vec<u8>),
    /// OK, an `edge_data` naming these bytes, stored right after it
    /// (`edge_call_setup_wrapped_ret`).
    Wrapped(Vec<u8>),
    /// The call failed with this edge status.
    Status(u64),
    /// This header, exactly as given, with no data written: for tests that
    /// play a lying host (the runtime must check what it is told).
    Raw { status: u64, offset: u64, size: u64 },
}

type Handler = Box<dyn FnMut(&[u8]) -> Reply + Send>;

/// Counters for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// INTERRUPTED stops (a host interrupt arrived while the enclave ran).
    pub interrupts: u64,
    /// EDGE_CALL_HOST stops (ocalls, proxied syscalls included).
    pub ocalls: u64,
    /// Ocalls answered BAD_CALL_ID (no handler).
    pub unknown_ocalls: u64,
}

/// Configures an enclave; [`Builder::build`] creates, loads and finalizes it.
pub struct Builder {
    loader: Option<PathBuf>,
    runtime: Option<PathBuf>,
    eapp: Option<PathBuf>,
    free_mem: u64,
    utm_size: u64,
    device: PathBuf,
    handlers: HashMap<u64, Handler>,
}

impl Builder {
    pub fn loader(mut self, path: impl AsRef<Path>) -> Self {
        self.loader = Some(path.as_ref().into());
        self
    }

    pub fn runtime(mut self, path: impl AsRef<Path>) -> Self {
        self.runtime = Some(path.as_ref().into());
        self
    }

    pub fn eapp(mut self, path: impl AsRef<Path>) -> Self {
        self.eapp = Some(path.as_ref().into());
        self
    }

    /// Free memory for the runtime and eapp (bytes).
    pub fn free_mem(mut self, bytes: u64) -> Self {
        self.free_mem = bytes;
        self
    }

    /// Shared buffer size (bytes; the driver rounds it up to a power of two).
    pub fn utm_size(mut self, bytes: u64) -> Self {
        self.utm_size = bytes;
        self
    }

    /// The device node (default `/dev/keystone_enclave`).
    pub fn device(mut self, path: impl AsRef<Path>) -> Self {
        self.device = path.as_ref().into();
        self
    }

    /// Serves ocall `id` with `handler` (its argument bytes in, a [`Reply`] out).
    /// Id [`edge::EDGECALL_SYSCALL`] is served by the SDK unless given here.
    pub fn ocall(mut self, id: u64, handler: impl FnMut(&[u8]) -> Reply + Send + 'static) -> Self {
        self.handlers.insert(id, Box::new(handler));
        self
    }

    /// Creates the enclave: EPM, files copied in, UTM, SM create, UTM mapped.
    pub fn build(self) -> Result<Enclave, Error> {
        let need = |p: &Option<PathBuf>, what: &str| {
            p.clone().ok_or_else(|| Error::Config(format!("no {what} given")))
        };
        let files = [
            need(&self.loader, "loader")?,
            need(&self.runtime, "runtime")?,
            need(&self.eapp, "eapp")?,
        ];
        let images: Vec<Vec<u8>> = files
            .iter()
            .map(|p| std::fs::read(p).map_err(|source| Error::File { path: p.clone(), source }))
            .collect::<Result<_, _>>()?;
        if let Some((i, _)) = images.iter().enumerate().find(|(_, d)| d.is_empty()) {
            return Err(Error::Config(format!("{} is empty", files[i].display())));
        }
        if self.utm_size == 0 {
            return Err(Error::Config("utm_size is 0".into()));
        }
        let pages = |n: u64| n.div_ceil(PAGE);
        let loaded: u64 = images.iter().map(|d| pages(d.len() as u64)).sum();
        let min_pages = pages(self.free_mem) + loaded + EXTRA_PAGES;

        let file =
            OpenOptions::new().read(true).write(true).open(&self.device).map_err(Error::Device)?;
        let mut enclave = Enclave {
            file,
            eid: 0,
            utm: None,
            handlers: self.handlers,
            stats: Stats::default(),
            epm: (0, 0),
            created_in: Duration::ZERO,
        };
        let start = Instant::now();
        let mut args = CreateEnclave { min_pages, ..Default::default() };
        enclave.ioctl("CREATE_ENCLAVE", kio::CREATE_ENCLAVE, &mut args)?;
        enclave.eid = args.eid;
        enclave.epm = (args.epm_paddr, args.epm_size);

        // The three files, each page-padded, one after the other from the
        // EPM's start (KEYSTONE_ABI.md §7 step 4); unmapped before FINALIZE.
        let mut starts = [0u64; 3];
        {
            let mut epm = Mapping::new(&enclave.file, 0, (loaded * PAGE) as usize)
                .map_err(|source| Error::Driver { op: "mmap of the EPM", source })?;
            let mut at = 0u64;
            for (i, image) in images.iter().enumerate() {
                epm.write(at as usize, image);
                starts[i] = args.epm_paddr + at;
                at += pages(image.len() as u64) * PAGE;
            }
        }
        args.utm_size = self.utm_size;
        enclave.ioctl("UTM_INIT", kio::UTM_INIT, &mut args)?;
        let utm_size = args.utm_size;
        args.runtime_paddr = starts[1];
        args.user_paddr = starts[2];
        args.free_paddr = args.epm_paddr + loaded * PAGE;
        args.free_requested = self.free_mem;
        enclave.ioctl("FINALIZE_ENCLAVE", kio::FINALIZE_ENCLAVE, &mut args)?;
        enclave.utm = Some(
            Mapping::new(&enclave.file, 0, utm_size as usize)
                .map_err(|source| Error::Driver { op: "mmap of the UTM", source })?,
        );
        enclave.created_in = start.elapsed();
        Ok(enclave)
    }
}

/// A created enclave, ready to run.
pub struct Enclave {
    file: File,
    eid: u64,
    utm: Option<Mapping>,
    handlers: HashMap<u64, Handler>,
    stats: Stats,
    epm: (u64, u64),
    created_in: Duration,
}

impl Enclave {
    pub fn builder() -> Builder {
        Builder {
            loader: None,
            runtime: None,
            eapp: None,
            free_mem: DEFAULT_FREE_MEM,
            utm_size: DEFAULT_UTM_SIZE,
            device: kio::DEVICE_PATH.into(),
            handlers: HashMap::new(),
        }
    }

    fn ioctl<T>(&self, op: &'static str, cmd: u32, arg: &mut T) -> Result<(), Error> {
        sys::ioctl_with(&self.file, cmd, arg).map_err(|source| Error::Driver { op, source })
    }

    /// The driver's id of this enclave.
    pub fn id(&self) -> u64 {
        self.eid
    }

    /// EPM physical base and size.
    pub fn epm(&self) -> (u64, u64) {
        self.epm
    }

    /// UTM size in bytes.
    pub fn utm_size(&self) -> usize {
        self.utm.as_ref().map_or(0, Mapping::len)
    }

    /// Time CREATE through the UTM mapping took.
    pub fn created_in(&self) -> Duration {
        self.created_in
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Runs the enclave to its end: resumes after each interrupt, serves each
    /// ocall, and returns the eapp's exit value.
    pub fn run(&mut self) -> Result<u64, Error> {
        let mut r = RunEnclave { eid: self.eid, ..Default::default() };
        self.ioctl("RUN_ENCLAVE", kio::RUN_ENCLAVE, &mut r)?;
        loop {
            match r.error as usize {
                err::SUCCESS => return Ok(r.value),
                err::INTERRUPTED => self.stats.interrupts += 1,
                err::EDGE_CALL_HOST => {
                    self.stats.ocalls += 1;
                    self.serve_edge_call();
                }
                _ => return Err(Error::Sm { op: "RUN_ENCLAVE", code: r.error }),
            }
            r = RunEnclave { eid: self.eid, ..Default::default() };
            self.ioctl("RESUME_ENCLAVE", kio::RESUME_ENCLAVE, &mut r)?;
        }
    }

    /// Destroys the enclave now (dropping it does the same, ignoring errors).
    pub fn destroy(mut self) -> Result<(), Error> {
        self.utm = None;
        let mut args = CreateEnclave { eid: self.eid, ..Default::default() };
        let r = self.ioctl("DESTROY_ENCLAVE", kio::DESTROY_ENCLAVE, &mut args);
        self.eid = 0;
        r
    }

    /// Reads the edge call in the UTM, dispatches it by id and writes the answer.
    fn serve_edge_call(&mut self) {
        let Some(utm) = self.utm.as_mut() else { return };
        let size = utm.len() as u64;
        let id = utm.read_u64(0);
        let (off, len) = (utm.read_u64(8), utm.read_u64(16));
        let in_utm =
            off >= EDGE_CALL_SIZE as u64 && off.checked_add(len).is_some_and(|e| e <= size);
        let reply = if !in_utm {
            Reply::Status(status::BAD_OFFSET)
        } else {
            let args = utm.read(off as usize, len as usize);
            match self.handlers.get_mut(&id) {
                Some(h) => h(&args),
                None if id == edge::EDGECALL_SYSCALL => proxy_syscall(&args),
                None => {
                    self.stats.unknown_ocalls += 1;
                    Reply::Status(status::BAD_CALL_ID)
                }
            }
        };
        let answer = |utm: &mut Mapping, st: u64, off: u64, len: u64| {
            utm.write_u64(24, st);
            utm.write_u64(32, off);
            utm.write_u64(40, len);
        };
        let room = size - DATA_OFFSET as u64;
        match reply {
            Reply::None => answer(utm, status::OK, 0, 0),
            Reply::Status(st) => answer(utm, st, 0, 0),
            Reply::Raw { status, offset, size } => answer(utm, status, offset, size),
            Reply::Data(d) if (d.len() as u64) <= room => {
                utm.write(DATA_OFFSET, &d);
                answer(utm, status::OK, DATA_OFFSET as u64, d.len() as u64);
            }
            Reply::Wrapped(d) if (d.len() as u64) + 16 <= room => {
                let at = DATA_OFFSET as u64 + 16;
                utm.write_u64(DATA_OFFSET, at);
                utm.write_u64(DATA_OFFSET + 8, d.len() as u64);
                utm.write(at as usize, &d);
                answer(utm, status::OK, DATA_OFFSET as u64, 16);
            }
            Reply::Data(_) | Reply::Wrapped(_) => answer(utm, status::ERROR, 0, 0),
        }
    }
}

impl Drop for Enclave {
    fn drop(&mut self) {
        self.utm = None;
        if self.eid != 0 {
            let mut args = CreateEnclave { eid: self.eid, ..Default::default() };
            let _ = self.ioctl("DESTROY_ENCLAVE", kio::DESTROY_ENCLAVE, &mut args);
        }
    }
}

/// EDGECALL_SYSCALL: write(2) to fd 1 or 2 goes to ours; anything else is
/// -ENOSYS (the runtime proxies only what it must).
fn proxy_syscall(data: &[u8]) -> Reply {
    let result: i64 = (|| {
        let num = u64::from_le_bytes(data.get(..8)?.try_into().ok()?) as usize;
        let args = &data[edge::SYSCALL_DATA_OFFSET..];
        if num != linux::WRITE {
            return Some(-(linux::ENOSYS as i64));
        }
        let fd = i32::from_le_bytes(args.get(..4)?.try_into().ok()?);
        let len = u64::from_le_bytes(args.get(8..16)?.try_into().ok()?) as usize;
        let buf = args.get(edge::WRITE_BUF_OFFSET..)?.get(..len)?;
        let ok = match fd {
            1 => io::stdout().write_all(buf).and_then(|_| io::stdout().flush()),
            2 => io::stderr().write_all(buf),
            _ => return Some(-(linux::EBADF as i64)),
        };
        Some(if ok.is_ok() { len as i64 } else { -(linux::EBADF as i64) })
    })()
    .unwrap_or(-(linux::EINVAL as i64));
    Reply::Data(result.to_le_bytes().to_vec())
}

//! Host SDK: create, load, run and serve Keystone-compatible enclaves from a
//! Linux process through `/dev/keystone_enclave` (docs/abi.md §6-7).
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

mod epm;
pub mod files;
pub mod switchless;
mod sys;

pub use epm::EpmLoad;
pub use files::{FilePolicy, FileServer};

/// The driver's ioctls and mmap without the SDK's checks, for tests that
/// feed the driver bad input on purpose (still sound: each command's size is
/// its argument's, see [`keystone_abi::ioctl::Ioctl`]).
pub mod raw {
    pub use crate::sys::{ioctl_inaccessible, ioctl_with as ioctl, Mapping};
}

pub use sys::pin_current_thread;

use keystone_abi::edge::{self, status, DATA_OFFSET, EDGE_CALL_SIZE};
use keystone_abi::eyrie::linux;
use keystone_abi::ioctl::{self as kio, CreateEnclave, Ioctl, IoctlArg, RunEnclave};
use keystone_abi::sm::err;
use keystone_abi::switchless::RING_BYTES;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::hash::BuildHasherDefault;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use sys::Mapping;

pub const PAGE: u64 = 4096;

/// The smallest UTM that holds the switchless ring and a page for ordinary
/// edge calls.
pub const fn switchless_min_utm() -> u64 {
    RING_BYTES as u64 + PAGE
}
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
type SharedHandler = Box<dyn Fn(&[u8]) -> Reply + Send + Sync>;

/// Counters for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// INTERRUPTED stops (a host interrupt arrived while the enclave ran).
    pub interrupts: u64,
    /// EDGE_CALL_HOST stops (ocalls, proxied syscalls included).
    pub ocalls: u64,
    /// Ocalls answered BAD_CALL_ID (no handler).
    pub unknown_ocalls: u64,
    /// Calls the switchless workers answered through the ring.
    pub switchless: u64,
    /// WAIT_OCALLs the run loop served: an eapp waiting for a call a worker
    /// held past its spin bound (counted in `ocalls` too).
    pub switchless_waits: u64,
}

/// One handler: called by one thread at a time, or by any number at once.
enum Entry {
    Exclusive(Mutex<Handler>),
    Shared(SharedHandler),
}

/// Hashes an ocall id with one multiplication: ids are small integers the
/// host chose, so SipHash's protection buys nothing on the ocall path.
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        // Fibonacci hashing: spreads small ids over the table's tag bits.
        self.0 = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Ids below this are looked up by index (Keystone's ids are below 16).
const SMALL_IDS: usize = 16;

/// The handlers by id, shared by the run loop and the switchless workers.
#[derive(Default)]
pub(crate) struct Table {
    small: [Option<Entry>; SMALL_IDS],
    handlers: HashMap<u64, Entry, BuildHasherDefault<IdHasher>>,
    unknown: AtomicU64,
    switchless: AtomicU64,
}

impl Table {
    /// The handler's answer to call `id` with arguments `args`: its own,
    /// the SDK's for an unhandled EDGECALL_SYSCALL, else BAD_CALL_ID.
    pub(crate) fn dispatch(&self, id: u64, args: &[u8]) -> Reply {
        let entry = match usize::try_from(id) {
            Ok(i) if i < SMALL_IDS => self.small[i].as_ref(),
            _ => self.handlers.get(&id),
        };
        match entry {
            Some(Entry::Shared(h)) => h(args),
            // A handler that panicked on another thread left the lock
            // poisoned; its state is the handler's own business.
            Some(Entry::Exclusive(h)) => h.lock().unwrap_or_else(|p| p.into_inner())(args),
            None if id == edge::EDGECALL_SYSCALL => proxy_syscall(args),
            None if id == edge::EDGECALL_FILE => refuse_file(args),
            None => {
                self.unknown.fetch_add(1, Ordering::Relaxed);
                Reply::Status(status::BAD_CALL_ID)
            }
        }
    }

    fn insert(&mut self, id: u64, entry: Entry) {
        match usize::try_from(id) {
            Ok(i) if i < SMALL_IDS => self.small[i] = Some(entry),
            _ => {
                self.handlers.insert(id, entry);
            }
        }
    }

    pub(crate) fn count_switchless(&self) {
        self.switchless.fetch_add(1, Ordering::Relaxed);
    }
}

/// Memory shared with the enclave (the UTM), reached by copies at offsets.
/// Out-of-bounds offsets panic.
pub trait SharedMem {
    fn len(&self) -> usize;
    fn read(&self, offset: usize, len: usize) -> Vec<u8>;
    fn write(&mut self, offset: usize, src: &[u8]);

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read_u64(&self, offset: usize) -> u64 {
        u64::from_le_bytes(self.read(offset, 8).try_into().expect("8 bytes"))
    }

    fn write_u64(&mut self, offset: usize, v: u64) {
        self.write(offset, &v.to_le_bytes());
    }

    /// Three consecutive u64s at `offset` (an edge-call header's words).
    fn read_u64x3(&self, offset: usize) -> [u64; 3] {
        [self.read_u64(offset), self.read_u64(offset + 8), self.read_u64(offset + 16)]
    }

    /// Writes three consecutive u64s at `offset`.
    fn write_u64x3(&mut self, offset: usize, v: [u64; 3]) {
        for (i, w) in v.into_iter().enumerate() {
            self.write_u64(offset + 8 * i, w);
        }
    }
}

/// A buffer in this process standing in for the UTM (tests, simulations).
impl SharedMem for Vec<u8> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn read(&self, offset: usize, len: usize) -> Vec<u8> {
        self[offset..offset + len].to_vec()
    }

    fn write(&mut self, offset: usize, src: &[u8]) {
        self[offset..offset + src.len()].copy_from_slice(src);
    }
}

/// What the run loop needs of the driver: RUN (`resume` false) or RESUME
/// one enclave; the SM's result comes back in `r` (`error`, `value`).
pub trait Driver {
    fn run(&mut self, resume: bool, r: &mut RunEnclave) -> io::Result<()>;
}

/// The device file as a [`Driver`].
struct DeviceFile<'a>(&'a File);

impl Driver for DeviceFile<'_> {
    fn run(&mut self, resume: bool, r: &mut RunEnclave) -> io::Result<()> {
        let cmd = if resume { kio::RESUME_ENCLAVE } else { kio::RUN_ENCLAVE };
        sys::ioctl_hot(self.0, cmd, r)
    }
}

/// The ocall handlers of an enclave, by id, and what serving them counted.
#[derive(Default)]
pub struct Ocalls {
    table: Arc<Table>,
    stats: Stats,
    /// The switchless ring, for the eapp's WAIT_OCALLs.
    ring: Option<switchless::Ring>,
}

impl Ocalls {
    fn table_mut(&mut self) -> &mut Table {
        Arc::get_mut(&mut self.table).expect("handlers are added before any worker starts")
    }

    /// Serves ocall `id` with `handler`, replacing any handler it had. The
    /// handler runs on one thread at a time (the run loop's or a worker's).
    pub fn insert(&mut self, id: u64, handler: impl FnMut(&[u8]) -> Reply + Send + 'static) {
        self.table_mut().insert(id, Entry::Exclusive(Mutex::new(Box::new(handler))));
    }

    /// Serves ocall `id` with `handler`, which switchless workers may run on
    /// several threads at once.
    pub fn insert_shared(
        &mut self,
        id: u64,
        handler: impl Fn(&[u8]) -> Reply + Send + Sync + 'static,
    ) {
        self.table_mut().insert(id, Entry::Shared(Box::new(handler)));
    }

    pub fn stats(&self) -> Stats {
        Stats {
            unknown_ocalls: self.table.unknown.load(Ordering::Relaxed),
            switchless: self.table.switchless.load(Ordering::Relaxed),
            ..self.stats
        }
    }

    pub(crate) fn table(&self) -> Arc<Table> {
        self.table.clone()
    }

    /// The handler's answer to call `id` with arguments `args`: its own,
    /// the SDK's for an unhandled EDGECALL_SYSCALL, else BAD_CALL_ID.
    pub fn dispatch(&mut self, id: u64, args: &[u8]) -> Reply {
        self.table.dispatch(id, args)
    }

    /// Reads the edge call in `utm`, dispatches it by id and writes the
    /// answer: BAD_OFFSET if its arguments are not inside the UTM, ERROR if
    /// the reply does not fit. When the eapp has mapped the switchless ring
    /// (its magic is at the ring's place), the ring is not part of the UTM
    /// an edge call may use, and the run loop answers the eapp's
    /// [`WAIT_OCALL`](keystone_abi::switchless::WAIT_OCALL) itself: it waits
    /// (bounded) for the worker holding that slot's call to finish it.
    ///
    /// Generic so the run loop's UTM accessors are inlined (a `dyn
    /// SharedMem` works too).
    pub fn serve<U: SharedMem + ?Sized>(&mut self, utm: &mut U) {
        let size = switchless::edge_call_room(utm) as u64;
        if size < EDGE_CALL_SIZE as u64 {
            return;
        }
        let [id, off, len] = utm.read_u64x3(0);
        let in_utm =
            off >= EDGE_CALL_SIZE as u64 && off.checked_add(len).is_some_and(|e| e <= size);
        let reply = if !in_utm {
            Reply::Status(status::BAD_OFFSET)
        } else {
            let args = if len == 0 { Vec::new() } else { utm.read(off as usize, len as usize) };
            match &self.ring {
                Some(ring) if id == switchless::WAIT_OCALL => {
                    self.stats.switchless_waits += 1;
                    ring.serve_wait(&args)
                }
                _ => self.dispatch(id, &args),
            }
        };
        let room = size.saturating_sub(DATA_OFFSET as u64);
        let (st, off, len) = match reply {
            Reply::None => (status::OK, 0, 0),
            Reply::Status(st) => (st, 0, 0),
            Reply::Raw { status, offset, size } => (status, offset, size),
            Reply::Data(d) if (d.len() as u64) <= room => {
                utm.write(DATA_OFFSET, &d);
                (status::OK, DATA_OFFSET as u64, d.len() as u64)
            }
            Reply::Wrapped(d) if (d.len() as u64) + 16 <= room => {
                let at = DATA_OFFSET as u64 + 16;
                utm.write_u64(DATA_OFFSET, at);
                utm.write_u64(DATA_OFFSET + 8, d.len() as u64);
                utm.write(at as usize, &d);
                (status::OK, DATA_OFFSET as u64, 16)
            }
            Reply::Data(_) | Reply::Wrapped(_) => (status::ERROR, 0, 0),
        };
        utm.write_u64x3(24, [st, off, len]);
    }

    /// Runs enclave `eid` to its end through `dev`: RUN, then RESUME after
    /// each INTERRUPTED or EDGE_CALL_HOST stop (serving the ocall in `utm`
    /// first); the eapp's exit value, or what stopped it otherwise.
    pub fn run_loop(
        &mut self,
        dev: &mut dyn Driver,
        eid: u64,
        utm: Option<&mut dyn SharedMem>,
    ) -> Result<u64, Error> {
        self.run_loop_on(dev, eid, utm)
    }

    /// `run_loop` for one kind of UTM: the ocall path with no indirect call.
    fn run_loop_on<U: SharedMem + ?Sized>(
        &mut self,
        dev: &mut dyn Driver,
        eid: u64,
        mut utm: Option<&mut U>,
    ) -> Result<u64, Error> {
        let mut resume = false;
        loop {
            let op = if resume { "RESUME_ENCLAVE" } else { "RUN_ENCLAVE" };
            let mut r = RunEnclave { eid, ..Default::default() };
            dev.run(resume, &mut r).map_err(|source| Error::Driver { op, source })?;
            match r.error as usize {
                err::SUCCESS => return Ok(r.value),
                err::INTERRUPTED => self.stats.interrupts += 1,
                err::EDGE_CALL_HOST => {
                    self.stats.ocalls += 1;
                    if let Some(u) = utm.as_deref_mut() {
                        self.serve(u);
                    }
                }
                _ => return Err(Error::Sm { op, code: r.error }),
            }
            resume = true;
        }
    }
}

/// Configures an enclave; [`Builder::build`] creates, loads and finalizes it.
pub struct Builder {
    loader: Option<PathBuf>,
    runtime: Option<PathBuf>,
    eapp: Option<PathBuf>,
    free_mem: u64,
    utm_size: u64,
    device: PathBuf,
    ocalls: Ocalls,
    switchless: switchless::Config,
    args: Option<(Vec<String>, Vec<String>)>,
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

    /// The device node (default `/dev/keystone_enclave`), or `fd:N` for a
    /// descriptor the process already has (zCore's fd 666).
    pub fn device(mut self, path: impl AsRef<Path>) -> Self {
        self.device = path.as_ref().into();
        self
    }

    /// Serves ocall `id` with `handler` (its argument bytes in, a [`Reply`] out).
    /// Id [`edge::EDGECALL_SYSCALL`] is served by the SDK unless given here.
    pub fn ocall(mut self, id: u64, handler: impl FnMut(&[u8]) -> Reply + Send + 'static) -> Self {
        self.ocalls.insert(id, handler);
        self
    }

    /// The eapp's argv (argv[0] first) and environment (`NAME=value`
    /// strings), placed in the UTM for the runtime to put on the eapp's
    /// stack; without this the eapp gets `argv = {"eapp"}` and no
    /// environment. At most [`edge::ARGS_MAX_STRINGS`] strings and
    /// [`edge::ARGS_MAX_BYTES`] bytes (NULs included).
    pub fn args<A: Into<String>, E: Into<String>>(
        mut self,
        argv: impl IntoIterator<Item = A>,
        env: impl IntoIterator<Item = E>,
    ) -> Self {
        let argv = argv.into_iter().map(Into::into).collect();
        self.args = Some((argv, env.into_iter().map(Into::into).collect()));
        self
    }

    /// Serves the eapp's files (EDGECALL_FILE) under `policy`; without
    /// this, every file the eapp opens is refused (EACCES).
    pub fn files(self, policy: FilePolicy) -> Self {
        let mut server = FileServer::new(policy);
        self.ocall(edge::EDGECALL_FILE, move |args| server.serve(args))
    }

    /// Serves ocall `id` with `handler`, which several switchless workers
    /// may run at once (ordinary ocalls use it too).
    pub fn ocall_shared(
        mut self,
        id: u64,
        handler: impl Fn(&[u8]) -> Reply + Send + Sync + 'static,
    ) -> Self {
        self.ocalls.insert_shared(id, handler);
        self
    }

    /// Serves switchless calls with `workers` threads (on `cpus`, in order,
    /// when given) from creation to destruction. The UTM must hold the ring
    /// and a page besides ([`switchless_min_utm`]).
    pub fn switchless(mut self, workers: usize, cpus: &[usize]) -> Self {
        self.switchless.workers = workers;
        self.switchless.cpus = cpus.to_vec();
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
        let args_block = match &self.args {
            Some((argv, env)) => Some(args_block(argv, env)?),
            None => None,
        };
        let pages = |n: u64| n.div_ceil(PAGE);
        let loaded: u64 = images.iter().map(|d| pages(d.len() as u64)).sum();
        let min_pages = pages(self.free_mem) + loaded + EXTRA_PAGES;

        let file = sys::open_device(&self.device).map_err(Error::Device)?;
        let mut enclave = Enclave {
            file,
            eid: 0,
            utm: None,
            ring: None,
            workers: None,
            ocalls: self.ocalls,
            epm: (0, 0),
            created_in: Duration::ZERO,
            epm_load: EpmLoad::Whole,
        };
        let start = Instant::now();
        let mut args = CreateEnclave { min_pages, ..Default::default() };
        enclave.ioctl("CREATE_ENCLAVE", kio::CREATE_ENCLAVE, &mut args)?;
        enclave.eid = args.eid;
        enclave.epm = (args.epm_paddr, args.epm_size);

        // The three files, each page-padded, one after the other from the
        // EPM's start; unmapped before FINALIZE (see `epm`).
        let (offsets, epm_load) =
            epm::load(&images, |off, len| Mapping::new(&enclave.file, off, len))?;
        enclave.epm_load = epm_load;
        let starts: Vec<u64> = offsets.iter().map(|o| args.epm_paddr + o).collect();
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
        if let Some(block) = &args_block {
            let utm = enclave.utm.as_mut().expect("mapped above");
            if DATA_OFFSET + block.len() > utm.len() {
                return Err(Error::Config(format!(
                    "argv and environment need {} bytes of UTM, it has {utm_size}",
                    DATA_OFFSET + block.len()
                )));
            }
            utm.write(DATA_OFFSET, block);
        }
        if utm_size >= switchless_min_utm() {
            let at = utm_size - RING_BYTES as u64;
            let ring = Mapping::new(&enclave.file, at, RING_BYTES)
                .map_err(|source| Error::Driver { op: "mmap of the switchless ring", source })?;
            let ring = switchless::Ring(Arc::new(sys::SharedWords::new(ring)));
            enclave.ocalls.ring = Some(ring.clone());
            enclave.ring = Some(ring);
        } else if self.switchless.workers > 0 {
            return Err(Error::Config(format!(
                "switchless workers need a UTM of at least {} bytes (have {utm_size})",
                switchless_min_utm()
            )));
        }
        if self.switchless.workers > 0 {
            enclave.start_switchless(&self.switchless)?;
        }
        enclave.created_in = start.elapsed();
        Ok(enclave)
    }
}

/// A created enclave, ready to run.
pub struct Enclave {
    file: File,
    eid: u64,
    utm: Option<Mapping>,
    ring: Option<switchless::Ring>,
    workers: Option<switchless::Workers>,
    ocalls: Ocalls,
    epm: (u64, u64),
    created_in: Duration,
    epm_load: EpmLoad,
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
            ocalls: Ocalls::default(),
            switchless: switchless::Config::default(),
            args: None,
        }
    }

    fn ioctl<T: IoctlArg>(
        &self,
        op: &'static str,
        cmd: Ioctl<T>,
        arg: &mut T,
    ) -> Result<(), Error> {
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

    /// How the files were mapped into the EPM (whole, or page by page for a
    /// driver that maps one page per mmap before FINALIZE, as Keystone's).
    pub fn epm_load(&self) -> EpmLoad {
        self.epm_load
    }

    /// Time CREATE through the UTM mapping took.
    pub fn created_in(&self) -> Duration {
        self.created_in
    }

    pub fn stats(&self) -> Stats {
        self.ocalls.stats()
    }

    /// The switchless ring (when the UTM is large enough to hold one).
    pub fn ring(&self) -> Option<&switchless::Ring> {
        self.ring.as_ref()
    }

    /// Starts switchless workers (stopping any running first).
    pub fn start_switchless(&mut self, config: &switchless::Config) -> Result<(), Error> {
        self.workers = None;
        let Some(ring) = self.ring.clone() else {
            return Err(Error::Config("the UTM is too small for the switchless ring".into()));
        };
        let w = switchless::Workers::start(ring, self.ocalls.table(), config)
            .map_err(|source| Error::Driver { op: "start of a switchless worker", source })?;
        self.workers = Some(w);
        Ok(())
    }

    /// Stops the switchless workers (each finishes the call it serves).
    pub fn stop_switchless(&mut self) {
        self.workers = None;
    }

    /// Runs the enclave to its end: resumes after each interrupt, serves each
    /// ocall, and returns the eapp's exit value.
    pub fn run(&mut self) -> Result<u64, Error> {
        self.ocalls.run_loop_on(&mut DeviceFile(&self.file), self.eid, self.utm.as_mut())
    }

    /// Destroys the enclave now (dropping it does the same, ignoring errors).
    pub fn destroy(mut self) -> Result<(), Error> {
        self.workers = None;
        self.ring = None;
        self.ocalls.ring = None;
        self.utm = None;
        let mut args = CreateEnclave { eid: self.eid, ..Default::default() };
        let r = self.ioctl("DESTROY_ENCLAVE", kio::DESTROY_ENCLAVE, &mut args);
        self.eid = 0;
        r
    }
}

impl Drop for Enclave {
    fn drop(&mut self) {
        self.workers = None;
        self.ring = None;
        self.ocalls.ring = None;
        self.utm = None;
        if self.eid != 0 {
            let mut args = CreateEnclave { eid: self.eid, ..Default::default() };
            let _ = self.ioctl("DESTROY_ENCLAVE", kio::DESTROY_ENCLAVE, &mut args);
        }
    }
}

/// The UTM block of `argv` and `env` (`edge::ArgsHeader`, then the strings).
fn args_block(argv: &[String], env: &[String]) -> Result<Vec<u8>, Error> {
    let strings: Vec<&String> = argv.iter().chain(env).collect();
    if argv.is_empty() {
        return Err(Error::Config("argv needs argv[0]".into()));
    }
    if let Some(s) = strings.iter().find(|s| s.contains('\0')) {
        return Err(Error::Config(format!("argument or variable {s:?} holds a NUL")));
    }
    let len: usize = strings.iter().map(|s| s.len() + 1).sum();
    if strings.len() > edge::ARGS_MAX_STRINGS || len > edge::ARGS_MAX_BYTES {
        return Err(Error::Config(format!(
            "{} strings of {len} bytes: at most {} strings of {} bytes in all",
            strings.len(),
            edge::ARGS_MAX_STRINGS,
            edge::ARGS_MAX_BYTES
        )));
    }
    let mut b = Vec::with_capacity(edge::ARGS_HEADER_SIZE + len);
    for w in [edge::ARGS_MAGIC, argv.len() as u64, env.len() as u64, len as u64] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    for s in strings {
        b.extend_from_slice(s.as_bytes());
        b.push(0);
    }
    Ok(b)
}

/// EDGECALL_FILE with no [`Builder::files`]: every call refused (EACCES).
fn refuse_file(_: &[u8]) -> Reply {
    Reply::Data((-(linux::EACCES as i64)).to_le_bytes().to_vec())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    const UTM: usize = 4096;

    /// A UTM holding one edge call: `id`, its arguments at `off`..`off + len`.
    fn utm_with_call(id: u64, off: u64, args: &[u8], len: u64) -> Vec<u8> {
        let mut u = vec![0u8; UTM];
        u.write_u64(0, id);
        u.write_u64(8, off);
        u.write_u64(16, len);
        if let Some(end) = (off as usize).checked_add(args.len()).filter(|&e| e <= UTM) {
            u[off as usize..end].copy_from_slice(args);
        }
        u
    }

    /// (status, ret offset, ret size) the host wrote back.
    fn answer(u: &Vec<u8>) -> (u64, u64, u64) {
        (u.read_u64(24), u.read_u64(32), u.read_u64(40))
    }

    fn serve(ocalls: &mut Ocalls, u: &mut Vec<u8>) -> (u64, u64, u64) {
        ocalls.serve(u);
        answer(u)
    }

    #[test]
    fn dispatches_by_id_with_the_arguments() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut ocalls = Ocalls::default();
        let s = seen.clone();
        ocalls.insert(7, move |args| {
            s.lock().unwrap().push(args.to_vec());
            Reply::Data(b"pong".to_vec())
        });
        ocalls.insert(8, |_| panic!("not this one"));
        let mut u = utm_with_call(7, DATA_OFFSET as u64, b"ping", 4);
        assert_eq!(serve(&mut ocalls, &mut u), (status::OK, DATA_OFFSET as u64, 4));
        assert_eq!(&u[DATA_OFFSET..DATA_OFFSET + 4], b"pong");
        assert_eq!(*seen.lock().unwrap(), vec![b"ping".to_vec()]);
        assert_eq!(ocalls.stats().unknown_ocalls, 0);
        // Ids past the small table, and a handler replaced.
        ocalls.insert(1 << 40, |_| Reply::Status(status::ERROR));
        ocalls.insert_shared(1 << 40, |_| Reply::Data(b"big".to_vec()));
        assert_eq!(ocalls.dispatch(1 << 40, b""), Reply::Data(b"big".to_vec()));
        assert_eq!(ocalls.dispatch((1 << 40) + 1, b""), Reply::Status(status::BAD_CALL_ID));
        ocalls.insert_shared(7, |_| Reply::None);
        assert_eq!(ocalls.dispatch(7, b""), Reply::None);
    }

    #[test]
    fn unknown_ids_get_bad_call_id_and_are_counted() {
        let mut ocalls = Ocalls::default();
        ocalls.insert(1, |_| Reply::None);
        let mut u = utm_with_call(9, DATA_OFFSET as u64, b"x", 1);
        assert_eq!(serve(&mut ocalls, &mut u), (status::BAD_CALL_ID, 0, 0));
        let mut u = utm_with_call(edge::MAX_EDGE_CALL, DATA_OFFSET as u64, b"", 0);
        assert_eq!(serve(&mut ocalls, &mut u).0, status::BAD_CALL_ID);
        assert_eq!(ocalls.stats().unknown_ocalls, 2);
        let mut u = utm_with_call(1, DATA_OFFSET as u64, b"", 0);
        assert_eq!(serve(&mut ocalls, &mut u), (status::OK, 0, 0));
        assert_eq!(ocalls.stats().unknown_ocalls, 2);
    }

    #[test]
    fn arguments_must_lie_after_the_header_and_inside_the_utm() {
        let mut ocalls = Ocalls::default();
        ocalls.insert(1, |_| Reply::None);
        let bad = |off: u64, len: u64| {
            let mut o = Ocalls::default();
            o.insert(1, |_| panic!("called with arguments outside the UTM"));
            let mut u = utm_with_call(1, off, b"", len);
            serve(&mut o, &mut u)
        };
        assert_eq!(bad(EDGE_CALL_SIZE as u64 - 1, 1), (status::BAD_OFFSET, 0, 0), "in the header");
        assert_eq!(bad(0, 0), (status::BAD_OFFSET, 0, 0));
        assert_eq!(bad(UTM as u64 - 8, 9), (status::BAD_OFFSET, 0, 0), "past the end");
        assert_eq!(bad(UTM as u64 + 1, 0), (status::BAD_OFFSET, 0, 0));
        assert_eq!(bad(64, u64::MAX), (status::BAD_OFFSET, 0, 0), "wraps");
        assert_eq!(bad(u64::MAX, 2), (status::BAD_OFFSET, 0, 0), "wraps");
        for (off, len) in [(EDGE_CALL_SIZE as u64, 0), (UTM as u64 - 8, 8), (UTM as u64, 0)] {
            let mut u = utm_with_call(1, off, b"", len);
            assert_eq!(serve(&mut ocalls, &mut u).0, status::OK, "{off} {len}");
        }
    }

    #[test]
    fn replies_that_do_not_fit_are_an_error() {
        let room = UTM - DATA_OFFSET;
        let reply = |r: Reply| {
            let mut o = Ocalls::default();
            o.insert(3, move |_| r.clone());
            let mut u = utm_with_call(3, DATA_OFFSET as u64, b"", 0);
            (serve(&mut o, &mut u), u)
        };
        assert_eq!(
            reply(Reply::Data(vec![1; room])).0,
            (status::OK, DATA_OFFSET as u64, room as u64)
        );
        assert_eq!(reply(Reply::Data(vec![1; room + 1])).0, (status::ERROR, 0, 0));
        let (a, u) = reply(Reply::Wrapped(vec![2; room - 16]));
        assert_eq!(a, (status::OK, DATA_OFFSET as u64, 16));
        assert_eq!(u.read_u64(DATA_OFFSET), DATA_OFFSET as u64 + 16, "edge_data offset");
        assert_eq!(u.read_u64(DATA_OFFSET + 8), (room - 16) as u64, "edge_data size");
        assert_eq!(u[UTM - 1], 2);
        assert_eq!(reply(Reply::Wrapped(vec![2; room - 15])).0, (status::ERROR, 0, 0));
        assert_eq!(reply(Reply::Status(status::BAD_PTR)).0, (status::BAD_PTR, 0, 0));
        let raw = Reply::Raw { status: status::OK, offset: u64::MAX - 4, size: 16 };
        assert_eq!(reply(raw).0, (status::OK, u64::MAX - 4, 16), "a lying host, as told");
    }

    /// The request of a proxied write(2): syscall number, fd, pad, len, bytes.
    fn write_request(num: u64, fd: i32, len: u64, buf: &[u8]) -> Vec<u8> {
        let mut r = num.to_le_bytes().to_vec();
        r.extend_from_slice(&fd.to_le_bytes());
        r.extend_from_slice(&[0; 4]);
        r.extend_from_slice(&len.to_le_bytes());
        r.extend_from_slice(buf);
        r
    }

    fn syscall_result(reply: Reply) -> i64 {
        match reply {
            Reply::Data(d) => i64::from_le_bytes(d.try_into().unwrap()),
            other => panic!("not a syscall result: {other:?}"),
        }
    }

    #[test]
    fn unhandled_proxied_syscalls_get_the_sdks_answer() {
        let mut o = Ocalls::default();
        let call =
            |o: &mut Ocalls, req: &[u8]| syscall_result(o.dispatch(edge::EDGECALL_SYSCALL, req));
        assert_eq!(
            call(&mut o, &write_request(linux::WRITE as u64, 7, 2, b"hi")),
            -(linux::EBADF as i64)
        );
        assert_eq!(call(&mut o, &write_request(63, 1, 2, b"hi")), -(linux::ENOSYS as i64));
        assert_eq!(
            call(&mut o, &write_request(linux::WRITE as u64, 1, 3, b"hi")),
            -(linux::EINVAL as i64),
            "len past the data"
        );
        assert_eq!(call(&mut o, &[1, 2, 3]), -(linux::EINVAL as i64), "truncated");
        assert_eq!(o.stats().unknown_ocalls, 0);
        o.insert(edge::EDGECALL_SYSCALL, |_| Reply::Status(status::SYSCALL_FAILED));
        assert_eq!(o.dispatch(edge::EDGECALL_SYSCALL, &[]), Reply::Status(status::SYSCALL_FAILED));
    }

    /// A driver that plays back SM results, one per RUN/RESUME, and records
    /// what it was asked.
    struct Script {
        results: VecDeque<io::Result<(usize, u64)>>,
        asked: Vec<(bool, u64)>,
    }

    impl Script {
        fn new(results: impl IntoIterator<Item = io::Result<(usize, u64)>>) -> Script {
            Script { results: results.into_iter().collect(), asked: Vec::new() }
        }
    }

    impl Driver for Script {
        fn run(&mut self, resume: bool, r: &mut RunEnclave) -> io::Result<()> {
            self.asked.push((resume, r.eid));
            let (error, value) = self.results.pop_front().expect("asked once too often")?;
            r.error = error as u64;
            r.value = value;
            Ok(())
        }
    }

    #[test]
    fn the_run_loop_resumes_after_interrupts_and_serves_ocalls() {
        let mut o = Ocalls::default();
        let calls = Arc::new(Mutex::new(0));
        let c = calls.clone();
        o.insert(4, move |_| {
            *c.lock().unwrap() += 1;
            Reply::Data(vec![9; 8])
        });
        let mut dev = Script::new([
            Ok((err::INTERRUPTED, 0)),
            Ok((err::EDGE_CALL_HOST, 0)),
            Ok((err::INTERRUPTED, 0)),
            Ok((err::EDGE_CALL_HOST, 0)),
            Ok((err::SUCCESS, 42)),
        ]);
        let mut u = utm_with_call(4, DATA_OFFSET as u64, b"", 0);
        assert_eq!(o.run_loop(&mut dev, 5, Some(&mut u)).unwrap(), 42);
        assert_eq!(dev.asked, [(false, 5), (true, 5), (true, 5), (true, 5), (true, 5)]);
        let want = Stats { interrupts: 2, ocalls: 2, ..Stats::default() };
        assert_eq!(o.stats(), want);
        assert_eq!(*calls.lock().unwrap(), 2);
        assert_eq!(answer(&u), (status::OK, DATA_OFFSET as u64, 8));
    }

    #[test]
    fn the_run_loop_reports_sm_codes_and_driver_errnos_by_operation() {
        let mut o = Ocalls::default();
        let mut dev = Script::new([Ok((err::INTERRUPTED, 0)), Ok((100005, 0))]);
        match o.run_loop(&mut dev, 1, None) {
            Err(e @ Error::Sm { op: "RESUME_ENCLAVE", code: 100005 }) => {
                assert_eq!(e.errno(), None);
                assert_eq!(e.to_string(), "security monitor: RESUME_ENCLAVE failed with 100005");
            }
            other => panic!("{other:?}"),
        }
        let mut dev = Script::new([Err(io::Error::from_raw_os_error(77))]);
        match o.run_loop(&mut dev, 1, None) {
            Err(e @ Error::Driver { op: "RUN_ENCLAVE", .. }) => {
                assert_eq!(e.errno(), Some(77));
                assert!(e.to_string().starts_with("driver refused RUN_ENCLAVE: "), "{e}");
            }
            other => panic!("{other:?}"),
        }
        // An edge call with no UTM mapped is counted and resumed, not served.
        let mut dev = Script::new([Ok((err::EDGE_CALL_HOST, 0)), Ok((err::SUCCESS, 7))]);
        assert_eq!(o.run_loop(&mut dev, 1, None).unwrap(), 7);
    }

    #[test]
    fn builder_errors_name_what_is_wrong() {
        let dir = std::env::temp_dir().join(format!("keystone-host-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str, bytes: &[u8]| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let (l, r, e, empty) =
            (file("loader", b"L"), file("rt", b"R"), file("eapp", b"E"), file("empty", b""));
        let config = |b: Builder| match b.build() {
            Err(Error::Config(m)) => m,
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("built"),
        };
        assert_eq!(config(Enclave::builder().runtime(&r).eapp(&e)), "no loader given");
        assert_eq!(config(Enclave::builder().loader(&l).eapp(&e)), "no runtime given");
        assert_eq!(config(Enclave::builder().loader(&l).runtime(&r)), "no eapp given");
        assert!(
            config(Enclave::builder().loader(&l).runtime(&r).eapp(&empty)).ends_with("is empty")
        );
        assert_eq!(
            config(Enclave::builder().loader(&l).runtime(&r).eapp(&e).utm_size(0)),
            "utm_size is 0"
        );
        match Enclave::builder().loader(&l).runtime(&r).eapp(dir.join("missing")).build() {
            Err(err @ Error::File { .. }) => assert_eq!(err.errno(), None),
            other => panic!("{:?}", other.err()),
        }
        let no_device = Enclave::builder().loader(&l).runtime(&r).eapp(&e).device(dir.join("dev"));
        match no_device.build() {
            Err(err @ Error::Device(_)) => {
                assert_eq!(err.errno(), Some(2));
                assert!(err.to_string().starts_with(kio::DEVICE_PATH), "{err}");
            }
            other => panic!("{:?}", other.err()),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

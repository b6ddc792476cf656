//! [`Builder`]: an enclave's configuration, and [`Builder::build`], which
//! creates, loads and finalizes it through the driver (docs/abi.md §7.1).

use crate::sys::{self, Mapping};
use crate::{epm, switchless, switchless_min_utm, Enclave, Error, FilePolicy, FileServer};
use crate::{EpmLoad, Ocalls, Reply, DEFAULT_FREE_MEM, DEFAULT_UTM_SIZE, PAGE};
use keystone_abi::edge::{self, DATA_OFFSET};
use keystone_abi::ioctl::{self as kio, CreateEnclave};
use keystone_abi::switchless::RING_BYTES;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Pages added to the EPM for the loader's page tables and stacks (Keystone's 16).
const EXTRA_PAGES: u64 = 16;

/// The 4 KiB pages an ELF's loadable segments span in memory (what the
/// loader allocates for the runtime); 0 for a file that is not a 64-bit ELF
/// (the SM and the loader refuse it later).
fn elf_load_pages(elf: &[u8]) -> u64 {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u64_at =
        |o: usize| elf.get(o..o + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    if elf.get(..5) != Some(b"\x7fELF\x02".as_slice()) {
        return 0;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return 0;
    };
    let mut total = 0u64;
    for i in 0..phnum.min(64) {
        let ph = phoff as usize + i * phentsize;
        let is_load = elf.get(ph..ph + 4) == Some([1u8, 0, 0, 0].as_slice());
        if let (true, Some(vaddr), Some(memsz)) = (is_load, u64_at(ph + 0x10), u64_at(ph + 0x28)) {
            let start = vaddr / PAGE;
            let end = vaddr.saturating_add(memsz).div_ceil(PAGE);
            total += end.saturating_sub(start);
        }
    }
    total.min(1 << 20)
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
    /// A builder with Keystone's defaults and no files (what
    /// [`Enclave::builder`] returns).
    pub(crate) fn new() -> Builder {
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

    /// Serves the eapp's sockets (EDGECALL_SOCKET) under `policy`; without
    /// this, every socket call is refused (EACCES).
    pub fn sockets(self, policy: crate::SocketPolicy) -> Self {
        let mut server = crate::SocketServer::new(policy);
        self.ocall(keystone_abi::net::EDGECALL_SOCKET, move |args| server.serve(args))
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
        // The loader copies the runtime's segments (text, data, bss) into
        // fresh pages of free memory: those pages come on top of the eapp's.
        let runtime_copy = elf_load_pages(&images[1]);
        let min_pages = pages(self.free_mem) + loaded + runtime_copy + EXTRA_PAGES;

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

#[cfg(test)]
mod tests {
    use super::*;

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

//! [`Enclave`]: a created enclave, run, served and destroyed.

use crate::run::DeviceFile;
use crate::sys::{self, Mapping};
use crate::{switchless, Builder, EpmLoad, Error, Ocalls, Stats};
use keystone_abi::ioctl::{self as kio, CreateEnclave, Ioctl, IoctlArg};
use std::fs::File;
use std::time::Duration;

/// A created enclave, ready to run.
pub struct Enclave {
    pub(crate) file: File,
    pub(crate) eid: u64,
    pub(crate) utm: Option<Mapping>,
    pub(crate) ring: Option<switchless::Ring>,
    pub(crate) workers: Option<switchless::Workers>,
    pub(crate) ocalls: Ocalls,
    pub(crate) epm: (u64, u64),
    pub(crate) created_in: Duration,
    pub(crate) epm_load: EpmLoad,
}

impl Enclave {
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn ioctl<T: IoctlArg>(
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

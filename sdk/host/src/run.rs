//! The run loop: RUN, then RESUME after each interrupt or edge call, over
//! any [`Driver`] (the device file, or a script in tests).

use crate::{sys, Error, Ocalls, SharedMem};
use keystone_abi::ioctl::{self as kio, RunEnclave};
use keystone_abi::sm::err;
use std::fs::File;
use std::io;

/// What the run loop needs of the driver: RUN (`resume` false) or RESUME
/// one enclave; the SM's result comes back in `r` (`error`, `value`).
pub trait Driver {
    fn run(&mut self, resume: bool, r: &mut RunEnclave) -> io::Result<()>;
}

/// The device file as a [`Driver`].
pub(crate) struct DeviceFile<'a>(pub(crate) &'a File);

impl Driver for DeviceFile<'_> {
    fn run(&mut self, resume: bool, r: &mut RunEnclave) -> io::Result<()> {
        let cmd = if resume { kio::RESUME_ENCLAVE } else { kio::RUN_ENCLAVE };
        sys::ioctl_hot(self.0, cmd, r)
    }
}

impl Ocalls {
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
    pub(crate) fn run_loop_on<U: SharedMem + ?Sized>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocalls::tests::{answer, utm_with_call};
    use crate::{Reply, Stats};
    use keystone_abi::edge::{status, DATA_OFFSET};
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

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
}

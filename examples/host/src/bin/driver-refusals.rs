//! The enclave driver's refusals, on a booted guest: every bad ioctl and
//! mmap gets the errno `keystone_user.h` documents, and an enclave runs
//! afterwards. One `PASS`/`FAIL` line per check; exits 0 when all held.
//!
//! ```text
//! driver-refusals
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::args().len() > 1 {
        eprintln!("usage: driver-refusals");
        return ExitCode::from(2);
    }
    if host_examples::refusals::run("driver-refusals") {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

//! SBI conformance payload: stands in for a kernel to check the SM precisely.
//!
//! It runs in S-mode at PAYLOAD_BASE, calls every SBI function the SM offers
//! with good and bad arguments, prints one TAP line per check
//! (`ok N - name` / `not ok N - name`), then powers off through SRST with a
//! failure reason if any check failed. Kernel command line (`-append`):
//! `hang` prints one line and spins (for harness tests), `fail` shuts down
//! through SRST with a system-failure reason, `bench` measures SBI round
//! trips instead of checking (runs on any SBI firmware, e.g. OpenSBI),
//! `bench-phases` runs one of each hot-path operation between trace marks,
//! `runtime` hosts the enclave runtime and its eapps (see `runtime_host`),
//! `attacks` runs the adversarial suite and `attack=reset-srst|reset-testdev`
//! the two-stage reset attack (see `attacks`), `clint` the CLINT probes
//! (see `clint_attack`), `csr-sweep` the per-field world-state sweep (see
//! `csr_sweep`).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
#[macro_use]
mod console;
#[cfg(target_os = "none")]
mod attacks;
#[cfg(target_os = "none")]
mod bench;
#[cfg(target_os = "none")]
mod checks;
#[cfg(target_os = "none")]
mod clint_attack;
#[cfg(target_os = "none")]
mod csr_sweep;
#[cfg(target_os = "none")]
mod enclaves;
#[cfg(target_os = "none")]
mod fuzz;
#[cfg(target_os = "none")]
mod harts;
#[cfg(target_os = "none")]
mod rt;
#[cfg(target_os = "none")]
mod runtime_host;
#[cfg(target_os = "none")]
mod sbi;
#[cfg(target_os = "none")]
mod smp;
#[cfg(target_os = "none")]
mod tap;
#[cfg(target_os = "none")]
mod test_enclave;
#[cfg(target_os = "none")]
mod traps;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "sbi_conformance is an S-mode payload for riscv64; build it with `keystone-py build`"
    );
    std::process::exit(2);
}

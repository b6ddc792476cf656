//! Boot option `sm.csr-probe`: read every one of the 4096 CSR numbers in
//! M-mode and report each one the hart has that `sm_core::world_csrs::TABLE` does
//! not name. A test boots every machine of the matrix with it, so a hart
//! that grows state the world switch has not thought about fails the suite.

use sm_core::world_csrs;

/// True when reading CSR `number` in M-mode does not trap.
fn present(number: u16) -> bool {
    sm_hal::csr_probe::present(number)
}

/// Probes every CSR number and prints `SM: csr probe: N present, M not in
/// the table`, with one line per unnamed CSR.
pub fn run() {
    let (mut seen, mut unnamed) = (0, 0);
    for number in 0..4096u16 {
        if !present(number) {
            continue;
        }
        seen += 1;
        if world_csrs::lookup(number).is_none() {
            unnamed += 1;
            println!("SM: csr probe: CSR {number:#05x} is present but not in sm_core::world_csrs");
        }
    }
    println!("SM: csr probe: {seen} CSRs present, {unnamed} not in the table");
}

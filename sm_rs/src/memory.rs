//! The memory policy beside the platform (as OpenSBI's `sbi_domain` sits
//! beside its platform): which physical ranges the host may name in a call.

use crate::platform;
use sm_core::pmp::Range;

/// True when the host may hand the SM this physical range to read or
/// write: inside one DRAM bank, outside the SM and outside every enclave.
pub fn supervisor_may_access(range: &Range) -> bool {
    let p = platform::get();
    let in_dram = p.dram.iter().flatten().any(|bank| bank.contains(range));
    in_dram
        && !range.overlaps(&platform::sm_region())
        && !crate::pmp_global::overlaps_enclave(range)
}

/// The hal's checked physical range for `range`, which the caller has
/// already found outside the SM; a range inside it is a firmware bug.
pub fn phys(range: Range) -> sm_hal::phys::PhysRange {
    match sm_hal::phys::PhysRange::new(range.base, range.size) {
        Some(r) => r,
        None => panic!("{:#x}+{:#x} is empty or overlaps the SM", range.base, range.size),
    }
}

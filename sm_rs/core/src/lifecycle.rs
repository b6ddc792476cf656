//! The order of CREATE's and DESTROY's steps, and what a failed CREATE gives
//! back, as pure sequencing over [`Steps`]: the firmware implements the
//! steps (slot table, `pmp_global`, the reset-scrub registry, M-mode
//! writes), the host tests a recording fake (`tests/lifecycle.rs`).
//!
//! What the order guarantees:
//! * CREATE measures only with the EPM closed to S/U on every hart, so the
//!   host cannot change a page between measurement and the first RUN;
//! * a failed CREATE gives back everything it took, latest first;
//! * DESTROY zeroes the EPM while it is still closed and still in the
//!   reset-scrub registry, and only then opens it to the host;
//! * an eid returns to the free pool only after its PMP regions did, so a
//!   new CREATE on that eid never meets the old enclave's regions.

use crate::create_args::EnclaveLayout;
use crate::error::SmError;
use crate::pmp::Range;
use crate::pmp_alloc::PmpError;

/// The firmware's side of CREATE and DESTROY, one method per step.
pub trait Steps {
    /// Reserves a free slot for `layout` (ALLOCATED); NoFreeResource when full.
    fn reserve(&mut self, layout: &EnclaveLayout) -> Result<usize, SmError>;
    /// Gives slot `eid` back to the free pool.
    fn free(&mut self, eid: usize);
    /// Gives enclave `eid` its EPM and UTM regions; the EPM is closed on
    /// every hart when this returns Ok.
    fn take_regions(&mut self, eid: usize, epm: Range, utm: Range) -> Result<(), PmpError>;
    /// Gives enclave `eid`'s regions back; every hart forgets them.
    fn release_regions(&mut self, eid: usize);
    /// Records `epm` in the reset-scrub registry; false when it is full.
    fn register_scrub(&mut self, epm: Range) -> bool;
    /// Forgets `epm` in the reset-scrub registry.
    fn unregister_scrub(&mut self, epm: Range);
    /// Zeroes the new enclave's UTM.
    fn zero_utm(&mut self, utm: Range);
    /// Measures the (closed) EPM and makes slot `eid` FRESH, ready to RUN.
    fn seal(&mut self, eid: usize, layout: &EnclaveLayout);
    /// DESTROY's check and first step: slot `eid` becomes DESTROYING and its
    /// saved registers are wiped; returns its layout.
    fn begin_destroy(&mut self, eid: usize) -> Result<EnclaveLayout, SmError>;
    /// Zeroes the EPM of an enclave being destroyed (still closed to S/U).
    fn zero_epm(&mut self, epm: Range);
}

/// CREATE after its arguments were validated: the new enclave's eid.
pub fn create(m: &mut impl Steps, layout: &EnclaveLayout) -> Result<usize, SmError> {
    let eid = m.reserve(layout)?;
    if let Err(e) = m.take_regions(eid, layout.epm, layout.utm) {
        m.free(eid);
        return Err(e.into());
    }
    if !m.register_scrub(layout.epm) {
        m.release_regions(eid);
        m.free(eid);
        return Err(SmError::NoFreeResource);
    }
    m.zero_utm(layout.utm);
    m.seal(eid, layout);
    Ok(eid)
}

/// DESTROY: scrub enclave `eid` and give its memory and slot back.
pub fn destroy(m: &mut impl Steps, eid: usize) -> Result<(), SmError> {
    let layout = m.begin_destroy(eid)?;
    m.zero_epm(layout.epm);
    m.unregister_scrub(layout.epm);
    m.release_regions(eid);
    m.free(eid);
    Ok(())
}

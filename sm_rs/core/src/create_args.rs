//! Validation of CREATE_ENCLAVE arguments (docs/abi.md §2.3), pure.
//!
//! Keystone's own checks come first, each failing with ILLEGAL_ARGUMENT; then
//! ours: no range wraps, the loader offsets are page-aligned, EPM and UTM each
//! lie in one DRAM bank (ILLEGAL_ARGUMENT); both have a shape PMP can hold
//! (PMP_FAILURE, as Keystone reports it); neither meets the SM region nor the
//! other (REGION_OVERLAPS).

use crate::pmp::Range;
use crate::pmp_alloc::{self, PAGE_SIZE};
use keystone_abi::sm::{err, CreateArgs, RuntimeParams};

/// Names of the argument checks, carried by [`CreateError::IllegalArgument`].
pub mod check {
    pub const EPM_EMPTY: &str = "EPM size is zero";
    pub const EPM_WRAPS: &str = "EPM end wraps";
    pub const UTM_EMPTY: &str = "UTM size is zero";
    pub const UTM_WRAPS: &str = "UTM end wraps";
    pub const RUNTIME_OUTSIDE_EPM: &str = "runtime PA outside [epm, epm_end)";
    pub const USER_OUTSIDE_EPM: &str = "user PA outside [epm, epm_end)";
    pub const FREE_OUTSIDE_EPM: &str = "free PA outside [epm, epm_end]";
    pub const ORDER: &str = "not runtime <= user <= free";
    pub const RUNTIME_MISALIGNED: &str = "runtime PA not page-aligned";
    pub const USER_MISALIGNED: &str = "user PA not page-aligned";
    pub const FREE_MISALIGNED: &str = "free PA not page-aligned";
    pub const EPM_OUTSIDE_DRAM: &str = "EPM not inside one DRAM bank";
    pub const UTM_OUTSIDE_DRAM: &str = "UTM not inside one DRAM bank";
    pub const NOT_ADDRESSABLE: &str = "argument does not fit a machine word";
}

/// Why CREATE refuses its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateError {
    /// A malformed argument; the string is one of [`check`].
    IllegalArgument(&'static str),
    /// EPM or UTM meets the SM region, or each other.
    RegionOverlaps,
    /// A region PMP cannot hold (not page-granular, UTM not NAPOT) or PMP bookkeeping failed.
    PmpFailure,
}

impl CreateError {
    /// The SBI error number the host sees in a0.
    pub fn code(self) -> usize {
        match self {
            Self::IllegalArgument(_) => err::ILLEGAL_ARGUMENT,
            Self::RegionOverlaps => err::REGION_OVERLAPS,
            Self::PmpFailure => err::PMP_FAILURE,
        }
    }
}

impl From<pmp_alloc::PmpError> for CreateError {
    fn from(_: pmp_alloc::PmpError) -> Self {
        Self::PmpFailure
    }
}

/// A validated enclave memory layout, all physical addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnclaveLayout {
    pub epm: Range,
    pub utm: Range,
    pub runtime: usize,
    pub user: usize,
    pub free: usize,
    pub free_requested: usize,
}

impl EnclaveLayout {
    /// The `runtime_params_t` the SM derives from the layout and hands to the enclave.
    pub fn runtime_params(&self) -> RuntimeParams {
        RuntimeParams {
            dram_base: self.epm.base as u64,
            dram_size: self.epm.size as u64,
            runtime_base: self.runtime as u64,
            user_base: self.user as u64,
            free_base: self.free as u64,
            untrusted_base: self.utm.base as u64,
            untrusted_size: self.utm.size as u64,
            free_requested: self.free_requested as u64,
        }
    }

    /// Pages the measurement covers: [EPM base, free base) in 4 KiB steps.
    pub fn measured_pages(&self) -> usize {
        (self.free - self.epm.base) / PAGE_SIZE
    }
}

fn word(v: u64) -> Result<usize, CreateError> {
    usize::try_from(v).map_err(|_| CreateError::IllegalArgument(check::NOT_ADDRESSABLE))
}

fn ensure(ok: bool, e: CreateError) -> Result<(), CreateError> {
    if ok {
        Ok(())
    } else {
        Err(e)
    }
}

fn illegal(ok: bool, which: &'static str) -> Result<(), CreateError> {
    ensure(ok, CreateError::IllegalArgument(which))
}

fn region(
    base: usize,
    size: usize,
    empty: &'static str,
    wraps: &'static str,
) -> Result<Range, CreateError> {
    illegal(size != 0, empty)?;
    illegal(base.checked_add(size).is_some(), wraps)?;
    Ok(Range { base, size })
}

fn page_granular(r: &Range) -> bool {
    r.base.is_multiple_of(PAGE_SIZE) && r.size.is_multiple_of(PAGE_SIZE)
}

fn in_one_bank(dram: &[Range], r: &Range) -> bool {
    dram.iter().any(|bank| bank.contains(r))
}

/// Checks CREATE's arguments against DRAM and the SM region before any state changes.
pub fn validate(
    args: &CreateArgs,
    dram: &[Range],
    sm: Range,
) -> Result<EnclaveLayout, CreateError> {
    let epm =
        region(word(args.epm_paddr)?, word(args.epm_size)?, check::EPM_EMPTY, check::EPM_WRAPS)?;
    let utm =
        region(word(args.utm_paddr)?, word(args.utm_size)?, check::UTM_EMPTY, check::UTM_WRAPS)?;
    let runtime = word(args.runtime_paddr)?;
    let user = word(args.user_paddr)?;
    let free = word(args.free_paddr)?;
    let free_requested = word(args.free_requested)?;

    illegal(epm.base <= runtime && runtime < epm.end(), check::RUNTIME_OUTSIDE_EPM)?;
    illegal(epm.base <= user && user < epm.end(), check::USER_OUTSIDE_EPM)?;
    illegal(epm.base <= free && free <= epm.end(), check::FREE_OUTSIDE_EPM)?;
    illegal(runtime <= user && user <= free, check::ORDER)?;

    illegal(runtime.is_multiple_of(PAGE_SIZE), check::RUNTIME_MISALIGNED)?;
    illegal(user.is_multiple_of(PAGE_SIZE), check::USER_MISALIGNED)?;
    illegal(free.is_multiple_of(PAGE_SIZE), check::FREE_MISALIGNED)?;
    illegal(in_one_bank(dram, &epm), check::EPM_OUTSIDE_DRAM)?;
    illegal(in_one_bank(dram, &utm), check::UTM_OUTSIDE_DRAM)?;

    ensure(page_granular(&epm) && page_granular(&utm), CreateError::PmpFailure)?;
    let utm_napot = utm.size.is_power_of_two() && utm.base.is_multiple_of(utm.size);
    ensure(utm_napot, CreateError::PmpFailure)?;

    ensure(!epm.overlaps(&sm) && !utm.overlaps(&sm), CreateError::RegionOverlaps)?;
    ensure(!epm.overlaps(&utm), CreateError::RegionOverlaps)?;

    Ok(EnclaveLayout { epm, utm, runtime, user, free, free_requested })
}

//! CREATE argument validation: the valid layout passes, each bad class gets its error.

use keystone_abi::sm::{err, CreateArgs, RuntimeParams};
use sm_core::create_args::{check, validate, CreateError, EnclaveLayout};
use sm_core::pmp::Range;

const SM: Range = Range { base: 0x8000_0000, size: 0x20_0000 };
const DRAM: [Range; 1] = [Range { base: 0x8000_0000, size: 0x800_0000 }];
const EPM: u64 = 0x8100_0000;
const EPM_SIZE: u64 = 0x10_0000;
const UTM: u64 = 0x8200_0000;
const UTM_SIZE: u64 = 0x4_0000;

fn good() -> CreateArgs {
    CreateArgs {
        epm_paddr: EPM,
        epm_size: EPM_SIZE,
        utm_paddr: UTM,
        utm_size: UTM_SIZE,
        runtime_paddr: EPM + 0x1000,
        user_paddr: EPM + 0x2_0000,
        free_paddr: EPM + 0x4_0000,
        free_requested: 0x8_0000,
    }
}

fn check_with(f: impl FnOnce(&mut CreateArgs)) -> Result<EnclaveLayout, CreateError> {
    let mut args = good();
    f(&mut args);
    validate(&args, &DRAM, SM)
}

fn illegal(which: &'static str) -> Result<EnclaveLayout, CreateError> {
    Err(CreateError::IllegalArgument(which))
}

#[test]
fn valid_arguments_give_the_layout() {
    let layout = validate(&good(), &DRAM, SM).unwrap();
    assert_eq!(
        layout,
        EnclaveLayout {
            epm: Range { base: 0x8100_0000, size: 0x10_0000 },
            utm: Range { base: 0x8200_0000, size: 0x4_0000 },
            runtime: 0x8100_1000,
            user: 0x8102_0000,
            free: 0x8104_0000,
            free_requested: 0x8_0000,
        }
    );
    assert_eq!(layout.measured_pages(), 0x40);
}

#[test]
fn runtime_params_follow_the_layout() {
    let layout = validate(&good(), &DRAM, SM).unwrap();
    assert_eq!(
        layout.runtime_params(),
        RuntimeParams {
            dram_base: 0x8100_0000,
            dram_size: 0x10_0000,
            runtime_base: 0x8100_1000,
            user_base: 0x8102_0000,
            free_base: 0x8104_0000,
            untrusted_base: 0x8200_0000,
            untrusted_size: 0x4_0000,
            free_requested: 0x8_0000,
        }
    );
}

#[test]
fn zero_size_epm_is_illegal() {
    assert_eq!(check_with(|a| a.epm_size = 0), illegal(check::EPM_EMPTY));
}

#[test]
fn wrapping_epm_is_illegal() {
    assert_eq!(check_with(|a| a.epm_size = u64::MAX), illegal(check::EPM_WRAPS));
}

#[test]
fn zero_size_utm_is_illegal() {
    assert_eq!(check_with(|a| a.utm_size = 0), illegal(check::UTM_EMPTY));
}

#[test]
fn wrapping_utm_is_illegal() {
    assert_eq!(check_with(|a| a.utm_size = u64::MAX), illegal(check::UTM_WRAPS));
}

#[test]
fn runtime_outside_epm_is_illegal() {
    assert_eq!(check_with(|a| a.runtime_paddr = EPM - 0x1000), illegal(check::RUNTIME_OUTSIDE_EPM));
    assert_eq!(
        check_with(|a| a.runtime_paddr = EPM + EPM_SIZE),
        illegal(check::RUNTIME_OUTSIDE_EPM)
    );
    assert_eq!(check_with(|a| a.runtime_paddr = u64::MAX), illegal(check::RUNTIME_OUTSIDE_EPM));
}

#[test]
fn user_at_epm_end_is_illegal() {
    assert_eq!(check_with(|a| a.user_paddr = EPM + EPM_SIZE), illegal(check::USER_OUTSIDE_EPM));
}

#[test]
fn free_may_equal_epm_end_but_not_pass_it() {
    assert!(check_with(|a| a.free_paddr = EPM + EPM_SIZE).is_ok());
    assert_eq!(
        check_with(|a| a.free_paddr = EPM + EPM_SIZE + 0x1000),
        illegal(check::FREE_OUTSIDE_EPM)
    );
}

#[test]
fn runtime_user_free_out_of_order_is_illegal() {
    assert_eq!(check_with(|a| a.user_paddr = EPM), illegal(check::ORDER));
    assert_eq!(check_with(|a| a.free_paddr = EPM + 0x1_0000), illegal(check::ORDER));
}

#[test]
fn equal_runtime_user_and_free_are_legal() {
    assert!(check_with(|a| {
        a.runtime_paddr = EPM;
        a.user_paddr = EPM;
        a.free_paddr = EPM;
    })
    .is_ok());
}

#[test]
fn misaligned_loader_addresses_are_illegal() {
    assert_eq!(check_with(|a| a.runtime_paddr += 8), illegal(check::RUNTIME_MISALIGNED));
    assert_eq!(check_with(|a| a.user_paddr += 8), illegal(check::USER_MISALIGNED));
    assert_eq!(check_with(|a| a.free_paddr += 8), illegal(check::FREE_MISALIGNED));
}

#[test]
fn epm_outside_dram_is_illegal() {
    let low = |a: &mut CreateArgs| {
        a.epm_paddr = 0x4000_0000;
        a.runtime_paddr = 0x4000_0000;
        a.user_paddr = 0x4000_0000;
        a.free_paddr = 0x4000_0000;
    };
    assert_eq!(check_with(low), illegal(check::EPM_OUTSIDE_DRAM));
    // Running off the end of the bank.
    let tail = |a: &mut CreateArgs| {
        a.epm_paddr = 0x87f8_0000;
        a.runtime_paddr = 0x87f8_0000;
        a.user_paddr = 0x87f8_0000;
        a.free_paddr = 0x87f8_0000;
    };
    assert_eq!(check_with(tail), illegal(check::EPM_OUTSIDE_DRAM));
}

#[test]
fn epm_straddling_two_banks_is_illegal() {
    let banks = [
        Range { base: 0x8000_0000, size: 0x400_0000 },
        Range { base: 0x8400_0000, size: 0x400_0000 },
    ];
    let mut args = good();
    args.epm_paddr = 0x83f8_0000;
    args.runtime_paddr = 0x83f8_0000;
    args.user_paddr = 0x83f8_0000;
    args.free_paddr = 0x83f8_0000;
    assert_eq!(validate(&args, &banks, SM), illegal(check::EPM_OUTSIDE_DRAM));
    assert!(validate(&good(), &banks, SM).is_ok());
}

#[test]
fn utm_outside_dram_is_illegal() {
    assert_eq!(check_with(|a| a.utm_paddr = 0x9000_0000), illegal(check::UTM_OUTSIDE_DRAM));
}

#[test]
fn epm_not_page_granular_is_a_pmp_failure() {
    assert_eq!(
        check_with(|a| {
            a.epm_paddr += 0x800;
            a.runtime_paddr = a.epm_paddr + 0x800;
            a.user_paddr = a.runtime_paddr;
            a.free_paddr = a.runtime_paddr;
        }),
        Err(CreateError::PmpFailure)
    );
    assert_eq!(check_with(|a| a.epm_size += 0x800), Err(CreateError::PmpFailure));
}

#[test]
fn utm_not_a_power_of_two_is_a_pmp_failure() {
    assert_eq!(check_with(|a| a.utm_size = 0x3_0000), Err(CreateError::PmpFailure));
}

#[test]
fn utm_not_aligned_to_its_size_is_a_pmp_failure() {
    assert_eq!(check_with(|a| a.utm_paddr += 0x1_0000), Err(CreateError::PmpFailure));
}

#[test]
fn epm_overlapping_the_sm_is_refused() {
    let into_sm = |a: &mut CreateArgs| {
        a.epm_paddr = 0x801f_0000;
        a.runtime_paddr = 0x8020_0000;
        a.user_paddr = 0x8020_0000;
        a.free_paddr = 0x8020_0000;
    };
    assert_eq!(check_with(into_sm), Err(CreateError::RegionOverlaps));
}

#[test]
fn utm_overlapping_the_sm_is_refused() {
    assert_eq!(check_with(|a| a.utm_paddr = 0x801c_0000), Err(CreateError::RegionOverlaps));
}

#[test]
fn epm_and_utm_overlapping_each_other_are_refused() {
    assert_eq!(check_with(|a| a.utm_paddr = EPM + 0x4_0000), Err(CreateError::RegionOverlaps));
}

#[test]
fn epm_and_utm_may_touch() {
    assert!(check_with(|a| a.utm_paddr = EPM + EPM_SIZE).is_ok());
}

#[test]
fn error_codes_are_keystones() {
    assert_eq!(CreateError::IllegalArgument(check::EPM_EMPTY).code(), err::ILLEGAL_ARGUMENT);
    assert_eq!(CreateError::RegionOverlaps.code(), err::REGION_OVERLAPS);
    assert_eq!(CreateError::PmpFailure.code(), err::PMP_FAILURE);
    let from_pmp: CreateError = sm_core::pmp_alloc::PmpError::Overlap.into();
    assert_eq!(from_pmp, CreateError::PmpFailure);
}

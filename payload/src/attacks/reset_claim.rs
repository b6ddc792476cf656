//! `attack=reset-claim`: EPMs inside and above the footprint the kernel's
//! Image header claims must not keep their secret across a reset the SM does
//! not see.

use super::*;

pub(super) const CLAIM_MARKER: usize = 0x8ff2_0000;
pub(super) const CLAIM_MAGIC: u64 = 0x4b53_434c_4149_4d31; // "KSCLAIM1"

/// An enclave slot at `epm` (64 KiB, NAPOT), its UTM from slot `utm_slot`.
pub(super) fn args_at(epm: usize, utm_slot: usize) -> CreateArgs {
    let u = args(utm_slot);
    CreateArgs {
        epm_paddr: epm as u64,
        runtime_paddr: epm as u64 + 0x1000,
        user_paddr: epm as u64 + 0x2000,
        free_paddr: epm as u64 + 0x3000,
        ..u
    }
}

/// Bootarg `attack=reset-claim`: finding 2. The kernel's Image header (this
/// payload's, or a copy with a larger image_size) claims a footprint; stage
/// 1 asks for an EPM at 0x81000000 (inside a claim of more than 14 MiB) and a
/// control EPM above the claim, both holding a secret and alive, then waits
/// for a reset from outside (QEMU's system_reset). Stage 2: neither EPM the
/// SM accepted holds its secret.
pub fn reset_claim() {
    // SAFETY: the payload's own Image header at its load address.
    let claim =
        unsafe { ((keystone_abi::layout::PAYLOAD_BASE + 16) as *const u64).read_volatile() };
    let end = keystone_abi::layout::PAYLOAD_BASE as u64 + claim;
    let inside = args(0).epm_paddr as usize;
    let control = (end as usize).next_multiple_of(0x10_0000) + 0x10_0000;
    let marker = |i| dram_word(CLAIM_MARKER, i);
    let set = |i, w| set_dram_word(CLAIM_MARKER, i, w);
    crate::println!("# reset-claim: the kernel header claims {claim:#x} bytes (to {end:#x}); control EPM {control:#x}");
    if marker(0) == CLAIM_MAGIC {
        set(0, 0);
        for (i, name) in [(1, "inside the claim"), (2, "above the claim")] {
            let epm = marker(i) as usize;
            if epm == 0 {
                continue;
            }
            let present = reset_secret_present(epm);
            check!(present == 0, "reset-external: after a reset the SM did not see, the EPM {name} ({epm:#x}) holds none of its secret";
                "{present} of {RESET_SECRET_WORDS} secret words survived");
            clear_reset_secret(epm);
        }
        return;
    }
    let mut alive = [0u64; 2];
    for (n, (epm, utm_slot)) in [(inside, 0), (control, 1)].into_iter().enumerate() {
        let a = args_at(epm, utm_slot);
        load_image(&a);
        put_reset_secret(epm);
        let ret = create_raw(&a);
        let in_claim = (epm as u64) < end;
        if in_claim {
            check!(ret.error == err::REGION_OVERLAPS, "reset: CREATE refuses an EPM inside the kernel's claimed image ({epm:#x} < {end:#x})";
                "CREATE returned ({}, {})", ret.error as isize, ret.value);
        } else {
            check!(ret.error == 0, "reset: CREATE accepts an EPM above the kernel's claimed image ({epm:#x} >= {end:#x})";
                "CREATE returned ({}, {})", ret.error as isize, ret.value);
        }
        if ret.error != 0 {
            // Still host memory: no secret left behind by the test itself.
            clear_reset_secret(epm);
            continue;
        }
        command(utm_slot, 2, 0, 0);
        let stop = ks(fid::RUN_ENCLAVE, ret.value);
        check!(stop.error == err::EDGE_CALL_HOST, "reset: the enclave at {epm:#x} is alive (stopped in an edge call)";
            "RUN returned ({}, {:#x})", stop.error as isize, stop.value);
        alive[n] = epm as u64;
    }
    set(1, alive[0]);
    set(2, alive[1]);
    set(0, CLAIM_MAGIC);
    // SAFETY: orders the marker before the reset.
    unsafe { core::arch::asm!("fence rw, rw") };
    crate::println!("# reset: stage 1 done, waiting for an external reset");
    loop {
        core::hint::spin_loop();
    }
}

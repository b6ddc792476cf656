//! `attack=reset-initrd`: an EPM over the initrd, alive at a reset the SM
//! does not see: the secret is gone and the initrd intact at the next boot.

use super::*;

pub(super) const INITRD_MARKER: usize = 0x8ff3_0000;
pub(super) const INITRD_MAGIC: u64 = 0x4b53_494e_4954_5231; // "KSINITR1"

/// The byte the test's initrd file holds at offset `i`.
pub fn initrd_pattern(i: usize) -> u8 {
    (i.wrapping_mul(7) + 3) as u8
}

/// Bootarg `attack=reset-initrd` (with `-initrd` of a file of
/// `initrd_pattern` bytes): an EPM over the initrd, alive at a reset the SM
/// does not see. The boot scrub zeroes all of it, initrd bytes included, so
/// the SM must reset once more for the loader to place the initrd again:
/// the boot that reaches S-mode finds the secret gone and the initrd intact.
pub fn reset_initrd(fdt: &fdt::Fdt) {
    let chosen = fdt.find_node("/chosen");
    let prop = |name| chosen.and_then(|c| c.property(name)).and_then(|p| p.as_usize());
    let (Some(start), Some(end)) = (prop("linux,initrd-start"), prop("linux,initrd-end")) else {
        check!(false, "reset: the machine has an initrd (boot with -initrd)"; "no linux,initrd-start/end in /chosen");
        return;
    };
    let marker = |i| dram_word(INITRD_MARKER, i);
    let set = |i, w| set_dram_word(INITRD_MARKER, i, w);
    let epm = start & !(0x1_0000 - 1);
    crate::println!("# reset-initrd: initrd {start:#x}..{end:#x}, EPM {epm:#x}");
    if marker(0) == INITRD_MAGIC {
        set(0, 0);
        let present = reset_secret_present(epm);
        check!(present == 0, "reset-external: after a reset the SM did not see, the EPM over the initrd holds none of its secret";
            "{present} of {RESET_SECRET_WORDS} secret words survived");
        let bad = (start..end)
            // SAFETY: the initrd the loader placed, in host DRAM.
            .filter(|&a| unsafe { (a as *const u8).read_volatile() } != initrd_pattern(a - start))
            .count();
        check!(bad == 0, "reset-external: the initrd the boot scrub overlapped is whole again (the SM reset once more)";
            "{bad} of {} initrd bytes differ from the file", end - start);
        return;
    }
    let a = args_at(epm, 0);
    load_image(&a);
    put_reset_secret(epm);
    let ret = create_raw(&a);
    check!(ret.error == 0, "reset: CREATE accepts an EPM over the initrd (Linux frees and reuses it)";
        "CREATE returned ({}, {})", ret.error as isize, ret.value);
    if ret.error != 0 {
        return;
    }
    command(0, 2, 0, 0);
    let stop = ks(fid::RUN_ENCLAVE, ret.value);
    check!(stop.error == err::EDGE_CALL_HOST, "reset: the enclave over the initrd is alive (stopped in an edge call)";
        "RUN returned ({}, {:#x})", stop.error as isize, stop.value);
    set(0, INITRD_MAGIC);
    // SAFETY: orders the marker before the reset.
    unsafe { core::arch::asm!("fence rw, rw") };
    crate::println!("# reset: stage 1 done, waiting for an external reset");
    loop {
        core::hint::spin_loop();
    }
}

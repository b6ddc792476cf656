//! Hands the next stage a device tree that reserves the SM's memory and
//! disables the devices the SM owns (reset device, CLINT).

use crate::platform::Platform;
use keystone_abi::layout::{SM_BASE, SM_SIZE};
use sm_core::fdt_patch;
use spin::Mutex;

/// Room for the patched tree (QEMU's trees are well under 16 KiB packed):
/// the most a tree handed to S-mode can take.
pub const SCRATCH: usize = 64 * 1024;
static SCRATCH_BUF: Mutex<[u8; SCRATCH]> = Mutex::new([0; SCRATCH]);

/// The size a tree's header gives (bytes 4..8, big-endian); callers bound it.
pub fn total_size(dtb: usize) -> usize {
    // SAFETY: `dtb` is the tree the platform parsed: DRAM outside the SM,
    // starting with its header.
    u32::from_be(unsafe { ((dtb + 4) as *const u32).read_volatile() }) as usize
}

/// Rewrites the tree at `p.dtb` in place with a no-map reserved-memory node
/// for the SM, so the kernel never maps or allocates the SM's region, and
/// with the SM's devices `status = "disabled"`, so it never maps those.
pub fn reserve_sm_region(p: &Platform) {
    let total = total_size(p.dtb);
    // SAFETY: the tree lies in DRAM, outside the SM, and nothing else runs yet.
    let src = unsafe { core::slice::from_raw_parts(p.dtb as *const u8, total) };
    let mut scratch = SCRATCH_BUF.lock();
    let len = match fdt_patch::reserve_memory(src, &mut scratch[..], SM_BASE, SM_SIZE) {
        Ok(len) => len,
        Err(err) => panic!("cannot add reserved-memory to the device tree: {err:?}"),
    };
    let dram_end =
        p.dram.iter().flatten().find(|b| b.base <= p.dtb && p.dtb < b.end()).map(|b| b.end());
    let room = dram_end.map_or(total, |end| total.max(end - p.dtb));
    if len > room {
        panic!("patched device tree ({len} bytes) does not fit at {:#x}", p.dtb);
    }
    // SAFETY: [dtb, dtb + len) lies in DRAM (checked above), outside the SM,
    // and is the tree's own space; the scratch copy does not overlap it.
    unsafe { core::ptr::copy_nonoverlapping(scratch.as_ptr(), p.dtb as *mut u8, len) };
    drop(scratch);
    println!(
        "SM: device tree at {:#x}: reserved {:#x}..{:#x} (no-map), reset device and CLINT disabled",
        p.dtb,
        SM_BASE,
        SM_BASE + SM_SIZE
    );
}

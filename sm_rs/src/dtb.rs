//! Hands the next stage a device tree that reserves the SM's memory and
//! disables the devices the SM owns (reset device, CLINT).

use crate::platform::{self, Platform};
use keystone_abi::layout::{SM_BASE, SM_SIZE};
use sm_core::fdt_patch;
use sm_hal::phys::{self, PhysRange};
use spin::Mutex;

/// Room for the patched tree (QEMU's trees are well under 16 KiB packed):
/// the most a tree handed to S-mode can take.
pub const SCRATCH: usize = 64 * 1024;
static SCRATCH_BUF: Mutex<[u8; SCRATCH]> = Mutex::new([0; SCRATCH]);

/// Rewrites the tree at `p.dtb` in place with a no-map reserved-memory node
/// for the SM, so the kernel never maps or allocates the SM's region, and
/// with the SM's devices `status = "disabled"`, so it never maps those.
pub fn reserve_sm_region(p: &Platform) {
    let total = platform::tree_size(p.dtb).expect("the platform parsed this tree");
    let mut scratch = SCRATCH_BUF.lock();
    // The tree lies in DRAM, outside the SM, and nothing else runs yet.
    let patched = platform::with_tree(p.dtb, |src| {
        fdt_patch::reserve_memory(src, &mut scratch[..], SM_BASE, SM_SIZE)
    });
    let len = match patched.expect("the platform parsed this tree") {
        Ok(len) => len,
        Err(err) => panic!("cannot add reserved-memory to the device tree: {err:?}"),
    };
    let dram_end =
        p.dram.iter().flatten().find(|b| b.base <= p.dtb && p.dtb < b.end()).map(|b| b.end());
    let room = dram_end.map_or(total, |end| total.max(end - p.dtb));
    if len > room {
        panic!("patched device tree ({len} bytes) does not fit at {:#x}", p.dtb);
    }
    // [dtb, dtb + len) lies in DRAM (checked above), outside the SM, and is
    // the tree's own space.
    match PhysRange::new(p.dtb, len) {
        Some(dst) => phys::write_from(dst, &scratch[..len]),
        None => panic!("patched device tree at {:#x} overlaps the SM", p.dtb),
    }
    drop(scratch);
    println!(
        "SM: device tree at {:#x}: reserved {:#x}..{:#x} (no-map), reset device and CLINT disabled",
        p.dtb,
        SM_BASE,
        SM_BASE + SM_SIZE
    );
}

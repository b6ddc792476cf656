//! The machine as the device tree describes it: harts, DRAM, UART, CLINT, reset.
//!
//! Read once by the boot hart; nothing here is a compile-time constant of QEMU.

use core::sync::atomic::{AtomicBool, Ordering};
use keystone_abi::layout::{MAX_HARTS, SM_BASE, SM_SIZE};
use sm_core::pmp::Range;
use sm_core::pmp_alloc::PAGE_SIZE;
use sm_hal::phys::{self, PhysRange};
use spin::Once;

/// Most DRAM banks the SM tracks.
const MAX_DRAM: usize = 4;
/// The CLINT's extent when its node gives no size.
const CLINT_SIZE: usize = 0x1_0000;

/// What the SM learnt from the device tree.
pub struct Platform {
    pub dtb: usize,
    pub harts: [bool; MAX_HARTS],
    pub hart_count: usize,
    pub dram: [Option<Range>; MAX_DRAM],
    pub uart: usize,
    pub uart_shift: usize,
    pub clint: usize,
    /// The CLINT's extent (page-rounded), which PMP closes to S/U-mode.
    pub clint_size: usize,
    pub test_device: Option<usize>,
    /// The initrd QEMU loaded (from /chosen); see `sm_core::boot_images`.
    pub initrd: Option<Range>,
    /// The kernel command line asks for the CSR probe (`sm.csr-probe`).
    pub csr_probe: bool,
    pub timebase: usize,
    pub sstc: bool,
    /// The hart implements the hypervisor extension (misa.H).
    pub h: bool,
}

static PLATFORM: Once<Platform> = Once::new();
/// `Platform::sstc` and `Platform::h`, readable without `Once`'s check on
/// the world-switch path (set before any other hart leaves its boot wait).
static HAS_SSTC: AtomicBool = AtomicBool::new(false);
static HAS_H: AtomicBool = AtomicBool::new(false);

/// The harts implement Sstc (stimecmp).
#[inline(always)]
pub fn sstc() -> bool {
    HAS_SSTC.load(Ordering::Relaxed)
}

/// The harts implement the hypervisor extension.
#[inline(always)]
pub fn h() -> bool {
    HAS_H.load(Ordering::Relaxed)
}

/// Why the device tree could not describe a usable machine.
#[derive(Debug)]
pub enum PlatformError {
    BadDeviceTree,
    NoUart,
    NoClint,
    NoMemory,
    NoHarts,
}

fn first_reg(node: fdt::node::FdtNode) -> Option<usize> {
    node.reg()?.next().map(|r| r.starting_address as usize)
}

/// The size a tree's header gives (bytes 4..8, big-endian); callers bound
/// it. None when the header would lie in the SM.
pub fn tree_size(dtb: usize) -> Option<usize> {
    let mut header = [0u8; 8];
    phys::read_into(PhysRange::new(dtb, header.len())?, &mut header);
    Some(u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize)
}

/// The tree at `dtb` (its header's size), lent to `f` at boot; None when no
/// tree's magic is there or it would overlap the SM.
pub fn with_tree<R>(dtb: usize, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    let mut magic = [0u8; 4];
    phys::read_into(PhysRange::new(dtb, magic.len())?, &mut magic);
    if u32::from_be_bytes(magic) != 0xd00d_feed {
        return None;
    }
    let range = PhysRange::new(dtb, tree_size(dtb)?)?;
    Some(phys::with_boot_bytes(range, f))
}

/// Parses the device tree QEMU handed to hart 0.
pub fn init(dtb: usize) -> Result<&'static Platform, PlatformError> {
    // QEMU passes the address of a flattened device tree in a1: read at
    // boot, as long as its header says, and parsed by `fdt`.
    with_tree(dtb, |bytes| parse(dtb, bytes)).unwrap_or(Err(PlatformError::BadDeviceTree))
}

fn parse(dtb: usize, bytes: &[u8]) -> Result<&'static Platform, PlatformError> {
    let fdt = fdt::Fdt::new(bytes).map_err(|_| PlatformError::BadDeviceTree)?;

    let uart_node = fdt.find_compatible(&["ns16550a", "ns16550"]).ok_or(PlatformError::NoUart)?;
    let uart = first_reg(uart_node).ok_or(PlatformError::NoUart)?;
    let uart_shift = uart_node.property("reg-shift").and_then(|p| p.as_usize()).unwrap_or(0);
    let clint_node =
        fdt.find_compatible(&["riscv,clint0", "sifive,clint0"]).ok_or(PlatformError::NoClint)?;
    let clint_reg = clint_node.reg().and_then(|mut r| r.next()).ok_or(PlatformError::NoClint)?;
    let clint = clint_reg.starting_address as usize;
    // Without a size, the CLINT's classic 64 KiB (msip, mtimecmp, mtime at +0xbff8).
    let clint_size = clint_reg.size.unwrap_or(CLINT_SIZE).next_multiple_of(PAGE_SIZE);
    let test_device = fdt.find_compatible(&["sifive,test1", "sifive,test0"]).and_then(first_reg);

    let mut harts = [false; MAX_HARTS];
    let mut hart_count = 0;
    let mut timebase = 0;
    let mut sstc = true;
    for cpu in fdt.cpus() {
        let id = cpu.ids().first();
        if id < MAX_HARTS {
            harts[id] = true;
            hart_count += 1;
        }
        timebase = cpu.timebase_frequency();
        let isa = cpu.property("riscv,isa").and_then(|p| p.as_str()).unwrap_or("");
        sstc &= isa.split('_').any(|ext| ext == "sstc");
    }
    if hart_count == 0 {
        return Err(PlatformError::NoHarts);
    }

    let mut dram = [None; MAX_DRAM];
    for (slot, region) in dram.iter_mut().zip(fdt.memory().regions()) {
        *slot =
            region.size.and_then(|size| Range::new(region.starting_address as usize, size).ok());
    }
    if dram[0].is_none() {
        return Err(PlatformError::NoMemory);
    }

    let chosen = fdt.find_node("/chosen");
    let prop = |name| chosen.and_then(|c| c.property(name)).and_then(|p| p.as_usize());
    let initrd = match (prop("linux,initrd-start"), prop("linux,initrd-end")) {
        (Some(start), Some(end)) if end > start => Range::new(start, end - start).ok(),
        _ => None,
    };
    let csr_probe =
        fdt.chosen().bootargs().is_some_and(|a| a.split_whitespace().any(|w| w == "sm.csr-probe"));
    let misa = crate::arch::csr::misa::read();
    if misa & crate::arch::bits::MISA_V != 0 {
        // Vector registers are not part of the world switch (sm_core::world_csrs):
        // refuse rather than leak them between the host and enclaves.
        panic!(
            "this hart has the V extension, whose state the SM does not switch; refusing to boot"
        );
    }
    let h = misa & crate::arch::bits::MISA_H != 0;

    crate::clint::init(clint);
    HAS_SSTC.store(sstc, Ordering::Relaxed);
    HAS_H.store(h, Ordering::Relaxed);
    if h {
        // The hart has H, and nothing has run in V-mode yet.
        crate::cpu::record_h_first_run_readback();
    }
    Ok(PLATFORM.call_once(|| Platform {
        dtb,
        harts,
        hart_count,
        dram,
        uart,
        uart_shift,
        clint,
        clint_size,
        test_device,
        initrd,
        csr_probe,
        timebase,
        sstc,
        h,
    }))
}

/// The platform, once hart 0 has parsed it.
pub fn get() -> &'static Platform {
    PLATFORM.get().expect("platform used before the device tree was parsed")
}

/// The platform if it is known yet (the panic and reset paths).
pub fn try_get() -> Option<&'static Platform> {
    PLATFORM.get()
}

/// The SM's own region, which no lower privilege may touch.
pub fn sm_region() -> Range {
    Range { base: SM_BASE, size: SM_SIZE }
}

impl Platform {
    /// The CLINT's range, which the PMP policy closes to S/U-mode.
    pub fn clint_region(&self) -> Range {
        Range { base: self.clint, size: self.clint_size }
    }

    /// True when `hartid` names a hart the device tree lists.
    pub fn hart_exists(&self, hartid: usize) -> bool {
        hartid < MAX_HARTS && self.harts[hartid]
    }
}

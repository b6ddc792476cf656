//! `sm_main`: where every hart lands in Rust after the reset assembly.

use crate::arch::entry;
use crate::{hart, hsm, platform, uart::Uart};
use core::sync::atomic::{AtomicBool, Ordering};
use keystone_abi::layout::{PAYLOAD_BASE, SM_BASE, SM_SIZE};
use keystone_abi::sm::SBI_IMPL_ID;

/// Boot hart.
const BOOT_HART: usize = 0;

static PLATFORM_READY: AtomicBool = AtomicBool::new(false);

/// Rust entry of every hart: hart 0 brings the machine up, the others park.
// Trap/entry glue: the reset assembly calls this symbol by name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn sm_main(hartid: usize, dtb: usize) -> ! {
    if hartid == BOOT_HART {
        boot_hart(hartid, dtb)
    }
    while !PLATFORM_READY.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    hart::init(hartid);
    entry::park_on_fresh_stack(hartid)
}

fn boot_hart(hartid: usize, dtb: usize) -> ! {
    let platform = match platform::init(dtb) {
        Ok(p) => p,
        Err(err) => panic!("cannot use the device tree at {dtb:#x}: {err:?}"),
    };
    // The device tree names this UART; only the console drives it.
    match Uart::for_device(platform.uart, platform.uart_shift) {
        Some(uart) => crate::console::init(uart),
        None => panic!("UART at {:#x} overlaps the SM", platform.uart),
    }
    banner(platform);
    if platform.csr_probe {
        crate::csr_probe::run();
    }
    let before = crate::arch::csr::minstret::read();
    let scrub = crate::scrub::at_boot(platform);
    println!(
        "SM: reset scrub: {} live enclave range(s) from before the reset, {} bytes zeroed, {} instructions",
        scrub.ranges,
        scrub.bytes,
        crate::arch::csr::minstret::read() - before
    );
    if scrub.hit_images {
        // The scrub may have zeroed bytes of this boot's kernel, initrd or
        // tree: with the registry now empty, have the loader place them again.
        println!("SM: reset scrub overlapped a loaded image; resetting once more");
        crate::reset::reboot()
    }
    crate::dtb::reserve_sm_region(platform);
    hsm::init(hartid);
    crate::pmp_global::init(platform.test_device, platform.clint_region());
    crate::ipi::on_pmp_sync(crate::pmp_global::apply_host);
    crate::quiesce::init();
    hart::init(hartid);
    PLATFORM_READY.store(true, Ordering::Release);
    hart::prepare_for_supervisor(hartid);
    println!("SM: entering S-mode at {PAYLOAD_BASE:#x} on hart {hartid} (a1 = dtb {dtb:#x})");
    crate::world::enter_host(hartid, dtb, PAYLOAD_BASE)
}

fn banner(p: &platform::Platform) {
    println!();
    println!(
        "keystone-rs SM v{} (Keystone-compatible security monitor in Rust)",
        env!("CARGO_PKG_VERSION")
    );
    println!("SM: SBI 2.0, implementation id {SBI_IMPL_ID:#x}");
    for bank in p.dram.iter().flatten() {
        println!("SM: DRAM {:#x}..{:#x}", bank.base, bank.end());
    }
    println!(
        "SM: {} hart(s), timebase {} Hz, Sstc {}, H {}, uart {:#x}, clint {:#x}, reset {}",
        p.hart_count,
        p.timebase,
        if p.sstc { "yes" } else { "no" },
        if p.h { "yes" } else { "no" },
        p.uart,
        p.clint,
        if p.test_device.is_some() { "sifive,test" } else { "none" },
    );
    println!("SM: own region {:#x}..{:#x} closed to S/U-mode by PMP", SM_BASE, SM_BASE + SM_SIZE);
    let clint = p.clint_region();
    println!("SM: CLINT {:#x}..{:#x} closed to S/U-mode by PMP", clint.base, clint.end());
    let keys = crate::keys::get();
    println!(
        "SM: hash {}.. public key {}.. device key {}..",
        crate::keys::short_hex(&keys.sm_hash),
        crate::keys::short_hex(&keys.sm.public()),
        crate::keys::short_hex(&keys.device_public)
    );
    match keys.device_key {
        crate::keys::DeviceKeySource::Seed => println!("SM: device key: 32-byte seed"),
        crate::keys::DeviceKeySource::Expanded => {
            println!("SM: device key: Keystone form (64-byte expanded secret + public key)")
        }
        crate::keys::DeviceKeySource::None => println!(
            "SM: WARNING: no device secret was provided; using the PUBLIC all-zero development secret"
        ),
        crate::keys::DeviceKeySource::Refused => println!(
            "SM: WARNING: the device key page's public key is not its secret's; key REFUSED, using the PUBLIC all-zero development secret"
        ),
    }
}

//! SBI round-trip costs, in retired instructions (`instret`, exact under
//! QEMU `-icount`) and time ticks, for side-by-side runs on any firmware.

use crate::sbi::call;

const ROUNDS: u64 = 1000;

fn instret() -> u64 {
    let v: u64;
    // SAFETY: reading instret has no side effect (mcounteren.IR lets S-mode).
    unsafe { core::arch::asm!("rdinstret {0}", out(reg) v) };
    v
}

/// Average instructions of one call over ROUNDS calls, loop overhead removed.
fn per_call(mut f: impl FnMut()) -> (u64, u64) {
    let empty_start = instret();
    for _ in 0..ROUNDS {
        core::hint::black_box(());
    }
    let empty = instret() - empty_start;
    let t0 = crate::sbi::time();
    let start = instret();
    for _ in 0..ROUNDS {
        f();
    }
    let total = instret() - start - empty;
    let ticks = crate::sbi::time() - t0;
    (total / ROUNDS, ticks)
}

/// Prints one `bench: NAME instret=N ticks=T rounds=R` line per measurement.
pub fn run() {
    use sbi_spec::base::{EID_BASE, GET_SBI_SPEC_VERSION, PROBE_EXTENSION};
    let (n, t) = per_call(|| {
        core::hint::black_box(call(EID_BASE, GET_SBI_SPEC_VERSION, [0; 3]));
    });
    println!("bench: sbi_null_call instret={n} ticks={t} rounds={ROUNDS}");
    let (n, t) = per_call(|| {
        core::hint::black_box(call(EID_BASE, PROBE_EXTENSION, [sbi_spec::time::EID_TIME, 0, 0]));
    });
    println!("bench: sbi_probe_extension instret={n} ticks={t} rounds={ROUNDS}");
    let (n, t) = per_call(|| {
        core::hint::black_box(call(sbi_spec::time::EID_TIME, 0, [usize::MAX, 0, 0]));
    });
    println!("bench: sbi_set_timer instret={n} ticks={t} rounds={ROUNDS}");
    let (n, t) = per_call(|| {
        core::hint::black_box(call(0x0abc_def0, 0, [0; 3]));
    });
    println!("bench: sbi_unknown_extension instret={n} ticks={t} rounds={ROUNDS}");
    println!("bench: done");
}

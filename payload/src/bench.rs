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
    if keystone_enabled() {
        enclave_costs();
    }
    println!("bench: done");
}

/// True when the firmware answers Keystone's extension (not on OpenSBI).
fn keystone_enabled() -> bool {
    use sbi_spec::base::{EID_BASE, PROBE_EXTENSION};
    call(EID_BASE, PROBE_EXTENSION, [keystone_abi::sm::KEYSTONE_EID, 0, 0]).value == 1
}

/// SM-level enclave costs: RUN to EXIT, one edge-call round trip, and
/// CREATE's cost per measured 4 KiB page.
fn enclave_costs() {
    use crate::enclaves::{args, command, create, create_raw, ks, load_image};
    use keystone_abi::sm::fid;
    const RUNS: u64 = 50;
    let mut total = 0;
    for _ in 0..RUNS {
        let eid = create(0).expect("create");
        command(0, 1, 7, 0);
        let start = instret();
        ks(fid::RUN_ENCLAVE, eid);
        total += instret() - start;
        ks(fid::DESTROY_ENCLAVE, eid);
    }
    println!("bench: enclave_run_to_exit instret={} rounds={RUNS}", total / RUNS);

    let eid = create(0).expect("create");
    command(0, 10, 0, 0);
    ks(fid::RUN_ENCLAVE, eid);
    let (n, t) = per_call(|| {
        core::hint::black_box(ks(fid::RESUME_ENCLAVE, eid));
    });
    println!("bench: enclave_edge_call_round_trip instret={n} ticks={t} rounds={ROUNDS}");
    ks(fid::DESTROY_ENCLAVE, eid);

    // CREATE with 4 and with 100 measured pages in a 512 KiB EPM.
    let mut cost = [0u64; 2];
    for (slot, pages) in [(0usize, 4u64), (1, 100)] {
        let mut a = args(0);
        a.epm_size = 0x8_0000;
        a.free_paddr = a.epm_paddr + pages * 0x1000;
        load_image(&a);
        let start = instret();
        let ret = create_raw(&a);
        cost[slot] = instret() - start;
        ks(fid::DESTROY_ENCLAVE, ret.value);
    }
    println!("bench: enclave_create_4_pages instret={}", cost[0]);
    println!("bench: enclave_create_per_page instret={}", (cost[1] - cost[0]) / 96);
    preemption();
    attest_and_sealing(total / RUNS);
    create_and_destroy_by_size();
}

/// Counting iterations of the preemption enclave (2 instructions each).
const PREEMPT_COUNT: u64 = 2_000_000;

/// One counting run preempted every `period` timer ticks: (instructions
/// from the first RUN to the final exit, interrupts taken). The host side is
/// what an OS does on its tick: re-arm its timer, then RESUME.
fn preempted_count(period: u64) -> Option<(u64, u64)> {
    use crate::enclaves::{command, create, ks};
    use keystone_abi::sm::{err, fid};
    let eid = create(0).ok()?;
    command(0, 3, PREEMPT_COUNT, 0);
    let arm = || call(sbi_spec::time::EID_TIME, 0, [(crate::sbi::time() + period) as usize, 0, 0]);
    let start = instret();
    arm();
    let mut ret = ks(fid::RUN_ENCLAVE, eid);
    let mut interrupts = 0;
    while ret.error == err::INTERRUPTED && interrupts < 1_000_000 {
        interrupts += 1;
        arm();
        ret = ks(fid::RESUME_ENCLAVE, eid);
    }
    let total = instret() - start;
    call(sbi_spec::time::EID_TIME, 0, [usize::MAX, 0, 0]);
    ks(fid::DESTROY_ENCLAVE, eid);
    (ret.error == 0 && ret.value as u64 == PREEMPT_COUNT).then_some((total, interrupts))
}

/// The timer preemption round trip (M-timer in the enclave -> INTERRUPTED
/// to the host -> the host re-arms its timer -> RESUME): the same counting
/// work preempted every 100 and every 400 ticks; the extra instructions
/// divided by the extra interrupts. One set_timer is part of each round trip.
fn preemption() {
    let (Some((fast, n_fast)), Some((slow, n_slow))) = (preempted_count(100), preempted_count(400))
    else {
        println!("bench: enclave_preemption_round_trip error=1");
        return;
    };
    if n_fast <= n_slow {
        println!("bench: enclave_preemption_round_trip error=2");
        return;
    }
    println!(
        "bench: enclave_preemption_round_trip instret={} interrupts_p100={n_fast} interrupts_p400={n_slow} total_p100={fast} total_p400={slow}",
        (fast - slow) / (n_fast - n_slow)
    );
}

/// ATTEST and GET_SEALING_KEY as the test enclave's whole run, minus a plain run.
fn attest_and_sealing(plain_run: u64) {
    use crate::enclaves::{command, create, ks};
    use keystone_abi::sm::fid;
    for (name, cmd, arg) in [("enclave_attest", 11u64, 64u64), ("enclave_sealing_key", 12, 10)] {
        let eid = create(0).expect("create");
        command(0, cmd, arg, 0);
        let start = instret();
        let ret = ks(fid::RUN_ENCLAVE, eid);
        let cost = instret() - start;
        ks(fid::DESTROY_ENCLAVE, eid);
        if ret.error == 0 && ret.value == 0 {
            println!("bench: {name} instret={}", cost.saturating_sub(plain_run));
        }
    }
}

/// CREATE (measuring every page) and DESTROY (scrubbing every page) for EPMs
/// of 64 KiB to 64 MiB, next to SHA3-512 over the same bytes in S-mode.
fn create_and_destroy_by_size() {
    use crate::enclaves::{args, create_raw, ks, load_image};
    use keystone_abi::sm::fid;
    use sha3::{Digest, Sha3_512};
    const EPM: u64 = 0x8400_0000;
    for shift in [16u32, 18, 20, 22, 24, 26] {
        let size = 1u64 << shift;
        let pages = size / 4096;
        let mut a = args(0);
        a.epm_paddr = EPM;
        a.epm_size = size;
        a.runtime_paddr = EPM + 0x1000;
        a.user_paddr = EPM + 0x2000;
        a.free_paddr = EPM + size;
        load_image(&a);
        let start = instret();
        let ret = create_raw(&a);
        let create = instret() - start;
        if ret.error != 0 {
            println!("bench: create_epm_{shift} error={}", ret.error);
            continue;
        }
        let start = instret();
        ks(fid::DESTROY_ENCLAVE, ret.value);
        let destroy = instret() - start;
        // SAFETY: the EPM is host memory again after destroy.
        let bytes = unsafe { core::slice::from_raw_parts(EPM as *const u8, size as usize) };
        let start = instret();
        core::hint::black_box(Sha3_512::digest(bytes));
        let hash = instret() - start;
        println!(
            "bench: create_epm_{shift} bytes={size} pages={pages} create_per_page={} destroy_per_page={} sha3_per_page={}",
            create / pages,
            destroy / pages,
            hash / pages
        );
    }
}

/// Splits QEMU's instruction trace: `keystone-py bench --phases` cuts the
/// trace at every call of this function (begin, end, begin, end, ...) and
/// names the pairs after the `bench-phase:` lines, in order.
#[inline(never)]
#[unsafe(no_mangle)]
extern "C" fn bench_phase_mark() {
    // SAFETY: an empty asm block: the call itself is the mark.
    unsafe { core::arch::asm!("", options(nomem, nostack)) };
}

/// One of each hot-path operation between two marks, for a per-phase
/// breakdown from an instruction trace (`-append bench-phases`).
pub fn phases() {
    use crate::enclaves::{command, create, ks};
    use keystone_abi::sm::fid;
    use sbi_spec::base::{EID_BASE, GET_SBI_SPEC_VERSION};
    let traced = |name: &str, f: &mut dyn FnMut()| {
        println!("bench-phase: {name}");
        bench_phase_mark();
        f();
        bench_phase_mark();
    };
    traced("sbi_null_call", &mut || {
        core::hint::black_box(call(EID_BASE, GET_SBI_SPEC_VERSION, [0; 3]));
    });
    if !keystone_enabled() {
        println!("bench: done");
        return;
    }
    let eid = create(0).expect("create");
    command(0, 1, 7, 0);
    traced("enclave_run_to_exit", &mut || {
        core::hint::black_box(ks(fid::RUN_ENCLAVE, eid));
    });
    ks(fid::DESTROY_ENCLAVE, eid);

    let eid = create(0).expect("create");
    command(0, 10, 0, 0);
    ks(fid::RUN_ENCLAVE, eid);
    traced("enclave_edge_call_round_trip", &mut || {
        core::hint::black_box(ks(fid::RESUME_ENCLAVE, eid));
    });
    ks(fid::DESTROY_ENCLAVE, eid);

    // One preemption round trip: the enclave counts, the M-timer stops it,
    // the host re-arms its timer and resumes it, and it is stopped again.
    let eid = create(0).expect("create");
    command(0, 3, PREEMPT_COUNT, 0);
    let arm = || call(sbi_spec::time::EID_TIME, 0, [(crate::sbi::time() + 100) as usize, 0, 0]);
    arm();
    ks(fid::RUN_ENCLAVE, eid);
    traced("enclave_preemption_round_trip", &mut || {
        arm();
        core::hint::black_box(ks(fid::RESUME_ENCLAVE, eid));
    });
    call(sbi_spec::time::EID_TIME, 0, [usize::MAX, 0, 0]);
    ks(fid::DESTROY_ENCLAVE, eid);
    println!("bench: done");
}

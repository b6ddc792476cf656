//! `-append attacks`: an adversarial suite against the SM. The payload plays
//! a hostile host (and `test_enclave` a hostile enclave); each attack is one
//! TAP check named by its class:
//!
//! | class      | what crosses (or must not)                                             |
//! |------------|------------------------------------------------------------------------|
//! | `timer`    | the host's deadline vs the enclave's set_timer, with and without Sstc  |
//! | `stop`     | STOP with a reason Keystone does not define                            |
//! | `h-state`  | hypervisor-extension CSRs, host -> enclave and enclave -> host         |
//! | `s-state`  | S-mode CSRs outside Keystone's list (senvcfg)                          |
//! | `h-ctl`    | one world steering the other through H CSRs (SPV, hedeleg, vstvec)     |
//! | `mpv`      | mstatus.MPV: the virtualisation mode across the world switch           |
//! | `hsm-race` | harts started, suspended, resumed, stopped while CREATE/DESTROY run    |
//!
//! `attack=reset-srst` / `attack=reset-testdev` run the two-stage reset attack
//! instead (see `reset`), `attack=vs-mprv` the vsstatus -> mstatus.MPRV attack
//! on the SM itself (see `vs_mprv`; it can take the old SM down, so it runs
//! alone). `rounds=N` sets the race rounds (default 2000).
//! H checks are `# SKIP`ped where the device tree's `riscv,isa` has no `h`
//! (or hstatus traps); races where there is one hart. Timer checks run on
//! every machine: the SM must keep the host's deadline with and without Sstc
//! (README, "Time belongs to the host"), they only fail without Sstc here.
//!
//! What each check expects of the SM (what a fixed SM must do to pass):
//!
//! * `timer` (no deadline armed): on a hart whose host never called
//!   set_timer, a counting enclave reaches its exit within 1000 RUN/RESUMEs
//!   (mtimecmp is initialised, not left at QEMU's reset value 0); on hart 0
//!   and on a never-started hart 1.
//! * `timer` (enclave set_timer(MAX)): with the host's deadline 1 ms ahead,
//!   the RUN/RESUME that follows the enclave's set_timer(u64::MAX) returns
//!   INTERRUPTED instead of the enclave's exit after its 300 M-step count.
//! * `timer` (own deadline): an enclave's set_timer(now + 1 ms) alone ends
//!   its run with INTERRUPTED.
//! * `timer` (after exit / edge-call STOP / exit after set_timer(MAX)): a
//!   host deadline 50 ms ahead armed before RUN raises sip.STIP within 1 s of
//!   RUN returning (MTIE/mtimecmp are the host's again).
//! * `stop`: STOP with reason 2, 7 or u64::MAX makes RUN return
//!   UNKNOWN_ERROR (100000); after reason 7, RESUME continues after the STOP
//!   ecall (the enclave then exits, error 0).
//! * `h-state`/`h-ctl`/`mpv` (H harts): a fresh enclave reads none of the 19
//!   H/VS CSR values the host planted (`PLANT`, host column; hstatus.SPV = 0
//!   in particular) and its first sret (no trap before it) stays in HS-mode
//!   (it reads its own sscratch 0x5c5c, exits 0x600d; host-planted hedeleg +
//!   vstvec run no host code); after its edge-call STOP the host reads back
//!   exactly the 19 values it had before RUN (none of the enclave's), and
//!   after RESUME the enclave reads none of the host's; an enclave that
//!   entered VS-mode (hstatus.SPV, sret) and is interrupted hands the host
//!   back with V = 0 (mstatus.MPV not left at 1: no trap with hstatus.SPV,
//!   sscratch is the host's hart id).
//! * `s-state`: senvcfg is per world (host 1 -> fresh enclave reads 0;
//!   enclave 1 -> host reads its 0 after STOP).
//! * `hsm-race`: no read of an EPM after its CREATE returned (and before its
//!   DESTROY began) succeeds on any hart, whatever HSM path brought that hart
//!   to S-mode (hart_start racing CREATE; suspend, resume, stop, restart).
//! * `reset-srst`: after SBI SRST cold reboot, the next boot finds none of
//!   the 512 secret words of the enclave that was alive (scrub on SRST, or at
//!   boot). `reset-testdev`: an S-mode store of 0x7777 to the SiFive test
//!   device (0x100000) raises a store access fault (scause 7, stval 0x100000).
//! * `vs-mprv`: after the host's VS-mode round trip with vsstatus bit 17 set,
//!   the SM still serves (an SBI call, an enclave run) and never panics.
//!
//! No attack can hang the run: every enclave loop is bounded, or the host's
//! own timer (armed before each RUN/RESUME) ends it; a host handed back in
//! V-mode is brought back to HS-mode by the trap handler (`traps`).

use crate::enclaves::{args, command, create_raw, ks, load_image, utm, utm_word};
use crate::harts::{self, wait_for};
use crate::sbi::{call, time, SbiRet, SECOND, SIP_STIP};
use crate::tap::{check, skip};
use crate::{test_enclave, traps};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use keystone_abi::layout::MAX_HARTS;
use keystone_abi::sm::{err, fid, CreateArgs};
use sbi_spec::hsm::{self, hart_state};

// The attack classes share this module's imports (`use super::*`) and each
// other's items through the re-exports below; `fuzz`, `csr_sweep`,
// `clint_attack` and `checks` use the `pub` ones as `attacks::…`.
mod h_state;
mod hsm_fuzz;
mod machine;
mod races;
mod reset;
mod reset_claim;
mod reset_initrd;
mod reset_race;
mod runs;
mod s_state;
mod stop;
mod timers;
mod vs_mprv;

use h_state::*;
pub use hsm_fuzz::*;
pub use machine::*;
pub use races::*;
pub use reset::*;
pub use reset_claim::*;
pub use reset_initrd::*;
pub use reset_race::*;
pub use runs::*;
use s_state::*;
use stop::*;
use timers::*;
pub use vs_mprv::*;

/// Bootargs `attacks [rounds=N]`.
pub fn run(fdt: &fdt::Fdt, me: usize, bootargs: &str) {
    let hw = Hw::from_fdt(fdt, me);
    let isa = fdt
        .cpus()
        .next()
        .and_then(|c| c.property("riscv,isa"))
        .and_then(|p| p.as_str())
        .unwrap_or("?");
    crate::println!(
        "# attacks: {} hart(s), H {}, Sstc {}, isa {isa}",
        hw.count,
        if hw.has_h { "yes" } else { "no" },
        if hw.sstc { "yes" } else { "no" }
    );
    let rounds = crate::tap::arg_value(bootargs, "rounds=").unwrap_or(2000) as usize;
    // First, before anything arms a timer on any hart.
    timer_never_armed(&hw);
    set_timer(u64::MAX);
    timers();
    stop_reasons();
    if hw.has_h {
        h_host_to_enclave(&hw);
        h_first_sret(&hw);
        h_hijack(&hw);
        h_swap(&hw);
        h_one_csr(&hw);
        h_idle_host(&hw);
        mpv(&hw);
    } else {
        for name in [
            "h-state: none of the host's H/VS CSRs reach a fresh enclave",
            "h-state: a fresh enclave starts with hstatus.SPV = 0",
            "h-state: the host's hstatus.SPV = 1 does not send the enclave's first sret into V-mode",
            "h-ctl: host-planted hstatus.SPV, hedeleg and vstvec cannot run host code inside the enclave",
            "h-state: the enclave's H/VS CSRs do not reach the host after STOP",
            "h-state: the host gets its own H/VS CSRs back after STOP",
            "h-state: at RESUME the enclave does not see the host's H/VS CSRs",
            "h-state: any one H/VS CSR the host alone sets does not reach a fresh enclave",
            "h-state: the host gets back any one H/VS CSR it alone set",
            "h-state: a host that leaves H alone reads its own idle H/VS CSRs after the enclave's STOP",
            "h-state: with a host that leaves H alone, the enclave gets its own H/VS CSRs back at RESUME",
            "mpv: an enclave interrupted in VS-mode hands the host back with V=0",
        ] {
            skip!("{name}"; "no H extension on this hart");
        }
    }
    s_state(&hw);
    if hw.count >= 2 {
        race_start(&hw, rounds);
        race_hsm_cycle(&hw, rounds / 2);
    } else {
        skip!("hsm-race: a hart being started cannot read or write an EPM CREATE closed"; "one hart");
        skip!("hsm-race: harts suspending, resuming and stopping never read a live EPM"; "one hart");
    }
}

/// Jobs other harts run (`harts::TAG_ATTACK | job`).
const JOB_RACE: usize = 1;
const JOB_PROBE: usize = 2;
pub const JOB_HSMFUZZ: usize = 3;
const JOB_NOTIMER: usize = 4;
const JOB_SEALER: usize = 5;

pub fn secondary(me: usize, job: usize) {
    match job {
        JOB_RACE => race_job(me),
        JOB_PROBE => probe_job(me),
        JOB_HSMFUZZ => hsm_fuzz_job(me),
        JOB_NOTIMER => notimer_job(me),
        JOB_SEALER => sealer_job(me),
        _ => {}
    }
}

pub fn start_job(hart: usize, job: usize) -> SbiRet {
    call(
        hsm::EID_HSM,
        hsm::HART_START,
        [hart, crate::rt::secondary_entry(), harts::TAG_ATTACK | job],
    )
}

fn status(hart: usize) -> usize {
    call(hsm::EID_HSM, hsm::HART_GET_STATUS, [hart, 0, 0]).value
}

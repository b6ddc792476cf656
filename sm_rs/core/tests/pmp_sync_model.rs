//! Exhaustive model check of the machine-wide PMP synchronisation protocol.
//!
//! Each hart is a small state machine whose steps are the protocol's atomic
//! steps: one HSM-state load, store or CAS, one IPI post or CLINT write, one
//! wfi wake, one part of the gate, one `apply_host` (atomic: it runs under
//! the allocator lock), one S-mode instruction. A breadth-first search visits
//! every interleaving of those steps (states deduplicated in a hash set) and
//! checks, in every state:
//!
//! * safety: once a CREATE has measured its enclave (and until DESTROY
//!   releases it), no hart executes an S-mode instruction while its applied
//!   host image is older than the generation that closed the enclave's EPM;
//! * no deadlock: every state has a successor or is terminal (every
//!   program finished, no IPI work pending, every hart idle in S-mode or
//!   parked);
//! * liveness: a terminal state stays reachable from every state, so no
//!   sender waits for an acknowledgement that can never come.
//!
//! Decisions come from `sm_core::pmp_sync` (`sync_target`, `needs_apply`), the
//! functions the firmware calls, so the model checks the firmware's rules.
//!
//! Abstractions, all on the side of more behaviours:
//! * an S-mode hart with its software interrupt pending may still run
//!   instructions before it takes the trap (interrupt latency);
//! * a suspended hart may wake at any time (any interrupt, e.g. its timer);
//! * two store buffers are modelled, to show which orderings matter: the
//!   gate's HSM-state store (only the gate's own loads and S-mode
//!   instructions may pass it; the gate's fence waits for it), and the
//!   sender's GEN bump with the lock release behind it (only the sender's
//!   HSM-state loads may pass it; other harts see the lock held meanwhile).
//!   Every other access is sequentially consistent, and the CLINT write
//!   and PENDING accesses are ordered as written (on hardware that needs
//!   I/O fences, see the report);
//! * enclaves running on the harts are out of scope.

use sm_core::pmp_sync::{needs_apply, sync_target, HsmState};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};

const MAX_HARTS: usize = 3;
const MAX_ENCLAVES: usize = 2;
const NAMES: [&str; MAX_HARTS] = ["A", "B", "C"];

// ------------------------------------------------------------------ programs

/// What a hart does from S-mode, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    /// An S-mode instruction that writes the newest enclave's EPM (the
    /// attacker's patch after measurement).
    Touch,
    /// SBI hart_start of the given hart (gives up if it is not stopped).
    Start(u8),
    /// hart_start of the given hart, retried until it succeeds.
    StartRetry(u8),
    /// Keystone CREATE: take the regions, sync every hart, measure.
    Create,
    /// Keystone DESTROY of the enclave this hart created last.
    Destroy,
    /// SBI hart_stop of the calling hart.
    Stop,
    /// SBI hart_suspend of the calling hart.
    Suspend { retentive: bool },
    /// An SBI call that checks a host buffer (`supervisor_may_access`) and
    /// then writes it from M-mode, where PMP does not apply (DBCN
    /// console_read); the buffer lies where A's next enclave will be.
    HostWrite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Boot {
    /// Running S-mode code, state STARTED.
    Started,
    /// In the parked loop, state STOPPED.
    Stopped,
}

struct HartSpec {
    boot: Boot,
    program: &'static [Op],
}

struct Scenario {
    name: &'static str,
    harts: &'static [HartSpec],
}

const fn started(program: &'static [Op]) -> HartSpec {
    HartSpec { boot: Boot::Started, program }
}

const fn stopped(program: &'static [Op]) -> HartSpec {
    HartSpec { boot: Boot::Stopped, program }
}

const B: u8 = 1;

/// (a) A starts B and creates at once: the attack that broke the old code.
const START_VS_CREATE: Scenario = Scenario {
    name: "a: hart_start(B) racing CREATE",
    harts: &[started(&[Op::Start(B), Op::Create, Op::Touch]), stopped(&[Op::Touch])],
};

/// (b) B suspends (retentive, then non-retentive) while A creates.
const SUSPEND_VS_CREATE: Scenario = Scenario {
    name: "b: suspend/resume racing CREATE",
    harts: &[
        started(&[Op::Create, Op::Touch]),
        started(&[
            Op::Suspend { retentive: true },
            Op::Touch,
            Op::Suspend { retentive: false },
            Op::Touch,
        ]),
    ],
};

/// (c) B stops while A creates; A then starts it again.
const STOP_VS_CREATE: Scenario = Scenario {
    name: "c: hart_stop racing CREATE, restart",
    harts: &[
        started(&[Op::Create, Op::StartRetry(B), Op::Touch]),
        started(&[Op::Touch, Op::Stop, Op::Touch]),
    ],
};

/// (d) CREATE, DESTROY, CREATE on A while B starts, suspends and stops.
const CREATE_DESTROY_CREATE: Scenario = Scenario {
    name: "d: CREATE/DESTROY/CREATE vs start/stop",
    harts: &[
        started(&[Op::Start(B), Op::Create, Op::Destroy, Op::StartRetry(B), Op::Create, Op::Touch]),
        stopped(&[Op::Touch, Op::Suspend { retentive: false }, Op::Touch, Op::Stop, Op::Touch]),
    ],
};

/// (e) Three harts: A and C both start B (one of them fails), A creates.
const TWO_STARTERS: Scenario = Scenario {
    name: "e: 3 harts, two starters",
    harts: &[
        started(&[Op::Start(B), Op::Create, Op::Touch]),
        stopped(&[Op::Touch, Op::Suspend { retentive: true }, Op::Touch]),
        started(&[Op::Start(B), Op::Touch]),
    ],
};

/// (e') Three harts: B stops, and C (not the creator) starts it again while
/// A creates: the case where the sender's own ordering matters.
const THIRD_HART_RESTARTS: Scenario = Scenario {
    name: "e': 3 harts, C restarts B",
    harts: &[
        started(&[Op::Create, Op::Touch]),
        started(&[Op::Touch, Op::Stop, Op::Touch]),
        started(&[Op::StartRetry(B)]),
    ],
};

/// (f) Three harts: two concurrent CREATEs and DESTROYs (each sender waits
/// for the other's acknowledgement while serving its own IPIs), B started
/// by C and suspending.
const TWO_CREATORS: Scenario = Scenario {
    name: "f: 3 harts, two creators",
    harts: &[
        started(&[Op::Create, Op::Touch]),
        stopped(&[Op::Touch, Op::Suspend { retentive: true }, Op::Touch]),
        started(&[Op::Start(B), Op::Create, Op::Destroy]),
    ],
};

/// (g) B's SBI call checks a host buffer, A creates an enclave over it,
/// B writes the buffer from M-mode.
const HOST_WRITE_VS_CREATE: Scenario = Scenario {
    name: "g: M-mode host-buffer write vs CREATE",
    harts: &[started(&[Op::Create, Op::Touch]), started(&[Op::HostWrite, Op::Touch])],
};

/// (h) Three harts, everything at once.
const EVERYTHING: Scenario = Scenario {
    name: "h: 3 harts, all operations",
    harts: &[
        started(&[Op::Create, Op::Touch, Op::Destroy]),
        started(&[Op::Touch, Op::Suspend { retentive: true }, Op::Touch, Op::Stop, Op::Touch]),
        started(&[Op::StartRetry(B), Op::Create]),
    ],
};

const ALL_SCENARIOS: [&Scenario; 9] = [
    &START_VS_CREATE,
    &SUSPEND_VS_CREATE,
    &STOP_VS_CREATE,
    &CREATE_DESTROY_CREATE,
    &TWO_STARTERS,
    &THIRD_HART_RESTARTS,
    &TWO_CREATORS,
    &HOST_WRITE_VS_CREATE,
    &EVERYTHING,
];

/// The scenarios that explore in well under a second (all but f and h),
/// for the sweeps over broken protocols.
const SMALL_SCENARIOS: [&Scenario; 7] = [
    &START_VS_CREATE,
    &SUSPEND_VS_CREATE,
    &STOP_VS_CREATE,
    &CREATE_DESTROY_CREATE,
    &TWO_STARTERS,
    &THIRD_HART_RESTARTS,
    &HOST_WRITE_VS_CREATE,
];

// ----------------------------------------------------------------- protocols

/// One part of the gate a hart passes before S-mode after the parked loop
/// or a suspend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GateStep {
    /// Store STARTED into the HSM state (through the store buffer).
    Store,
    /// Wait until the store is visible to every hart (SeqCst fence).
    Fence,
    /// Serve pending IPI work (a PMP sync applies and acknowledges).
    Poll,
    /// Load GEN; apply the host image if `needs_apply`.
    Check,
}

/// A variant of the protocol: the fixed one, the old one, or a mutation.
struct Protocol {
    name: &'static str,
    /// Which HSM states the sender posts a sync to (and waits for).
    target: fn(HsmState) -> bool,
    /// A second scan of every HSM state after the first, keeping only the
    /// harts both scans name (what `ipi::send` does to the mask it gets).
    second_target: Option<fn(HsmState) -> bool>,
    /// The gate, in order.
    gate: &'static [GateStep],
    /// Old parked loop: apply_host before the gate (which then only stores
    /// STARTED).
    park_apply: bool,
    /// Parked loop clears the CLINT bit after the gate instead of before.
    late_clear: bool,
    /// IPI processing reads PENDING before clearing the CLINT bit.
    take_before_clear: bool,
    /// The sender does not sync itself.
    skip_self: bool,
    /// The sender's GEN bump is ordered before its HSM-state loads.
    sender_fence: bool,
    /// An SBI call serves IPIs (e.g. waits for a lock with `ipi::poll`)
    /// between checking a host buffer and writing it.
    ack_inside_call: bool,
}

const FIXED_GATE: &[GateStep] =
    &[GateStep::Store, GateStep::Fence, GateStep::Poll, GateStep::Check];

/// The protocol the firmware implements.
const FIXED: Protocol = Protocol {
    name: "fixed",
    target: sync_target,
    second_target: None,
    gate: FIXED_GATE,
    park_apply: false,
    late_clear: false,
    take_before_clear: false,
    skip_self: false,
    sender_fence: true,
    ack_inside_call: false,
};

/// `hsm::started_mask` of the old code.
fn old_target(state: HsmState) -> bool {
    matches!(state, HsmState::Started | HsmState::Suspended)
}

/// Targets only harts that may run S-mode without passing the gate again.
fn started_only(state: HsmState) -> bool {
    state == HsmState::Started
}

/// The firmware at fe8ac5d: `sync_all` passed `hsm::sync_mask()`
/// (`sync_target`), and `ipi::send` intersected it with a second read of
/// `hsm::started_mask()` (STARTED | SUSPENDED): START_PENDING and
/// STOP_PENDING harts were not waited for, and safety rested on the gate's
/// fence alone. Since 012d3a4 `ipi::send` uses `sync_mask` for a PMP sync,
/// so the firmware is `FIXED`.
const NARROWED: Protocol = Protocol { name: "narrowed", second_target: Some(old_target), ..FIXED };

/// The old code: apply_host, then STARTED, then S-mode; suspend wakes store
/// STARTED and return; the sender targets STARTED | SUSPENDED.
const OLD: Protocol = Protocol {
    name: "old",
    target: old_target,
    gate: &[GateStep::Store],
    park_apply: true,
    ..FIXED
};

// -------------------------------------------------------------------- states

/// Where an IPI-processing run returns to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Ret {
    SMode,
    Park,
    /// The gate, at this step.
    Gate(u8),
    /// The sender's own sync, then its wait.
    SelfDone,
    /// The sender's wait (it served its own IPIs).
    Wait,
    /// The host-buffer write of an SBI call.
    HostWrite,
}

/// A hart's program counter inside the SM, or S-mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Loc {
    /// At an S-mode instruction boundary (next op, or idle when done).
    SMode,
    StartCas {
        target: u8,
        retry: bool,
    },
    StartReq(u8),
    StartIpi(u8),
    /// CREATE: lock, define the regions, bump GEN, unlock.
    Take,
    /// DESTROY: lock, free the regions, bump GEN, unlock.
    Release,
    /// Load the HSM state of hart `cursor`.
    Scan,
    /// Load it again, for the second mask.
    Scan2,
    /// Post EV_PMP_SYNC to hart `cursor`.
    Post,
    /// Write hart `cursor`'s CLINT msip.
    Ipi,
    SelfPost,
    /// Wait for hart `cursor`'s acknowledgement.
    Wait,
    Measure,
    StopCas,
    ParkEnter,
    ParkCheck,
    ParkWfi,
    ParkClear,
    ParkApply,
    SuspendStore {
        retentive: bool,
    },
    SuspendWfi {
        retentive: bool,
    },
    /// Gate step `k`.
    Gate(u8),
    /// apply_host inside the gate, then gate step `k`.
    GateApply(u8),
    LateClear,
    ProcFirst(Ret),
    ProcSecond(Ret),
    ProcApply(Ret),
    /// SBI call: check the host buffer (under the allocator lock).
    HostCheck,
    /// SBI call: serve IPIs (a lock wait), when the protocol does.
    HostPoll,
    /// SBI call: write the checked buffer from M-mode.
    HostWrite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Hart {
    // Local.
    loc: Loc,
    pc: u8,
    cursor: u8,
    targets: u8,
    destroying: bool,
    /// 1 + the slot of the enclave this hart created last.
    own: u8,
    /// The sync bit the current IPI processing took.
    took: bool,
    /// Generation of the host image in this hart's PMP (`APPLIED[hart]`).
    applied: u8,
    /// Buffered store of this hart's HSM state.
    sb_state: Option<HsmState>,
    /// Buffered GEN bump (and the lock release after it).
    sb_gen: bool,
    // Shared.
    state: HsmState,
    start_req: bool,
    /// EV_PMP_SYNC in `PENDING[hart]`.
    pending: bool,
    /// The CLINT msip bit.
    msip: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Enclave {
    /// Generation whose host image closes the EPM; 0 when the slot is free.
    gen: u8,
    measured: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct World {
    harts: [Hart; MAX_HARTS],
    gen: u8,
    enclaves: [Enclave; MAX_ENCLAVES],
}

/// One step, for traces.
#[derive(Clone, Copy, Debug)]
enum What {
    Boot,
    TrapSoftIrq,
    SInsn(Op),
    CasStart { hart: u8, ok: bool },
    SetStartRequest(u8),
    RaiseMsip(u8),
    TakeRegions { gen: u8, buffered: bool },
    ReleaseRegions { gen: u8, buffered: bool },
    LoadState { hart: u8, state: HsmState, target: bool },
    LoadStateAgain { hart: u8, state: HsmState, keep: bool },
    PostSync(u8),
    PostSelf,
    SeeAck(u8),
    PollOwn,
    Measure { gen: u8 },
    CasStopPending,
    CasStopped,
    SwapStartRequest(bool),
    WfiWake,
    ClearMsip,
    TakePending(bool),
    ApplyHost { gen: u8 },
    StoreState(HsmState),
    Fence,
    LoadPending(bool),
    LoadGen { gen: u8, apply: bool },
    FlushState(HsmState),
    FlushGen(u8),
    StoreSuspended,
    SuspendWake { retentive: bool },
    HostCheck { ok: bool },
    HostWrite,
}

impl std::fmt::Display for What {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = |h: &u8| NAMES[*h as usize];
        match self {
            What::Boot => write!(f, "boot"),
            What::TrapSoftIrq => write!(f, "takes the software interrupt (trap to the SM)"),
            What::SInsn(Op::Touch) => write!(f, "S-mode instruction writes the EPM"),
            What::SInsn(op) => write!(f, "S-mode ecall {op:?}"),
            What::CasStart { hart, ok } => {
                let r = if *ok { "ok" } else { "fails" };
                write!(f, "CAS {}.state STOPPED->START_PENDING: {r}", name(hart))
            }
            What::SetStartRequest(h) => write!(f, "{}.start_requested = true", name(h)),
            What::RaiseMsip(h) => write!(f, "CLINT msip[{}] = 1", name(h)),
            What::TakeRegions { gen, buffered } => {
                let b = if *buffered { " (store buffered)" } else { "" };
                write!(f, "CREATE takes the regions, GEN = {gen}{b}")
            }
            What::ReleaseRegions { gen, buffered } => {
                let b = if *buffered { " (store buffered)" } else { "" };
                write!(f, "DESTROY frees the regions, GEN = {gen}{b}")
            }
            What::LoadState { hart, state, target } => {
                let t = if *target { "target" } else { "skipped" };
                write!(f, "loads {}.state = {state:?}: {t}", name(hart))
            }
            What::LoadStateAgain { hart, state, keep } => {
                let t = if *keep { "kept" } else { "dropped" };
                write!(f, "loads {}.state again = {state:?}: {t}", name(hart))
            }
            What::PostSync(h) => write!(f, "PENDING[{}] |= EV_PMP_SYNC", name(h)),
            What::PostSelf => write!(f, "PENDING[self] |= EV_PMP_SYNC"),
            What::SeeAck(h) => write!(f, "sees {}'s acknowledgement", name(h)),
            What::PollOwn => write!(f, "serves its own IPI while waiting"),
            What::Measure { gen } => write!(f, "measures the enclave of GEN {gen}"),
            What::CasStopPending => write!(f, "CAS state STARTED->STOP_PENDING"),
            What::CasStopped => write!(f, "parked: CAS state STOP_PENDING->STOPPED"),
            What::SwapStartRequest(r) => write!(f, "parked: swap start_requested -> {r}"),
            What::WfiWake => write!(f, "parked: wfi wakes"),
            What::ClearMsip => write!(f, "CLINT msip[self] = 0"),
            What::TakePending(t) => write!(f, "takes PENDING (sync: {t}) = acknowledges"),
            What::ApplyHost { gen } => write!(f, "apply_host: APPLIED = {gen}"),
            What::StoreState(s) => write!(f, "gate: store state = {s:?}"),
            What::Fence => write!(f, "gate: fence"),
            What::LoadPending(p) => write!(f, "gate: loads PENDING (sync: {p})"),
            What::LoadGen { gen, apply } => write!(f, "gate: loads GEN = {gen}, apply: {apply}"),
            What::FlushState(s) => write!(f, "store buffer drains: state = {s:?}"),
            What::FlushGen(g) => write!(f, "store buffer drains: GEN = {g}"),
            What::StoreSuspended => write!(f, "store state = SUSPENDED, wfi"),
            What::SuspendWake { retentive } => {
                let k = if *retentive { "retentive" } else { "non-retentive" };
                write!(f, "{k} suspend wakes")
            }
            What::HostCheck { ok } => write!(f, "SBI call checks the host buffer: {ok}"),
            What::HostWrite => write!(f, "SBI call writes the host buffer from M-mode"),
        }
    }
}

struct Succ {
    hart: u8,
    what: What,
    next: World,
    violation: Option<&'static str>,
}

// ------------------------------------------------------------------- model

struct Model<'a> {
    proto: &'a Protocol,
    scen: &'a Scenario,
    n: usize,
}

impl Model<'_> {
    fn new<'a>(proto: &'a Protocol, scen: &'a Scenario) -> Model<'a> {
        let n = scen.harts.len();
        assert!((2..=MAX_HARTS).contains(&n));
        Model { proto, scen, n }
    }

    fn initial(&self) -> World {
        let idle = Hart {
            loc: Loc::SMode,
            pc: 0,
            cursor: 0,
            targets: 0,
            destroying: false,
            own: 0,
            took: false,
            applied: 0,
            sb_state: None,
            sb_gen: false,
            state: HsmState::Started,
            start_req: false,
            pending: false,
            msip: false,
        };
        let mut harts = [idle; MAX_HARTS];
        for (h, spec) in self.scen.harts.iter().enumerate() {
            if spec.boot == Boot::Stopped {
                harts[h].loc = Loc::ParkCheck;
                harts[h].state = HsmState::Stopped;
            }
        }
        World { harts, gen: 0, enclaves: [Enclave { gen: 0, measured: false }; MAX_ENCLAVES] }
    }

    fn program(&self, h: usize) -> &'static [Op] {
        self.scen.harts[h].program
    }

    /// Why hart `h` must not run an S-mode instruction now, if it must not.
    fn stale(&self, w: &World, h: usize) -> Option<&'static str> {
        let applied = w.harts[h].applied;
        w.enclaves
            .iter()
            .any(|e| e.measured && applied < e.gen)
            .then_some("S-mode instruction with an EPM open after measurement")
    }

    fn next_other(&self, h: usize, from: usize) -> u8 {
        (from..self.n).find(|&i| i != h).unwrap_or(self.n) as u8
    }

    fn next_target(&self, targets: u8, from: usize) -> u8 {
        (from..self.n).find(|&i| targets & (1 << i) != 0).unwrap_or(self.n) as u8
    }

    /// Where the gate goes after its step `k - 1`.
    fn gate_at(&self, k: usize) -> Loc {
        if k < self.proto.gate.len() {
            Loc::Gate(k as u8)
        } else if self.proto.late_clear {
            Loc::LateClear
        } else {
            Loc::SMode
        }
    }

    /// Loads of the sender's scan and the gate's loads may pass a buffered
    /// store; every other step waits until this hart's buffers drained.
    fn may_pass_buffer(&self, loc: Loc) -> bool {
        match loc {
            Loc::SMode | Loc::Scan | Loc::Scan2 => true,
            Loc::Gate(k) => {
                matches!(self.proto.gate[k as usize], GateStep::Poll | GateStep::Check)
            }
            _ => false,
        }
    }

    fn enter_wait(&self, w: &mut World, h: usize) {
        let cursor = self.next_target(w.harts[h].targets, 0);
        w.harts[h].cursor = cursor;
        if cursor as usize == self.n {
            self.finish_send(w, h);
        } else {
            w.harts[h].loc = Loc::Wait;
        }
    }

    fn finish_send(&self, w: &mut World, h: usize) {
        let me = &mut w.harts[h];
        if me.destroying {
            me.pc += 1;
            me.loc = Loc::SMode;
        } else {
            me.loc = Loc::Measure;
        }
    }

    /// The scan is over: post to the first target, or go on with self.
    fn start_posts(&self, w: &mut World, h: usize) {
        let cursor = self.next_target(w.harts[h].targets, 0);
        w.harts[h].cursor = cursor;
        if cursor as usize == self.n {
            self.after_posts(w, h);
        } else {
            w.harts[h].loc = Loc::Post;
        }
    }

    fn after_posts(&self, w: &mut World, h: usize) {
        if self.proto.skip_self {
            self.enter_wait(w, h);
        } else {
            w.harts[h].loc = Loc::SelfPost;
        }
    }

    fn ret(&self, w: &mut World, h: usize, r: Ret) {
        let loc = match r {
            Ret::SMode => Loc::SMode,
            Ret::Park => Loc::ParkCheck,
            Ret::Gate(k) => self.gate_at(k as usize),
            Ret::SelfDone => return self.enter_wait(w, h),
            Ret::Wait => Loc::Wait,
            Ret::HostWrite => Loc::HostWrite,
        };
        w.harts[h].loc = loc;
    }

    /// After both halves of IPI processing.
    fn after_proc(&self, w: &mut World, h: usize, r: Ret) {
        if w.harts[h].took {
            w.harts[h].loc = Loc::ProcApply(r);
        } else {
            self.ret(w, h, r);
        }
    }

    /// CREATE or DESTROY changed the policy: bump GEN, then scan.
    fn bump_and_scan(&self, w: &mut World, h: usize) -> (u8, bool) {
        let gen = w.gen + 1;
        let buffered = !self.proto.sender_fence;
        if buffered {
            w.harts[h].sb_gen = true;
        } else {
            w.gen = gen;
        }
        let me = &mut w.harts[h];
        me.targets = 0;
        me.cursor = self.next_other(h, 0);
        me.loc = Loc::Scan;
        (gen, buffered)
    }

    fn successors(&self, w: &World, out: &mut Vec<Succ>) {
        out.clear();
        for h in 0..self.n {
            let me = w.harts[h];
            if let Some(v) = me.sb_state {
                let mut n = *w;
                n.harts[h].state = v;
                n.harts[h].sb_state = None;
                out.push(Succ {
                    hart: h as u8,
                    what: What::FlushState(v),
                    next: n,
                    violation: None,
                });
            }
            if me.sb_gen {
                let mut n = *w;
                n.gen += 1;
                n.harts[h].sb_gen = false;
                let what = What::FlushGen(n.gen);
                out.push(Succ { hart: h as u8, what, next: n, violation: None });
            }
            let drained = me.sb_state.is_none() && !me.sb_gen;
            if drained || self.may_pass_buffer(me.loc) {
                self.hart_steps(w, h, out);
            }
        }
    }

    fn hart_steps(&self, w: &World, h: usize, out: &mut Vec<Succ>) {
        let me = w.harts[h];
        // No hart holds the allocator lock (a buffered unlock still holds it).
        let lock_free = w.harts[..self.n].iter().all(|x| !x.sb_gen);
        let mut push = |what: What, next: World, violation: Option<&'static str>| {
            out.push(Succ { hart: h as u8, what, next, violation });
        };
        let mut n = *w;
        match me.loc {
            Loc::SMode => {
                if me.msip {
                    n.harts[h].loc = Loc::ProcFirst(Ret::SMode);
                    push(What::TrapSoftIrq, n, None);
                    n = *w;
                }
                let Some(&op) = self.program(h).get(me.pc as usize) else { return };
                let violation = self.stale(w, h);
                let it = &mut n.harts[h];
                match op {
                    Op::Touch => it.pc += 1,
                    Op::Start(t) => it.loc = Loc::StartCas { target: t, retry: false },
                    Op::StartRetry(t) => it.loc = Loc::StartCas { target: t, retry: true },
                    Op::Create => it.loc = Loc::Take,
                    Op::Destroy => it.loc = Loc::Release,
                    Op::Stop => it.loc = Loc::StopCas,
                    Op::HostWrite => it.loc = Loc::HostCheck,
                    Op::Suspend { retentive } => {
                        it.pc += 1;
                        it.loc = Loc::SuspendStore { retentive };
                    }
                }
                push(What::SInsn(op), n, violation);
            }
            Loc::StartCas { target, retry } => {
                let t = target as usize;
                let ok = w.harts[t].state == HsmState::Stopped;
                if ok {
                    n.harts[t].state = HsmState::StartPending;
                    n.harts[h].loc = Loc::StartReq(target);
                } else {
                    n.harts[h].loc = Loc::SMode;
                    if !retry {
                        n.harts[h].pc += 1;
                    }
                }
                push(What::CasStart { hart: target, ok }, n, None);
            }
            Loc::StartReq(t) => {
                n.harts[t as usize].start_req = true;
                n.harts[h].loc = Loc::StartIpi(t);
                push(What::SetStartRequest(t), n, None);
            }
            Loc::StartIpi(t) => {
                n.harts[t as usize].msip = true;
                n.harts[h].pc += 1;
                n.harts[h].loc = Loc::SMode;
                push(What::RaiseMsip(t), n, None);
            }
            Loc::Take if lock_free => {
                let slot = w.enclaves.iter().position(|e| e.gen == 0).expect("free enclave slot");
                let (gen, buffered) = self.bump_and_scan(&mut n, h);
                n.enclaves[slot] = Enclave { gen, measured: false };
                n.harts[h].own = slot as u8 + 1;
                n.harts[h].destroying = false;
                push(What::TakeRegions { gen, buffered }, n, None);
            }
            Loc::Release if lock_free => {
                let slot = me.own.checked_sub(1).expect("DESTROY after CREATE") as usize;
                n.enclaves[slot] = Enclave { gen: 0, measured: false };
                n.harts[h].own = 0;
                n.harts[h].destroying = true;
                let (gen, buffered) = self.bump_and_scan(&mut n, h);
                push(What::ReleaseRegions { gen, buffered }, n, None);
            }
            Loc::Take | Loc::Release => {}
            Loc::Scan => {
                let i = me.cursor as usize;
                let state = w.harts[i].state;
                let target = (self.proto.target)(state);
                n.harts[h].targets |= u8::from(target) << i;
                n.harts[h].cursor = self.next_other(h, i + 1);
                if n.harts[h].cursor as usize == self.n {
                    if self.proto.second_target.is_some() {
                        n.harts[h].cursor = self.next_other(h, 0);
                        n.harts[h].loc = Loc::Scan2;
                    } else {
                        self.start_posts(&mut n, h);
                    }
                }
                push(What::LoadState { hart: i as u8, state, target }, n, None);
            }
            Loc::Scan2 => {
                let i = me.cursor as usize;
                let state = w.harts[i].state;
                let keep = self.proto.second_target.is_some_and(|t| t(state));
                if !keep {
                    n.harts[h].targets &= !(1 << i);
                }
                n.harts[h].cursor = self.next_other(h, i + 1);
                if n.harts[h].cursor as usize == self.n {
                    self.start_posts(&mut n, h);
                }
                push(What::LoadStateAgain { hart: i as u8, state, keep }, n, None);
            }
            Loc::Post => {
                let i = me.cursor;
                n.harts[i as usize].pending = true;
                n.harts[h].loc = Loc::Ipi;
                push(What::PostSync(i), n, None);
            }
            Loc::Ipi => {
                let i = me.cursor;
                n.harts[i as usize].msip = true;
                n.harts[h].cursor = self.next_target(me.targets, i as usize + 1);
                if n.harts[h].cursor as usize == self.n {
                    self.after_posts(&mut n, h);
                } else {
                    n.harts[h].loc = Loc::Post;
                }
                push(What::RaiseMsip(i), n, None);
            }
            Loc::SelfPost => {
                n.harts[h].pending = true;
                n.harts[h].loc = Loc::ProcFirst(Ret::SelfDone);
                push(What::PostSelf, n, None);
            }
            Loc::Wait => {
                let i = me.cursor as usize;
                if !w.harts[i].pending {
                    n.harts[h].cursor = self.next_target(me.targets, i + 1);
                    if n.harts[h].cursor as usize == self.n {
                        self.finish_send(&mut n, h);
                    }
                    push(What::SeeAck(i as u8), n, None);
                    n = *w;
                }
                if me.pending {
                    n.harts[h].loc = Loc::ProcFirst(Ret::Wait);
                    push(What::PollOwn, n, None);
                }
            }
            Loc::Measure => {
                let slot = me.own as usize - 1;
                n.enclaves[slot].measured = true;
                n.harts[h].pc += 1;
                n.harts[h].loc = Loc::SMode;
                push(What::Measure { gen: w.enclaves[slot].gen }, n, None);
            }
            Loc::StopCas => {
                assert_eq!(me.state, HsmState::Started, "hart_stop from S-mode");
                n.harts[h].state = HsmState::StopPending;
                n.harts[h].pc += 1;
                n.harts[h].loc = Loc::ParkEnter;
                push(What::CasStopPending, n, None);
            }
            Loc::ParkEnter => {
                if me.state == HsmState::StopPending {
                    n.harts[h].state = HsmState::Stopped;
                }
                n.harts[h].loc = Loc::ParkCheck;
                push(What::CasStopped, n, None);
            }
            Loc::ParkCheck => {
                let req = me.start_req;
                n.harts[h].start_req = false;
                n.harts[h].loc = match (req, self.proto.late_clear) {
                    (false, _) => Loc::ParkWfi,
                    (true, false) => Loc::ParkClear,
                    (true, true) => self.gate_at(0),
                };
                push(What::SwapStartRequest(req), n, None);
            }
            Loc::ParkWfi => {
                if me.msip {
                    n.harts[h].loc = Loc::ProcFirst(Ret::Park);
                    push(What::WfiWake, n, None);
                }
            }
            Loc::ParkClear => {
                n.harts[h].msip = false;
                n.harts[h].loc =
                    if self.proto.park_apply { Loc::ParkApply } else { self.gate_at(0) };
                push(What::ClearMsip, n, None);
            }
            Loc::LateClear => {
                n.harts[h].msip = false;
                n.harts[h].loc = Loc::SMode;
                push(What::ClearMsip, n, None);
            }
            Loc::ParkApply if lock_free => {
                n.harts[h].applied = w.gen;
                n.harts[h].loc = self.gate_at(0);
                push(What::ApplyHost { gen: w.gen }, n, None);
            }
            Loc::SuspendStore { retentive } => {
                n.harts[h].state = HsmState::Suspended;
                n.harts[h].loc = Loc::SuspendWfi { retentive };
                push(What::StoreSuspended, n, None);
            }
            Loc::SuspendWfi { retentive } => {
                n.harts[h].loc = self.gate_at(0);
                push(What::SuspendWake { retentive }, n, None);
            }
            Loc::Gate(k) => {
                let k = k as usize;
                match self.proto.gate[k] {
                    GateStep::Store => {
                        n.harts[h].sb_state = Some(HsmState::Started);
                        n.harts[h].loc = self.gate_at(k + 1);
                        push(What::StoreState(HsmState::Started), n, None);
                    }
                    GateStep::Fence => {
                        // Enabled only once drained (see `successors`).
                        n.harts[h].loc = self.gate_at(k + 1);
                        push(What::Fence, n, None);
                    }
                    GateStep::Poll => {
                        n.harts[h].loc = if me.pending {
                            Loc::ProcFirst(Ret::Gate(k as u8 + 1))
                        } else {
                            self.gate_at(k + 1)
                        };
                        push(What::LoadPending(me.pending), n, None);
                    }
                    GateStep::Check => {
                        // The hart sees its own buffered bump (never the
                        // case here: senders do not pass the gate).
                        let gen = w.gen + u8::from(me.sb_gen);
                        let apply = needs_apply(usize::from(me.applied), usize::from(gen));
                        n.harts[h].loc =
                            if apply { Loc::GateApply(k as u8 + 1) } else { self.gate_at(k + 1) };
                        push(What::LoadGen { gen, apply }, n, None);
                    }
                }
            }
            Loc::GateApply(k) if lock_free => {
                n.harts[h].applied = w.gen;
                n.harts[h].loc = self.gate_at(k as usize);
                push(What::ApplyHost { gen: w.gen }, n, None);
            }
            Loc::ProcFirst(r) => {
                if self.proto.take_before_clear {
                    n.harts[h].took = me.pending;
                    n.harts[h].pending = false;
                    n.harts[h].loc = Loc::ProcSecond(r);
                    push(What::TakePending(me.pending), n, None);
                } else {
                    n.harts[h].msip = false;
                    n.harts[h].loc = Loc::ProcSecond(r);
                    push(What::ClearMsip, n, None);
                }
            }
            Loc::ProcSecond(r) => {
                if self.proto.take_before_clear {
                    n.harts[h].msip = false;
                    self.after_proc(&mut n, h, r);
                    push(What::ClearMsip, n, None);
                } else {
                    n.harts[h].took = me.pending;
                    n.harts[h].pending = false;
                    self.after_proc(&mut n, h, r);
                    push(What::TakePending(me.pending), n, None);
                }
            }
            Loc::ProcApply(r) if lock_free => {
                n.harts[h].applied = w.gen;
                n.harts[h].took = false;
                self.ret(&mut n, h, r);
                push(What::ApplyHost { gen: w.gen }, n, None);
            }
            Loc::HostCheck if lock_free => {
                // The buffer overlaps the enclave once its regions exist.
                let ok = w.enclaves.iter().all(|e| e.gen == 0);
                n.harts[h].loc = match (ok, self.proto.ack_inside_call) {
                    (false, _) => {
                        n.harts[h].pc += 1;
                        Loc::SMode
                    }
                    (true, false) => Loc::HostWrite,
                    (true, true) => Loc::HostPoll,
                };
                push(What::HostCheck { ok }, n, None);
            }
            Loc::HostPoll => {
                n.harts[h].loc =
                    if me.pending { Loc::ProcFirst(Ret::HostWrite) } else { Loc::HostWrite };
                push(What::PollOwn, n, None);
            }
            Loc::HostWrite => {
                let violation = w
                    .enclaves
                    .iter()
                    .any(|e| e.measured)
                    .then_some("M-mode write to a checked host buffer inside a measured EPM");
                n.harts[h].pc += 1;
                n.harts[h].loc = Loc::SMode;
                push(What::HostWrite, n, violation);
            }
            Loc::ParkApply | Loc::GateApply(_) | Loc::ProcApply(_) | Loc::HostCheck => {}
        }
    }

    /// Every program finished and nothing is left to serve.
    fn is_final(&self, w: &World) -> bool {
        (0..self.n).all(|h| {
            let x = w.harts[h];
            x.pc as usize == self.program(h).len()
                && !x.pending
                && !x.msip
                && x.sb_state.is_none()
                && !x.sb_gen
                && match x.loc {
                    Loc::SMode => x.state == HsmState::Started,
                    Loc::ParkWfi => x.state == HsmState::Stopped,
                    _ => false,
                }
        })
    }

    /// A terminal state where an idle S-mode hart would run its next
    /// instruction with a stale image.
    fn rest_violation(&self, w: &World) -> Option<&'static str> {
        (0..self.n)
            .filter(|&h| w.harts[h].loc == Loc::SMode)
            .find_map(|h| self.stale(w, h))
            .map(|_| "idle S-mode hart keeps an EPM open after measurement")
    }
}

// ---------------------------------------------------------------- explorer

/// FxHash: the states are small plain data, SipHash would dominate.
#[derive(Default)]
struct Fx(u64);

impl Fx {
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(u64::from(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn write_isize(&mut self, i: isize) {
        self.add(i as u64);
    }
}

/// A path from the initial state, one line per step.
struct Trace {
    what: &'static str,
    steps: Vec<String>,
}

impl Trace {
    fn render(&self) -> String {
        let mut s = format!("{} ({} steps):\n", self.what, self.steps.len());
        for (i, step) in self.steps.iter().enumerate() {
            let _ = writeln!(s, "  {:>3}. {step}", i + 1);
        }
        s
    }
}

struct Report {
    protocol: &'static str,
    scenario: &'static str,
    states: usize,
    transitions: usize,
    terminals: usize,
    depth: usize,
    /// Shortest path to a safety violation.
    violation: Option<Trace>,
    /// Shortest path to a non-terminal state without successors.
    deadlock: Option<Trace>,
    /// Shortest path to a state from which no terminal state is reachable.
    stuck: Option<Trace>,
}

impl Report {
    fn summary(&self) -> String {
        format!(
            "[{}] {:<42} {:>8} states {:>9} transitions {:>6} terminal  depth {:>3}  {}",
            self.protocol,
            self.scenario,
            self.states,
            self.transitions,
            self.terminals,
            self.depth,
            match (&self.violation, &self.deadlock, &self.stuck) {
                (None, None, None) => "ok".to_string(),
                (v, d, s) => format!(
                    "VIOLATION:{} DEADLOCK:{} STUCK:{}",
                    v.is_some(),
                    d.is_some(),
                    s.is_some()
                ),
            }
        )
    }

    fn assert_ok(&self) {
        if let Some(t) = [&self.violation, &self.deadlock, &self.stuck].into_iter().flatten().next()
        {
            panic!("[{}] {}: {}", self.protocol, self.scenario, t.render());
        }
        assert!(self.states > 0 && self.transitions > 0 && self.terminals > 0);
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// Breadth-first search over every interleaving, then a backward pass for
/// liveness.
fn explore(proto: &Protocol, scen: &Scenario) -> Report {
    let model = Model::new(proto, scen);
    let init = model.initial();
    let mut index: FxMap<World, u32> = FxMap::default();
    index.insert(init, 0);
    let mut worlds = vec![init];
    // How each state was first reached: (parent, hart, step).
    let mut parent: Vec<(u32, u8, What)> = vec![(u32::MAX, 0, What::Boot)];
    let mut depth: Vec<u16> = vec![0];
    let mut succ_start: Vec<u32> = Vec::new();
    let mut succ: Vec<u32> = Vec::new();
    let mut buf = Vec::new();
    let mut terminals = Vec::new();
    let (mut violation, mut deadlock) = (None, None);

    let trace = |parent: &[(u32, u8, What)], mut i: u32, last: Option<(u8, What)>, what| {
        let mut steps = Vec::new();
        if let Some((h, w)) = last {
            steps.push(format!("{}: {w}", NAMES[h as usize]));
        }
        while i != 0 {
            let (p, h, w) = parent[i as usize];
            steps.push(format!("{}: {w}", NAMES[h as usize]));
            i = p;
        }
        steps.reverse();
        Trace { what, steps }
    };

    let mut i = 0;
    while i < worlds.len() {
        let w = worlds[i];
        model.successors(&w, &mut buf);
        succ_start.push(succ.len() as u32);
        if buf.is_empty() {
            if model.is_final(&w) {
                terminals.push(i as u32);
                if let (None, Some(v)) = (&violation, model.rest_violation(&w)) {
                    violation = Some(trace(&parent, i as u32, None, v));
                }
            } else if deadlock.is_none() {
                deadlock = Some(trace(&parent, i as u32, None, "deadlock"));
            }
        }
        for s in buf.drain(..) {
            if let (None, Some(v)) = (&violation, s.violation) {
                violation = Some(trace(&parent, i as u32, Some((s.hart, s.what)), v));
            }
            let j = match index.entry(s.next) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => {
                    let j = worlds.len() as u32;
                    e.insert(j);
                    worlds.push(s.next);
                    parent.push((i as u32, s.hart, s.what));
                    depth.push(depth[i] + 1);
                    j
                }
            };
            succ.push(j);
        }
        i += 1;
    }
    succ_start.push(succ.len() as u32);
    drop(index);

    // Liveness: which states can still reach a terminal state.
    let states = worlds.len();
    let mut pred_start = vec![0u32; states + 1];
    for &j in &succ {
        pred_start[j as usize + 1] += 1;
    }
    for k in 0..states {
        pred_start[k + 1] += pred_start[k];
    }
    let mut fill = pred_start.clone();
    let mut pred = vec![0u32; succ.len()];
    for from in 0..states {
        for &j in &succ[succ_start[from] as usize..succ_start[from + 1] as usize] {
            pred[fill[j as usize] as usize] = from as u32;
            fill[j as usize] += 1;
        }
    }
    let mut live = vec![false; states];
    let mut stack = terminals.clone();
    for &t in &terminals {
        live[t as usize] = true;
    }
    while let Some(j) = stack.pop() {
        for &p in &pred[pred_start[j as usize] as usize..pred_start[j as usize + 1] as usize] {
            if !live[p as usize] {
                live[p as usize] = true;
                stack.push(p);
            }
        }
    }
    let stuck = live
        .iter()
        .position(|&l| !l)
        .map(|k| trace(&parent, k as u32, None, "no terminal state reachable (a wait never ends)"));

    Report {
        protocol: proto.name,
        scenario: scen.name,
        states,
        transitions: succ.len(),
        terminals: terminals.len(),
        depth: depth.iter().copied().max().unwrap_or(0) as usize,
        violation,
        deadlock,
        stuck,
    }
}

fn run(proto: &Protocol, scen: &Scenario) -> Report {
    let report = explore(proto, scen);
    println!("{}", report.summary());
    assert!(report.states > 0 && report.transitions > 0, "exploration did not run");
    report
}

/// Which kind of failure a broken protocol must show.
#[derive(Clone, Copy)]
enum Failure {
    Violation,
    Stuck,
}

/// Explores `scenarios` under a broken protocol; the shortest trace of
/// `failure` any of them shows (printed), or a panic if none does.
fn must_fail(proto: &Protocol, scenarios: &[&Scenario], failure: Failure) -> Trace {
    let mut best: Option<(&str, Trace)> = None;
    for scen in scenarios {
        let report = run(proto, scen);
        let found = match failure {
            Failure::Violation => report.violation,
            Failure::Stuck => report.stuck,
        };
        if let Some(t) = found {
            if best.as_ref().is_none_or(|(_, b)| t.steps.len() < b.steps.len()) {
                best = Some((scen.name, t));
            }
        }
    }
    let (scen, trace) = best.unwrap_or_else(|| panic!("[{}] found no failure", proto.name));
    println!("[{}] shortest counter-example, scenario {scen}: {}", proto.name, trace.render());
    trace
}

// ------------------------------------------------------------------- tests

/// The protocol the firmware implements: safe, deadlock-free and every
/// sender's wait ends, in every scenario.
#[test]
fn fixed_protocol_is_safe_and_live() {
    let (mut states, mut transitions) = (0, 0);
    for scen in ALL_SCENARIOS {
        let report = run(&FIXED, scen);
        report.assert_ok();
        states += report.states;
        transitions += report.transitions;
    }
    println!("[fixed] total: {states} states, {transitions} transitions");
}

/// Targets narrowed to STARTED | SUSPENDED (the firmware before 012d3a4):
/// still safe and live because the gate fences; without the gate's fence it
/// breaks, which is why the firmware now waits for every non-stopped hart.
#[test]
fn narrowed_targets_are_safe_only_with_the_gate_fence() {
    for scen in ALL_SCENARIOS {
        run(&NARROWED, scen).assert_ok();
    }
    let no_fence = Protocol {
        name: "narrowed, no gate fence",
        gate: &[GateStep::Store, GateStep::Poll, GateStep::Check],
        ..NARROWED
    };
    must_fail(&no_fence, &SMALL_SCENARIOS, Failure::Violation);
}

/// The old code (apply, then STARTED; IPIs only to STARTED | SUSPENDED) lets
/// B run S-mode with the new EPM open after A measured it.
#[test]
fn old_protocol_breaks_start_vs_create() {
    let trace = must_fail(&OLD, &[&START_VS_CREATE], Failure::Violation);
    assert!(trace.steps.iter().any(|s| s.contains("CREATE takes the regions")));
    assert!(trace.steps.last().is_some_and(|s| s == "B: S-mode instruction writes the EPM"));
}

/// The old parked loop with the new, wider target set: B is now waited
/// for, but its parked loop clears the CLINT bit and enters S-mode without
/// serving the sync, so A waits forever. The gate's Poll is what fixes it.
#[test]
fn old_park_path_with_wide_targets_hangs() {
    let proto = Protocol { name: "old+wide targets", target: sync_target, ..OLD };
    must_fail(&proto, &[&START_VS_CREATE], Failure::Stuck);
}

/// Without the gate's GEN re-check a hart that was STOPPED when the sender
/// scanned (so not waited for) enters S-mode with its old image.
#[test]
fn gate_recheck_is_needed_for_skipped_stopped_harts() {
    let proto = Protocol {
        name: "no re-check",
        gate: &[GateStep::Store, GateStep::Fence, GateStep::Poll],
        ..FIXED
    };
    must_fail(&proto, &SMALL_SCENARIOS, Failure::Violation);
}

/// The gate's fence (state store before GEN load). With the fixed target
/// set it is redundant: a hart reaching the gate is START_PENDING or
/// SUSPENDED, both waited for, so the sender never skips it whichever store
/// it sees. It becomes necessary as soon as the sender skips those states
/// (targets only STARTED), which is otherwise safe.
#[test]
fn gate_fence_mutations() {
    const NO_FENCE: &[GateStep] = &[GateStep::Store, GateStep::Poll, GateStep::Check];
    let no_fence = Protocol { name: "no gate fence", gate: NO_FENCE, ..FIXED };
    let started = Protocol { name: "STARTED-only targets", target: started_only, ..FIXED };
    let both = Protocol { name: "no fence+STARTED-only", target: started_only, ..no_fence };
    for scen in SMALL_SCENARIOS {
        run(&no_fence, scen).assert_ok();
        run(&started, scen).assert_ok();
    }
    must_fail(&both, &SMALL_SCENARIOS, Failure::Violation);
}

/// The sender's GEN bump must be visible before it loads the HSM states:
/// otherwise it can read B as STOPPED (skip it) while a third hart starts B,
/// whose gate then still reads the old GEN. With two harts the starter is
/// the sender itself and program order covers it.
#[test]
fn sender_must_order_gen_before_scan() {
    let proto = Protocol { name: "sender store buffer", sender_fence: false, ..FIXED };
    for scen in SMALL_SCENARIOS.iter().filter(|s| s.harts.len() == 2) {
        run(&proto, scen).assert_ok();
    }
    must_fail(&proto, &SMALL_SCENARIOS, Failure::Violation);
}

/// IPI plumbing: clear the CLINT bit before reading PENDING, and never
/// after the gate; otherwise a sync is lost and the sender waits forever.
#[test]
fn ipi_clear_order_matters_for_liveness() {
    let late = Protocol { name: "clear after gate", late_clear: true, ..FIXED };
    must_fail(&late, &SMALL_SCENARIOS, Failure::Stuck);
    let take_first = Protocol { name: "take before clear", take_before_clear: true, ..FIXED };
    must_fail(&take_first, &SMALL_SCENARIOS, Failure::Stuck);
}

/// CREATE returns to S-mode through an ordinary mret, not the gate: the
/// sender must apply the new image on itself.
#[test]
fn sender_must_sync_itself() {
    let proto = Protocol { name: "sender skips itself", skip_self: true, ..FIXED };
    let trace = must_fail(&proto, &SMALL_SCENARIOS, Failure::Violation);
    assert!(trace.steps.last().is_some_and(|s| s.starts_with("A: ")));
}

/// An SBI call that checks a host buffer and writes it from M-mode (no PMP
/// there) must not acknowledge a sync in between: the acknowledgement lets
/// CREATE measure, and the write lands in the measured EPM afterwards.
#[test]
fn no_acknowledgement_between_host_buffer_check_and_write() {
    let proto = Protocol { name: "ack inside SBI call", ack_inside_call: true, ..FIXED };
    let trace = must_fail(&proto, &[&HOST_WRITE_VS_CREATE], Failure::Violation);
    assert!(trace.steps.last().is_some_and(|s| s.ends_with("from M-mode")));
}

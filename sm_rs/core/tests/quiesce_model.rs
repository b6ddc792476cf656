//! Exhaustive model check of the protocol that holds every hart before a
//! system-wide action (SRST reboot/shutdown, a panic) scrubs enclave memory
//! and resets: `sm_core::quiesce`, as `sm_rs/src/quiesce.rs` and the HALT
//! event of `sm_rs/src/ipi.rs` run it.
//!
//! Three harts. Each step is one atomic step of the firmware or one
//! instruction of the lower modes: an enclave instruction (which may write
//! its secrets into its EPM), a host instruction, an SBI call that polls IPI
//! work inside the SM (not a safe point) and returns to the host or, through
//! RUN/RESUME, into an enclave, the machine software interrupt taken at a
//! safe point (the trap handler; the parked loop), a stopped hart started by
//! the host (its parked loop clears the interrupt, then its gate polls), the
//! hold loop, and every step of a requester (claim, one HALT post per hart,
//! each read of HELD, the scrub, the registry emptied, the reset). Two harts
//! may call SRST (so two requesters race); a timeout may end any wait.
//!
//! Checked in every state reachable by breadth-first search:
//! * safety: once a requester has started its scrub, no hart executes an
//!   S- or U-mode instruction (an enclave could write its secrets back);
//! * liveness (no timeouts): from every state in which a requester owns the
//!   machine, a reset is reachable: a hart that must answer always can.
//!
//! Each mutation of the protocol must break one of them: the SM before this
//! protocol (scrub without holding), a poll that takes a HALT out of the
//! software interrupt without raising it again, and a requester that frees
//! the machine without waiting for the held harts to leave.

use sm_core::quiesce::{decide, may_leave, must_hold, owner_word, required, Wait, FREE, RELEASING};
use std::collections::{HashMap, VecDeque};

const HARTS: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Req {
    /// Posting HALT to hart n next.
    Send(u8),
    /// Reading HELD until every other hart is held (or the time is up).
    Wait,
    /// Zeroing every live EPM.
    Scrub,
    /// Emptying the scrub registry.
    Empty,
    /// Gave up: OWNER = RELEASING, waiting for HELD to empty.
    ReleaseWait,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Loc {
    /// S-mode host code.
    Host,
    /// Enclave code (U/S inside the enclave).
    Enclave,
    /// Inside an SBI call in M-mode, going back to the enclave or the host.
    SmCall { to_enclave: bool },
    /// Stopped, in the parked loop.
    Parked,
    /// Started: the parked loop cleared the interrupt; the gate is next.
    StartGate,
    /// In the hold loop; back to the parked loop or the host when let go.
    Held { parked: bool },
    /// Read that it may leave; its HELD bit is cleared next.
    Leaving { parked: bool },
    /// A requester.
    Requester(Req),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Hart {
    loc: Loc,
    /// EV_HALT queued in PENDING.
    halt: bool,
    /// The machine software interrupt (CLINT msip).
    msip: bool,
    /// SRST calls this hart may still make.
    srst: u8,
    /// hart_start of this (stopped) hart the host may still make.
    starts: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct State {
    harts: [Hart; HARTS],
    owner: usize,
    held: usize,
    /// A requester started its scrub; `reset` when the machine went down.
    scrubbing: bool,
    reset: bool,
    /// An S/U instruction ran after the scrub started.
    violated: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Fixed,
    /// The SM at 7b20dcf: SRST scrubs without holding anyone.
    NoHold,
    /// A poll outside a safe point keeps HALT queued but clears msip.
    NoReraise,
    /// A requester that gives up frees OWNER at once.
    FreeWithoutWaiting,
}

struct Model {
    variant: Variant,
    timeouts: bool,
}

impl Model {
    fn initial(&self) -> State {
        let hart = |loc, srst, starts| Hart { loc, halt: false, msip: false, srst, starts };
        State {
            // Hart 0: the host, which may reboot; hart 1: an enclave whose host
            // may reboot too; hart 2: stopped, may be started into the host.
            harts: [hart(Loc::Host, 1, 0), hart(Loc::Enclave, 1, 0), hart(Loc::Parked, 0, 1)],
            owner: FREE,
            held: 0,
            scrubbing: false,
            reset: false,
            violated: false,
        }
    }

    fn lower_mode_step(&self, s: &mut State) {
        if s.scrubbing {
            s.violated = true;
        }
    }

    /// `ipi::process` at a safe point, then `quiesce::hold_here`.
    fn safe_point(&self, s: &mut State, h: usize, parked: bool) {
        s.harts[h].msip = false;
        let halt = std::mem::take(&mut s.harts[h].halt);
        s.harts[h].loc = if halt && must_hold(s.owner) {
            s.held |= 1 << h;
            Loc::Held { parked }
        } else if parked {
            Loc::Parked
        } else {
            Loc::Host
        };
    }

    /// `ipi::poll` / `poll_host` (not a safe point): HALT stays queued.
    fn poll(&self, s: &mut State, h: usize) {
        if s.harts[h].halt {
            s.harts[h].msip = self.variant != Variant::NoReraise;
        }
    }

    fn successors(&self, s: &State) -> Vec<State> {
        let mut out = Vec::new();
        if s.reset {
            return out;
        }
        for h in 0..HARTS {
            let hart = s.harts[h];
            let mut push = |f: &dyn Fn(&mut State)| {
                let mut n = *s;
                f(&mut n);
                out.push(n);
            };
            match hart.loc {
                Loc::Host | Loc::Enclave => {
                    // One more instruction (interrupt latency: even with msip).
                    push(&|n| self.lower_mode_step(n));
                    if hart.msip {
                        // The trap: an interrupted enclave is switched out first.
                        push(&|n| self.safe_point(n, h, false));
                    }
                    if hart.loc == Loc::Host {
                        push(&|n| n.harts[h].loc = Loc::SmCall { to_enclave: true });
                    }
                    push(&|n| n.harts[h].loc = Loc::SmCall { to_enclave: false });
                    if hart.srst > 0 && hart.loc == Loc::Host {
                        push(&|n| self.claim(n, h));
                    }
                }
                Loc::SmCall { to_enclave } => {
                    push(&|n| self.poll(n, h));
                    push(&|n| {
                        self.poll(n, h);
                        n.harts[h].loc = if to_enclave { Loc::Enclave } else { Loc::Host };
                    });
                }
                Loc::Parked => {
                    if hart.msip {
                        push(&|n| self.safe_point(n, h, true));
                    }
                    if hart.starts > 0 {
                        push(&|n| {
                            n.harts[h].starts -= 1;
                            n.harts[h].msip = false;
                            n.harts[h].loc = Loc::StartGate;
                        });
                    }
                }
                Loc::StartGate => push(&|n| {
                    self.poll(n, h);
                    n.harts[h].loc = Loc::Host;
                }),
                Loc::Held { parked } => {
                    if may_leave(s.owner) {
                        push(&|n| n.harts[h].loc = Loc::Leaving { parked });
                    }
                }
                Loc::Leaving { parked } => push(&|n| {
                    n.held &= !(1 << h);
                    n.harts[h].loc = if parked { Loc::Parked } else { Loc::Host };
                }),
                Loc::Requester(pc) => self.requester(s, h, pc, &mut out),
            }
        }
        out
    }

    /// SRST: claim OWNER, or be held like any other hart (`Refused::Busy`).
    fn claim(&self, n: &mut State, h: usize) {
        n.harts[h].srst -= 1;
        if n.owner == FREE {
            n.owner = owner_word(h);
            n.harts[h].loc = Loc::Requester(if self.variant == Variant::NoHold {
                Req::Scrub
            } else {
                Req::Send(0)
            });
        } else {
            n.held |= 1 << h;
            n.harts[h].loc = Loc::Held { parked: false };
        }
    }

    fn requester(&self, s: &State, h: usize, pc: Req, out: &mut Vec<State>) {
        let mut n = *s;
        let all = (1 << HARTS) - 1;
        let req = required(all, h);
        match pc {
            Req::Send(t) => {
                let t = t as usize;
                if t != h {
                    n.harts[t].halt = true;
                    n.harts[t].msip = true;
                }
                n.harts[h].loc =
                    Loc::Requester(if t + 1 == HARTS { Req::Wait } else { Req::Send(t as u8 + 1) });
                out.push(n);
            }
            Req::Wait => {
                // Time is abstract: before the deadline, or (timeouts) after it.
                match decide(s.held, req, 0, 1) {
                    Wait::Proceed => {
                        n.harts[h].loc = Loc::Requester(Req::Scrub);
                        out.push(n);
                    }
                    Wait::KeepWaiting | Wait::GiveUp => {}
                }
                if self.timeouts && decide(s.held, req, 1, 1) == Wait::GiveUp {
                    let mut g = *s;
                    if self.variant == Variant::FreeWithoutWaiting {
                        g.owner = FREE;
                        g.harts[h].loc = Loc::Host;
                    } else {
                        g.owner = RELEASING;
                        g.harts[h].loc = Loc::Requester(Req::ReleaseWait);
                    }
                    out.push(g);
                }
            }
            Req::Scrub => {
                n.scrubbing = true;
                n.harts[h].loc = Loc::Requester(Req::Empty);
                out.push(n);
            }
            Req::Empty => {
                n.reset = true;
                out.push(n);
            }
            Req::ReleaseWait => {
                if s.held == 0 {
                    n.owner = FREE;
                    n.harts[h].loc = Loc::Host;
                    out.push(n);
                }
            }
        }
    }
}

struct Report {
    states: usize,
    transitions: usize,
    unsafe_state: Option<State>,
    stuck: usize,
}

fn check(variant: Variant, timeouts: bool) -> Report {
    let model = Model { variant, timeouts };
    let init = model.initial();
    let mut index: HashMap<State, usize> = HashMap::new();
    let mut states = vec![init];
    let mut edges: Vec<Vec<usize>> = vec![Vec::new()];
    index.insert(init, 0);
    let mut queue = VecDeque::from([0usize]);
    let mut transitions = 0;
    let mut unsafe_state = None;
    while let Some(i) = queue.pop_front() {
        let s = states[i];
        if s.violated && unsafe_state.is_none() {
            unsafe_state = Some(s);
        }
        for n in model.successors(&s) {
            transitions += 1;
            let j = *index.entry(n).or_insert_with(|| {
                states.push(n);
                edges.push(Vec::new());
                queue.push_back(states.len() - 1);
                states.len() - 1
            });
            edges[i].push(j);
        }
    }
    // Liveness: from every state whose machine is owned, a reset is reachable.
    let mut reverse: Vec<Vec<usize>> = vec![Vec::new(); states.len()];
    for (i, next) in edges.iter().enumerate() {
        for &j in next {
            reverse[j].push(i);
        }
    }
    let mut reaches = vec![false; states.len()];
    let mut work: VecDeque<usize> = (0..states.len()).filter(|&i| states[i].reset).collect();
    for &i in &work {
        reaches[i] = true;
    }
    while let Some(j) = work.pop_front() {
        for &i in &reverse[j] {
            if !reaches[i] {
                reaches[i] = true;
                work.push_back(i);
            }
        }
    }
    let stuck = (0..states.len()).filter(|&i| must_hold(states[i].owner) && !reaches[i]).count();
    let r = Report { states: states.len(), transitions, unsafe_state, stuck };
    println!(
        "{variant:?} (timeouts {timeouts}): {} states, {} transitions, unsafe {}, owned states that cannot reach a reset {}",
        r.states,
        r.transitions,
        r.unsafe_state.is_some(),
        r.stuck
    );
    r
}

#[test]
fn the_protocol_lets_no_hart_run_after_the_scrub_starts() {
    let r = check(Variant::Fixed, true);
    assert!(r.unsafe_state.is_none(), "{:?}", r.unsafe_state);
    assert!(r.states > 100, "{} states: the model explores too little", r.states);
}

#[test]
fn without_timeouts_every_owned_machine_can_reset() {
    let r = check(Variant::Fixed, false);
    assert!(r.unsafe_state.is_none(), "{:?}", r.unsafe_state);
    assert_eq!(r.stuck, 0);
}

#[test]
fn the_old_srst_lets_an_enclave_write_after_the_scrub() {
    let r = check(Variant::NoHold, false);
    assert!(r.unsafe_state.is_some());
}

#[test]
fn a_poll_that_drops_the_interrupt_leaves_the_requester_waiting() {
    let r = check(Variant::NoReraise, false);
    assert!(r.stuck > 0);
}

#[test]
fn freeing_the_machine_before_the_held_harts_leave_is_unsafe() {
    let r = check(Variant::FreeWithoutWaiting, true);
    assert!(r.unsafe_state.is_some());
}

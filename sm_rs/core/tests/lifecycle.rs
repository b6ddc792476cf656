//! CREATE's and DESTROY's order and CREATE's rollback (`sm_core::lifecycle`),
//! run against a fake firmware: the real PMP policy and enclave state
//! machine, a list for the reset-scrub registry, and a log of every step.
//! Each step checks on the spot what must already hold when it runs.

use proptest::prelude::*;
use sm_core::create_args::EnclaveLayout;
use sm_core::enclave_state::{Life, State};
use sm_core::error::SmError;
use sm_core::lifecycle::{self, Steps};
use sm_core::pmp::Range;
use sm_core::pmp_alloc::PmpError;
use sm_core::pmp_policy::PmpPolicy;

const SLOTS: usize = keystone_abi::sm::ENCLAVES_MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    layout: EnclaveLayout,
    life: Life,
    measured: bool,
    /// Its EPM is in the reset-scrub registry.
    registered: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ev {
    Reserve(usize),
    Free(usize),
    Take(usize),
    Release(usize),
    Register,
    Unregister,
    ZeroUtm,
    Seal(usize),
    BeginDestroy(usize),
    ZeroEpm,
}

/// What the SM holds, for before/after comparisons.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Held {
    slots: [Option<Slot>; SLOTS],
    policy: PmpPolicy,
    scrub: Vec<Range>,
}

struct Fake {
    held: Held,
    /// EPMs zeroed by DESTROY and not handed back yet.
    zeroed: Vec<Range>,
    log: Vec<Ev>,
    /// Slots the table has (the real one has ENCLAVES_MAX).
    capacity: usize,
    /// The reset-scrub registry refuses the next registration.
    scrub_full: bool,
}

impl Fake {
    fn new() -> Self {
        let mut policy = PmpPolicy::new();
        policy.init(Some(0x10_0000), Range { base: 0x200_0000, size: 0x1_0000 }).unwrap();
        Fake {
            held: Held { slots: [None; SLOTS], policy, scrub: Vec::new() },
            zeroed: Vec::new(),
            log: Vec::new(),
            capacity: SLOTS,
            scrub_full: false,
        }
    }

    fn slot(&self, eid: usize) -> &Slot {
        self.held.slots[eid].as_ref().expect("the step names a live slot")
    }

    /// RUN: the enclave goes onto a hart.
    fn run(&mut self, eid: usize) -> Result<(), SmError> {
        let slot =
            self.held.slots.get_mut(eid).and_then(Option::as_mut).ok_or(SmError::InvalidId)?;
        slot.life.enter(true)
    }

    /// The one slot with EPM `epm` in `state` (the step's enclave).
    fn eid_in_state(&self, epm: Range, state: State) -> usize {
        let mut found = (0..SLOTS).filter(|&e| {
            self.held.slots[e].is_some_and(|s| s.layout.epm == epm && s.life.state() == state)
        });
        let eid = found.next().expect("a slot for the step");
        assert!(found.next().is_none(), "two slots for one step");
        eid
    }

    fn in_state(&mut self, epm: Range, state: State) -> &mut Slot {
        let eid = self.eid_in_state(epm, state);
        self.held.slots[eid].as_mut().unwrap()
    }

    /// The EPM is closed to S/U on every hart: the policy holds it for `eid`.
    fn epm_closed(&self, eid: usize) -> bool {
        let Some(regions) = self.held.policy.enclave(eid) else { return false };
        let v = self.held.policy.allocator().region(regions.epm).unwrap();
        Range { base: v.base, size: v.size } == self.slot(eid).layout.epm
    }
}

impl Steps for Fake {
    fn reserve(&mut self, layout: &EnclaveLayout) -> Result<usize, SmError> {
        let eid = self.held.slots[..self.capacity]
            .iter()
            .position(Option::is_none)
            .ok_or(SmError::NoFreeResource)?;
        self.held.slots[eid] = Some(Slot {
            layout: *layout,
            life: Life::allocated(),
            measured: false,
            registered: false,
        });
        self.log.push(Ev::Reserve(eid));
        Ok(eid)
    }

    fn free(&mut self, eid: usize) {
        self.log.push(Ev::Free(eid));
        assert!(self.held.policy.enclave(eid).is_none(), "eid {eid} freed with its regions held");
        assert!(!self.slot(eid).registered, "eid {eid} freed with its EPM still registered");
        self.held.slots[eid] = None;
    }

    fn take_regions(&mut self, eid: usize, epm: Range, utm: Range) -> Result<(), PmpError> {
        self.log.push(Ev::Take(eid));
        assert_eq!(self.slot(eid).life.state(), State::Allocated);
        self.held.policy.take_enclave(eid, epm, utm)
    }

    fn release_regions(&mut self, eid: usize) {
        self.log.push(Ev::Release(eid));
        let slot = *self.slot(eid);
        if slot.life.state() == State::Destroying {
            assert!(self.zeroed.contains(&slot.layout.epm), "EPM opened before it was zeroed");
        }
        assert!(self.held.policy.release_enclave(eid).is_some(), "eid {eid} held no regions");
        self.zeroed.retain(|r| *r != slot.layout.epm);
    }

    fn register_scrub(&mut self, epm: Range) -> bool {
        self.log.push(Ev::Register);
        if std::mem::take(&mut self.scrub_full) {
            return false;
        }
        self.held.scrub.push(epm);
        self.in_state(epm, State::Allocated).registered = true;
        true
    }

    fn unregister_scrub(&mut self, epm: Range) {
        self.log.push(Ev::Unregister);
        assert!(self.zeroed.contains(&epm), "EPM left the reset scrub before it was zeroed");
        self.held.scrub.retain(|r| *r != epm);
        self.in_state(epm, State::Destroying).registered = false;
    }

    fn zero_utm(&mut self, _utm: Range) {
        self.log.push(Ev::ZeroUtm);
    }

    fn seal(&mut self, eid: usize, layout: &EnclaveLayout) {
        self.log.push(Ev::Seal(eid));
        assert_eq!(self.slot(eid).layout, *layout);
        assert!(self.epm_closed(eid), "measured with the EPM open to the host");
        assert!(self.slot(eid).registered, "runnable before the reset scrub knows it");
        let slot = self.held.slots[eid].as_mut().unwrap();
        slot.measured = true;
        slot.life.created();
    }

    fn begin_destroy(&mut self, eid: usize) -> Result<EnclaveLayout, SmError> {
        self.log.push(Ev::BeginDestroy(eid));
        let slot =
            self.held.slots.get_mut(eid).and_then(Option::as_mut).ok_or(SmError::InvalidId)?;
        slot.life.destroy()?;
        Ok(slot.layout)
    }

    fn zero_epm(&mut self, epm: Range) {
        self.log.push(Ev::ZeroEpm);
        let eid = self.eid_in_state(epm, State::Destroying);
        assert!(self.epm_closed(eid), "EPM zeroed while the host could watch");
        assert!(self.slot(eid).registered, "EPM zeroed outside the reset scrub's cover");
        self.zeroed.push(epm);
    }
}

fn layout(epm: Range, utm: Range) -> EnclaveLayout {
    EnclaveLayout {
        epm,
        utm,
        runtime: epm.base + 0x1000,
        user: epm.base + 0x2000,
        free: epm.base + 0x3000,
        free_requested: 0,
    }
}

fn nth(i: usize) -> EnclaveLayout {
    layout(
        Range { base: 0x9000_0000 + i * 0x10_0000, size: 0x10_0000 },
        Range { base: 0xa000_0000 + i * 0x1_0000, size: 0x1_0000 },
    )
}

#[test]
fn create_then_destroy_runs_every_step_in_order_and_leaves_nothing() {
    let mut m = Fake::new();
    let before = m.held.clone();
    let eid = lifecycle::create(&mut m, &nth(0)).unwrap();
    assert_eq!(eid, 0);
    assert_eq!(m.log, [Ev::Reserve(0), Ev::Take(0), Ev::Register, Ev::ZeroUtm, Ev::Seal(0)]);
    assert_eq!(m.slot(0).life.state(), State::Fresh);
    m.log.clear();
    lifecycle::destroy(&mut m, eid).unwrap();
    assert_eq!(
        m.log,
        [Ev::BeginDestroy(0), Ev::ZeroEpm, Ev::Unregister, Ev::Release(0), Ev::Free(0)]
    );
    assert_eq!(m.held, before);
}

#[test]
fn a_pmp_refusal_gives_the_slot_back() {
    let mut m = Fake::new();
    lifecycle::create(&mut m, &nth(0)).unwrap();
    let before = m.held.clone();
    m.log.clear();
    // The new EPM lies inside enclave 0's.
    let clash = layout(Range { base: 0x9000_0000, size: 0x1000 }, nth(1).utm);
    assert_eq!(lifecycle::create(&mut m, &clash), Err(SmError::RegionOverlaps));
    assert_eq!(m.log, [Ev::Reserve(1), Ev::Take(1), Ev::Free(1)]);
    assert_eq!(m.held, before);
}

#[test]
fn a_full_scrub_registry_gives_the_regions_and_then_the_slot_back() {
    let mut m = Fake::new();
    let before = m.held.clone();
    m.scrub_full = true;
    assert_eq!(lifecycle::create(&mut m, &nth(0)), Err(SmError::NoFreeResource));
    assert_eq!(m.log, [Ev::Reserve(0), Ev::Take(0), Ev::Register, Ev::Release(0), Ev::Free(0)]);
    assert_eq!(m.held, before);
    assert_eq!(lifecycle::create(&mut m, &nth(0)), Ok(0), "and the next CREATE succeeds");
}

#[test]
fn a_full_table_refuses_before_anything_is_taken() {
    let mut m = Fake::new();
    m.capacity = 0;
    assert_eq!(lifecycle::create(&mut m, &nth(0)), Err(SmError::NoFreeResource));
    assert_eq!(m.log, []);
}

#[test]
fn six_enclaves_fit_the_pmp_and_the_seventh_changes_nothing() {
    // The conformance suite's "6 enclaves can be alive at once", on the host.
    let mut m = Fake::new();
    for i in 0..6 {
        assert_eq!(lifecycle::create(&mut m, &nth(i)), Ok(i));
    }
    let before = m.held.clone();
    assert_eq!(lifecycle::create(&mut m, &nth(6)), Err(SmError::Pmp(PmpError::MaxReached)));
    assert_eq!(m.held, before);
    lifecycle::destroy(&mut m, 2).unwrap();
    assert_eq!(lifecycle::create(&mut m, &nth(6)), Ok(2), "a destroyed eid is reused");
}

#[test]
fn destroy_refuses_a_running_or_unknown_enclave_and_changes_nothing() {
    let mut m = Fake::new();
    lifecycle::create(&mut m, &nth(0)).unwrap();
    m.run(0).unwrap();
    let before = m.held.clone();
    m.log.clear();
    assert_eq!(lifecycle::destroy(&mut m, 0), Err(SmError::NotDestroyable));
    assert_eq!(lifecycle::destroy(&mut m, 1), Err(SmError::InvalidId));
    assert_eq!(lifecycle::destroy(&mut m, SLOTS), Err(SmError::InvalidId));
    assert_eq!(m.log, [Ev::BeginDestroy(0), Ev::BeginDestroy(1), Ev::BeginDestroy(SLOTS)]);
    assert_eq!(m.held, before);
}

#[derive(Clone, Debug)]
enum Op {
    Create { epm_mib: usize, epm_pages: usize, utm_page: usize, scrub_full: bool },
    Run(usize),
    Destroy(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..8usize, 1..4usize, 0..8usize, prop::bool::weighted(0.1)).prop_map(
            |(epm_mib, epm_pages, utm_page, scrub_full)| Op::Create {
                epm_mib,
                epm_pages,
                utm_page,
                scrub_full
            }
        ),
        (0..8usize).prop_map(Op::Run),
        (0..8usize).prop_map(Op::Destroy),
    ]
}

proptest! {
    /// Any history of CREATE (some refused by PMP or the scrub registry),
    /// RUN and DESTROY passes every step's check, a refused call changes
    /// nothing, and destroying every enclave leaves what boot left.
    #[test]
    fn every_history_keeps_the_order_and_cleans_up(ops in prop::collection::vec(op(), 1..40)) {
        let mut m = Fake::new();
        let boot = m.held.clone();
        for op in ops {
            let before = m.held.clone();
            match op {
                Op::Create { epm_mib, epm_pages, utm_page, scrub_full } => {
                    m.scrub_full = scrub_full;
                    let l = layout(
                        Range { base: 0x9000_0000 + epm_mib * 0x10_0000, size: epm_pages * 0x1000 },
                        Range { base: 0xa000_0000 + utm_page * 0x1000, size: 0x1000 },
                    );
                    if lifecycle::create(&mut m, &l).is_err() {
                        prop_assert_eq!(&m.held, &before);
                    }
                    m.scrub_full = false;
                }
                Op::Run(eid) => {
                    let _ = m.run(eid);
                }
                Op::Destroy(eid) => {
                    if lifecycle::destroy(&mut m, eid).is_err() {
                        prop_assert_eq!(&m.held, &before);
                    }
                }
            }
        }
        // Stop what runs, then destroy everything.
        for slot in m.held.slots.iter_mut().flatten() {
            let _ = slot.life.stop();
        }
        for eid in 0..SLOTS {
            if m.held.slots[eid].is_some() {
                lifecycle::destroy(&mut m, eid).unwrap();
            }
        }
        prop_assert_eq!(&m.held, &boot);
        prop_assert!(m.zeroed.is_empty());
    }
}

//! The machine-wide PMP policy (`sm_core::pmp_policy`), checked on a
//! simulated hart: the host image and each enclave's switch views are
//! written into a model of the PMP registers, and S-mode accesses are then
//! matched the way the privileged spec matches them (lowest entry wins).

use proptest::prelude::*;
use sm_core::pmp::{napot_decode, Range, NAPOT_ALL, R, W, X};
use sm_core::pmp_alloc::{Entry, PmpError, MAX_REGIONS, N_REG};
use sm_core::pmp_policy::{BootRegion, EnclaveRegions, PmpPolicy};
use sm_core::pmp_view::PmpView;

const RWX: u8 = R | W | X;
const SM: usize = 0x8000_0000;
const RESET: usize = 0x10_0000;
const CLINT: Range = Range { base: 0x200_0000, size: 0x1_0000 };
const DRAM_END: usize = 0x1_0000_0000;

/// A hart's PMP registers, as the hardware holds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Hart {
    addr: [usize; N_REG],
    /// pmpcfg0 and pmpcfg2 (RV64).
    cfg: [usize; 2],
}

impl Hart {
    /// The host image, as `pmp_global::apply_host` writes it: clear all, then every entry.
    fn host(p: &PmpPolicy) -> Self {
        let mut h = Hart { addr: [0; N_REG], cfg: [0; 2] };
        for e in p.host_entries() {
            h.write(e);
        }
        h
    }

    fn write(&mut self, e: Entry) {
        self.addr[e.index] = e.addr;
        let (reg, shift) = (e.index / 8, (e.index % 8) * 8);
        self.cfg[reg] = (self.cfg[reg] & !(0xff << shift)) | ((e.cfg as usize) << shift);
    }

    /// What `sm_hal::arch::pmp::apply_view` writes.
    fn apply(&mut self, v: &PmpView) {
        for &(index, addr) in &v.addrs[..v.len] {
            self.addr[index] = addr;
        }
        self.cfg = [v.cfg(0, self.cfg[0]), v.cfg(1, self.cfg[1])];
    }

    fn cfg_of(&self, i: usize) -> u8 {
        (self.cfg[i / 8] >> ((i % 8) * 8)) as u8
    }

    /// The R/W/X an S-mode access to byte `pa` gets (no matching entry: none).
    fn perm(&self, pa: usize) -> u8 {
        for i in 0..N_REG {
            let cfg = self.cfg_of(i);
            let hit = match (cfg >> 3) & 3 {
                1 => {
                    let lo = if i == 0 { 0 } else { self.addr[i - 1] << 2 };
                    lo <= pa && pa < self.addr[i] << 2
                }
                3 if self.addr[i] == NAPOT_ALL => true,
                3 => {
                    let r = napot_decode(self.addr[i]);
                    r.base <= pa && pa - r.base < r.size
                }
                _ => false,
            };
            if hit {
                return cfg & RWX;
            }
        }
        0
    }

    /// The permission every byte of `r` gets, checked at its ends and middle.
    fn perm_of(&self, r: Range) -> u8 {
        let points = [r.base, r.base + r.size / 2, r.end() - 1];
        let perms = points.map(|pa| self.perm(pa));
        assert!(perms.iter().all(|&p| p == perms[0]), "{r:x?} is not uniform: {perms:?}");
        perms[0]
    }
}

fn booted() -> PmpPolicy {
    let mut p = PmpPolicy::new();
    p.init(Some(RESET), CLINT).expect("boot regions fit");
    p
}

fn r(base: usize, size: usize) -> Range {
    Range::new(base, size).unwrap()
}

const SM_RANGE: Range = Range { base: SM, size: 0x20_0000 };
const RESET_RANGE: Range = Range { base: RESET, size: 0x1000 };

#[test]
fn host_image_closes_the_sm_and_its_devices_and_opens_the_rest() {
    let h = Hart::host(&booted());
    assert_eq!(h.perm_of(SM_RANGE), 0);
    assert_eq!(h.perm_of(RESET_RANGE), 0);
    assert_eq!(h.perm_of(CLINT), 0);
    assert_eq!(h.perm_of(r(0x8020_0000, 0x1000_0000)), RWX);
    assert_eq!(h.perm(0x1000_0000), RWX, "the UART is the host's");
}

#[test]
fn init_without_a_reset_device_defines_three_regions() {
    let mut p = PmpPolicy::new();
    p.init(None, CLINT).unwrap();
    assert_eq!(p.allocator().regions().count(), 3);
    assert_eq!(Hart::host(&p).perm(RESET), RWX);
}

#[test]
fn init_names_the_region_that_did_not_fit() {
    let mut p = PmpPolicy::new();
    assert_eq!(p.init(None, r(0x200_0001, 0x1000)), Err(BootRegion::Clint));
}

#[test]
fn an_enclaves_epm_is_closed_to_the_host_and_its_utm_stays_open() {
    let mut p = booted();
    let (epm, utm) = (r(0x8400_0000, 0x20_0000), r(0x8800_0000, 0x4000));
    p.take_enclave(3, epm, utm).unwrap();
    let h = Hart::host(&p);
    assert_eq!(h.perm_of(epm), 0);
    assert_eq!(h.perm_of(utm), RWX);
    assert!(p.overlaps_enclave(&r(0x841f_f000, 0x2000)));
    assert!(p.overlaps_enclave(&utm));
    assert!(!p.overlaps_enclave(&r(0x8440_0000, 0x1000)));
}

#[test]
fn the_enter_view_gives_the_enclave_its_epm_and_utm_and_nothing_else() {
    let mut p = booted();
    let (epm, utm) = (r(0x8400_0000, 0x20_0000), r(0x8800_0000, 0x4000));
    let (other_epm, other_utm) = (r(0x8600_0000, 0x10_0000), r(0x8801_0000, 0x1000));
    p.take_enclave(0, epm, utm).unwrap();
    p.take_enclave(1, other_epm, other_utm).unwrap();
    let host = Hart::host(&p);
    let views = p.enclave_views(0).unwrap();
    let mut h = host;
    h.apply(&views.enter);
    assert_eq!(h.perm_of(epm), RWX);
    assert_eq!(h.perm_of(utm), RWX);
    for closed in [SM_RANGE, RESET_RANGE, CLINT, other_epm, other_utm] {
        assert_eq!(h.perm_of(closed), 0, "{closed:x?}");
    }
    assert_eq!(h.perm(0x8020_0000), 0, "host DRAM");
    assert_eq!(h.perm(DRAM_END - 1), 0, "host DRAM");
    h.apply(&views.leave);
    assert_eq!(h, host, "leave restores the host image register for register");
}

#[test]
fn a_tor_epm_gets_a_working_view_too() {
    let mut p = booted();
    // Three pages: no power of two, so TOR over two registers.
    let (epm, utm) = (r(0x8400_0000, 0x3000), r(0x8800_0000, 0x1000));
    p.take_enclave(2, epm, utm).unwrap();
    let host = Hart::host(&p);
    assert_eq!(host.perm_of(epm), 0);
    let mut h = host;
    h.apply(&p.enclave_views(2).unwrap().enter);
    assert_eq!(h.perm_of(epm), RWX);
    assert_eq!(h.perm(epm.end()), 0);
    assert_eq!(h.perm(epm.base - 1), 0);
    h.apply(&p.enclave_views(2).unwrap().leave);
    assert_eq!(h, host);
}

#[test]
fn a_failed_take_changes_nothing() {
    let mut p = booted();
    p.take_enclave(0, r(0x8400_0000, 0x20_0000), r(0x8800_0000, 0x4000)).unwrap();
    let before = p;
    // UTM of three pages: no NAPOT, and the bottom register takes only NAPOT.
    // The EPM was defined first and must be given back.
    assert_eq!(
        p.take_enclave(1, r(0x8600_0000, 0x1000), r(0x8900_0000, 0x3000)),
        Err(PmpError::ImpossibleTor)
    );
    assert_eq!(p, before);
    assert_eq!(
        p.take_enclave(1, r(0x8410_0000, 0x1000), r(0x8900_0000, 0x1000)),
        Err(PmpError::Overlap),
        "EPM inside another enclave's EPM"
    );
    assert_eq!(
        p.take_enclave(1, r(0x8600_0000, 0x1000), r(0x8800_2000, 0x1000)),
        Err(PmpError::Overlap),
        "UTM inside another enclave's UTM"
    );
    assert_eq!(
        p.take_enclave(1, r(0x8600_0800, 0x1000), r(0x8900_0000, 0x1000)),
        Err(PmpError::NotPageGranularity)
    );
    assert_eq!(p.take_enclave(1, SM_RANGE, r(0x8900_0000, 0x1000)), Err(PmpError::Overlap));
    assert_eq!(p, before);
}

#[test]
fn an_eid_holds_one_pair_and_only_known_eids_hold_any() {
    let mut p = booted();
    p.take_enclave(0, r(0x8400_0000, 0x1000), r(0x8800_0000, 0x1000)).unwrap();
    let before = p;
    let again = p.take_enclave(0, r(0x8500_0000, 0x1000), r(0x8900_0000, 0x1000));
    assert_eq!(again, Err(PmpError::Invalid));
    let beyond = keystone_abi::sm::ENCLAVES_MAX;
    let out = p.take_enclave(beyond, r(0x8500_0000, 0x1000), r(0x8900_0000, 0x1000));
    assert_eq!(out, Err(PmpError::MaxReached));
    assert_eq!(p, before);
    assert_eq!(p.release_enclave(1), None);
    assert_eq!(p.release_enclave(beyond), None);
    assert_eq!(p.enclave_views(1), None);
    assert_eq!(p, before);
}

#[test]
fn release_gives_back_exactly_what_take_took() {
    let mut p = booted();
    let before = p;
    p.take_enclave(5, r(0x8400_0000, 0x20_0000), r(0x8800_0000, 0x4000)).unwrap();
    let held = p.enclave(5).unwrap();
    assert_eq!(p.release_enclave(5), Some(held));
    assert_eq!(p, before);
    assert_eq!(p.release_enclave(5), None);
    assert_eq!(Hart::host(&p), Hart::host(&before));
}

#[test]
fn registers_run_out_as_max_reached_not_a_panic() {
    let mut p = booted();
    // Four boot regions; each enclave takes two region slots (EPM, UTM) and
    // one register (its EPM; the UTMs share the bottom one).
    let mut taken = 0;
    let mut last = Ok(());
    for eid in 0..keystone_abi::sm::ENCLAVES_MAX {
        let base = 0x9000_0000 + eid * 0x10_0000;
        last = p.take_enclave(eid, r(base, 0x1000), r(base + 0x8_0000, 0x1000));
        if last.is_err() {
            break;
        }
        taken += 1;
    }
    let fit = ((MAX_REGIONS - 4) / 2).min(N_REG - 4).min(keystone_abi::sm::ENCLAVES_MAX);
    assert_eq!(taken, fit);
    if taken < keystone_abi::sm::ENCLAVES_MAX {
        assert_eq!(last, Err(PmpError::MaxReached));
    }
}

/// One step of a random CREATE/DESTROY history.
#[derive(Clone, Debug)]
enum Step {
    Take { eid: usize, epm_page: usize, epm_pages: usize, utm_page: usize, utm_order: u32 },
    Release { eid: usize },
}

fn step() -> impl Strategy<Value = Step> {
    let eids = 0..keystone_abi::sm::ENCLAVES_MAX + 1;
    prop_oneof![
        (eids.clone(), 0..64usize, 1..5usize, 0..64usize, 0..3u32).prop_map(
            |(eid, epm_page, epm_pages, utm_page, utm_order)| Step::Take {
                eid,
                epm_page,
                epm_pages,
                utm_page,
                utm_order
            }
        ),
        eids.prop_map(|eid| Step::Release { eid }),
    ]
}

proptest! {
    /// Whatever CREATE/DESTROY history ran: the host image never opens a live
    /// EPM, each live enclave's enter view opens its own EPM and UTM and no
    /// other enclave's, and its leave view restores the host image exactly.
    #[test]
    fn every_history_keeps_enclaves_apart(steps in prop::collection::vec(step(), 1..24)) {
        let mut p = booted();
        for s in steps {
            match s {
                Step::Take { eid, epm_page, epm_pages, utm_page, utm_order } => {
                    let epm = r(0x9000_0000 + epm_page * 0x1000, epm_pages * 0x1000);
                    let utm_size = 0x1000 << utm_order;
                    let utm = r(0xa000_0000 + utm_page * utm_size, utm_size);
                    let before = p;
                    if p.take_enclave(eid, epm, utm).is_err() {
                        prop_assert_eq!(p, before);
                    }
                }
                Step::Release { eid } => {
                    p.release_enclave(eid);
                }
            }
            let host = Hart::host(&p);
            let live: Vec<(usize, EnclaveRegions)> = (0..keystone_abi::sm::ENCLAVES_MAX)
                .filter_map(|eid| p.enclave(eid).map(|r| (eid, r)))
                .collect();
            let range = |id| {
                let v = p.allocator().region(id).unwrap();
                r(v.base, v.size)
            };
            for &(_, regions) in &live {
                prop_assert_eq!(host.perm_of(range(regions.epm)), 0);
            }
            for &(eid, mine) in &live {
                let views = p.enclave_views(eid).unwrap();
                let mut h = host;
                h.apply(&views.enter);
                prop_assert_eq!(h.perm_of(range(mine.epm)), RWX);
                prop_assert_eq!(h.perm_of(range(mine.utm)), RWX);
                prop_assert_eq!(h.perm_of(SM_RANGE), 0);
                prop_assert_eq!(h.perm_of(CLINT), 0);
                for &(other, theirs) in &live {
                    if other != eid {
                        prop_assert_eq!(h.perm_of(range(theirs.epm)), 0);
                        prop_assert_eq!(h.perm_of(range(theirs.utm)), 0);
                    }
                }
                h.apply(&views.leave);
                prop_assert_eq!(h, host);
            }
        }
    }
}

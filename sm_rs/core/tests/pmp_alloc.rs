//! The PMP allocator: register choice, refusals, bookkeeping and hardware writes.

use sm_core::pmp::{A_NAPOT, A_TOR, R, W, X};
use sm_core::pmp_alloc::{
    Entry, Mode, PmpAllocator, PmpError, Priority, RegionId, MAX_REGIONS, N_REG,
};

const SM_BASE: usize = 0x8000_0000;
const SM_SIZE: usize = 0x20_0000;
const RWX: u8 = R | W | X;

/// The allocator as the SM leaves it at boot: SM at the top, OS (all memory) at the bottom.
fn booted() -> (PmpAllocator, RegionId, RegionId) {
    let mut a = PmpAllocator::new();
    let sm = a.define(SM_BASE, SM_SIZE, Priority::Top, false).unwrap();
    let os = a.define(0, usize::MAX, Priority::Bottom, true).unwrap();
    (a, sm, os)
}

#[test]
fn sm_region_at_top_gets_register_0_napot() {
    let (a, sm, _) = booted();
    let v = a.region(sm).unwrap();
    assert_eq!(
        (v.base, v.size, v.mode, v.reg_idx, v.reg_count),
        (SM_BASE, SM_SIZE, Mode::Napot, 0, 1)
    );
    assert_eq!(
        a.entries(sm, 0).unwrap(),
        [Some(Entry { index: 0, addr: 0x2003_ffff, cfg: A_NAPOT }), None]
    );
}

#[test]
fn os_all_memory_at_bottom_gets_last_register_with_all_ones_address() {
    let (a, _, os) = booted();
    let v = a.region(os).unwrap();
    assert_eq!((v.mode, v.reg_idx), (Mode::Napot, N_REG - 1));
    assert_eq!(
        a.entries(os, RWX).unwrap(),
        [Some(Entry { index: 15, addr: usize::MAX, cfg: 0x1f }), None]
    );
    assert_eq!(a.reg_bitmap(), 0x8001);
}

#[test]
fn any_picks_lowest_free_register() {
    let (mut a, _, _) = booted();
    let first = a.define(0x8040_0000, 0x4000, Priority::Any, false).unwrap();
    let second = a.define(0x8080_0000, 0x1000, Priority::Any, false).unwrap();
    assert_eq!(a.region(first).unwrap().reg_idx, 1);
    assert_eq!(a.region(second).unwrap().reg_idx, 2);
    a.free(first).unwrap();
    let third = a.define(0x80c0_0000, 0x1000, Priority::Any, false).unwrap();
    assert_eq!(a.region(third).unwrap().reg_idx, 1);
}

#[test]
fn tor_takes_an_adjacent_pair_and_its_first_entry_is_off() {
    let (mut a, _, _) = booted();
    let one = a.define(0x8040_0000, 0x1000, Priority::Any, false).unwrap(); // register 1
    let tor = a.define(0x8050_0000, 0x3000, Priority::Any, false).unwrap();
    let v = a.region(tor).unwrap();
    assert_eq!((v.mode, v.reg_idx, v.reg_count), (Mode::Tor, 2, 2));
    assert_eq!(a.reg_bitmap(), 0x800f);
    assert_eq!(
        a.entries(tor, RWX).unwrap(),
        [
            Some(Entry { index: 2, addr: 0x2014_0000, cfg: 0 }),
            Some(Entry { index: 3, addr: 0x2014_0c00, cfg: A_TOR | RWX }),
        ]
    );
    a.free(one).unwrap();
    // A lone free register 1 cannot hold a pair: the next TOR goes to 4 and 5.
    let next = a.define(0x8060_0000, 0x3000, Priority::Any, false).unwrap();
    assert_eq!(a.region(next).unwrap().reg_idx, 4);
}

#[test]
fn tor_not_at_a_power_of_two_alignment_even_with_power_of_two_size() {
    let (mut a, _, _) = booted();
    let id = a.define(0x8040_1000, 0x2000, Priority::Any, false).unwrap();
    assert_eq!(a.region(id).unwrap().mode, Mode::Tor);
}

#[test]
fn tor_at_register_0_with_base_0_uses_one_register() {
    let mut a = PmpAllocator::new();
    let id = a.define(0, 0x3000, Priority::Top, false).unwrap();
    let v = a.region(id).unwrap();
    assert_eq!((v.mode, v.reg_idx, v.reg_count), (Mode::Tor, 0, 1));
    assert_eq!(a.reg_bitmap(), 0x1);
    assert_eq!(
        a.entries(id, R).unwrap(),
        [Some(Entry { index: 0, addr: 0xc00, cfg: A_TOR | R }), None]
    );
}

#[test]
fn tor_at_top_with_a_nonzero_base_is_impossible() {
    let mut a = PmpAllocator::new();
    assert_eq!(a.define(0x8040_0000, 0x3000, Priority::Top, false), Err(PmpError::ImpossibleTor));
    assert_eq!(a.reg_bitmap(), 0);
}

#[test]
fn top_register_is_given_once() {
    let (mut a, _, _) = booted();
    assert_eq!(a.define(0x8040_0000, 0x1000, Priority::Top, false), Err(PmpError::MaxReached));
}

#[test]
fn bottom_with_a_non_napot_range_is_refused() {
    let (mut a, _, _) = booted();
    assert_eq!(
        a.define(0x8040_0000, 0x3000, Priority::Bottom, false),
        Err(PmpError::ImpossibleTor)
    );
}

#[test]
fn bottom_register_is_shared_and_released_with_its_last_region() {
    let (mut a, _, os) = booted();
    let utm = a.define(0x8100_0000, 0x4_0000, Priority::Bottom, false).unwrap();
    assert_eq!(a.region(utm).unwrap().reg_idx, N_REG - 1);
    a.free(os).unwrap();
    assert_eq!(a.reg_bitmap() & 0x8000, 0x8000);
    a.free(utm).unwrap();
    assert_eq!(a.reg_bitmap(), 0x0001);
}

#[test]
fn overlap_between_exclusive_regions_is_refused() {
    let (mut a, _, _) = booted();
    assert_eq!(a.define(0x801f_f000, 0x2000, Priority::Any, false), Err(PmpError::Overlap));
    a.define(0x8040_0000, 0x4000, Priority::Any, false).unwrap();
    assert_eq!(a.define(0x8040_3000, 0x1000, Priority::Any, false), Err(PmpError::Overlap));
    assert_eq!(a.reg_bitmap(), 0x8003);
}

#[test]
fn overlap_is_accepted_when_either_region_allows_it() {
    let (mut a, _, _) = booted();
    // The OS region allows overlap, so ranges inside it are fine.
    a.define(0x8040_0000, 0x4000, Priority::Any, false).unwrap();
    // A new region that allows overlap may cover the SM region.
    a.define(SM_BASE, 0x1000, Priority::Any, true).unwrap();
}

#[test]
fn overlaps_any_reports_only_regions_that_refuse_overlap() {
    let (a, _, _) = booted();
    assert!(a.overlaps_any(SM_BASE + SM_SIZE - 1, 1));
    assert!(!a.overlaps_any(SM_BASE + SM_SIZE, 0x1000));
    assert!(!a.overlaps_any(SM_BASE, 0));
}

#[test]
fn define_and_free_1000_times_leaves_the_bitmaps_as_they_were() {
    let (mut a, _, _) = booted();
    let before = a;
    for i in 0..1000usize {
        let base = 0x8040_0000 + (i % 7) * 0x10_0000;
        let napot = a.define(base, 0x1000, Priority::Any, false).unwrap();
        let tor = a.define(base + 0x8_0000, 0x3000, Priority::Any, false).unwrap();
        let utm = a.define(base + 0x4_0000, 0x4000, Priority::Bottom, false).unwrap();
        a.free(tor).unwrap();
        a.free(napot).unwrap();
        a.free(utm).unwrap();
    }
    assert_eq!(a.region_def_bitmap(), before.region_def_bitmap());
    assert_eq!(a.reg_bitmap(), before.reg_bitmap());
    assert_eq!(a, before);
}

#[test]
fn registers_exhaust_with_max_reached() {
    let (mut a, _, _) = booted();
    for i in 0..N_REG - 2 {
        a.define(0x8040_0000 + i * 0x1000, 0x1000, Priority::Any, false).unwrap();
    }
    assert_eq!(a.reg_bitmap(), 0xffff);
    assert_eq!(a.define(0x8100_0000, 0x1000, Priority::Any, false), Err(PmpError::MaxReached));
}

#[test]
fn region_slots_exhaust_with_max_reached() {
    let mut a = PmpAllocator::new();
    for i in 0..MAX_REGIONS {
        a.define(0x8040_0000 + i * 0x1000, 0x1000, Priority::Bottom, false).unwrap();
    }
    assert_eq!(a.region_def_bitmap(), 0xffff);
    assert_eq!(a.define(0x8100_0000, 0x1000, Priority::Bottom, false), Err(PmpError::MaxReached));
}

#[test]
fn ranges_that_are_not_page_granular_are_refused() {
    let mut a = PmpAllocator::new();
    assert_eq!(
        a.define(0x8040_0800, 0x1000, Priority::Any, false),
        Err(PmpError::NotPageGranularity)
    );
    assert_eq!(
        a.define(0x8040_0000, 0x1800, Priority::Any, false),
        Err(PmpError::NotPageGranularity)
    );
    assert_eq!(a, PmpAllocator::new());
}

#[test]
fn empty_and_wrapping_ranges_are_refused_as_size_invalid() {
    let mut a = PmpAllocator::new();
    assert_eq!(a.define(0x8040_0000, 0, Priority::Any, false), Err(PmpError::RegionSizeInvalid));
    assert_eq!(
        a.define(usize::MAX - 0xfff, 0x2000, Priority::Any, false),
        Err(PmpError::RegionSizeInvalid)
    );
    // A TOR range ending exactly at 2^64 has no end address to store.
    assert_eq!(
        a.define(usize::MAX - 0x2fff, 0x3000, Priority::Any, false),
        Err(PmpError::RegionSizeInvalid)
    );
}

#[test]
fn napot_may_reach_the_top_of_the_address_space() {
    let mut a = PmpAllocator::new();
    let id = a.define(1 << 63, 1 << 63, Priority::Any, false).unwrap();
    let [e, _] = a.entries(id, R).unwrap();
    assert_eq!(e.unwrap().addr, (1usize << 61) | ((1usize << 60) - 1));
}

#[test]
fn freed_and_unknown_ids_are_invalid() {
    let (mut a, sm, _) = booted();
    a.free(sm).unwrap();
    assert_eq!(a.free(sm), Err(PmpError::Invalid));
    assert_eq!(a.region(sm), None);
    assert_eq!(a.entries(sm, 0), Err(PmpError::Invalid));
    assert_eq!(a.clear_entries(sm), [None, None]);
}

#[test]
fn entries_refuse_bits_other_than_permissions() {
    let (a, sm, _) = booted();
    assert_eq!(a.entries(sm, A_NAPOT), Err(PmpError::Invalid));
}

#[test]
fn clear_entries_zero_every_register_of_the_region() {
    let (mut a, sm, _) = booted();
    let tor = a.define(0x8040_0000, 0x3000, Priority::Any, false).unwrap();
    assert_eq!(
        a.clear_entries(tor),
        [Some(Entry { index: 1, addr: 0, cfg: 0 }), Some(Entry { index: 2, addr: 0, cfg: 0 })]
    );
    assert_eq!(a.clear_entries(sm), [Some(Entry { index: 0, addr: 0, cfg: 0 }), None]);
}

#[test]
fn regions_lists_defined_ids_in_slot_order() {
    let (mut a, sm, os) = booted();
    let extra = a.define(0x8040_0000, 0x1000, Priority::Any, false).unwrap();
    assert_eq!(a.regions().collect::<Vec<_>>(), vec![sm, os, extra]);
    a.free(os).unwrap();
    assert_eq!(a.regions().collect::<Vec<_>>(), vec![sm, extra]);
    assert_eq!(extra.index(), 2);
}

#[test]
fn error_codes_are_keystones() {
    let codes = [
        (PmpError::RegionSizeInvalid, 100020),
        (PmpError::NotPageGranularity, 100021),
        (PmpError::NotAligned, 100022),
        (PmpError::MaxReached, 100023),
        (PmpError::Invalid, 100024),
        (PmpError::Overlap, 100025),
        (PmpError::ImpossibleTor, 100026),
    ];
    for (e, code) in codes {
        assert_eq!(e.code(), code, "{e:?}");
    }
}

#[test]
fn tor_with_a_base_may_use_registers_0_and_1_as_a_pair() {
    let mut a = PmpAllocator::new();
    let id = a.define(0x8040_0000, 0x3000, Priority::Any, false).unwrap();
    assert_eq!(
        a.entries(id, RWX).unwrap(),
        [
            Some(Entry { index: 0, addr: 0x2010_0000, cfg: 0 }),
            Some(Entry { index: 1, addr: 0x2010_0c00, cfg: A_TOR | RWX }),
        ]
    );
}

/// The firmware's boot layout (pmp_global::init): SM, SiFive test device,
/// CLINT, OS; then (EPM, UTM) per enclave. Six enclaves fit whether their
/// EPMs take one register (NAPOT) or two (TOR); a seventh runs out of slots.
#[test]
fn the_boot_regions_leave_room_for_six_enclaves_with_napot_or_tor_epms() {
    for tor in [false, true] {
        let mut a = PmpAllocator::new();
        a.define(SM_BASE, SM_SIZE, Priority::Top, false).unwrap();
        let test = a.define(0x10_0000, 0x1000, Priority::Any, false).unwrap();
        let clint = a.define(0x200_0000, 0x1_0000, Priority::Any, false).unwrap();
        a.define(0, usize::MAX, Priority::Bottom, true).unwrap();
        assert_eq!((a.region(test).unwrap().reg_idx, a.region(clint).unwrap().reg_idx), (1, 2));
        let epm_size = if tor { 0x3000 } else { 0x4000 };
        let enclave = |a: &mut PmpAllocator, i: usize| {
            a.define(0x8100_0000 + i * 0x1_0000, epm_size, Priority::Any, false)
                .and_then(|_| a.define(0x8200_0000 + i * 0x1000, 0x1000, Priority::Bottom, false))
        };
        for i in 0..6 {
            enclave(&mut a, i).unwrap_or_else(|e| panic!("enclave {i} (TOR {tor}): {e:?}"));
        }
        assert_eq!(enclave(&mut a, 6), Err(PmpError::MaxReached));
        // The CLINT's register is closed (no permission) below the OS's.
        assert_eq!(
            a.entries(clint, 0).unwrap(),
            [Some(Entry { index: 2, addr: (0x200_0000 >> 2) | 0x1fff, cfg: A_NAPOT }), None]
        );
    }
}

//! Property tests: random sequences of PMP region definitions and frees, and
//! random CREATE arguments, checked against invariants rather than examples.

use keystone_abi::sm::CreateArgs;
use proptest::prelude::*;
use sm_core::create_args::validate;
use sm_core::pmp::Range;
use sm_core::pmp_alloc::{PmpAllocator, Priority, RegionId};

const PAGE: usize = 4096;

#[derive(Debug, Clone)]
enum Op {
    Define { base_page: usize, pages: usize, pow2: bool, priority: u8 },
    Free(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..4096, 1usize..64, any::<bool>(), 0u8..3).prop_map(|(b, p, pow2, priority)| {
            Op::Define { base_page: b, pages: p, pow2, priority }
        }),
        (0usize..16).prop_map(Op::Free),
    ]
}

fn covered_registers(alloc: &PmpAllocator, id: RegionId) -> Vec<usize> {
    let v = alloc.region(id).unwrap();
    (v.reg_idx..v.reg_idx + v.reg_count).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Whatever the sequence, regions never overlap (unless allowed), never
    /// share a register (except the shared bottom one), and the register
    /// bitmap matches the live regions exactly.
    #[test]
    fn allocator_invariants_hold_for_any_sequence(ops in proptest::collection::vec(op(), 1..80)) {
        let mut alloc = PmpAllocator::new();
        alloc.define(0x8000_0000, 0x20_0000, Priority::Top, false).unwrap();
        alloc.define(0, usize::MAX, Priority::Bottom, true).unwrap();
        let mut live: Vec<RegionId> = Vec::new();
        for op in ops {
            match op {
                Op::Define { base_page, pages, pow2, priority } => {
                    let size = if pow2 { pages.next_power_of_two() * PAGE } else { pages * PAGE };
                    let base = 0x8040_0000 + if pow2 { (base_page * PAGE) & !(size - 1) } else { base_page * PAGE };
                    let priority = [Priority::Any, Priority::Top, Priority::Bottom][priority as usize];
                    if let Ok(id) = alloc.define(base, size, priority, false) {
                        live.push(id);
                    }
                }
                Op::Free(i) => {
                    if !live.is_empty() {
                        let id = live.remove(i % live.len());
                        alloc.free(id).unwrap();
                    }
                }
            }
            for (i, &a) in live.iter().enumerate() {
                let va = alloc.region(a).unwrap();
                let ra = Range { base: va.base, size: va.size };
                for &b in &live[i + 1..] {
                    let vb = alloc.region(b).unwrap();
                    let rb = Range { base: vb.base, size: vb.size };
                    prop_assert!(!ra.overlaps(&rb));
                    let (regs_a, regs_b) = (covered_registers(&alloc, a), covered_registers(&alloc, b));
                    let shared: Vec<_> = regs_a.iter().filter(|r| regs_b.contains(r)).collect();
                    prop_assert!(shared.iter().all(|&&r| r == 15), "registers shared: {:?}", shared);
                }
                prop_assert!(alloc.entries(a, 0).is_ok());
            }
            let mut bitmap = 0u16;
            for id in alloc.regions() {
                for r in covered_registers(&alloc, id) {
                    bitmap |= 1 << r;
                }
            }
            prop_assert_eq!(bitmap, alloc.reg_bitmap());
        }
        for id in live {
            alloc.free(id).unwrap();
        }
        // Only the SM and OS regions remain: registers 0 and 15.
        prop_assert_eq!(alloc.reg_bitmap(), 0b1000_0000_0000_0001);
    }

    /// validate() never panics, and whatever it accepts satisfies every rule.
    #[test]
    fn accepted_create_arguments_satisfy_every_rule(
        epm in 0u64..0x9000_0000, epm_size in 0u64..0x100_0000,
        utm in 0u64..0x9000_0000, utm_shift in 0u32..24,
        r in 0u64..0x10_0000, u in 0u64..0x10_0000, f in 0u64..0x10_0000,
        noise in any::<u64>(), which in 0usize..8,
    ) {
        let mut args = CreateArgs {
            epm_paddr: epm & !0xfff,
            epm_size: epm_size & !0xfff,
            utm_paddr: utm & !((1u64 << (utm_shift + 12)) - 1),
            utm_size: 1 << (utm_shift + 12),
            runtime_paddr: (epm & !0xfff) + (r & !0xfff),
            user_paddr: (epm & !0xfff) + (u & !0xfff),
            free_paddr: (epm & !0xfff) + (f & !0xfff),
            free_requested: 0,
        };
        let fields = [&mut args.epm_paddr, &mut args.epm_size, &mut args.utm_paddr,
            &mut args.utm_size, &mut args.runtime_paddr, &mut args.user_paddr,
            &mut args.free_paddr, &mut args.free_requested];
        if noise % 3 == 0 {
            *fields.into_iter().nth(which).unwrap() = noise;
        }
        let dram = [Range { base: 0x8000_0000, size: 0x1000_0000 }];
        let sm = Range { base: 0x8000_0000, size: 0x20_0000 };
        if let Ok(l) = validate(&args, &dram, sm) {
            prop_assert!(l.epm.size > 0 && l.utm.size.is_power_of_two());
            prop_assert!(dram[0].contains(&l.epm) && dram[0].contains(&l.utm));
            prop_assert!(!l.epm.overlaps(&sm) && !l.utm.overlaps(&sm) && !l.epm.overlaps(&l.utm));
            prop_assert!(l.epm.base <= l.runtime && l.runtime <= l.user && l.user <= l.free);
            prop_assert!(l.free <= l.epm.end() && l.user < l.epm.end());
            prop_assert!(l.epm.base % PAGE == 0 && l.epm.size % PAGE == 0 && l.utm.base % l.utm.size == 0);
        }
    }
}

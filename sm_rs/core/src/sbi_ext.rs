//! The SBI extensions this SM implements, in one table: `sbi::dispatch`
//! routes by it, BASE.probe_extension answers from it, and the enclave
//! allow-list is its `in_enclave` column, so an extension is added (or
//! opened to enclaves) in one row.
//!
//! Keystone's extension is a row like the others (probe finds it), though
//! dispatch tests for it before the table, as the world-switch fast path.

use keystone_abi::sm::KEYSTONE_EID;
use sbi_spec::legacy::{
    LEGACY_CLEAR_IPI, LEGACY_CONSOLE_GETCHAR, LEGACY_CONSOLE_PUTCHAR, LEGACY_REMOTE_FENCE_I,
    LEGACY_REMOTE_SFENCE_VMA, LEGACY_REMOTE_SFENCE_VMA_ASID, LEGACY_SEND_IPI, LEGACY_SET_TIMER,
    LEGACY_SHUTDOWN,
};

/// Which handler serves an extension (one per file of `sm_rs/src/sbi/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    Base,
    Time,
    Hsm,
    Srst,
    Dbcn,
    Spi,
    Rfnc,
    Keystone,
    /// An SBI v0.1 call: a0 in, a0 out (`sbi/legacy.rs`).
    Legacy,
}

/// One implemented extension id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub eid: usize,
    pub ext: Extension,
    /// An enclave may make this call: the console, its timer, the BASE
    /// queries and Keystone's own calls; nothing that touches other harts,
    /// the host's memory or the machine's power.
    pub in_enclave: bool,
}

/// Declares the table once and derives from that one list both `TABLE` and
/// `find`. `find` is a chain of comparisons that return constant rows, not a
/// search of `TABLE`: the compiler turns the chain and a dispatch on the row
/// it returns into one decision per call, where the search compiled to a
/// lookup of the row's address and a second jump through its `ext` (SBI
/// null call: 189 instructions with the search, 168 with the chain, the same
/// dispatch in `sm_rs/src/sbi`).
macro_rules! extensions {
    ($($eid:expr => $ext:ident, $in_enclave:expr;)*) => {
        /// Every extension id this SM answers.
        pub const TABLE: [Row; [$($eid),*].len()] =
            [$(Row { eid: $eid, ext: Extension::$ext, in_enclave: $in_enclave }),*];

        /// The row of `eid`, if this SM implements it.
        #[inline]
        pub fn find(eid: usize) -> Option<Row> {
            $(
                if eid == $eid {
                    return Some(Row { eid: $eid, ext: Extension::$ext, in_enclave: $in_enclave });
                }
            )*
            None
        }
    };
}

extensions! {
    sbi_spec::base::EID_BASE => Base, true;
    sbi_spec::time::EID_TIME => Time, true;
    sbi_spec::hsm::EID_HSM => Hsm, false;
    sbi_spec::srst::EID_SRST => Srst, false;
    sbi_spec::dbcn::EID_DBCN => Dbcn, false;
    sbi_spec::spi::EID_SPI => Spi, false;
    sbi_spec::rfnc::EID_RFNC => Rfnc, false;
    KEYSTONE_EID => Keystone, true;
    LEGACY_SET_TIMER => Legacy, true;
    LEGACY_CONSOLE_PUTCHAR => Legacy, true;
    LEGACY_CONSOLE_GETCHAR => Legacy, true;
    LEGACY_CLEAR_IPI => Legacy, false;
    LEGACY_SEND_IPI => Legacy, false;
    LEGACY_REMOTE_FENCE_I => Legacy, false;
    LEGACY_REMOTE_SFENCE_VMA => Legacy, false;
    LEGACY_REMOTE_SFENCE_VMA_ASID => Legacy, false;
    LEGACY_SHUTDOWN => Legacy, false;
}

/// True when BASE.probe_extension should report `eid` as available.
#[inline]
pub fn probe(eid: usize) -> bool {
    find(eid).is_some()
}

/// True when the enclave world may make calls of extension `eid`.
#[inline]
pub fn allowed_in_enclave(eid: usize) -> bool {
    find(eid).is_some_and(|r| r.in_enclave)
}

/// True for the SBI v0.1 id range (0x00..=0x0f): a refusal there answers
/// in a0 alone, as a legacy call would, even for ids no row names.
pub const fn legacy_range(eid: usize) -> bool {
    eid <= 0x0f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        for (i, a) in TABLE.iter().enumerate() {
            assert!(TABLE[i + 1..].iter().all(|b| b.eid != a.eid), "{a:?} twice");
        }
    }

    #[test]
    fn find_answers_each_row_of_the_table_and_nothing_else() {
        for r in TABLE {
            assert_eq!(find(r.eid), Some(r));
        }
        for eid in [9, 0xf, 0x11, 0x4853_4d00, 0x0abc_def0, usize::MAX] {
            assert_eq!(find(eid), None, "{eid:#x}");
        }
    }

    #[test]
    fn every_legacy_row_is_in_the_legacy_range_and_no_other_row_is() {
        for r in TABLE {
            assert_eq!(r.ext == Extension::Legacy, legacy_range(r.eid), "{r:?}");
        }
        // v0.1 calls 0..=8 are answered; 9..=0xf are in the range but unanswered.
        assert!((0..=8).all(probe));
        assert!((9..=0xf).all(|e| legacy_range(e) && !probe(e)));
        assert!(!legacy_range(0x10));
    }

    #[test]
    fn probe_finds_exactly_the_implemented_extensions() {
        let ids = [
            0x10,        // BASE
            0x5449_4d45, // TIME
            0x0048_534d, // HSM
            0x5352_5354, // SRST
            0x4442_434e, // DBCN
            0x0073_5049, // sPI
            0x5246_4e43, // RFNC
            0x0842_4b45, // Keystone
        ];
        for eid in ids {
            assert!(probe(eid), "{eid:#x}");
        }
        assert_eq!(TABLE.len(), ids.len() + 9);
        for eid in [0x4853_4d00, 0x0050_4d55, 0x4341_5050, 0x1_0000_0010, usize::MAX] {
            assert!(!probe(eid), "{eid:#x}");
        }
    }

    #[test]
    fn enclaves_reach_only_the_console_their_timer_base_and_keystone() {
        let open: Vec<usize> = TABLE.iter().filter(|r| r.in_enclave).map(|r| r.eid).collect();
        assert_eq!(open, vec![0x10, 0x5449_4d45, 0x0842_4b45, 0, 1, 2]);
        for eid in [0x0048_534d, 0x5352_5354, 0x4442_434e, 0x0073_5049, 0x5246_4e43, 3, 4, 8, 9] {
            assert!(!allowed_in_enclave(eid), "{eid:#x}");
        }
        assert!(!allowed_in_enclave(0x4853_4d00), "unknown ids are not allowed either");
    }
}

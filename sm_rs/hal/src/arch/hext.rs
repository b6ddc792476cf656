//! The hypervisor extension's per-world state: every H and VS CSR that
//! `sm_core::world_csrs::TABLE` marks `Swap`, generated from `sm_core::h_world_csrs!`
//! so the switch and the table cannot disagree.

use sm_core::world_csrs::first_run_value;

macro_rules! define_h_state {
    ($($name:ident $num:literal),*) => {
        /// One world's H and VS CSRs while it is not on the hart.
        #[derive(Clone, Copy)]
        pub struct HState {
            $(pub $name: usize,)*
        }

        impl HState {
            /// What an enclave starts with: V=0, nothing delegated, no guest
            /// translation (the table's `run` values).
            pub const FIRST_RUN: Self = Self { $($name: first_run_value($num) as usize,)* };

            /// Puts `into`'s H/VS CSRs on the hart and keeps the leaving
            /// world's in `self`, one `csrrw` per CSR.
            /// # Safety
            /// The hart implements H and runs in M-mode with mstatus.MPV
            /// being set for the same world; `into`'s values are that
            /// world's own (or FIRST_RUN).
            #[inline(always)]
            pub unsafe fn swap(&mut self, into: &Self) {
                $(
                    // SAFETY: forwarded to the caller.
                    unsafe {
                        core::arch::asm!(concat!("csrrw {0}, ", stringify!($num), ", {1}"), out(reg) self.$name, in(reg) into.$name)
                    };
                )*
            }
        }
    };
}

sm_core::h_world_csrs!(define_h_state);

/// vstimecmp (H with Sstc) is CSR 0x24d.
pub mod vstimecmp {
    /// Reads vstimecmp.
    pub fn read() -> usize {
        let value: usize;
        // SAFETY: reading vstimecmp has no side effect (the caller checked H and Sstc).
        unsafe { core::arch::asm!("csrr {0}, 0x24d", out(reg) value) };
        value
    }
    /// Writes vstimecmp and returns its old value.
    /// # Safety
    /// The hart implements H and Sstc.
    pub unsafe fn swap(value: usize) -> usize {
        let old: usize;
        // SAFETY: forwarded to the caller.
        unsafe { core::arch::asm!("csrrw {0}, 0x24d, {1}", out(reg) old, in(reg) value) };
        old
    }
    /// Writes vstimecmp.
    /// # Safety
    /// The hart implements H and Sstc.
    pub unsafe fn write(value: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { core::arch::asm!("csrw 0x24d, {0}", in(reg) value) };
    }
}

//! Named CSR accessors: one small module per CSR, generated once.
//!
//! Reads are safe; writes are `unsafe` because they change how the hart
//! traps, translates or protects memory.

macro_rules! csr {
    ($name:ident) => {
        #[allow(dead_code)]
        pub mod $name {
            /// Reads the CSR.
            #[inline(always)]
            pub fn read() -> usize {
                let value: usize;
                // SAFETY: reading this CSR has no side effect in M-mode.
                unsafe { core::arch::asm!(concat!("csrr {0}, ", stringify!($name)), out(reg) value) };
                value
            }
            /// Writes the CSR.
            /// # Safety
            /// The caller keeps the hart's trap, translation and protection state coherent.
            #[inline(always)]
            pub unsafe fn write(value: usize) {
                // SAFETY: forwarded to the caller.
                unsafe { core::arch::asm!(concat!("csrw ", stringify!($name), ", {0}"), in(reg) value) };
            }
            /// Writes the CSR and returns its old value, in one instruction.
            /// # Safety
            /// As for `write`.
            #[inline(always)]
            pub unsafe fn swap(value: usize) -> usize {
                let old: usize;
                // SAFETY: forwarded to the caller.
                unsafe {
                    core::arch::asm!(concat!("csrrw {0}, ", stringify!($name), ", {1}"), out(reg) old, in(reg) value)
                };
                old
            }
            /// Sets bits of the CSR.
            /// # Safety
            /// As for `write`.
            #[inline(always)]
            pub unsafe fn set(bits: usize) {
                // SAFETY: forwarded to the caller.
                unsafe { core::arch::asm!(concat!("csrs ", stringify!($name), ", {0}"), in(reg) bits) };
            }
            /// Clears bits of the CSR.
            /// # Safety
            /// As for `write`.
            #[inline(always)]
            pub unsafe fn clear(bits: usize) {
                // SAFETY: forwarded to the caller.
                unsafe { core::arch::asm!(concat!("csrc ", stringify!($name), ", {0}"), in(reg) bits) };
            }
        }
    };
}

csr!(mhartid);
csr!(mstatus);
csr!(mtvec);
csr!(medeleg);
csr!(mideleg);
csr!(mie);
csr!(mip);
csr!(mepc);
csr!(mcause);
csr!(mtval);
csr!(mscratch);
csr!(mcounteren);
csr!(mvendorid);
csr!(marchid);
csr!(mimpid);
csr!(satp);
csr!(scause);
csr!(stval);
csr!(sepc);
csr!(stvec);
csr!(sscratch);
csr!(scounteren);
csr!(mcycle);
csr!(minstret);
csr!(misa);
csr!(pmpcfg0);
csr!(pmpcfg2);
csr!(pmpaddr0);
csr!(pmpaddr1);
csr!(pmpaddr2);
csr!(pmpaddr3);
csr!(pmpaddr4);
csr!(pmpaddr5);
csr!(pmpaddr6);
csr!(pmpaddr7);
csr!(pmpaddr8);
csr!(pmpaddr9);
csr!(pmpaddr10);
csr!(pmpaddr11);
csr!(pmpaddr12);
csr!(pmpaddr13);
csr!(pmpaddr14);
csr!(pmpaddr15);

/// menvcfg is CSR 0x30a; older assemblers lack its name.
pub mod menvcfg {
    /// Sets bits of menvcfg.
    /// # Safety
    /// The hart must implement menvcfg (privileged spec 1.12).
    pub unsafe fn set(bits: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { core::arch::asm!("csrs 0x30a, {0}", in(reg) bits) };
    }
}

/// senvcfg is CSR 0x10a; older assemblers lack its name.
pub mod senvcfg {
    /// Reads senvcfg.
    pub fn read() -> usize {
        let value: usize;
        // SAFETY: reading senvcfg has no side effect.
        unsafe { core::arch::asm!("csrr {0}, 0x10a", out(reg) value) };
        value
    }
    /// Writes senvcfg.
    /// # Safety
    /// The caller restores a world's own value (or its sanitised start value).
    pub unsafe fn write(value: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { core::arch::asm!("csrw 0x10a, {0}", in(reg) value) };
    }
    /// Writes senvcfg and returns its old value.
    /// # Safety
    /// As for `write`.
    #[inline(always)]
    pub unsafe fn swap(value: usize) -> usize {
        let old: usize;
        // SAFETY: forwarded to the caller.
        unsafe { core::arch::asm!("csrrw {0}, 0x10a, {1}", out(reg) old, in(reg) value) };
        old
    }
}

/// hstatus is CSR 0x600 (H), for the trap redirection; the rest of the H
/// state is in `arch::hext`.
pub mod hstatus {
    /// Reads hstatus.
    pub fn read() -> usize {
        let value: usize;
        // SAFETY: reading hstatus has no side effect (the caller checked H).
        unsafe { core::arch::asm!("csrr {0}, 0x600", out(reg) value) };
        value
    }
    /// Writes hstatus.
    /// # Safety
    /// The hart must implement H.
    pub unsafe fn write(value: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { core::arch::asm!("csrw 0x600, {0}", in(reg) value) };
    }
}

/// stimecmp is CSR 0x14d (Sstc).
pub mod stimecmp {
    /// Reads stimecmp.
    pub fn read() -> usize {
        let value: usize;
        // SAFETY: reading stimecmp has no side effect (the caller checked Sstc).
        unsafe { core::arch::asm!("csrr {0}, 0x14d", out(reg) value) };
        value
    }
    /// Writes stimecmp.
    /// # Safety
    /// The hart must implement Sstc.
    pub unsafe fn write(value: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { core::arch::asm!("csrw 0x14d, {0}", in(reg) value) };
    }
    /// Writes stimecmp and returns its old value.
    /// # Safety
    /// As for `write`.
    #[inline(always)]
    pub unsafe fn swap(value: usize) -> usize {
        let old: usize;
        // SAFETY: forwarded to the caller.
        unsafe { core::arch::asm!("csrrw {0}, 0x14d, {1}", out(reg) old, in(reg) value) };
        old
    }
}

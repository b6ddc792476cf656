//! The hart's fences and `wfi`, as safe functions: none of them reads or
//! writes memory, so none can break what Rust relies on.

/// Orders this hart's instruction fetches after its earlier stores (code
/// written, or another hart's request through `fence.i`).
#[inline(always)]
pub fn fence_i() {
    // SAFETY: fence.i only orders this hart's instruction fetches.
    unsafe { core::arch::asm!("fence.i") };
}

/// Flushes this hart's address-translation caches, every address and ASID
/// (after satp or the PMP changed, or on another hart's request).
#[inline(always)]
pub fn sfence_vma() {
    // SAFETY: flushing this hart's TLB only makes later translations reread
    // the page tables and PMP; it changes no memory.
    unsafe { core::arch::asm!("sfence.vma") };
}

/// Waits for an interrupt that mie enables (it may also return early): the
/// SM's way of idling a hart.
#[inline(always)]
pub fn wfi() {
    // SAFETY: wfi changes no state; an interrupt it waits for is taken (or
    // not, with mstatus.MIE clear as the SM keeps it) exactly as it would be
    // at any other instruction.
    unsafe { core::arch::asm!("wfi") };
}

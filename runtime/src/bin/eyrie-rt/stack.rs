//! The user stack grows down on demand, as a Linux process's does: the
//! runtime maps Keystone's 128 KiB (`USER_STACK_SIZE`) at load, and a load or
//! store page fault below it, within `STACK_MAX` of the top and above the
//! heap's end plus a guard page, maps fresh zeroed pages down to the fault
//! (and `MARGIN` below it, so a buffer the eapp hands a system call from the
//! frame it just made is mapped too). Any other fault ends the enclave as
//! before.

use crate::mem::{with_state, State};
use keystone_abi::eyrie::{cause, vm::USER_STACK_TOP};
use runtime::arch;
use runtime::PAGE_SIZE;

/// How far the stack may grow (Linux's default RLIMIT_STACK).
pub const STACK_MAX: usize = 8 << 20;
/// Mapped below the faulting page as well.
const MARGIN: usize = 16 * PAGE_SIZE;

/// After a trap with `scause`: true when it was a fault the stack's growth
/// answered (the eapp retries the access). Cold and out of line, so the
/// trap handler's system-call path saves no registers for it.
#[cold]
#[inline(never)]
pub fn grows_for(scause: usize) -> bool {
    if scause != cause::LOAD_PAGE_FAULT && scause != cause::STORE_PAGE_FAULT {
        return false;
    }
    let addr: usize;
    // SAFETY: reading stval has no side effect.
    unsafe { core::arch::asm!("csrr {0}, stval", out(reg) addr) };
    with_state(|s| s.grow_stack(addr))
}

impl State {
    /// Maps the stack down to the page of `addr` (and `MARGIN` below, within
    /// the limits); false when `addr` is not where the stack may grow or the
    /// free memory ran out.
    pub fn grow_stack(&mut self, addr: usize) -> bool {
        let floor = USER_STACK_TOP - STACK_MAX;
        let heap_end = (self.brk + 2 * PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        let lowest = floor.max(heap_end);
        if addr >= self.stack_low || addr < lowest {
            return false;
        }
        let target = (addr & !(PAGE_SIZE - 1)).saturating_sub(MARGIN).max(lowest);
        while self.stack_low > target {
            let va = self.stack_low - PAGE_SIZE;
            if self.space.translate(va).is_none() && self.map_user(va, flags()).is_err() {
                arch::sfence_vma();
                return addr >= self.stack_low;
            }
            self.stack_low = va;
        }
        arch::sfence_vma();
        true
    }
}

fn flags() -> u64 {
    runtime::pt::flags::R | runtime::pt::flags::W
}

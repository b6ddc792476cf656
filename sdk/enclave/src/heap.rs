//! The eapp's global allocator: a linked-list heap that grows through brk.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use keystone_abi::eyrie::linux;
use linked_list_allocator::Heap;

/// Bytes the heap grows by at least each time.
const GROW: usize = 64 * 1024;

struct BrkHeap(spin::Mutex<Option<Heap>>);

/// brk(2).
///
/// # Safety
///
/// `addr` is 0 (a query) or above the current break (fresh pages): a lower
/// break would unmap heap memory in use.
unsafe fn brk(addr: usize) -> usize {
    // SAFETY: brk names no buffer; the caller keeps it from shrinking.
    unsafe { crate::syscall(linux::BRK, [addr, 0, 0, 0, 0, 0]) }
}

impl BrkHeap {
    /// Extends `heap` (creating it first) by at least `need` bytes via brk.
    fn grow(heap: &mut Option<Heap>, need: usize) -> bool {
        let by = (need + 4096).max(GROW).next_multiple_of(4096);
        // SAFETY: a query.
        let cur = unsafe { brk(0) };
        // SAFETY: grows the break by `by` bytes of fresh pages.
        let new = unsafe { brk(cur + by) };
        if new != cur + by {
            return false;
        }
        match heap {
            // SAFETY: [cur, cur + by) was just mapped for us by brk and is
            // right after the heap's current end (brk only grows here).
            Some(h) => unsafe { h.extend(by) },
            // SAFETY: as above; the first region starts the heap.
            None => *heap = Some(unsafe { Heap::new(cur as *mut u8, by) }),
        }
        true
    }
}

// SAFETY: allocation goes through linked_list_allocator under a lock.
unsafe impl GlobalAlloc for BrkHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut heap = self.0.lock();
        loop {
            if let Some(h) = heap.as_mut() {
                if let Ok(p) = h.allocate_first_fit(layout) {
                    return p.as_ptr();
                }
            }
            if !Self::grow(&mut heap, layout.size() + layout.align()) {
                return core::ptr::null_mut();
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let (Some(h), Some(p)) = (self.0.lock().as_mut(), NonNull::new(ptr)) {
            // SAFETY: `ptr` came from `alloc` with this layout (GlobalAlloc contract).
            unsafe { h.deallocate(p, layout) };
        }
    }
}

#[global_allocator]
static HEAP: BrkHeap = BrkHeap(spin::Mutex::new(None));

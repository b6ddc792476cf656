//! The runtime's memory: free pages, the page tables (reached through the
//! EPM window), the eapp's address space (ELF, stack, brk, mmap) and the UTM.

use core::cell::UnsafeCell;
use keystone_abi::eyrie::vm::*;
use keystone_abi::eyrie::{exit_code, linux};
use runtime::freemem::FreeMem;
use runtime::pt::{self, flags, PhysMem};
use runtime::user::{self, Access};
use runtime::{elf, page_down, page_up, PAGE_SIZE};

/// The enclave's memory state. One hart, and traps never nest, so one
/// `&mut` at a time exists (see `state`).
pub struct State {
    pub dram_base: usize,
    pub dram_size: usize,
    pub root: usize,
    pub utm_size: usize,
    pub free: FreeMem,
    pub brk_start: usize,
    pub brk: usize,
    pub mmap_next: usize,
    /// Two pages the SM reads and writes by physical address (attest, sealing).
    pub copy_a: usize,
    pub copy_b: usize,
}

struct Global(UnsafeCell<State>);

// SAFETY: the runtime runs on one hart with interrupts off and traps that do
// not nest, so `state()` is never entered twice at once.
unsafe impl Sync for Global {}

static STATE: Global = Global(UnsafeCell::new(State {
    dram_base: 0,
    dram_size: 0,
    root: 0,
    utm_size: 0,
    free: FreeMem::empty(),
    brk_start: 0,
    brk: 0,
    mmap_next: MMAP_BASE,
    copy_a: 0,
    copy_b: 0,
}));

/// The runtime's state; callers hold it only for one system call.
pub fn state() -> &'static mut State {
    // SAFETY: see `Global`: exactly one system call (or init) uses it at a time.
    unsafe { &mut *STATE.0.get() }
}

/// Physical memory of the EPM through the window mapping.
pub struct Window {
    base: usize,
    size: usize,
}

impl Window {
    fn va(&self, pa: usize) -> usize {
        assert!(pa >= self.base && pa - self.base < self.size, "pa outside EPM");
        EPM_WINDOW + (pa - self.base)
    }
}

impl PhysMem for Window {
    fn page(&mut self, pa: usize) -> &mut [u8; PAGE_SIZE] {
        // SAFETY: `va` checked pa is in EPM, which the loader mapped RW in
        // the window; pa is page-aligned (a page or table address).
        unsafe { &mut *(self.va(page_down(pa)) as *mut [u8; PAGE_SIZE]) }
    }
    fn table(&mut self, pa: usize) -> &mut [u64; 512] {
        // SAFETY: as for `page`.
        unsafe { &mut *(self.va(page_down(pa)) as *mut [u64; 512]) }
    }
}

impl State {
    /// The EPM window as a PhysMem.
    pub fn window(&self) -> Window {
        Window { base: self.dram_base, size: self.dram_size }
    }

    fn zeroed_page(&mut self) -> Option<usize> {
        let pa = self.free.alloc()?;
        self.window().page(pa).fill(0);
        Some(pa)
    }

    /// Maps a fresh zeroed user page at `va` with `perms` (U added).
    pub fn map_user(&mut self, va: usize, perms: u64) -> Result<usize, ()> {
        let pa = self.zeroed_page().ok_or(())?;
        let mut w = self.window();
        let free = &mut self.free;
        let r = pt::map(&mut w, &mut || free.alloc(), self.root, va, pa, perms | flags::U);
        if r.is_err() {
            let _ = self.free.free(pa);
            return Err(());
        }
        Ok(pa)
    }

    /// Unmaps the user page at `va` (if any) and frees it.
    pub fn unmap_user(&mut self, va: usize) {
        let mut w = self.window();
        if let Some((_, f)) = pt::translate(&mut w, self.root, va) {
            if f & flags::U != 0 {
                if let Some(pa) = pt::unmap(&mut w, self.root, va) {
                    let _ = self.free.free(pa);
                }
            }
        }
        runtime::arch::sfence_vma();
    }

    /// Copies from eapp memory; false if the eapp could not read it.
    pub fn copy_in(&mut self, va: usize, dst: &mut [u8]) -> bool {
        let mut w = self.window();
        user::copy_in(&mut w, self.root, va, dst)
    }

    /// Copies into eapp memory; false if the eapp could not write it.
    pub fn copy_out(&mut self, va: usize, src: &[u8]) -> bool {
        let mut w = self.window();
        user::copy_out(&mut w, self.root, va, src)
    }

    /// Whether the eapp may access `[va, va + len)` that way.
    pub fn user_ok(&mut self, va: usize, len: usize, access: Access) -> bool {
        let mut w = self.window();
        user::check(&mut w, self.root, va, len, access)
    }

    /// The UTM, mapped at UTM_VA.
    pub fn utm(&mut self) -> &mut [u8] {
        // SAFETY: the loader mapped utm_size bytes of UTM read-write at
        // UTM_VA; the host only changes it while the enclave is stopped.
        unsafe { core::slice::from_raw_parts_mut(UTM_VA as *mut u8, self.utm_size) }
    }

    /// The window (kernel virtual) address of EPM address `pa`.
    pub fn window_va(&self, pa: usize) -> usize {
        self.window().va(pa)
    }

    /// A page the SM accesses by physical address, seen through the window.
    pub fn copy_page(&mut self, pa: usize) -> &mut [u8; PAGE_SIZE] {
        let mut w = self.window();
        let p: *mut [u8; PAGE_SIZE] = w.page(pa);
        // SAFETY: the window pointer stays valid for the enclave's life.
        unsafe { &mut *p }
    }

    /// brk(2): moves the end of the heap; returns the (possibly unchanged) end.
    pub fn set_brk(&mut self, want: usize) -> usize {
        if want < self.brk_start || want > BRK_MAX {
            return self.brk;
        }
        let old_top = page_up(self.brk).unwrap_or(self.brk);
        let new_top = page_up(want).unwrap_or(want);
        let mut va = old_top;
        while va < new_top {
            if self.map_user(va, flags::R | flags::W).is_err() {
                while va > old_top {
                    va -= PAGE_SIZE;
                    self.unmap_user(va);
                }
                return self.brk;
            }
            va += PAGE_SIZE;
        }
        let mut va = new_top;
        while va < old_top {
            self.unmap_user(va);
            va += PAGE_SIZE;
        }
        self.brk = want;
        want
    }

    /// mmap(2), anonymous private only: fresh zeroed pages; -errno on failure.
    pub fn mmap(&mut self, len: usize, prot: usize, flags_: usize, fd: isize) -> isize {
        let need = linux::MAP_ANONYMOUS | linux::MAP_PRIVATE;
        if flags_ & need != need || flags_ & linux::MAP_FIXED != 0 || fd != -1 || len == 0 {
            return -linux::EINVAL;
        }
        let len = match page_up(len) {
            Some(l) if l <= USER_TOP - self.mmap_next => l,
            _ => return -linux::ENOMEM,
        };
        let perms = flags::R
            | if prot & linux::PROT_WRITE != 0 { flags::W } else { 0 }
            | if prot & linux::PROT_EXEC != 0 { flags::X } else { 0 };
        let start = self.mmap_next;
        let mut off = 0;
        while off < len {
            if self.map_user(start + off, perms).is_err() {
                while off > 0 {
                    off -= PAGE_SIZE;
                    self.unmap_user(start + off);
                }
                return -linux::ENOMEM;
            }
            off += PAGE_SIZE;
        }
        self.mmap_next += len;
        start as isize
    }

    /// munmap(2) of pages inside the mmap area.
    pub fn munmap(&mut self, va: usize, len: usize) -> isize {
        let end = match va.checked_add(len).and_then(page_up) {
            Some(e) if va % PAGE_SIZE == 0 && va >= MMAP_BASE && e <= USER_TOP => e,
            _ => return -linux::EINVAL,
        };
        let mut p = va;
        while p < end {
            self.unmap_user(p);
            p += PAGE_SIZE;
        }
        0
    }
}

/// Takes the free memory, loads the eapp and its stack: (entry, user sp),
/// or the exit code that ends the enclave.
pub fn init(
    dram_base: usize,
    dram_size: usize,
    user_pa: usize,
    free_pa: usize,
    utm_pa: usize,
    utm_size: usize,
) -> Result<(usize, usize), usize> {
    let _ = utm_pa;
    let s = state();
    s.dram_base = dram_base;
    s.dram_size = dram_size;
    s.utm_size = utm_size;
    s.root = (runtime::arch::satp() & ((1 << 44) - 1)) << 12;
    s.free.init(free_pa, dram_base + dram_size);
    s.copy_a = s.zeroed_page().ok_or(exit_code::OUT_OF_MEMORY)?;
    s.copy_b = s.zeroed_page().ok_or(exit_code::OUT_OF_MEMORY)?;

    let mut w = s.window();
    // SAFETY: [user_pa, free_pa) is the eapp file (and the loader's pages
    // after it) inside EPM, mapped in the window; nothing writes it.
    let file =
        unsafe { core::slice::from_raw_parts(w.va(user_pa) as *const u8, free_pa - user_pa) };
    let stack_bottom = USER_STACK_TOP - USER_STACK_SIZE;
    let plan = elf::plan(file, PAGE_SIZE, stack_bottom).map_err(|_| exit_code::BAD_ELF)?;
    for seg in plan.segments() {
        let perms = if seg.read { flags::R } else { 0 }
            | if seg.write { flags::W } else { 0 }
            | if seg.exec { flags::X } else { 0 };
        let mut va = page_down(seg.vaddr);
        while va < seg.vaddr + seg.mem_size {
            let pa = match pt::translate(&mut w, s.root, va) {
                Some((pa, _)) => {
                    pt::add_perms(&mut w, s.root, va, perms);
                    pa
                }
                None => s.map_user(va, perms).map_err(|_| exit_code::OUT_OF_MEMORY)?,
            };
            if let Some((off, range)) = elf::file_bytes_in_page(seg, va) {
                w.page(pa)[off..off + range.len()].copy_from_slice(&file[range]);
            }
            va += PAGE_SIZE;
        }
    }
    s.brk_start = page_up(plan.end()).ok_or(exit_code::BAD_ELF)?;
    s.brk = s.brk_start;
    let mut va = stack_bottom;
    while va < USER_STACK_TOP {
        s.map_user(va, flags::R | flags::W).map_err(|_| exit_code::OUT_OF_MEMORY)?;
        va += PAGE_SIZE;
    }
    runtime::arch::sfence_vma();
    let sp = initial_stack(s).ok_or(exit_code::OUT_OF_MEMORY)?;
    Ok((plan.entry, sp))
}

/// Writes argc, argv, envp and auxv (AT_PAGESZ, AT_RANDOM) at the stack top
/// as a Linux process would find them; returns the sp pointing at argc.
fn initial_stack(s: &mut State) -> Option<usize> {
    let mut random = [0u8; 16];
    for chunk in random.chunks_mut(8) {
        chunk.copy_from_slice(&runtime::arch::random().to_le_bytes());
    }
    let name = b"eapp\0";
    let rand_va = USER_STACK_TOP - 16;
    let name_va = rand_va - 16;
    let words = [
        1,
        name_va,
        0,
        0,
        linux::AT_PAGESZ,
        PAGE_SIZE,
        linux::AT_RANDOM,
        rand_va,
        linux::AT_NULL,
        0,
    ];
    let sp = (name_va - words.len() * 8) & !15;
    let mut bytes = [0u8; 80];
    for (i, w) in words.iter().enumerate() {
        bytes[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    (s.copy_out(rand_va, &random) && s.copy_out(name_va, name) && s.copy_out(sp, &bytes))
        .then_some(sp)
}

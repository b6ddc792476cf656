//! The runtime's memory: free pages, the page tables (reached through the
//! EPM window), the eapp's address space (ELF, stack, brk, mmap) and the UTM.
//!
//! All of it is one [`State`], reached only through [`with_state`]: a
//! scoped borrow that a flag makes exclusive (entering it again, from a
//! nested trap or another hart, panics and so ends the enclave instead of
//! aliasing the state).

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicBool, Ordering};
use keystone_abi::edge::{ArgsHeader, ARGS_HEADER_SIZE, ARGS_MAX_BYTES, DATA_OFFSET};
use keystone_abi::eyrie::vm::*;
use keystone_abi::eyrie::{exit_code, linux};
use keystone_abi::switchless::RING_BYTES;
use runtime::arch::{self, SbiRet};
use runtime::args;
use runtime::epm::{Epm, WindowPages};
use runtime::files::FdTable;
use runtime::freemem::FreeMem;
use runtime::pt::{flags, PhysMem};
use runtime::sockets::SocketSet;
use runtime::user::{AddressSpace, Readable, UserSlice, Write};
use runtime::{elf, page_down, page_up, PAGE_SIZE};

/// The enclave's memory state.
pub struct State {
    /// The eapp's address space; its window reaches the root table and
    /// the free memory, nothing else.
    pub space: AddressSpace<Window>,
    pub free: FreeMem,
    pub brk_start: usize,
    pub brk: usize,
    pub mmap_next: usize,
    /// The shared buffer with the host.
    pub utm: Utm,
    /// Two pages the SM reads and writes by address (attest, sealing).
    pub copy: CopyPages,
    /// Whether the switchless ring is mapped for the eapp.
    pub ring_mapped: bool,
    /// The eapp's open files (proxied to the host).
    pub files: FdTable,
    /// Which of them are sealed, and their state.
    pub sealed: crate::sealedio::Sealed,
    /// FD_CLOEXEC of each descriptor (bit fd).
    pub cloexec: u64,
    /// The lowest page of the user stack mapped so far (it grows down on a
    /// fault below it: `stack.rs`).
    pub stack_low: usize,
    /// Which of those descriptors are sockets (proxied to the host).
    pub sockets: SocketSet,
}

/// The physical addresses of the runtime's two copy pages (free memory).
#[derive(Debug, Clone, Copy)]
pub struct CopyPages {
    pub a: usize,
    pub b: usize,
}

/// The state lives in .bss (uninitialised until the first `with_state`), so
/// its tens of KiB (the sealed files' tables) are neither loaded nor
/// measured with the runtime's image: an initialised static would put them
/// in .data, a page of hashing at CREATE for each 4 KiB.
struct Global {
    busy: AtomicBool,
    ready: AtomicBool,
    state: UnsafeCell<MaybeUninit<State>>,
}

// SAFETY: `state` is only reached through `with_state`, which `busy` makes
// exclusive on any number of harts.
unsafe impl Sync for Global {}

static STATE: Global = Global {
    busy: AtomicBool::new(false),
    ready: AtomicBool::new(false),
    state: UnsafeCell::new(MaybeUninit::uninit()),
};

/// Writes the state before the loader's handoff is taken in, field by
/// field in place (never a whole `State` on the stack: it is tens of KiB).
/// Cold and out of line: inlined, it would make every system call's
/// function save more registers.
#[cold]
#[inline(never)]
fn init(slot: &mut MaybeUninit<State>) {
    let p = slot.as_mut_ptr();
    // SAFETY: `p` is valid for writes of one State (the slot's); each line
    // writes one field's place, and every field is written before use.
    unsafe {
        addr_of_mut!((*p).space).write(AddressSpace::new(Window::none(), 0));
        addr_of_mut!((*p).free).write(FreeMem::empty());
        addr_of_mut!((*p).brk_start).write(0);
        addr_of_mut!((*p).brk).write(0);
        addr_of_mut!((*p).mmap_next).write(MMAP_BASE);
        addr_of_mut!((*p).utm).write(Utm { size: 0, pa: 0 });
        addr_of_mut!((*p).copy).write(CopyPages { a: 0, b: 0 });
        addr_of_mut!((*p).ring_mapped).write(false);
        addr_of_mut!((*p).files).write(FdTable::new());
        addr_of_mut!((*p).sockets).write(SocketSet::new());
        crate::sealedio::Sealed::init(addr_of_mut!((*p).sealed));
        addr_of_mut!((*p).cloexec).write(0);
        addr_of_mut!((*p).stack_low).write(USER_STACK_TOP);
    }
}

/// Runs `f` with the runtime's state; one system call (or init) at a time.
/// Entering it while it is held panics (the enclave ends with a runtime
/// fault) instead of handing out a second `&mut State`.
pub fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    if STATE.busy.swap(true, Ordering::Acquire) {
        panic!("runtime state entered twice");
    }
    struct Release;
    impl Drop for Release {
        fn drop(&mut self) {
            STATE.busy.store(false, Ordering::Release);
        }
    }
    let _release = Release;
    // SAFETY: `busy` was clear and is ours until `_release` drops after `f`
    // returns: no other reference to the state exists meanwhile.
    let slot = unsafe { &mut *STATE.state.get() };
    if !STATE.ready.load(Ordering::Relaxed) {
        init(slot);
        STATE.ready.store(true, Ordering::Relaxed);
    }
    // SAFETY: written just above on the first entry, and never dropped.
    f(unsafe { slot.assume_init_mut() })
}

/// The runtime's pages of the EPM (its root table and free memory), seen
/// through the window mapping. There is one, in the state.
pub struct Window {
    pages: WindowPages,
}

impl Window {
    /// A window onto no page (every access panics).
    const fn none() -> Window {
        Window { pages: WindowPages::none() }
    }

    /// # Safety
    ///
    /// The loader mapped all of the EPM read-write at EPM_WINDOW; no other
    /// `Window` is in use; the pages `pages` allows (the root table and the
    /// free memory) are reached by no Rust reference but through this one.
    unsafe fn new(pages: WindowPages) -> Window {
        Window { pages }
    }

    /// The window (kernel virtual) address of page `pa`'s first byte.
    pub fn va(&self, pa: usize) -> usize {
        match self.pages.page(pa) {
            Some(page) => page.window_va(),
            None => panic!("pa outside the runtime's pages"),
        }
    }
}

impl PhysMem for Window {
    fn page(&mut self, pa: usize) -> &mut [u8; PAGE_SIZE] {
        let va = self.va(pa);
        // SAFETY: `va` is a whole page the window may reach (checked), mapped
        // RW; `new`'s contract makes this the only reference to it, and the
        // `&mut self` borrow keeps it the only one while it lives.
        unsafe { &mut *(va as *mut [u8; PAGE_SIZE]) }
    }

    fn table(&mut self, pa: usize) -> &mut [u64; 512] {
        let va = self.va(pa);
        // SAFETY: as for `page`; a page is 8-aligned and any bits are a u64.
        unsafe { &mut *(va as *mut [u64; 512]) }
    }
}

/// The UTM, mapped at UTM_VA. There is one, in the state.
pub struct Utm {
    /// Bytes the runtime's edge calls use (the ring, once mapped, is after them).
    size: usize,
    pa: usize,
}

impl Utm {
    /// # Safety
    ///
    /// The loader mapped `size` bytes of UTM read-write at UTM_VA, and no
    /// other `Utm` is in use.
    unsafe fn new(size: usize, pa: usize) -> Utm {
        Utm { size, pa }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Its bytes. The host changes them only while the enclave is stopped,
    /// which takes `&mut self` ([`Utm::stop_for_host`]): no borrow survives it.
    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `new`'s contract: `size` bytes mapped at UTM_VA, and this
        // `&mut self` borrow is the only way to them.
        unsafe { core::slice::from_raw_parts_mut(UTM_VA as *mut u8, self.size) }
    }

    /// Stops the enclave for an edge call; the host reads and writes the
    /// UTM meanwhile. Returns when it resumes us.
    pub fn stop_for_host(&mut self) -> SbiRet {
        // SAFETY: `&mut self` means no slice from `bytes` is live.
        unsafe { arch::stop_for_edge_call() }
    }
}

impl State {
    fn zeroed_page(&mut self) -> Option<usize> {
        let pa = self.free.alloc()?;
        self.space.mem().page(pa).fill(0);
        Some(pa)
    }

    /// Maps a fresh zeroed user page at `va` with `perms` (U added).
    pub fn map_user(&mut self, va: usize, perms: u64) -> Result<usize, ()> {
        let pa = self.zeroed_page().ok_or(())?;
        let free = &mut self.free;
        let r = self.space.map(&mut || free.alloc(), va, pa, perms | flags::U);
        if r.is_err() {
            let _ = self.free.free(pa);
            return Err(());
        }
        Ok(pa)
    }

    /// Unmaps the user page at `va` (if any) and frees it.
    pub fn unmap_user(&mut self, va: usize) {
        if let Some(pa) = self.space.unmap_user(va) {
            let _ = self.free.free(pa);
        }
        arch::sfence_vma();
    }

    /// Copies the eapp's bytes `src` to the start of the runtime's page `pa`.
    pub fn copy_in_to_page<A: Readable>(&mut self, src: &UserSlice<A>, pa: usize) {
        let mut bounce = [0u8; PAGE_SIZE];
        let bytes = &mut bounce[..src.len()];
        self.space.copy_in(src, bytes);
        self.space.mem().page(pa)[..bytes.len()].copy_from_slice(bytes);
    }

    /// Copies the first `dst.len()` bytes of the runtime's page `pa` to the eapp.
    pub fn copy_out_of_page(&mut self, pa: usize, dst: &UserSlice<Write>) {
        let mut bounce = [0u8; PAGE_SIZE];
        let bytes = &mut bounce[..dst.len()];
        bytes.copy_from_slice(&self.space.mem().page(pa)[..dst.len()]);
        self.space.copy_out(dst, bytes);
    }

    /// map_ring(len): maps the last `len` (= RING_BYTES) bytes of the UTM
    /// read-write for the eapp at RING_VA, marked shared (no system call
    /// takes them as a buffer, munmap cannot free them), and keeps its own
    /// edge calls to the UTM before them. The address, or -errno.
    pub fn map_ring(&mut self, len: usize) -> isize {
        if self.ring_mapped {
            return -linux::EEXIST;
        }
        // At least a page stays for the ordinary edge calls.
        if len != RING_BYTES || self.utm.size < len + PAGE_SIZE {
            return -linux::EINVAL;
        }
        let pa = self.utm.pa + self.utm.size - len;
        let perms = flags::R | flags::W | flags::U | flags::SHARED;
        let free = &mut self.free;
        let mut off = 0;
        while off < len {
            if self.space.map(&mut || free.alloc(), RING_VA + off, pa + off, perms).is_err() {
                // Only page-table pages were taken; the mapped ring pages
                // stay (marked shared, never freed) but unused.
                return -linux::ENOMEM;
            }
            off += PAGE_SIZE;
        }
        arch::sfence_vma();
        self.utm.size -= len;
        self.ring_mapped = true;
        RING_VA as isize
    }

    /// brk(2): moves the end of the heap; returns the (possibly unchanged) end.
    pub fn set_brk(&mut self, want: usize) -> usize {
        if want < self.brk_start || want > BRK_MAX || want > self.stack_low - PAGE_SIZE {
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

    /// Takes the free memory, loads the eapp and its stack: (entry, user sp),
    /// or the exit code that ends the enclave. Runs once, first.
    pub fn init(
        &mut self,
        dram_base: usize,
        dram_size: usize,
        user_pa: usize,
        free_pa: usize,
        utm_pa: usize,
        utm_size: usize,
    ) -> Result<(usize, usize), usize> {
        let epm = Epm::new(dram_base, dram_size).ok_or(exit_code::BAD_ELF)?;
        let root = (arch::satp() & ((1 << 44) - 1)) << 12;
        // The eapp file, from user_pa up to the loader's first allocation:
        // the root table (the loader's pages after it hold our own image).
        // Our loader's stub tables lie just before the root: the eapp's own
        // pages end there, and only they may be mapped to it in place. With
        // another loader (root elsewhere) nothing is mapped in place.
        let ours = (user_pa..free_pa).contains(&root);
        let file_end = if ours { page_down(root) } else { free_pa };
        let file = epm.span(user_pa, file_end).ok_or(exit_code::BAD_ELF)?;
        let own_end = page_down(root).checked_sub(runtime::LOADER_STUB_PAGES * PAGE_SIZE);
        let own = match own_end {
            Some(end) if ours && end >= user_pa => epm.span(user_pa, end),
            _ => epm.span(user_pa, user_pa),
        }
        .ok_or(exit_code::BAD_ELF)?;
        let window = WindowPages::new(epm, root, free_pa, own);
        // SAFETY: the loader maps all of EPM RW at EPM_WINDOW and `init` runs
        // once, so this is the only Window; the root table, the free memory
        // (from free_pa, past everything the loader placed) and the eapp's
        // file pages are referenced by nothing else (the file slice below
        // is only read, and only before any eapp page is written).
        self.space = AddressSpace::new(unsafe { Window::new(window) }, root);
        // SAFETY: the loader mapped utm_size bytes of UTM RW at UTM_VA (it
        // refused larger ones); `init` runs once, so this is the only Utm.
        self.utm = unsafe { Utm::new(utm_size, utm_pa) };
        self.free.init(free_pa, epm.end());
        self.copy = CopyPages {
            a: self.zeroed_page().ok_or(exit_code::OUT_OF_MEMORY)?,
            b: self.zeroed_page().ok_or(exit_code::OUT_OF_MEMORY)?,
        };
        let file_pa = file.pa();

        // SAFETY: `file` is inside the EPM (checked), mapped in the window;
        // nothing writes it while this slice lives: the pages written below
        // are fresh ones from the free memory, and the file pages mapped to
        // the eapp in place are written only once the eapp runs.
        let file =
            unsafe { core::slice::from_raw_parts(file.window_va() as *const u8, file.len()) };
        let stack_bottom = USER_STACK_TOP - USER_STACK_SIZE;
        let plan = elf::plan(file, PAGE_SIZE, stack_bottom).map_err(|_| exit_code::BAD_ELF)?;
        for (i, seg) in plan.segments().iter().enumerate() {
            let perms = if seg.read { flags::R } else { 0 }
                | if seg.write { flags::W } else { 0 }
                | if seg.exec { flags::X } else { 0 };
            let mut va = page_down(seg.vaddr);
            while va < seg.vaddr + seg.mem_size {
                // A whole page of this segment's own file bytes is used where
                // it lies (as Eyrie does): no copy, no free page spent.
                let in_place = elf::in_place_page(&plan, i, va)
                    .filter(|off| file_pa.is_multiple_of(PAGE_SIZE) && off + PAGE_SIZE <= own.len())
                    .filter(|_| self.space.translate(va).is_none());
                if let Some(off) = in_place {
                    let free = &mut self.free;
                    let r =
                        self.space.map(&mut || free.alloc(), va, file_pa + off, perms | flags::U);
                    r.map_err(|_| exit_code::OUT_OF_MEMORY)?;
                    va += PAGE_SIZE;
                    continue;
                }
                let pa = match self.space.translate(va) {
                    Some((pa, _)) => {
                        self.space.add_perms(va, perms);
                        pa
                    }
                    None => self.map_user(va, perms).map_err(|_| exit_code::OUT_OF_MEMORY)?,
                };
                if let Some((off, range)) = elf::file_bytes_in_page(seg, va) {
                    self.space.mem().page(pa)[off..off + range.len()].copy_from_slice(&file[range]);
                }
                va += PAGE_SIZE;
            }
        }
        self.brk_start = page_up(plan.end()).ok_or(exit_code::BAD_ELF)?;
        self.brk = self.brk_start;
        let mut va = stack_bottom;
        while va < USER_STACK_TOP {
            self.map_user(va, flags::R | flags::W).map_err(|_| exit_code::OUT_OF_MEMORY)?;
            va += PAGE_SIZE;
        }
        self.stack_low = stack_bottom;
        arch::sfence_vma();
        let sp = self.initial_stack()?;
        Ok((plan.entry, sp))
    }

    /// Writes argc, argv, envp and auxv (AT_PAGESZ, AT_RANDOM) at the stack
    /// top as a Linux process would find them: argv and envp from the host's
    /// [`ArgsHeader`] in the UTM when it placed one (checked, copied once into
    /// the runtime's own memory, then its magic cleared), else `{"eapp"}`.
    /// Returns the sp pointing at argc, or the exit code.
    fn initial_stack(&mut self) -> Result<usize, usize> {
        let mut random = [0u8; 16];
        for chunk in random.chunks_mut(8) {
            chunk.copy_from_slice(&arch::random().to_le_bytes());
        }
        let mut blob = [0u8; ARGS_MAX_BYTES];
        let (argc, envc, len) = self.host_args(&mut blob)?;
        let oom = exit_code::OUT_OF_MEMORY;
        let rand_va = USER_STACK_TOP - 16;
        let str_va = (rand_va - len) & !15;
        let words = argc + envc + 3 + 6;
        let sp = (str_va - words * 8) & !15;
        let dst = self.space.writable(rand_va, 16).map_err(|_| oom)?;
        self.space.copy_out(&dst, &random);
        let dst = self.space.writable(str_va, len).map_err(|_| oom)?;
        self.space.copy_out(&dst, &blob[..len]);
        let mut at = sp;
        let mut put = |space: &mut AddressSpace<Window>, w: usize| -> Result<(), usize> {
            let dst = space.writable(at, 8).map_err(|_| oom)?;
            space.copy_out(&dst, &w.to_le_bytes());
            at += 8;
            Ok(())
        };
        put(&mut self.space, argc)?;
        let mut n = 0;
        let mut result = Ok(());
        args::starts(&blob[..len], |off| {
            if result.is_ok() {
                result = put(&mut self.space, str_va + off);
                n += 1;
                if n == argc {
                    result = result.and_then(|_| put(&mut self.space, 0));
                }
            }
        });
        result?;
        for w in [0, linux::AT_PAGESZ, PAGE_SIZE, linux::AT_RANDOM, rand_va, linux::AT_NULL, 0] {
            put(&mut self.space, w)?;
        }
        Ok(sp)
    }

    /// Copies the host's argument strings into `blob`: (argc, envc, bytes),
    /// `{"eapp"}` when there is no [`ArgsHeader`], BAD_ARGS when it breaks
    /// its bounds. The magic is cleared either way.
    fn host_args(
        &mut self,
        blob: &mut [u8; ARGS_MAX_BYTES],
    ) -> Result<(usize, usize, usize), usize> {
        let u = self.utm.bytes();
        let at = DATA_OFFSET;
        let room = u.len().saturating_sub(at + ARGS_HEADER_SIZE);
        if u.len() < at + ARGS_HEADER_SIZE {
            blob[..5].copy_from_slice(b"eapp\0");
            return Ok((1, 0, 5));
        }
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&u[at + 8 * i..at + 8 * i + 8]);
            u64::from_le_bytes(b)
        };
        let h = ArgsHeader { magic: word(0), argc: word(1), envc: word(2), len: word(3) };
        u[at..at + 8].fill(0);
        match args::announced(&h, room) {
            Ok(None) => {
                blob[..5].copy_from_slice(b"eapp\0");
                Ok((1, 0, 5))
            }
            Ok(Some(a)) => {
                let from = at + ARGS_HEADER_SIZE;
                blob[..a.len].copy_from_slice(&u[from..from + a.len]);
                if !args::strings_ok(&blob[..a.len], a.argc + a.envc) {
                    return Err(exit_code::BAD_ARGS);
                }
                Ok((a.argc, a.envc, a.len))
            }
            Err(args::BadArgs) => Err(exit_code::BAD_ARGS),
        }
    }
}

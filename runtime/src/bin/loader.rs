//! The enclave loader (`loader.bin`): the SM enters it at the EPM base in
//! S-mode with satp = 0 and a0..a7 of docs/abi.md §4.1. Its entry stub maps
//! the loader image at its link address (the EPM window base) with three
//! table pages from free memory, plus an identity map of the gigabytes
//! holding EPM, and turns on Sv39; `loader_main` then builds the runtime's
//! page tables (runtime segments at their link VAs, all EPM in the window,
//! the UTM) and enters the runtime the way Eyrie's loader does: stvec = the
//! runtime's entry, write satp, and the next fetch faults into it.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod loader {
    use keystone_abi::eyrie::exit_code;
    use keystone_abi::eyrie::vm::{EPM_WINDOW, RUNTIME_VA, UTM_VA};
    use runtime::arch::exit_enclave;
    use runtime::epm::Epm;
    use runtime::pt::{self, flags, PhysMem};
    use runtime::{elf, PAGE_SIZE};

    core::arch::global_asm!(
        r#"
    .section .text.entry, "ax"
    .globl _start
_start:
    /* a1 = dram_base, a5 = free_pa. Tables: root = a5, l1 = a5 + 4K, l0 = a5 + 8K,
       which must fit in EPM (else EXIT with OUT_OF_MEMORY). */
    add     t0, a1, a2
    li      t1, {stub_bytes}
    add     t1, t1, a5
    bgtu    t1, t0, 9f
    mv      t0, a5
1:  sd      zero, 0(t0)
    addi    t0, t0, 8
    bltu    t0, t1, 1b
    /* identity gigapages over the EPM's gigabyte and the next one */
    srli    t0, a1, 30
    andi    t1, t0, 511
    slli    t1, t1, 3
    add     t1, t1, a5
    slli    t0, t0, 28
    ori     t0, t0, 0xcf
    sd      t0, 0(t1)
    li      t2, 1 << 28
    add     t0, t0, t2
    sd      t0, 8(t1)
    /* root[508] (the window) -> l1, l1[0] -> l0 */
    li      t2, 4096
    add     t3, a5, t2
    add     t4, t3, t2
    srli    t0, t3, 12
    slli    t0, t0, 10
    ori     t0, t0, 1
    li      t1, 508 * 8
    add     t1, t1, a5
    sd      t0, 0(t1)
    srli    t0, t4, 12
    slli    t0, t0, 10
    ori     t0, t0, 1
    sd      t0, 0(t3)
    /* l0[i] -> dram_base + i * 4K for the loader image (< 2 MiB) */
    lla     t0, __loader_start
    lla     t1, __loader_end
    sub     t1, t1, t0
    add     t1, t1, a1
    mv      t0, a1
    mv      t5, t4
2:  srli    t6, t0, 12
    slli    t6, t6, 10
    ori     t6, t6, 0xcf
    sd      t6, 0(t5)
    addi    t5, t5, 8
    add     t0, t0, t2
    bltu    t0, t1, 2b
    /* satp = Sv39 | root */
    srli    t0, a5, 12
    li      t1, 8
    slli    t1, t1, 60
    or      t0, t0, t1
    sfence.vma
    csrw    satp, t0
    sfence.vma
    li      t0, {stub_bytes}
    add     a5, a5, t0
    /* continue at the link address: sp and loader_main */
    li      t0, {window}
    lla     t1, __stack_top
    sub     t1, t1, a1
    add     sp, t0, t1
    lla     t1, loader_main
    sub     t1, t1, a1
    add     t0, t0, t1
    jr      t0
9:  li      a0, {oom}
    li      a6, {exit}
    li      a7, {eid}
    ecall
    j       9b
"#,
        window = const EPM_WINDOW,
        stub_bytes = const runtime::LOADER_STUB_PAGES * PAGE_SIZE,
        oom = const exit_code::OUT_OF_MEMORY,
        exit = const keystone_abi::sm::fid::EXIT_ENCLAVE,
        eid = const keystone_abi::sm::KEYSTONE_EID,
    );

    /// Physical memory through the loader's identity map: the pages the
    /// loader allocates from `[free, epm end)` (tables and the runtime's
    /// segments), which nothing else references.
    struct Identity {
        epm: Epm,
        free: usize,
    }

    impl Identity {
        fn page_addr(&self, pa: usize) -> usize {
            match self.epm.page(pa) {
                Some(p) if p.pa() >= self.free => p.pa(),
                _ => panic!("pa outside the loader's free memory"),
            }
        }
    }

    impl PhysMem for Identity {
        fn page(&mut self, pa: usize) -> &mut [u8; PAGE_SIZE] {
            let pa = self.page_addr(pa);
            // SAFETY: a whole free EPM page (checked), identity-mapped RW by
            // the entry stub; the `&mut self` borrow keeps it unique.
            unsafe { &mut *(pa as *mut [u8; PAGE_SIZE]) }
        }
        fn table(&mut self, pa: usize) -> &mut [u64; 512] {
            let pa = self.page_addr(pa);
            // SAFETY: as for `page`; a page is 8-aligned.
            unsafe { &mut *(pa as *mut [u64; 512]) }
        }
    }

    /// Bump allocation of free pages (the runtime takes over the rest).
    struct Bump {
        next: usize,
        end: usize,
    }

    impl Bump {
        fn page(&mut self) -> Option<usize> {
            if self.next + PAGE_SIZE > self.end {
                return None;
            }
            let pa = self.next;
            self.next += PAGE_SIZE;
            Some(pa)
        }
    }

    fn or_exit<T, E>(r: Result<T, E>, code: usize) -> T {
        match r {
            Ok(v) => v,
            Err(_) => exit_enclave(code),
        }
    }

    /// Builds the runtime's address space and enters the runtime.
    #[unsafe(no_mangle)]
    extern "C" fn loader_main(
        _a0: usize,
        dram_base: usize,
        dram_size: usize,
        runtime_pa: usize,
        user_pa: usize,
        free_pa: usize,
        utm_pa: usize,
        utm_size: usize,
    ) -> ! {
        let epm = match Epm::new(dram_base, dram_size) {
            Some(epm) if utm_size <= RUNTIME_VA - UTM_VA => epm,
            _ => exit_enclave(exit_code::BAD_ELF),
        };
        let file = or_exit(epm.span(runtime_pa, user_pa).ok_or(()), exit_code::BAD_ELF);
        let mut mem = Identity { epm, free: free_pa };
        let mut bump = Bump { next: free_pa, end: epm.end() };
        let root = or_exit(bump.page().ok_or(()), exit_code::OUT_OF_MEMORY);
        mem.table(root).fill(0);

        // SAFETY: `file` is the runtime file, inside the EPM (checked) and
        // identity-mapped; nothing writes it (the loader writes only pages
        // from free_pa on, which the SM placed after the files).
        let file = unsafe { core::slice::from_raw_parts(file.pa() as *const u8, file.len()) };
        let plan = or_exit(elf::plan(file, RUNTIME_VA, usize::MAX), exit_code::BAD_ELF);
        for s in plan.segments() {
            let perms = if s.read { flags::R } else { 0 }
                | if s.write { flags::W } else { 0 }
                | if s.exec { flags::X } else { 0 };
            let mut va = runtime::page_down(s.vaddr);
            while va < s.vaddr + s.mem_size {
                let pa = match pt::translate(&mut mem, root, va) {
                    Some((pa, _)) => {
                        pt::add_perms(&mut mem, root, va, perms);
                        pa
                    }
                    None => {
                        let pa = or_exit(bump.page().ok_or(()), exit_code::OUT_OF_MEMORY);
                        mem.page(pa).fill(0);
                        let r = pt::map(&mut mem, &mut || bump.page(), root, va, pa, perms);
                        or_exit(r, exit_code::OUT_OF_MEMORY);
                        pa
                    }
                };
                if let Some((off, range)) = elf::file_bytes_in_page(s, va) {
                    mem.page(pa)[off..off + range.len()].copy_from_slice(&file[range]);
                }
                va += PAGE_SIZE;
            }
        }
        let mut pa = dram_base;
        while pa < dram_base + dram_size {
            let va = EPM_WINDOW + (pa - dram_base);
            let r = pt::map(&mut mem, &mut || bump.page(), root, va, pa, flags::R | flags::W);
            or_exit(r, exit_code::OUT_OF_MEMORY);
            pa += PAGE_SIZE;
        }
        let mut off = 0;
        while off < utm_size {
            let r = pt::map(
                &mut mem,
                &mut || bump.page(),
                root,
                UTM_VA + off,
                utm_pa + off,
                flags::R | flags::W,
            );
            or_exit(r, exit_code::OUT_OF_MEMORY);
            off += PAGE_SIZE;
        }
        let free = bump.next;
        // SAFETY: the new tables map the runtime at its link address; the
        // loader's own pages are not executable there, so the fetch after
        // `csrw satp` faults to stvec = the runtime's entry, which receives
        // the registers of docs/abi.md §4.1 with a5 = the first page the loader left free.
        unsafe {
            core::arch::asm!(
                "csrw stvec, {entry}",
                "sfence.vma",
                "csrw satp, {satp}",
                "sfence.vma",
                "1: j 1b",
                entry = in(reg) plan.entry,
                satp = in(reg) pt::satp(root),
                in("a0") 0usize, in("a1") dram_base, in("a2") dram_size,
                in("a3") runtime_pa, in("a4") user_pa, in("a5") free,
                in("a6") utm_pa, in("a7") utm_size,
                options(noreturn),
            );
        }
    }

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        exit_enclave(exit_code::RUNTIME_FAULT)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("loader is the in-enclave loader for riscv64; build it with `keystone-py build`");
    std::process::exit(2);
}

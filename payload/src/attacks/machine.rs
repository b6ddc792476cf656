//! The machine under attack: the harts and extensions the device tree names
//! (`Hw`), access to the H/VS CSRs and senvcfg, the values each world plants
//! in them, and a text buffer for check details.

use super::*;

/// What the device tree (and a probe) says about the harts.
#[derive(Clone, Copy)]
pub struct Hw {
    pub me: usize,
    pub harts: [bool; MAX_HARTS],
    pub count: usize,
    /// Every hart's ISA string has `h`, and hstatus is reachable from S-mode.
    pub has_h: bool,
    /// Every hart's ISA string has `sstc`.
    pub sstc: bool,
}

impl Hw {
    pub fn from_fdt(fdt: &fdt::Fdt, me: usize) -> Self {
        let mut hw = Hw { me, harts: [false; MAX_HARTS], count: 0, has_h: true, sstc: true };
        for cpu in fdt.cpus() {
            let id = cpu.ids().first();
            if id < MAX_HARTS {
                hw.harts[id] = true;
                hw.count += 1;
            }
            let isa = cpu.property("riscv,isa").and_then(|p| p.as_str()).unwrap_or("");
            let base = isa.split('_').next().unwrap_or("");
            hw.has_h &= base.strip_prefix("rv64").is_some_and(|letters| letters.contains('h'));
            hw.sstc &= isa.split('_').any(|ext| ext == "sstc");
        }
        if hw.has_h {
            // The SM may have turned H off (misa): then hstatus traps.
            hw.has_h = traps::catch(|| {
                csr_read(0x600);
            })
            .is_none();
        }
        traps::HAS_H.store(hw.has_h, SeqCst);
        hw
    }

    pub fn others(&self) -> impl Iterator<Item = usize> + '_ {
        (0..MAX_HARTS).filter(move |&h| self.harts[h] && h != self.me)
    }

    pub(super) fn others_mask(&self) -> usize {
        self.others().fold(0, |m, h| m | (1 << h))
    }
}

/// Reads CSR `n` of the attack lists (H/VS CSRs and senvcfg).
pub fn csr_read(n: usize) -> Option<usize> {
    macro_rules! arms {
        ($($c:literal)*) => {
            match n {
                $($c => {
                    let v: usize;
                    // SAFETY: a CSR read; callers only touch CSRs the hart has
                    // (or probe under traps::catch).
                    unsafe { core::arch::asm!(concat!("csrr {0}, ", stringify!($c)), out(reg) v) };
                    Some(v)
                })*
                _ => None,
            }
        };
    }
    arms!(0x600 0x602 0x603 0x604 0x605 0x606 0x60a 0x643 0x645 0x64a 0x680
          0x200 0x204 0x205 0x240 0x241 0x242 0x243 0x280 0x10a)
}

/// Writes CSR `n` of the attack lists; false if `n` is not one of them.
pub fn csr_write(n: usize, v: usize) -> bool {
    macro_rules! arms {
        ($($c:literal)*) => {
            match n {
                $($c => {
                    // SAFETY: the host's own H/VS CSRs: they only steer V-mode
                    // (which the host never enters) and the enclave (the attack).
                    unsafe { core::arch::asm!(concat!("csrw ", stringify!($c), ", {0}"), in(reg) v) };
                    true
                })*
                _ => false,
            }
        };
    }
    arms!(0x600 0x602 0x603 0x604 0x605 0x606 0x60a 0x643 0x645 0x64a 0x680
          0x200 0x204 0x205 0x240 0x241 0x242 0x243 0x280 0x10a)
}

pub fn csr_name(n: usize) -> &'static str {
    match n {
        0x600 => "hstatus",
        0x602 => "hedeleg",
        0x603 => "hideleg",
        0x604 => "hie",
        0x605 => "htimedelta",
        0x606 => "hcounteren",
        0x60a => "henvcfg",
        0x643 => "htval",
        0x645 => "hvip",
        0x64a => "htinst",
        0x680 => "hgatp",
        0x200 => "vsstatus",
        0x204 => "vsie",
        0x205 => "vstvec",
        0x240 => "vsscratch",
        0x241 => "vsepc",
        0x242 => "vscause",
        0x243 => "vstval",
        0x280 => "vsatp",
        0x10a => "senvcfg",
        _ => "?",
    }
}

pub(super) const SENVCFG: usize = 0x10a;
pub(super) const HSTATUS: usize = 0x600;
pub(super) const HEDELEG: usize = 0x602;
pub(super) const VSTVEC: usize = 0x205;
pub(super) const VSSCRATCH: usize = 0x240;
pub(super) const HSTATUS_SPV: usize = 1 << 7;
pub(super) const N_H: usize = 19;

/// (CSR, the host's value, the enclave's value): legal, distinct, and
/// recognisable (0xe5c… = enclave secret, 0x405… = host).
pub(super) const PLANT: [(usize, usize, usize); N_H] = [
    (0x600, 0x380, 0x40_0000), // hstatus: host SPV|SPVP|HU, enclave VTSR
    (0x602, 0xb000, 0x109),    // hedeleg
    (0x603, 0x4, 0x440),       // hideleg (VS interrupts only)
    (0x604, 0x4, 0x40),        // hie
    (0x605, 0x1000, 0xe5c0_0000),
    (0x606, 0x2, 0x5),                                             // hcounteren
    (0x60a, 1 << 63, 0x1), // henvcfg: host STCE (where Sstc), enclave FIOM
    (0x643, 0x4567, 0xe5c_1234), // htval
    (0x645, 0x4, 0x40),    // hvip (delegated by hideleg in both worlds)
    (0x64a, 0x13, 0x73),   // htinst (QEMU may keep it 0)
    (0x680, (8 << 60) | 0x8f000, (8 << 60) | (5 << 44) | 0x8f104), // hgatp Sv39x4
    (0x200, 0x8_0000, 0x4_0000), // vsstatus: host MXR, enclave SUM
    (0x204, 0x2, 0x20),    // vsie
    (0x205, 0x8020_0100, 0x8106_1000), // vstvec
    (0x240, 0x4057_5c2a_7c40, 0xe5c2_e75c_2a7c_4000), // vsscratch
    (0x241, 0x8020_2000, 0x8106_2000), // vsepc
    (0x242, 0x5, 0xd),     // vscause
    (0x243, 0x405_77a1, 0xe5c0_77a1), // vstval
    (0x280, (8 << 60) | (0x40 << 44) | 0x8f300, (8 << 60) | (0xe5 << 44) | 0x81063), // vsatp
];

/// Host mark in vsscratch: a host reading it as "sscratch" runs in V-mode.
pub(super) const HOST_VS_MARK: usize = 0x4057_0000_0000_0f5c;

pub(super) fn h_list() -> [usize; N_H] {
    let mut out = [0; N_H];
    let mut n = 0;
    for (i, c) in test_enclave::h_csrs().enumerate() {
        assert!(i < N_H && PLANT[i].0 == c, "PLANT and h_csr_list!() disagree at {i}");
        out[i] = c;
        n += 1;
    }
    assert!(n == N_H, "h_csr_list!() has {n} CSRs, PLANT {N_H}");
    out
}

pub(super) fn h_read_all() -> [usize; N_H] {
    h_list().map(|c| csr_read(c).unwrap_or(usize::MAX))
}

/// The host's H/VS CSRs back to zero (a kernel that does not use H).
pub fn h_reset() {
    for c in h_list().into_iter().rev() {
        csr_write(c, 0);
    }
}

pub(super) fn h_plant_host() {
    vstimecmp_far();
    for (c, host, _) in PLANT {
        csr_write(c, host);
    }
}

/// With Sstc, vstimecmp = 0 (its reset value) means VSTIP is due: QEMU only
/// evaluates it when vstimecmp is written, which the world switch does when
/// it gives the host its own value back. A host that does not time a guest
/// keeps it at the far future, so hvip reads back unchanged.
pub(super) fn vstimecmp_far() {
    let _ = traps::catch(|| {
        // SAFETY: vstimecmp only times VS-mode, which the host never enters here.
        unsafe { core::arch::asm!("csrw 0x24d, {0}", in(reg) usize::MAX) };
    });
}

/// senvcfg, if the hart has it (priv 1.12).
pub(super) fn senvcfg() -> Option<usize> {
    let mut v = None;
    let trapped = traps::catch(|| v = csr_read(SENVCFG));
    if trapped.is_some() {
        None
    } else {
        v
    }
}

/// A short text buffer for check details.
pub(super) struct Text {
    buf: [u8; 400],
    pub(super) len: usize,
}

impl Text {
    pub(super) fn new() -> Self {
        Text { buf: [0; 400], len: 0 }
    }
    pub(super) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

impl Write for Text {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl core::fmt::Display for Text {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str(if self.len == 0 { "none" } else { self.as_str() })
    }
}

//! Every piece of architectural state a hart may have, with its rule at a
//! world switch between the host OS and an enclave. This is the one place
//! that says what crosses the boundary; the firmware's world switch
//! (`enclave::context`) swaps exactly the rows marked `Swap` (its H-extension
//! part is generated from `h_world_csrs!` below, and a host test checks the
//! two agree), and `tests/qemu/test_world_state.py` fails when QEMU's hart exposes a
//! CSR this table does not name.
//!
//! The three moments:
//! - **run**: the first RUN of an enclave (what the enclave starts with);
//! - **resume**: RESUME, the enclave's own values come back;
//! - **stop**: STOP, EXIT and an interrupt taken inside the enclave. All three
//!   leave through the same path (`leave`), so they share one rule.
//!
//! For a host that is itself a hypervisor (KVM guests), the H and VS state is
//! swapped, not cleared: the host gets its guests' state back exactly, and
//! `mstatus.MPV`/`GVA` come back with it, so a host interrupted in a guest
//! resumes in that guest. An enclave always starts with V=0 and every H/VS
//! CSR at its reset value; it may use the H extension for itself, and none of
//! that survives into the host.

/// Which extension brings a CSR (and so whether a hart has it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ext {
    /// Machine-level CSRs every hart has.
    M,
    /// Supervisor-level CSRs every hart we support has.
    S,
    /// Unprivileged counters (Zicntr) and hardware performance counters.
    Counters,
    /// F/D: the floating-point control register.
    F,
    /// Sstc: the supervisor timer compare.
    Sstc,
    /// The hypervisor extension.
    H,
    /// H together with Sstc (vstimecmp).
    HSstc,
    /// Physical memory protection.
    Pmp,
    /// Smepmp: mseccfg.
    Smepmp,
    /// Zkr: the entropy source.
    Zkr,
    /// Sdtrig: debug triggers.
    Sdtrig,
    /// Smstateen: state-enable CSRs.
    Smstateen,
    /// Sscofpmf: counter overflow.
    Sscofpmf,
    /// V: vector state. The SM refuses to boot on a hart with V (its 32
    /// vector registers are not part of the switch yet).
    V,
    /// Debug mode only (not reachable outside debug mode).
    Debug,
}

/// What a world switch does with one CSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Saved from the world leaving, restored for the world arriving.
    Swap,
    /// Set to this value for the enclave (its first run).
    Sanitise(u64),
    /// The SM's own (M-mode only, or written only by the SM with one value
    /// for both worlds): untouched, and why.
    Untouched(&'static str),
    /// Rewritten from the PMP policy at every switch.
    Policy,
}

/// One CSR (or a numbered run of them) and its rules.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// The name QEMU and the privileged spec give it (for a run: the name
    /// of the first, with the number as the last digits).
    pub name: &'static str,
    /// CSR number.
    pub number: u16,
    /// How many consecutive CSRs the row covers (hpmcounter3..31: 29).
    pub count: u16,
    pub ext: Ext,
    /// First RUN.
    pub run: Rule,
    /// RESUME.
    pub resume: Rule,
    /// STOP, EXIT, interrupt.
    pub stop: Rule,
    /// The CSR's fields, where it has more than one (empty: the whole
    /// register is one field, with the row's rules).
    pub fields: &'static [Field],
}

impl Row {
    /// The same row with its fields named.
    const fn with(self, fields: &'static [Field]) -> Row {
        Row { fields, ..self }
    }
}

/// What a world switch does with one field of a CSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRule {
    /// The world's own: saved from the world leaving, restored for the
    /// world arriving; a fresh enclave starts with the field's `reset`.
    Swap,
    /// The SM's own (M-mode only): kept from the hart across the switch.
    Kept(&'static str),
    /// Neither world's: the switch writes 0 for both (M-only controls, and
    /// bits that are read-only 0 on supported harts).
    Cleared(&'static str),
}

/// One field of a CSR: `bits` bits from bit `lo`.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub lo: u8,
    pub bits: u8,
    /// A fresh enclave's value (for `Swap`), or the hart's reset value.
    pub reset: u64,
    pub rule: FieldRule,
    /// WARL: a write may be ignored or changed by the hart (what a world
    /// reads back is what crosses, not what it wrote).
    pub warl: bool,
}

impl Field {
    /// The field's bits in the register.
    pub const fn mask(&self) -> u64 {
        let ones = if self.bits >= 64 { u64::MAX } else { (1u64 << self.bits) - 1 };
        ones << self.lo
    }
    /// The field's reset value in place.
    pub const fn reset_bits(&self) -> u64 {
        (self.reset << self.lo) & self.mask()
    }
}

/// A field a world may set; `reset` is what a fresh enclave starts with.
const fn f(name: &'static str, lo: u8, bits: u8, reset: u64) -> Field {
    Field { name, lo, bits, reset, rule: FieldRule::Swap, warl: false }
}

/// A WARL field a world may set.
const fn warl(name: &'static str, lo: u8, bits: u8, reset: u64) -> Field {
    Field { name, lo, bits, reset, rule: FieldRule::Swap, warl: true }
}

/// A field the SM keeps for itself.
const fn kept(name: &'static str, lo: u8, bits: u8, reset: u64, why: &'static str) -> Field {
    Field { name, lo, bits, reset, rule: FieldRule::Kept(why), warl: false }
}

/// A field the switch writes 0 for both worlds.
const fn cleared(name: &'static str, lo: u8, bits: u8, why: &'static str) -> Field {
    Field { name, lo, bits, reset: 0, rule: FieldRule::Cleared(why), warl: false }
}

/// XLEN field value for 64 bits.
pub const XLEN_64: u64 = 2;

const RO_ZERO: &str = "read-only 0 on supported harts (little-endian, no custom state)";
const M_CTL: &str = "M-mode control: neither world can write it";

/// mstatus (RV64, privileged spec 1.12). The world's fields are its S-mode
/// view (sstatus), MPP (the privilege it trapped from) and, with H, MPV/GVA.
/// UXL is WARL: QEMU lets S-mode write it (1 = RV32 U-mode), so it is part
/// of a world, and a fresh enclave starts 64-bit.
pub const MSTATUS_FIELDS: &[Field] = &[
    f("SIE", 1, 1, 0),
    kept("MIE", 3, 1, 0, "the SM's own interrupt enable"),
    f("SPIE", 5, 1, 0),
    cleared("UBE", 6, 1, RO_ZERO),
    kept("MPIE", 7, 1, 0, "the SM's own (mret restores MIE from it)"),
    f("SPP", 8, 1, 0),
    f("VS", 9, 2, 0),
    f("MPP", 11, 2, 1),
    f("FS", 13, 2, 0),
    cleared("XS", 15, 2, RO_ZERO),
    cleared("MPRV", 17, 1, M_CTL),
    f("SUM", 18, 1, 0),
    f("MXR", 19, 1, 0),
    cleared("TVM", 20, 1, M_CTL),
    cleared("TW", 21, 1, M_CTL),
    cleared("TSR", 22, 1, M_CTL),
    warl("UXL", 32, 2, XLEN_64),
    kept("SXL", 34, 2, XLEN_64, "read-only 2 (RV64 S-mode) on supported harts"),
    cleared("SBE", 36, 1, RO_ZERO),
    cleared("MBE", 37, 1, RO_ZERO),
    f("GVA", 38, 1, 0),
    f("MPV", 39, 1, 0),
    cleared("SD", 63, 1, "read-only, computed from FS/VS/XS"),
];

/// sstatus: the S-mode view of mstatus (the same bits, the same rules).
pub const SSTATUS_FIELDS: &[Field] = &[
    f("SIE", 1, 1, 0),
    f("SPIE", 5, 1, 0),
    cleared("UBE", 6, 1, RO_ZERO),
    f("SPP", 8, 1, 0),
    f("VS", 9, 2, 0),
    f("FS", 13, 2, 0),
    cleared("XS", 15, 2, RO_ZERO),
    f("SUM", 18, 1, 0),
    f("MXR", 19, 1, 0),
    warl("UXL", 32, 2, XLEN_64),
    cleared("SD", 63, 1, "read-only, computed from FS/VS/XS"),
];

/// vsstatus (H): the guest's sstatus, swapped whole. UXL is WARL and on
/// QEMU 7.2 a write of 0 keeps the old value: a fresh enclave's must be
/// written as 2, not 0.
pub const VSSTATUS_FIELDS: &[Field] = &[
    f("SIE", 1, 1, 0),
    f("SPIE", 5, 1, 0),
    f("UBE", 6, 1, 0),
    f("SPP", 8, 1, 0),
    f("VS", 9, 2, 0),
    f("FS", 13, 2, 0),
    f("XS", 15, 2, 0),
    f("SUM", 18, 1, 0),
    f("MXR", 19, 1, 0),
    warl("UXL", 32, 2, XLEN_64),
    f("SD", 63, 1, 0),
];

/// hstatus (H), swapped whole. VSXL reads 2 on RV64 harts.
pub const HSTATUS_FIELDS: &[Field] = &[
    f("VSBE", 5, 1, 0),
    f("GVA", 6, 1, 0),
    f("SPV", 7, 1, 0),
    f("SPVP", 8, 1, 0),
    f("HU", 9, 1, 0),
    warl("VGEIN", 12, 6, 0),
    f("VTVM", 20, 1, 0),
    f("VTW", 21, 1, 0),
    f("VTSR", 22, 1, 0),
    warl("VSXL", 32, 2, XLEN_64),
];

/// satp and vsatp: MODE and ASID are WARL.
pub const SATP_FIELDS: &[Field] =
    &[f("PPN", 0, 44, 0), warl("ASID", 44, 16, 0), warl("MODE", 60, 4, 0)];

/// hgatp: MODE and VMID are WARL.
pub const HGATP_FIELDS: &[Field] =
    &[f("PPN", 0, 44, 0), warl("VMID", 44, 14, 0), warl("MODE", 60, 4, 0)];

/// stvec and vstvec: MODE is WARL (QEMU ignores a write of 2 or 3).
pub const TVEC_FIELDS: &[Field] = &[warl("MODE", 0, 2, 0), f("BASE", 2, 62, 0)];

/// senvcfg (priv 1.12): every field WARL.
pub const SENVCFG_FIELDS: &[Field] =
    &[warl("FIOM", 0, 1, 0), warl("CBIE", 4, 2, 0), warl("CBCFE", 6, 1, 0), warl("CBZE", 7, 1, 0)];

/// henvcfg (H): senvcfg's fields plus PBMTE and STCE (WARL: 0 unless
/// menvcfg sets them).
pub const HENVCFG_FIELDS: &[Field] = &[
    warl("FIOM", 0, 1, 0),
    warl("CBIE", 4, 2, 0),
    warl("CBCFE", 6, 1, 0),
    warl("CBZE", 7, 1, 0),
    warl("PBMTE", 62, 1, 0),
    warl("STCE", 63, 1, 0),
];

/// hvip (H): the VS-level interrupts a hypervisor injects. With Sstc,
/// hip.VSTIP is hvip.VSTIP or vstimecmp's signal (when henvcfg.STCE):
/// the switch settles it after vstimecmp (see the firmware's
/// `hext::settle_vstip`), so neither world's timer reaches the other.
pub const HVIP_FIELDS: &[Field] = &[f("VSSIP", 2, 1, 0), f("VSTIP", 6, 1, 0), f("VSEIP", 10, 1, 0)];

/// hie (H): the VS-level and guest external interrupt enables.
pub const HIE_FIELDS: &[Field] =
    &[f("VSSIE", 2, 1, 0), f("VSTIE", 6, 1, 0), f("VSEIE", 10, 1, 0), warl("SGEIE", 12, 1, 0)];

/// sie: the S-level interrupt enables.
pub const SIE_FIELDS: &[Field] =
    &[f("SSIE", 1, 1, 0), f("STIE", 5, 1, 0), f("SEIE", 9, 1, 0), warl("LCOFIE", 13, 1, 0)];

/// fcsr: the accrued exceptions and the rounding mode.
pub const FCSR_FIELDS: &[Field] = &[f("fflags", 0, 5, 0), f("frm", 5, 3, 0)];

/// scounteren / hcounteren: one WARL bit per counter.
pub const COUNTEREN_FIELDS: &[Field] =
    &[warl("CY", 0, 1, 0), warl("TM", 1, 1, 0), warl("IR", 2, 1, 0), warl("HPM", 3, 29, 0)];

/// The value of CSR `number`'s fields marked `rule` kind (Swap, Kept or
/// Cleared), as a mask; 0 for a CSR without fields.
pub const fn field_mask(number: u16, kind: FieldRule) -> u64 {
    let fields = fields_of(number);
    let mut mask = 0;
    let mut i = 0;
    while i < fields.len() {
        let same = matches!(
            (fields[i].rule, kind),
            (FieldRule::Swap, FieldRule::Swap)
                | (FieldRule::Kept(_), FieldRule::Kept(_))
                | (FieldRule::Cleared(_), FieldRule::Cleared(_))
        );
        if same {
            mask |= fields[i].mask();
        }
        i += 1;
    }
    mask
}

/// The fields the table names for CSR `number` (empty if none).
pub const fn fields_of(number: u16) -> &'static [Field] {
    let mut i = 0;
    while i < TABLE.len() {
        if TABLE[i].number == number {
            return TABLE[i].fields;
        }
        i += 1;
    }
    &[]
}

/// mstatus bits a world switch saves and restores with each world.
pub const MSTATUS_WORLD: u64 = field_mask(0x300, FieldRule::Swap);
/// mstatus bits a world switch keeps from the hart (the SM's own).
pub const MSTATUS_KEPT: u64 = field_mask(0x300, FieldRule::Kept(""));

const fn swap(name: &'static str, number: u16, ext: Ext, first: u64) -> Row {
    Row {
        name,
        number,
        count: 1,
        ext,
        run: Rule::Sanitise(first),
        resume: Rule::Swap,
        stop: Rule::Swap,
        fields: &[],
    }
}

const fn policy(name: &'static str, number: u16, count: u16) -> Row {
    let r = Rule::Policy;
    Row { name, number, count, ext: Ext::Pmp, run: r, resume: r, stop: r, fields: &[] }
}

const fn own(name: &'static str, number: u16, count: u16, ext: Ext, why: &'static str) -> Row {
    let r = Rule::Untouched(why);
    Row { name, number, count, ext, run: r, resume: r, stop: r, fields: &[] }
}

const NO_VECTOR: &str = "no vector unit on supported harts (boot refuses V)";
const NO_TRIGGER: &str = "M-mode only; the SM arms no trigger";
const M_ONLY: &str = "M-mode only: S and U cannot read or write it";
const M_TRAP: &str = "M-mode only, rewritten by the hardware on every trap into M";
const SM_FIXED: &str = "written only by the SM, with one value for both worlds";
const RO_ID: &str = "read-only identification";
const NO_ACCESS: &str = "mcounteren/scounteren leave it inaccessible to S and U";
const SHADOW: &str = "read-only shadow of a machine counter; both worlds may read it \
                      (mcounteren = 7), like Keystone";
const VIEW: &str = "a view of another row's bits (swapped there)";
const PENDING: &str = "pending S-level interrupts are the host's: while an enclave runs \
                       nothing is delegated, so any of them stops the enclave and reaches \
                       the host after the switch";

/// Every CSR a hart we support may have. Sorted by number.
pub const TABLE: &[Row] = &[
    // Unprivileged.
    swap("fflags", 0x001, Ext::F, 0),
    swap("frm", 0x002, Ext::F, 0),
    swap("fcsr", 0x003, Ext::F, 0).with(FCSR_FIELDS),
    own("vstart", 0x008, 1, Ext::V, NO_VECTOR),
    own("vxsat", 0x009, 1, Ext::V, NO_VECTOR),
    own("vxrm", 0x00a, 1, Ext::V, NO_VECTOR),
    own("vcsr", 0x00f, 1, Ext::V, NO_VECTOR),
    own("seed", 0x015, 1, Ext::Zkr, "mseccfg.SSEED/USEED stay 0: S and U cannot read it"),
    own("cycle", 0xc00, 1, Ext::Counters, SHADOW),
    own("time", 0xc01, 1, Ext::Counters, SHADOW),
    own("instret", 0xc02, 1, Ext::Counters, SHADOW),
    own("hpmcounter3", 0xc03, 29, Ext::Counters, NO_ACCESS),
    own("vl", 0xc20, 1, Ext::V, NO_VECTOR),
    own("vtype", 0xc21, 1, Ext::V, NO_VECTOR),
    own("vlenb", 0xc22, 1, Ext::V, NO_VECTOR),
    // Supervisor.
    swap("sstatus", 0x100, Ext::S, XLEN_64 << 32).with(SSTATUS_FIELDS),
    swap("sie", 0x104, Ext::S, 0).with(SIE_FIELDS),
    swap("stvec", 0x105, Ext::S, 0).with(TVEC_FIELDS),
    // A fresh enclave inherits the host's (the SM copies it at the first
    // RUN), so its U-mode reads the counters the host's does, as Keystone.
    Row {
        name: "scounteren",
        number: 0x106,
        count: 1,
        ext: Ext::S,
        run: Rule::Swap,
        resume: Rule::Swap,
        stop: Rule::Swap,
        fields: COUNTEREN_FIELDS,
    },
    swap("senvcfg", 0x10a, Ext::S, 0).with(SENVCFG_FIELDS),
    own("sstateen0", 0x10c, 4, Ext::Smstateen, "mstateen0 leaves it inaccessible to S"),
    swap("sscratch", 0x140, Ext::S, 0),
    swap("sepc", 0x141, Ext::S, 0),
    swap("scause", 0x142, Ext::S, 0),
    swap("stval", 0x143, Ext::S, 0),
    own("sip", 0x144, 1, Ext::S, PENDING),
    swap("stimecmp", 0x14d, Ext::Sstc, u64::MAX),
    swap("satp", 0x180, Ext::S, 0).with(SATP_FIELDS),
    own("scountovf", 0xda0, 1, Ext::Sscofpmf, NO_ACCESS),
    // Hypervisor and virtual supervisor.
    swap("vsstatus", 0x200, Ext::H, XLEN_64 << 32).with(VSSTATUS_FIELDS),
    own("vsie", 0x204, 1, Ext::H, VIEW),
    swap("vstvec", 0x205, Ext::H, 0).with(TVEC_FIELDS),
    swap("vsscratch", 0x240, Ext::H, 0),
    swap("vsepc", 0x241, Ext::H, 0),
    swap("vscause", 0x242, Ext::H, 0),
    swap("vstval", 0x243, Ext::H, 0),
    own("vsip", 0x244, 1, Ext::H, VIEW),
    swap("vstimecmp", 0x24d, Ext::HSstc, u64::MAX),
    swap("vsatp", 0x280, Ext::H, 0).with(SATP_FIELDS),
    // hstatus.VSXL reads 2 (RV64) whatever is written.
    swap("hstatus", 0x600, Ext::H, XLEN_64 << 32).with(HSTATUS_FIELDS),
    swap("hedeleg", 0x602, Ext::H, 0),
    swap("hideleg", 0x603, Ext::H, 0),
    swap("hie", 0x604, Ext::H, 0).with(HIE_FIELDS),
    swap("htimedelta", 0x605, Ext::H, 0),
    swap("hcounteren", 0x606, Ext::H, 0).with(COUNTEREN_FIELDS),
    swap("hgeie", 0x607, Ext::H, 0),
    swap("henvcfg", 0x60a, Ext::H, 0).with(HENVCFG_FIELDS),
    own("hstateen0", 0x60c, 4, Ext::Smstateen, "mstateen0 leaves it inaccessible to S"),
    swap("htval", 0x643, Ext::H, 0),
    own("hip", 0x644, 1, Ext::H, VIEW),
    swap("hvip", 0x645, Ext::H, 0).with(HVIP_FIELDS),
    swap("htinst", 0x64a, Ext::H, 0),
    swap("hgatp", 0x680, Ext::H, 0).with(HGATP_FIELDS),
    own("hgeip", 0xe12, 1, Ext::H, "read-only: no guest external interrupt files (no IMSIC)"),
    // Machine.
    // The world's mstatus bits (MSTATUS_WORLD): a fresh enclave starts in
    // S-mode (MPP = 1) with 64-bit U-mode (UXL = 2).
    swap("mstatus", 0x300, Ext::M, (1 << 11) | (XLEN_64 << 32)).with(MSTATUS_FIELDS),
    own("misa", 0x301, 1, Ext::M, SM_FIXED),
    own("medeleg", 0x302, 1, Ext::M, SM_FIXED),
    Row {
        name: "mideleg",
        number: 0x303,
        count: 1,
        ext: Ext::M,
        run: Rule::Sanitise(0),
        resume: Rule::Sanitise(0),
        stop: Rule::Untouched("restored to the SM's default"),
        fields: &[],
    },
    swap("mie", 0x304, Ext::M, 0),
    own("mtvec", 0x305, 1, Ext::M, SM_FIXED),
    own("mcounteren", 0x306, 1, Ext::M, SM_FIXED),
    own("menvcfg", 0x30a, 1, Ext::M, SM_FIXED),
    own("mstateen0", 0x30c, 4, Ext::Smstateen, "left at reset (0): S cannot reach stateen state"),
    own("mcountinhibit", 0x320, 1, Ext::M, M_ONLY),
    own("mhpmevent3", 0x323, 29, Ext::Counters, M_ONLY),
    own("mscratch", 0x340, 1, Ext::M, SM_FIXED),
    swap("mepc", 0x341, Ext::M, 0),
    own("mcause", 0x342, 1, Ext::M, M_TRAP),
    own("mtval", 0x343, 1, Ext::M, M_TRAP),
    own("mip", 0x344, 1, Ext::M, PENDING),
    own("mtinst", 0x34a, 1, Ext::H, M_TRAP),
    own("mtval2", 0x34b, 1, Ext::H, M_TRAP),
    policy("pmpcfg0", 0x3a0, 16),
    policy("pmpaddr0", 0x3b0, 64),
    own("mseccfg", 0x747, 1, Ext::Smepmp, M_ONLY),
    own("tselect", 0x7a0, 1, Ext::Sdtrig, NO_TRIGGER),
    own("tdata1", 0x7a1, 3, Ext::Sdtrig, NO_TRIGGER),
    own("tinfo", 0x7a4, 1, Ext::Sdtrig, NO_TRIGGER),
    own("mcontext", 0x7a8, 1, Ext::Sdtrig, NO_TRIGGER),
    own("dcsr", 0x7b0, 4, Ext::Debug, "debug mode only"),
    own("mcycle", 0xb00, 1, Ext::Counters, M_ONLY),
    own("minstret", 0xb02, 1, Ext::Counters, M_ONLY),
    own("mhpmcounter3", 0xb03, 29, Ext::Counters, M_ONLY),
    own("mvendorid", 0xf11, 1, Ext::M, RO_ID),
    own("marchid", 0xf12, 1, Ext::M, RO_ID),
    own("mimpid", 0xf13, 1, Ext::M, RO_ID),
    own("mhartid", 0xf14, 1, Ext::M, RO_ID),
    own("mconfigptr", 0xf15, 1, Ext::M, RO_ID),
];

/// The value CSR `number` has at an enclave's first RUN (its `Sanitise`
/// rule); a compile error in const context when the row is not sanitised.
pub const fn first_run_value(number: u16) -> u64 {
    let mut i = 0;
    while i < TABLE.len() {
        if TABLE[i].number == number {
            if let Rule::Sanitise(v) = TABLE[i].run {
                return v;
            }
            panic!("this CSR is not sanitised at the first run");
        }
        i += 1;
    }
    panic!("this CSR is not in the table");
}

/// The row that names CSR `number`, if any.
pub fn lookup(number: u16) -> Option<&'static Row> {
    TABLE.iter().find(|r| number >= r.number && number < r.number + r.count)
}

/// The row whose name (or run member's name, e.g. `hpmcounter17`) is `name`.
pub fn lookup_name(name: &str) -> Option<&'static Row> {
    TABLE.iter().find(|r| {
        if r.count == 1 {
            return r.name == name;
        }
        let stem = r.name.trim_end_matches(|c: char| c.is_ascii_digit());
        let first: u16 = r.name[stem.len()..].parse().unwrap_or(0);
        name.strip_prefix(stem)
            .and_then(|n| n.parse::<u16>().ok())
            .is_some_and(|n| n >= first && n < first + r.count)
    })
}

/// The H-extension CSRs the world switch swaps, as `name number` pairs, fed
/// to macro `$m`. The firmware generates its save/restore from this list; a
/// host test checks it against `TABLE`.
#[macro_export]
macro_rules! h_world_csrs {
    ($m:ident) => {
        $m! {
            hstatus 0x600, hedeleg 0x602, hideleg 0x603, hie 0x604, htimedelta 0x605,
            hcounteren 0x606, hgeie 0x607, henvcfg 0x60a, htval 0x643, hvip 0x645,
            htinst 0x64a, hgatp 0x680, vsstatus 0x200, vstvec 0x205, vsscratch 0x240,
            vsepc 0x241, vscause 0x242, vstval 0x243, vsatp 0x280
        }
    };
}

/// The names of `h_world_csrs!`, for the host test.
macro_rules! names {
    ($($name:ident $num:literal),*) => { &[$((stringify!($name), $num)),*] };
}

/// `h_world_csrs!` as data.
pub const H_SWAPPED: &[(&str, u16)] = h_world_csrs!(names);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_never_overlap() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                let disjoint = a.number + a.count <= b.number || b.number + b.count <= a.number;
                assert!(disjoint, "{} and {} overlap", a.name, b.name);
            }
        }
    }

    #[test]
    fn generated_h_switch_swaps_exactly_the_h_rows_marked_swap() {
        let mut from_table: Vec<(&str, u16)> = TABLE
            .iter()
            .filter(|r| r.ext == Ext::H && r.resume == Rule::Swap)
            .map(|r| (r.name, r.number))
            .collect();
        let mut generated = H_SWAPPED.to_vec();
        from_table.sort();
        generated.sort();
        assert_eq!(from_table, generated);
    }

    #[test]
    fn an_enclave_starts_with_v_off_and_no_h_state() {
        for r in TABLE.iter().filter(|r| matches!(r.ext, Ext::H | Ext::HSstc)) {
            match r.run {
                Rule::Sanitise(v) => {
                    let reset = match r.name {
                        "hstatus" | "vsstatus" => 2 << 32,
                        "vstimecmp" => u64::MAX,
                        _ => 0,
                    };
                    assert_eq!(v, reset, "{}", r.name);
                }
                Rule::Untouched(why) => assert!(!why.is_empty()),
                other => panic!("{}: {other:?}", r.name),
            }
        }
    }

    #[test]
    fn every_untouched_row_says_why() {
        for r in TABLE {
            for rule in [r.run, r.resume, r.stop] {
                if let Rule::Untouched(why) = rule {
                    assert!(why.len() > 10, "{}", r.name);
                }
            }
        }
    }

    #[test]
    fn fields_fit_their_csr_and_never_overlap() {
        for r in TABLE {
            let mut seen = 0u64;
            for fl in r.fields {
                assert!(
                    fl.bits > 0 && fl.lo as u32 + fl.bits as u32 <= 64,
                    "{}.{}",
                    r.name,
                    fl.name
                );
                assert_eq!(seen & fl.mask(), 0, "{}.{} overlaps", r.name, fl.name);
                assert_eq!(
                    fl.reset_bits() >> fl.lo,
                    fl.reset,
                    "{}.{}: reset too wide",
                    r.name,
                    fl.name
                );
                seen |= fl.mask();
            }
        }
    }

    #[test]
    fn a_fresh_enclave_starts_with_each_fields_reset_value() {
        for r in TABLE.iter().filter(|r| !r.fields.is_empty()) {
            let Rule::Sanitise(first) = r.run else { continue };
            let from_fields: u64 = r
                .fields
                .iter()
                .filter(|fl| fl.rule == FieldRule::Swap)
                .fold(0, |v, fl| v | fl.reset_bits());
            assert_eq!(first, from_fields, "{}: {first:#x} vs its fields {from_fields:#x}", r.name);
            assert_eq!(first_run_value(r.number), first);
        }
    }

    #[test]
    fn every_xlen_field_starts_64_bit() {
        let mut found = Vec::new();
        for r in TABLE {
            for fl in r.fields.iter().filter(|fl| fl.name.ends_with("XL")) {
                assert_eq!(fl.reset, XLEN_64, "{}.{}", r.name, fl.name);
                assert_eq!(fl.bits, 2);
                found.push(format!("{}.{}", r.name, fl.name));
            }
        }
        found.sort();
        assert_eq!(
            found,
            ["hstatus.VSXL", "mstatus.SXL", "mstatus.UXL", "sstatus.UXL", "vsstatus.UXL"]
        );
        // The writable ones are part of the world: the switch sets the
        // entering world's value, 2 for a fresh enclave.
        for name in ["mstatus", "sstatus", "vsstatus", "hstatus"] {
            let row = lookup_name(name).unwrap();
            let xl = row.fields.iter().find(|fl| fl.name.ends_with("XL") && fl.name != "SXL");
            let xl = xl.unwrap();
            assert_eq!(xl.rule, FieldRule::Swap, "{name}");
            assert!(xl.warl, "{name}");
            assert_eq!(first_run_value(row.number) & xl.mask(), 2 << xl.lo, "{name}");
        }
    }

    #[test]
    fn sstatus_is_mstatus_seen_from_s_mode() {
        for fl in SSTATUS_FIELDS {
            let m = MSTATUS_FIELDS.iter().find(|m| m.name == fl.name).unwrap();
            assert_eq!(
                (m.lo, m.bits, m.reset, m.rule, m.warl),
                (fl.lo, fl.bits, fl.reset, fl.rule, fl.warl)
            );
        }
    }

    #[test]
    fn mstatus_splits_into_world_kept_and_cleared_bits() {
        let cleared = field_mask(0x300, FieldRule::Cleared(""));
        assert_eq!(MSTATUS_WORLD & MSTATUS_KEPT, 0);
        assert_eq!(MSTATUS_WORLD & cleared, 0);
        assert_eq!(MSTATUS_KEPT & cleared, 0);
        // UXL crosses with its world; SXL (read-only), MIE and MPIE stay.
        assert_eq!(MSTATUS_WORLD & (3 << 32), 3 << 32);
        assert_eq!(MSTATUS_KEPT, (1 << 3) | (1 << 7) | (3 << 34));
        // No M-mode control a world cannot set itself is carried over.
        for bit in [17, 20, 21, 22] {
            assert_eq!(MSTATUS_WORLD & (1 << bit), 0, "bit {bit}");
            assert_ne!(cleared & (1 << bit), 0, "bit {bit}");
        }
        assert_eq!(first_run_value(0x300) & !MSTATUS_WORLD, 0);
        // Every field the S-mode view has is swapped or read-only there.
        let s_world = field_mask(0x100, FieldRule::Swap);
        assert_eq!(s_world & !MSTATUS_WORLD, 0);
    }

    #[test]
    fn field_masks_of_a_csr_without_fields_are_empty() {
        assert_eq!(field_mask(0x140, FieldRule::Swap), 0);
        assert!(fields_of(0x140).is_empty());
        assert_eq!(field_mask(0x645, FieldRule::Swap), (1 << 2) | (1 << 6) | (1 << 10));
    }

    #[test]
    fn lookup_finds_members_of_runs() {
        assert_eq!(lookup(0xc11).unwrap().name, "hpmcounter3");
        assert_eq!(lookup_name("hpmcounter31").unwrap().number, 0xc03);
        assert_eq!(lookup_name("pmpaddr63").unwrap().number, 0x3b0);
        assert!(lookup_name("pmpaddr64").is_none());
        assert_eq!(lookup_name("vsscratch").unwrap().number, 0x240);
        assert!(lookup(0x5c0).is_none());
    }
}

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
}

const fn swap(name: &'static str, number: u16, ext: Ext, first: u64) -> Row {
    Row {
        name,
        number,
        count: 1,
        ext,
        run: Rule::Sanitise(first),
        resume: Rule::Swap,
        stop: Rule::Swap,
    }
}

const fn policy(name: &'static str, number: u16, count: u16) -> Row {
    let r = Rule::Policy;
    Row { name, number, count, ext: Ext::Pmp, run: r, resume: r, stop: r }
}

const fn own(name: &'static str, number: u16, count: u16, ext: Ext, why: &'static str) -> Row {
    let r = Rule::Untouched(why);
    Row { name, number, count, ext, run: r, resume: r, stop: r }
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
    swap("fcsr", 0x003, Ext::F, 0),
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
    swap("sstatus", 0x100, Ext::S, 0),
    swap("sie", 0x104, Ext::S, 0),
    swap("stvec", 0x105, Ext::S, 0),
    Row {
        name: "scounteren",
        number: 0x106,
        count: 1,
        ext: Ext::S,
        run: Rule::Swap,
        resume: Rule::Swap,
        stop: Rule::Swap,
    },
    swap("senvcfg", 0x10a, Ext::S, 0),
    own("sstateen0", 0x10c, 4, Ext::Smstateen, "mstateen0 leaves it inaccessible to S"),
    swap("sscratch", 0x140, Ext::S, 0),
    swap("sepc", 0x141, Ext::S, 0),
    swap("scause", 0x142, Ext::S, 0),
    swap("stval", 0x143, Ext::S, 0),
    own("sip", 0x144, 1, Ext::S, PENDING),
    swap("stimecmp", 0x14d, Ext::Sstc, u64::MAX),
    swap("satp", 0x180, Ext::S, 0),
    own("scountovf", 0xda0, 1, Ext::Sscofpmf, NO_ACCESS),
    // Hypervisor and virtual supervisor.
    swap("vsstatus", 0x200, Ext::H, 0),
    own("vsie", 0x204, 1, Ext::H, VIEW),
    swap("vstvec", 0x205, Ext::H, 0),
    swap("vsscratch", 0x240, Ext::H, 0),
    swap("vsepc", 0x241, Ext::H, 0),
    swap("vscause", 0x242, Ext::H, 0),
    swap("vstval", 0x243, Ext::H, 0),
    own("vsip", 0x244, 1, Ext::H, VIEW),
    swap("vstimecmp", 0x24d, Ext::HSstc, u64::MAX),
    swap("vsatp", 0x280, Ext::H, 0),
    // hstatus.VSXL reads 2 (RV64) whatever is written.
    swap("hstatus", 0x600, Ext::H, 2 << 32),
    swap("hedeleg", 0x602, Ext::H, 0),
    swap("hideleg", 0x603, Ext::H, 0),
    swap("hie", 0x604, Ext::H, 0),
    swap("htimedelta", 0x605, Ext::H, 0),
    swap("hcounteren", 0x606, Ext::H, 0),
    swap("hgeie", 0x607, Ext::H, 0),
    swap("henvcfg", 0x60a, Ext::H, 0),
    own("hstateen0", 0x60c, 4, Ext::Smstateen, "mstateen0 leaves it inaccessible to S"),
    swap("htval", 0x643, Ext::H, 0),
    own("hip", 0x644, 1, Ext::H, VIEW),
    swap("hvip", 0x645, Ext::H, 0),
    swap("htinst", 0x64a, Ext::H, 0),
    swap("hgatp", 0x680, Ext::H, 0),
    own("hgeip", 0xe12, 1, Ext::H, "read-only: no guest external interrupt files (no IMSIC)"),
    // Machine.
    swap("mstatus", 0x300, Ext::M, 0),
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
                        "hstatus" => 2 << 32,
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
    fn lookup_finds_members_of_runs() {
        assert_eq!(lookup(0xc11).unwrap().name, "hpmcounter3");
        assert_eq!(lookup_name("hpmcounter31").unwrap().number, 0xc03);
        assert_eq!(lookup_name("pmpaddr63").unwrap().number, 0x3b0);
        assert!(lookup_name("pmpaddr64").is_none());
        assert_eq!(lookup_name("vsscratch").unwrap().number, 0x240);
        assert!(lookup(0x5c0).is_none());
    }
}

//! The driver's refusals: bad ioctls and mmaps, each answered with the
//! errno of `keystone_user.h`, and an enclave that still runs afterwards.
//! Run by `driver-refusals` (and `ks-demo bad-ioctl`); one line per check:
//!
//! ```text
//! PASS <name>: errno <got> (<NAME>), want <want> (<NAME>)
//! <prefix>: <n> checks, <f> failed; an enclave runs afterwards: yes
//! ```

use crate::{builder, test_ocalls};
use keystone_abi::ioctl::{self as kio, CreateEnclave, Ioctl, IoctlArg, RunEnclave};
use keystone_host::raw;
use std::fs::{File, OpenOptions};

const ENOENT: i32 = 2;
const ESRCH: i32 = 3;
const EFAULT: i32 = 14;
const EEXIST: i32 = 17;
const EINVAL: i32 = 22;
const ENOTTY: i32 = 25;
const EBADFD: i32 = 77;
const EALREADY: i32 = 114;

/// One check: what the driver answered (Ok or the errno) and the errno wanted (0: success).
pub struct Check {
    pub name: &'static str,
    pub got: Result<(), i32>,
    pub want: i32,
}

impl Check {
    /// The errno the driver gave (0 for success).
    pub fn got_errno(&self) -> i32 {
        self.got.err().unwrap_or(0)
    }

    pub fn passed(&self) -> bool {
        self.got_errno() == self.want
    }
}

pub fn errno_name(e: i32) -> &'static str {
    match e {
        0 => "success",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EFAULT => "EFAULT",
        EEXIST => "EEXIST",
        EINVAL => "EINVAL",
        ENOTTY => "ENOTTY",
        EBADFD => "EBADFD",
        EALREADY => "EALREADY",
        _ => "?",
    }
}

fn open_dev() -> File {
    OpenOptions::new().read(true).write(true).open(kio::DEVICE_PATH).expect("open the device")
}

fn errno(e: std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(-1)
}

fn io<T: IoctlArg>(f: &File, cmd: Ioctl<T>, arg: &mut T) -> Result<(), i32> {
    raw::ioctl(f, cmd, arg).map_err(errno)
}

/// CREATE (+ UTM_INIT when `utm`) on `f`.
fn created(f: &File, utm: bool) -> CreateEnclave {
    let mut a = CreateEnclave { min_pages: 64, ..Default::default() };
    io(f, kio::CREATE_ENCLAVE, &mut a).expect("create");
    if utm {
        a.utm_size = 8192;
        io(f, kio::UTM_INIT, &mut a).expect("utm_init");
    }
    a
}

/// Loads the stack eapp by hand and finalizes: a runnable enclave on `f`.
fn finalized(f: &File) -> CreateEnclave {
    let files = ["/enclave/loader.bin", "/enclave/eyrie-rt", "/enclave/stack"]
        .map(|p| std::fs::read(p).expect("enclave file"));
    let pages: Vec<u64> = files.iter().map(|d| (d.len() as u64).div_ceil(4096)).collect();
    let total: u64 = pages.iter().sum();
    let mut a = CreateEnclave { min_pages: total + 16 + 64, ..Default::default() };
    io(f, kio::CREATE_ENCLAVE, &mut a).expect("create");
    {
        let mut m = raw::Mapping::new(f, 0, (total * 4096) as usize).expect("mmap EPM");
        let mut at = 0;
        for (d, p) in files.iter().zip(&pages) {
            m.write(at as usize, d);
            at += p * 4096;
        }
    }
    a.utm_size = 8192;
    io(f, kio::UTM_INIT, &mut a).expect("utm_init");
    a.runtime_paddr = a.epm_paddr + pages[0] * 4096;
    a.user_paddr = a.runtime_paddr + pages[1] * 4096;
    a.free_paddr = a.epm_paddr + total * 4096;
    a.free_requested = 64 * 4096;
    io(f, kio::FINALIZE_ENCLAVE, &mut a).expect("finalize");
    a
}

/// Feeds the driver every bad request; what it answered to each.
pub fn checks() -> Vec<Check> {
    let mut checks = Vec::new();
    let mut check = |name, got, want| checks.push(Check { name, got, want });
    {
        let f = open_dev();
        let mut a = CreateEnclave::default();
        let unknown = Ioctl::<CreateEnclave>::ior(0x20);
        check("unknown command", io(&f, unknown, &mut a), ENOTTY);
        let short = Ioctl::<CreateEnclave>::with_size(kio::IOC_READ, 0x00, 72);
        check("CREATE with the wrong size", io(&f, short, &mut a), ENOTTY);
        let short = Ioctl::<CreateEnclave>::with_size(kio::IOC_READ, 0x04, 16);
        check("RUN with the wrong size", io(&f, short, &mut a), ENOTTY);
        let r = raw::ioctl_inaccessible(&f, kio::CREATE_ENCLAVE).map_err(errno);
        check("CREATE with an inaccessible argument pointer", r, EFAULT);
        a.min_pages = 0;
        check("CREATE with min_pages 0", io(&f, kio::CREATE_ENCLAVE, &mut a), EINVAL);
        a.min_pages = u64::MAX / 4096;
        check("CREATE with a huge min_pages", io(&f, kio::CREATE_ENCLAVE, &mut a), EINVAL);
        let mut r = RunEnclave { eid: 0x1000, ..Default::default() };
        check("RUN on a file without an enclave", io(&f, kio::RUN_ENCLAVE, &mut r), ENOENT);
    }
    {
        let f = open_dev();
        let mut a = created(&f, false);
        let eid = a.eid;
        let mut r = RunEnclave { eid, ..Default::default() };
        check("RUN before FINALIZE (no UTM)", io(&f, kio::RUN_ENCLAVE, &mut r), EBADFD);
        check("FINALIZE before UTM_INIT", io(&f, kio::FINALIZE_ENCLAVE, &mut a), EBADFD);
        check("CREATE twice on one file", io(&f, kio::CREATE_ENCLAVE, &mut a.clone()), EEXIST);
        a.utm_size = 0;
        check("UTM_INIT of 0 bytes", io(&f, kio::UTM_INIT, &mut a), EINVAL);
        a.utm_size = 64 << 20;
        check("UTM_INIT above the largest UTM", io(&f, kio::UTM_INIT, &mut a), EINVAL);
        a.utm_size = 8192;
        check("UTM_INIT", io(&f, kio::UTM_INIT, &mut a), 0);
        check("UTM_INIT twice", io(&f, kio::UTM_INIT, &mut a), EEXIST);
        check("RUN before FINALIZE", io(&f, kio::RUN_ENCLAVE, &mut r), EBADFD);
        let mut b = a;
        b.runtime_paddr = a.epm_paddr + a.epm_size;
        b.user_paddr = b.runtime_paddr;
        b.free_paddr = b.runtime_paddr;
        let got = io(&f, kio::FINALIZE_ENCLAVE, &mut b);
        check("FINALIZE with addresses outside the EPM", got, EINVAL);
        b = a;
        b.runtime_paddr = a.epm_paddr + 8192;
        b.user_paddr = a.epm_paddr + 4096;
        b.free_paddr = a.epm_paddr + 12288;
        let got = io(&f, kio::FINALIZE_ENCLAVE, &mut b);
        check("FINALIZE with the eapp before the runtime", got, EINVAL);
        let r = raw::Mapping::new(&f, a.epm_size, 4096).map(|_| ()).map_err(errno);
        check("mmap past the EPM", r, EINVAL);
        let mut d = CreateEnclave { eid: eid + 1, ..Default::default() };
        let got = io(&f, kio::DESTROY_ENCLAVE, &mut d);
        check("DESTROY with an id that is not this file's", got, ENOENT);
    }
    {
        let f1 = open_dev();
        let f2 = open_dev();
        let a1 = finalized(&f1);
        let _a2 = created(&f2, true);
        let mut r = RunEnclave { eid: a1.eid, ..Default::default() };
        check("RUN of another file's enclave", io(&f2, kio::RUN_ENCLAVE, &mut r), ENOENT);
        let mut d = CreateEnclave { eid: a1.eid, ..Default::default() };
        check("DESTROY of another file's enclave", io(&f2, kio::DESTROY_ENCLAVE, &mut d), ENOENT);
        let mut a = a1;
        check("FINALIZE twice", io(&f1, kio::FINALIZE_ENCLAVE, &mut a), EALREADY);
        check("RESUME before RUN", io(&f1, kio::RESUME_ENCLAVE, &mut r), ESRCH);
        let mut result = Err(-1);
        for i in 0..100_000 {
            let cmd = if i == 0 { kio::RUN_ENCLAVE } else { kio::RESUME_ENCLAVE };
            r = RunEnclave { eid: a1.eid, ..Default::default() };
            if let Err(e) = io(&f1, cmd, &mut r) {
                result = Err(e);
                break;
            }
            if r.error == 0 {
                result = if r.value == 12345 { Ok(()) } else { Err(-2) };
                break;
            }
        }
        check("the other file's enclave still runs (stack returns 12345)", result, 0);
        check("RUN again after it exited", io(&f1, kio::RUN_ENCLAVE, &mut r), EALREADY);
        check("RESUME after it exited", io(&f1, kio::RESUME_ENCLAVE, &mut r), ESRCH);
        check("DESTROY", io(&f1, kio::DESTROY_ENCLAVE, &mut d), 0);
        check("RUN after DESTROY", io(&f1, kio::RUN_ENCLAVE, &mut r), EBADFD);
        check("DESTROY twice", io(&f1, kio::DESTROY_ENCLAVE, &mut d), EBADFD);
    }
    checks
}

/// Runs [`checks`], prints one line per check and the summary (prefixed
/// `prefix`), then runs the stack eapp through the SDK; true if every check
/// passed and the enclave returned 12345.
pub fn run(prefix: &str) -> bool {
    let checks = checks();
    let mut failed = 0;
    for c in &checks {
        failed += usize::from(!c.passed());
        println!(
            "{} {}: errno {} ({}), want {} ({})",
            if c.passed() { "PASS" } else { "FAIL" },
            c.name,
            c.got_errno(),
            errno_name(c.got_errno()),
            c.want,
            errno_name(c.want)
        );
    }
    let after = test_ocalls(builder("stack")).build().and_then(|mut e| {
        let v = e.run()?;
        e.destroy()?;
        Ok(v)
    });
    let after = matches!(after, Ok(12345));
    println!(
        "{prefix}: {} checks, {failed} failed; an enclave runs afterwards: {}",
        checks.len(),
        if after { "yes" } else { "NO" }
    );
    failed == 0 && after
}

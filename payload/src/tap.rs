//! TAP output: one numbered line per check, the plan at the end.

use core::sync::atomic::{AtomicUsize, Ordering};

static RUN: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);

/// Reports one check; `detail` explains a failure.
pub fn report(name: core::fmt::Arguments, pass: bool, detail: core::fmt::Arguments) {
    let n = RUN.fetch_add(1, Ordering::Relaxed) + 1;
    if pass {
        println!("ok {n} - {name}");
    } else {
        FAILED.fetch_add(1, Ordering::Relaxed);
        println!("not ok {n} - {name}");
        println!("#   {detail}");
    }
}

/// Reports a check that cannot run on this machine (`ok N - name # SKIP why`).
pub fn report_skip(name: core::fmt::Arguments, why: core::fmt::Arguments) {
    let n = RUN.fetch_add(1, Ordering::Relaxed) + 1;
    println!("ok {n} - {name} # SKIP {why}");
}

/// Prints the plan and the summary; true when every check passed.
pub fn finish() -> bool {
    let run = RUN.load(Ordering::Relaxed);
    let failed = FAILED.load(Ordering::Relaxed);
    println!("1..{run}");
    println!("payload: done (passed {}, failed {failed})", run - failed);
    failed == 0
}

/// `check!(cond, "name {}", args; "detail {}", args)`.
macro_rules! check {
    ($pass:expr, $($name:expr),+ ; $($detail:expr),+) => {
        $crate::tap::report(format_args!($($name),+), $pass, format_args!($($detail),+))
    };
}
pub(crate) use check;

/// Checks that an SBI call returned exactly `(error, value)`.
macro_rules! check_ret {
    ($ret:expr, $error:expr, $value:expr, $($name:expr),+) => {{
        let ret = $ret;
        let (error, value): (usize, usize) = ($error as usize, $value as usize);
        $crate::tap::report(
            format_args!($($name),+),
            ret.error == error && ret.value == value,
            format_args!("got (error {}, value {:#x}), want (error {}, value {:#x})",
                ret.error as isize, ret.value, error as isize, value),
        )
    }};
}
pub(crate) use check_ret;

/// Checks that an SBI call failed with `error`.
macro_rules! check_err {
    ($ret:expr, $error:expr, $($name:expr),+) => {{
        let ret = $ret;
        let error: usize = $error as usize;
        $crate::tap::report(
            format_args!($($name),+),
            ret.error == error,
            format_args!("got error {}, want {}", ret.error as isize, error as isize),
        )
    }};
}
pub(crate) use check_err;

/// `skip!("name {}", args; "reason {}", args)`.
macro_rules! skip_check {
    ($($name:expr),+ ; $($why:expr),+) => {
        $crate::tap::report_skip(format_args!($($name),+), format_args!($($why),+))
    };
}
pub(crate) use skip_check as skip;

/// The number after `key` in the bootargs, e.g. `fuzz=5000`.
pub fn arg_value(args: &str, key: &str) -> Option<u64> {
    args.split_whitespace().find_map(|a| a.strip_prefix(key)).and_then(|v| v.parse().ok())
}

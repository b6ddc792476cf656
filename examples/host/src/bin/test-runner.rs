//! Keystone's test-runner: `test-runner EAPP RUNTIME LOADER [--retval N]
//! [--free-mem BYTES] [--utm-size BYTES]`. Runs the eapp with Keystone's test
//! ocalls, prints "[FAIL] ..." and exits 1 when the return value is not N,
//! and ends with one line of figures:
//! `test-runner: EAPP returned V (interrupts I, ocalls O, create C us, run R us)`,
//! then how the files went into the EPM: `test-runner: EAPP EPM mapped whole`
//! (or `page-by-page`, on a driver that maps one page per mmap, as Keystone's).

use host_examples::test_ocalls;
use keystone_host::Enclave;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str =
    "usage: test-runner EAPP RUNTIME LOADER [--retval N] [--free-mem BYTES] [--utm-size BYTES] \
     [--device PATH|fd:N]";

fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut files = Vec::new();
    let (mut retval, mut free_mem, mut utm_size) = (None, 48 << 20, 2 << 20);
    let mut device: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next().and_then(|v| number(v)).ok_or_else(|| format!("{name} needs a number"))
        };
        let r = match a.as_str() {
            "--retval" => value(a).map(|v| retval = Some(v)),
            "--free-mem" => value(a).map(|v| free_mem = v),
            "--utm-size" => value(a).map(|v| utm_size = v),
            "--device" => it
                .next()
                .map(|v| device = Some(v.clone()))
                .ok_or_else(|| "--device needs a path or fd:N".to_string()),
            _ if a.starts_with("--") => Err(format!("unknown option {a}")),
            _ => {
                files.push(a.clone());
                Ok(())
            }
        };
        if let Err(e) = r {
            eprintln!("test-runner: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let [eapp, runtime, loader] = files.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let name = eapp.rsplit('/').next().unwrap_or(eapp);
    let mut builder = test_ocalls(Enclave::builder())
        .eapp(eapp)
        .runtime(runtime)
        .loader(loader)
        .free_mem(free_mem)
        .utm_size(utm_size);
    if let Some(device) = &device {
        builder = builder.device(device);
    }
    let start = Instant::now();
    let mut enclave = match builder.build() {
        Ok(e) => e,
        Err(e) => {
            println!("[FAIL] {name}: cannot create the enclave: {e}");
            return ExitCode::from(3);
        }
    };
    let created = start.elapsed();
    let epm_load = enclave.epm_load();
    let start = Instant::now();
    let result = enclave.run();
    let ran = start.elapsed();
    let stats = enclave.stats();
    let destroyed = enclave.destroy();
    let value = match result {
        Ok(v) => v,
        Err(e) => {
            println!("[FAIL] {name}: {e}");
            return ExitCode::from(4);
        }
    };
    if let Err(e) = destroyed {
        println!("[FAIL] {name}: destroy: {e}");
        return ExitCode::from(5);
    }
    println!(
        "test-runner: {name} returned {value} (interrupts {}, ocalls {}, create {} us, run {} us)",
        stats.interrupts,
        stats.ocalls,
        created.as_micros(),
        ran.as_micros()
    );
    println!("test-runner: {name} EPM mapped {}", epm_load.as_str());
    match retval {
        Some(want) if want != value => {
            println!("[FAIL] enclave returned {value}, expected {want}");
            ExitCode::from(1)
        }
        _ => ExitCode::SUCCESS,
    }
}

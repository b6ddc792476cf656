//! Demos and driver checks on a booted guest (each prints what it shows and
//! exits 0 when it held):
//!
//! ```text
//! ks-demo one EAPP [--free-mem BYTES] [--wait]  one enclave (--wait: after a line on stdin)
//! ks-demo multi N [EAPP]                N enclaves at once in one process (threads)
//! ks-demo procs N [EAPP]                N processes at once, each with an enclave
//! ks-demo progress [EAPP]               a long enclave is interrupted while another process runs
//! ks-demo kill                          kill a host mid-enclave: everything comes back
//! ks-demo slots                         how many enclaves can exist at once
//! ks-demo bad-ioctl                     the driver refuses bad ioctls with errnos
//!                                       (the checks of `driver-refusals`)
//! ks-demo bench [--no-switchless]      ocall round trip, switchless calls, hello create+run+destroy
//! ks-demo bench-switchless [N]          the switchless figures only (N calls of each kind)
//! ks-demo switchless calls|liar|hostile|slow|slow-worker [N] [WORKERS | DELAYS SECS]
//!                                       switchless ocalls: served by WORKERS; no worker but
//!                                       the ring says one (fallback); a host scribbling on
//!                                       the ring; a call past the eapp's spin bound; a
//!                                       worker sleeping SECS s on DELAYS calls it took
//! ks-demo switchless-soak N [PROCS] [--storm US]
//!                                       PROCS (4) enclaves, one per hart, N switchless calls
//!                                       each under a timer storm (a timer every US µs, 50;
//!                                       0: the 1 kHz tick only); none lost or duplicated
//! ks-demo all                           every example, then a summary table
//! ks-demo cycles N [--large-every K]    N create/run/destroy cycles; memory and slots come back
//! ks-demo soak SECS [PROCS]             PROCS (4) processes, one per hart, ocalls in flight
//!                                       for SECS; no ocall lost or duplicated
//! ```

use host_examples::{builder, test_ocalls};
use keystone_host::{Enclave, Error, Reply, Stats};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Keystone's test-runner sizes: the "full size" enclave.
const FULL_FREE_MEM: u64 = 48 << 20;
const FULL_UTM: u64 = 2 << 20;
/// Calls per kind in the switchless latency figures (README, Bench: >= 10,000).
const SWITCHLESS_CALLS: u64 = 10_000;
/// Expected exit values of the examples (Keystone's test list, README "Enclave runtime and eapps", and ours).
const FAULT_LOAD: u64 = 0xFA17_0000 + 13;

fn expected(eapp: &str) -> Option<u64> {
    Some(match eapp {
        "stack" | "long-nop" => 12345,
        "loop" => 54321,
        "malloc" => 11411,
        "fibonacci" => 14930352,
        "untrusted" => 13,
        "hello" | "attestation" | "data-sealing" => 0,
        "fault" => FAULT_LOAD,
        _ => return None,
    })
}

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// One enclave's run.
struct Outcome {
    value: u64,
    stats: Stats,
    created: Duration,
    ran: Duration,
    destroyed: Duration,
    start_ns: u128,
    end_ns: u128,
}

fn run_one(eapp: &str, free_mem: u64) -> Result<Outcome, Error> {
    let start_ns = now_ns();
    let t = Instant::now();
    let mut e = test_ocalls(builder(eapp)).free_mem(free_mem).build()?;
    let created = t.elapsed();
    let t = Instant::now();
    let value = e.run()?;
    let ran = t.elapsed();
    let stats = e.stats();
    let t = Instant::now();
    e.destroy()?;
    let destroyed = t.elapsed();
    Ok(Outcome { value, stats, created, ran, destroyed, start_ns, end_ns: now_ns() })
}

fn describe(eapp: &str, o: &Outcome) -> String {
    format!(
        "{eapp} returned {} (interrupts {}, ocalls {}, start {} ns, end {} ns)",
        o.value, o.stats.interrupts, o.stats.ocalls, o.start_ns, o.end_ns
    )
}

fn check_value(eapp: &str, value: u64) -> bool {
    expected(eapp).is_none_or(|want| want == value)
}

fn cmd_one(args: &[String]) -> bool {
    let Some(eapp) = args.first() else { return usage() };
    let mut free_mem = keystone_host::DEFAULT_FREE_MEM;
    let mut wait = false;
    let mut flags = args[1..].iter();
    while let Some(flag) = flags.next() {
        match flag.as_str() {
            "--free-mem" => {
                free_mem = flags.next().and_then(|v| v.parse().ok()).unwrap_or(FULL_FREE_MEM)
            }
            "--wait" => wait = true,
            _ => {}
        }
    }
    if wait {
        // `procs`: start when the parent says so, once every process exists, so the
        // enclaves overlap however slowly the processes started
        let mut go = String::new();
        let _ = std::io::stdin().read_line(&mut go);
    }
    match run_one(eapp, free_mem) {
        Ok(o) => {
            println!("one: {}", describe(eapp, &o));
            check_value(eapp, o.value)
        }
        Err(e) => {
            println!("one: {eapp}: {e}");
            false
        }
    }
}

fn count_and_eapp(args: &[String], default: &str) -> (usize, String) {
    let n = args.first().and_then(|s| s.parse().ok()).unwrap_or(4);
    (n, args.get(1).cloned().unwrap_or_else(|| default.into()))
}

/// N enclaves that all exist before any runs, run from N threads.
fn cmd_multi(args: &[String]) -> bool {
    let (n, eapp) = count_and_eapp(args, "fibonacci");
    let mut enclaves = Vec::new();
    for i in 0..n {
        match test_ocalls(builder(&eapp)).build() {
            Ok(e) => enclaves.push(e),
            Err(e) => {
                println!("multi: enclave {i} of {n}: {e}");
                return false;
            }
        }
    }
    let ids: Vec<u64> = enclaves.iter().map(Enclave::id).collect();
    println!("multi: {n} enclaves exist at once (driver ids {ids:?})");
    let threads: Vec<_> = enclaves
        .into_iter()
        .map(|mut e| {
            std::thread::spawn(move || {
                let start = now_ns();
                let r = e.run();
                (r, e.stats(), start, now_ns())
            })
        })
        .collect();
    let mut ok = true;
    let mut spans = Vec::new();
    for (i, t) in threads.into_iter().enumerate() {
        let (r, stats, s, end) = t.join().expect("enclave thread");
        match r {
            Ok(v) => {
                println!(
                    "multi: enclave {i} returned {v} (interrupts {}, ocalls {})",
                    stats.interrupts, stats.ocalls
                );
                ok &= check_value(&eapp, v);
                spans.push((s, end));
            }
            Err(e) => {
                println!("multi: enclave {i}: {e}");
                ok = false;
            }
        }
    }
    report_overlap("multi", &spans);
    ok
}

fn report_overlap(what: &str, spans: &[(u128, u128)]) -> bool {
    let latest_start = spans.iter().map(|s| s.0).max().unwrap_or(0);
    let earliest_end = spans.iter().map(|s| s.1).min().unwrap_or(0);
    let overlap = latest_start < earliest_end;
    println!(
        "{what}: {} enclaves {} (latest start {} ms before the first end)",
        spans.len(),
        if overlap { "ran at the same time" } else { "did NOT all overlap" },
        earliest_end.saturating_sub(latest_start) / 1_000_000
    );
    overlap
}

fn self_exe() -> String {
    std::env::current_exe().map_or("/bin/ks-demo".into(), |p| p.display().to_string())
}

/// N processes, each `ks-demo one EAPP`, started together.
fn cmd_procs(args: &[String]) -> bool {
    let (n, eapp) = count_and_eapp(args, "fibonacci");
    let mut children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(self_exe())
                .args(["one", &eapp, "--wait"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect();
    // every process exists: all of them go (closing its stdin says go as well)
    for child in children.iter_mut().flatten() {
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(b"go\n");
        }
    }
    let mut ok = true;
    let mut spans = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let out = match child.and_then(|c| c.wait_with_output()) {
            Ok(o) => o,
            Err(e) => {
                println!("procs: process {i}: {e}");
                ok = false;
                continue;
            }
        };
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines().filter(|l| l.starts_with("one: ")) {
            println!("procs: process {i} (pid-order) {}", &line[5..]);
            let num = |key: &str| {
                line.split(key)
                    .nth(1)
                    .and_then(|r| r.split(' ').next())
                    .and_then(|v| v.parse::<u128>().ok())
            };
            if let (Some(s), Some(e)) = (num("start "), num("end ")) {
                spans.push((s, e));
            }
        }
        ok &= out.status.success();
    }
    ok &= spans.len() == n && report_overlap("procs", &spans);
    ok
}

/// Another process counts while a long enclave runs on the same CPUs.
fn cmd_progress(args: &[String]) -> bool {
    let eapp = args.first().cloned().unwrap_or_else(|| "loop".into());
    let file = "/tmp/ks-progress";
    let _ = std::fs::remove_file(file);
    let mut spinner = match Command::new(self_exe()).args(["spin", file]).spawn() {
        Ok(c) => c,
        Err(e) => {
            println!("progress: cannot start the other process: {e}");
            return false;
        }
    };
    let read = || std::fs::read_to_string(file).ok().and_then(|s| s.trim().parse::<u64>().ok());
    let t = Instant::now();
    while read().unwrap_or(0) == 0 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let before = read().unwrap_or(0);
    let r = run_one(&eapp, keystone_host::DEFAULT_FREE_MEM);
    let after = read().unwrap_or(0);
    let _ = spinner.kill();
    let _ = spinner.wait();
    match r {
        Ok(o) => {
            println!("progress: {}", describe(&eapp, &o));
            println!(
                "progress: {} INTERRUPTED stops; the other process counted {} meanwhile",
                o.stats.interrupts,
                after.saturating_sub(before)
            );
            check_value(&eapp, o.value) && o.stats.interrupts >= 5 && after > before
        }
        Err(e) => {
            println!("progress: {eapp}: {e}");
            false
        }
    }
}

/// The other process of `progress`: counts, writing the count in place
/// (fixed width, no truncation, so a reader never sees a half-written file).
fn cmd_spin(args: &[String]) -> bool {
    use std::os::unix::fs::FileExt;
    let Some(path) = args.first() else { return usage() };
    let Ok(file) = File::create(path) else { return false };
    let mut n: u64 = 0;
    loop {
        n += 1;
        if n.is_multiple_of(1 << 12) {
            let _ = file.write_all_at(format!("{n:020}\n").as_bytes(), 0);
        }
        std::hint::black_box(n);
    }
}

/// How many enclaves can be created (finalized) at once, and why the next fails.
fn count_slots() -> (usize, String) {
    let mut held = Vec::new();
    loop {
        match test_ocalls(builder("stack")).free_mem(64 << 10).build() {
            Ok(e) => held.push(e),
            Err(e) => return (held.len(), e.to_string()),
        }
        if held.len() > 64 {
            return (held.len(), "stopped at 64".into());
        }
    }
}

fn cmd_slots() -> bool {
    let (n, why) = count_slots();
    println!("slots: {n} enclaves at once; the next: {why}");
    n > 0
}

/// Kill a host app whose full-size enclave is running; then the memory and
/// the SM slot are back: a full-size enclave runs, the slot count is unchanged.
fn cmd_kill() -> bool {
    let (before, why) = count_slots();
    println!("kill: {before} enclave slots before ({why})");
    let mut child = match Command::new(self_exe())
        .args(["one", "fibonacci", "--free-mem", &FULL_FREE_MEM.to_string()])
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            println!("kill: cannot start the host app: {e}");
            return false;
        }
    };
    // fibonacci runs for seconds: give it time to create and start.
    std::thread::sleep(Duration::from_millis(700));
    let running = child.try_wait().ok().flatten().is_none();
    let _ = child.kill();
    let status = child.wait();
    let out: String = child
        .stdout
        .take()
        .map(|s| BufReader::new(s).lines().map_while(Result::ok).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default();
    println!(
        "kill: host app {} when killed; it ended with {status:?}{}",
        if running { "was running its enclave" } else { "had ALREADY ENDED" },
        if out.is_empty() { String::new() } else { format!("; it said: {out}") }
    );
    let full =
        test_ocalls(builder("stack")).free_mem(FULL_FREE_MEM).utm_size(FULL_UTM).build().and_then(
            |mut e| {
                let epm = e.epm();
                e.run().map(|v| (v, epm))
            },
        );
    let full_ok = match &full {
        Ok((v, (base, size))) => {
            println!("kill: a full-size enclave ({size:#x} bytes at {base:#x}) ran right after: returned {v}");
            *v == 12345
        }
        Err(e) => {
            println!("kill: the full-size enclave failed: {e}");
            false
        }
    };
    let (after, why) = count_slots();
    println!("kill: {after} enclave slots after ({why})");
    running && full_ok && before == after
}

/// ocall round trip (ocall-bench: 1000 NOP ocalls, in time ticks) and the
/// create + run + destroy of hello. Under -icount shift=0, 1 ns = 1 instruction.
/// `bench [--no-switchless]`: the switchless figures need worker threads that
/// get harts of their own (zCore's one-hart scheduling gap stops them there).
fn cmd_bench(args: &[String]) -> bool {
    let mut ok = true;
    match run_one("ocall-bench", keystone_host::DEFAULT_FREE_MEM) {
        Ok(o) if o.value < u64::MAX / 2 => {
            let calls = 1000;
            println!(
                "bench: ocall round trip: {} ticks for {calls} ocalls = {} ns each \
                      (host saw {} ocalls, {} interrupts)",
                o.value,
                o.value * 100 / calls,
                o.stats.ocalls,
                o.stats.interrupts
            );
        }
        Ok(o) => {
            println!("bench: ocall-bench failed: returned {}", o.value);
            ok = false;
        }
        Err(e) => {
            println!("bench: ocall-bench: {e}");
            ok = false;
        }
    }
    // Switchless calls: latency beside the ordinary ocall, own instructions,
    // throughput (-smp 4). With one hart the worker shares it with the
    // enclave, so a short run gives the instruction count only its meaning.
    let multi = std::thread::available_parallelism().map_or(1, |n| n.get()) > 1;
    if args.iter().any(|a| a == "--no-switchless") {
        println!("bench: switchless skipped (--no-switchless)");
    } else {
        ok &= host_examples::switchless::bench(if multi { SWITCHLESS_CALLS } else { 100 });
    }
    for _ in 0..3 {
        match run_one("hello", keystone_host::DEFAULT_FREE_MEM) {
            Ok(o) => println!(
                "bench: hello create {} ns, run {} ns, destroy {} ns, total {} ns",
                o.created.as_nanos(),
                o.ran.as_nanos(),
                o.destroyed.as_nanos(),
                (o.created + o.ran + o.destroyed).as_nanos()
            ),
            Err(e) => {
                println!("bench: hello: {e}");
                ok = false;
            }
        }
    }
    ok
}

/// `MemFree` and `CmaFree` of /proc/meminfo, in kB; without /proc (zCore),
/// `sysinfo(2)`'s free memory and no CMA.
fn meminfo() -> (u64, u64) {
    let Ok(text) = std::fs::read_to_string("/proc/meminfo") else {
        return (sysinfo_free_kb(), 0);
    };
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|r| r.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("MemFree:"), field("CmaFree:"))
}

/// One create + run + destroy of `stack` with `free_mem` bytes of free
/// memory (its stack and heap need more than 128 KiB); above 4 MiB the
/// driver takes the EPM from CMA instead of the buddy allocator.
fn one_cycle(free_mem: u64) -> Result<(), String> {
    let mut e =
        test_ocalls(builder("stack")).free_mem(free_mem).build().map_err(|e| e.to_string())?;
    let v = e.run().map_err(|e| e.to_string())?;
    e.destroy().map_err(|e| e.to_string())?;
    if v == 12345 {
        Ok(())
    } else {
        Err(format!("stack returned {v}"))
    }
}

/// What /proc/meminfo may drift by over the cycles with nothing leaked (kB).
/// Not zero: the kernel's per-CPU page lists (pages freed there are not in
/// MemFree until drained), slab caches and the page tables of this process
/// move by tens of pages between two reads even when nothing runs. One leaked
/// enclave is at least its EPM (>= 512 kB here) plus an 8 kB UTM per cycle,
/// so over thousands of cycles a leak would be far above this.
const MEM_TOLERANCE_KB: u64 = 256;
/// Free memory of a cycle's enclave: a buddy block for the EPM ...
const SMALL: u64 = 256 << 10;
/// ... or, above the 4 MiB a buddy block can hold, CMA.
const LARGE: u64 = 5 << 20;

/// N create/destroy cycles from this host; memory and SM slots before and after.
fn cmd_cycles(args: &[String]) -> bool {
    let n: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    // Every `large_every`-th cycle gets a 5 MiB enclave (its EPM from CMA).
    let large_every: u64 = match args.get(1..3) {
        Some([flag, v]) if flag == "--large-every" => v.parse().unwrap_or(0),
        _ => 0,
    };
    let (slots_before, _) = count_slots();
    // A first cycle of each size so lazily made kernel and libc state (the
    // slab objects, malloc's arena) exists before the "before" reading.
    let mut failures = 0u64;
    let mut first_failure = None;
    for size in [SMALL, LARGE] {
        if let Err(e) = one_cycle(size) {
            println!("cycles: warm-up with {size} bytes free: {e}");
            return false;
        }
    }
    let (mem_before, cma_before) = meminfo();
    let t = Instant::now();
    let mut large = 0u64;
    for i in 0..n {
        let size = if large_every > 0 && i % large_every == large_every - 1 {
            large += 1;
            LARGE
        } else {
            SMALL
        };
        if let Err(e) = one_cycle(size) {
            failures += 1;
            first_failure.get_or_insert(format!("cycle {i}: {e}"));
        }
        if (i + 1) % 1000 == 0 {
            println!("cycles: {} done ({} ms)", i + 1, t.elapsed().as_millis());
        }
    }
    let elapsed = t.elapsed();
    let (mem_after, cma_after) = meminfo();
    let (slots_after, why) = count_slots();
    if let Some(f) = &first_failure {
        println!("cycles: first failure: {f}");
    }
    println!(
        "cycles: {n} done, failures {failures}, MemFree before {mem_before} after {mem_after} kB, \
         CmaFree before {cma_before} after {cma_after} kB, slots before {slots_before} after \
         {slots_after}"
    );
    println!(
        "cycles: {large} of them from CMA (5 MiB), {} us per cycle; slots after: {why}",
        elapsed.as_micros() / u128::from(n.max(1))
    );
    let mem_back = mem_after + MEM_TOLERANCE_KB >= mem_before;
    let cma_back = cma_after + MEM_TOLERANCE_KB >= cma_before;
    let ok =
        failures == 0 && slots_before == slots_after && slots_after > 0 && mem_back && cma_back;
    println!(
        "cycles: {} (memory back within {MEM_TOLERANCE_KB} kB: {}, CMA back: {})",
        if ok { "ok" } else { "FAILED" },
        if mem_back { "yes" } else { "NO" },
        if cma_back { "yes" } else { "NO" }
    );
    ok
}

unsafe extern "C" {
    fn sched_setaffinity(pid: i32, size: usize, mask: *const u64) -> i32;
    fn sysinfo(info: *mut u64) -> i32;
}

/// `freeram * mem_unit` of `sysinfo(2)` in kB (0 if the call fails).
fn sysinfo_free_kb() -> u64 {
    // struct sysinfo on 64-bit Linux is 112 bytes: freeram is the 5th u64
    // (after uptime and loads[3]); mem_unit is the u32 at byte 104.
    let mut info = [0u64; 14];
    // SAFETY: the buffer is as large as struct sysinfo and the kernel only writes it.
    if unsafe { sysinfo(info.as_mut_ptr()) } != 0 {
        return 0;
    }
    let unit = u64::from((info[13] & 0xffff_ffff) as u32).max(1);
    info[4] * unit / 1024
}

/// Pins this process to `cpu` (so the soak's processes are on different harts).
fn pin_to(cpu: usize) -> bool {
    let mut mask = [0u64; 16];
    mask[cpu / 64] = 1 << (cpu % 64);
    // SAFETY: `mask` is a live 1024-bit cpu_set_t, its size given.
    unsafe { sched_setaffinity(0, std::mem::size_of_val(&mask), mask.as_ptr()) == 0 }
}

/// What a soak process's ocall handler saw.
#[derive(Default)]
struct SeqCount {
    next: u64,
    served: u64,
    lost: u64,
    duplicated: u64,
    malformed: u64,
}

/// One soak process: the ocall-seq eapp for `secs` seconds, pinned to `cpu`;
/// every request must carry exactly the previous seq + 1.
fn cmd_soak_one(args: &[String]) -> bool {
    use keystone_abi::edge::test_ocall::{SEQ, SEQ_STOP};
    use std::sync::{Arc, Mutex};
    let secs: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(10);
    let cpu: Option<usize> = args.get(1).and_then(|s| s.parse().ok());
    let pinned = cpu.is_some_and(pin_to);
    let count = Arc::new(Mutex::new(SeqCount::default()));
    let seen = count.clone();
    let start_ns = now_ns();
    // The clock starts at the first ocall (creating four enclaves at once
    // takes seconds of their own).
    let mut deadline = None;
    let b = test_ocalls(builder("ocall-seq")).ocall(SEQ, move |args| {
        let mut c = seen.lock().unwrap();
        let Some(seq) = args.get(..8).map(|a| u64::from_le_bytes(a.try_into().unwrap())) else {
            c.malformed += 1;
            return Reply::Status(keystone_abi::edge::status::BAD_PTR);
        };
        if seq > c.next {
            c.lost += seq - c.next;
        } else if seq < c.next {
            c.duplicated += 1;
        }
        c.next = seq + 1;
        c.served += 1;
        let end = *deadline.get_or_insert_with(|| Instant::now() + Duration::from_secs(secs));
        let answer = if Instant::now() >= end { SEQ_STOP } else { seq + 1 };
        Reply::Data(answer.to_le_bytes().to_vec())
    });
    let r = b.build().and_then(|mut e| {
        let v = e.run();
        let stats = e.stats();
        e.destroy()?;
        v.map(|v| (v, stats))
    });
    let c = count.lock().unwrap();
    match r {
        Ok((value, stats)) => {
            let ok = value == c.served
                && c.served > 0
                && c.lost == 0
                && c.duplicated == 0
                && c.malformed == 0
                && stats.ocalls == c.served
                && stats.unknown_ocalls == 0;
            println!(
                "soak-one: ocalls {} interrupts {} lost {} duplicated {} malformed {} \
                 enclave-counted {value} host-stops {} cpu {} start {start_ns} ns end {} ns {}",
                c.served,
                stats.interrupts,
                c.lost,
                c.duplicated,
                c.malformed,
                stats.ocalls,
                if pinned { cpu.map_or("-".into(), |c| c.to_string()) } else { "-".into() },
                now_ns(),
                if ok { "ok" } else { "FAIL" }
            );
            ok
        }
        Err(e) => {
            println!("soak-one: {e} (after {} ocalls)", c.served);
            false
        }
    }
}

/// PROCS processes (default 4), one per hart, each running ocall-seq for SECS.
fn cmd_soak(args: &[String]) -> bool {
    let secs: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(10);
    let procs: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(4);
    let children: Vec<_> = (0..procs)
        .map(|i| {
            Command::new(self_exe())
                .args(["soak-one", &secs.to_string(), &i.to_string()])
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect();
    let field = |line: &str, key: &str| {
        line.split(&format!(" {key} ")).nth(1).and_then(|r| r.split(' ').next()).map(String::from)
    };
    let (mut ok, mut total, mut interrupts, mut good) = (true, 0u64, 0u64, 0usize);
    let mut spans = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let out = match child.and_then(|c| c.wait_with_output()) {
            Ok(o) => o,
            Err(e) => {
                println!("soak[{i}]: {e}");
                ok = false;
                continue;
            }
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let line =
            text.lines().find(|l| l.starts_with("soak-one: ")).unwrap_or("soak-one: no report");
        let num = |key: &str| field(line, key).and_then(|v| v.parse::<u64>().ok());
        let this_ok = out.status.success() && line.ends_with(" ok");
        let (n, irq) = (num("ocalls").unwrap_or(0), num("interrupts").unwrap_or(0));
        println!(
            "soak[{i}]: ocalls {n} interrupts {irq} {} (cpu {}, lost {}, duplicated {}, enclave counted {})",
            if this_ok { "ok" } else { "FAIL" },
            field(line, "cpu").unwrap_or_default(),
            field(line, "lost").unwrap_or_default(),
            field(line, "duplicated").unwrap_or_default(),
            field(line, "enclave-counted").unwrap_or_default(),
        );
        if !this_ok {
            println!("soak[{i}]: {}", text.trim());
        }
        if let (Some(s), Some(e)) = (num("start"), num("end")) {
            spans.push((u128::from(s), u128::from(e)));
        }
        ok &= this_ok;
        good += usize::from(this_ok);
        total += n;
        interrupts += irq;
    }
    ok &= spans.len() == procs && report_overlap("soak", &spans);
    println!(
        "soak: {good} of {procs} processes ok over {secs} s: ocalls {total} checked, \
         interrupts {interrupts}, none lost or duplicated: {}",
        if ok { "ok" } else { "FAILED" }
    );
    ok
}

struct Row {
    name: String,
    result: String,
    ok: bool,
    interrupts: u64,
    ocalls: u64,
    time: Duration,
}

fn example_row(eapp: &str) -> Row {
    println!("=== {eapp}");
    let t = Instant::now();
    let r = run_one(eapp, keystone_host::DEFAULT_FREE_MEM);
    let time = t.elapsed();
    match r {
        Ok(o) => Row {
            name: eapp.into(),
            ok: check_value(eapp, o.value),
            result: if eapp == "fault" { format!("{:#x}", o.value) } else { o.value.to_string() },
            interrupts: o.stats.interrupts,
            ocalls: o.stats.ocalls,
            time,
        },
        Err(e) => Row {
            name: eapp.into(),
            result: e.to_string(),
            ok: false,
            interrupts: 0,
            ocalls: 0,
            time,
        },
    }
}

fn demo_row(name: &str, f: impl FnOnce() -> bool) -> Row {
    println!("=== {name}");
    let t = Instant::now();
    let ok = f();
    Row {
        name: name.into(),
        result: if ok { "ok".into() } else { "FAILED".into() },
        ok,
        interrupts: 0,
        ocalls: 0,
        time: t.elapsed(),
    }
}

fn cmd_all() -> bool {
    let mut rows: Vec<Row> = [
        "hello",
        "untrusted",
        "stack",
        "loop",
        "fibonacci",
        "malloc",
        "long-nop",
        "data-sealing",
        "attestation",
        "fault",
    ]
    .iter()
    .map(|e| example_row(e))
    .collect();
    rows.push(demo_row("multi 3 (one process)", || cmd_multi(&["3".into(), "loop".into()])));
    rows.push(demo_row("procs 3 (processes)", || cmd_procs(&["3".into(), "fibonacci".into()])));
    println!(
        "\n{:<24} {:<14} {:>10} {:>7} {:>10}",
        "example", "result", "interrupts", "ocalls", "time ms"
    );
    for r in &rows {
        println!(
            "{:<24} {:<14} {:>10} {:>7} {:>10}",
            r.name,
            format!("{}{}", if r.ok { "" } else { "FAIL " }, r.result),
            r.interrupts,
            r.ocalls,
            r.time.as_millis()
        );
    }
    let failed = rows.iter().filter(|r| !r.ok).count();
    println!("demo: {} examples, {} passed, {failed} failed", rows.len(), rows.len() - failed);
    failed == 0
}

fn usage() -> bool {
    eprintln!(
        "usage: ks-demo one EAPP [--free-mem B] | multi N [EAPP] | procs N [EAPP] | \
               progress [EAPP] | kill | slots | bad-ioctl | bench | bench-switchless [N] | \
               switchless calls|liar|hostile|slow|slow-worker [N] [WORKERS] | \
               switchless-soak N [PROCS] [--storm US] | all | \
               cycles N [--large-every K] | soak SECS [PROCS]"
    );
    false
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or(&[]);
    let ok = match args.first().map(String::as_str) {
        Some("one") => cmd_one(rest),
        Some("multi") => cmd_multi(rest),
        Some("procs") => cmd_procs(rest),
        Some("progress") => cmd_progress(rest),
        Some("spin") => cmd_spin(rest),
        Some("kill") => cmd_kill(),
        Some("slots") => cmd_slots(),
        Some("bad-ioctl") => host_examples::refusals::run("bad-ioctl"),
        Some("bench") => cmd_bench(rest),
        Some("bench-switchless") => host_examples::switchless::bench(
            rest.first().and_then(|s| s.parse().ok()).unwrap_or(SWITCHLESS_CALLS),
        ),
        Some("switchless") => host_examples::switchless::cmd(rest),
        Some("switchless-soak") => host_examples::switchless::soak(rest),
        Some("all") => cmd_all(),
        Some("cycles") => cmd_cycles(rest),
        Some("soak") => cmd_soak(rest),
        Some("soak-one") => cmd_soak_one(rest),
        _ => usage(),
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

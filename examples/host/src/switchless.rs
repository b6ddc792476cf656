//! `ks-demo switchless ...` and the switchless figures of `ks-demo bench`:
//! the host side of the `switchless` eapp (examples/tests).

use crate::{builder, test_ocalls};
use keystone_abi::edge::status;
use keystone_abi::switchless::{
    header, mode, slot, slot_offset, state, test_ocall, PAYLOAD_OFFSET, RING_BYTES, SLOTS,
};
use keystone_host::{Error, Reply};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The UTM of the switchless runs: the ring and a page for ordinary calls.
const UTM: u64 = keystone_host::switchless_min_utm();
/// What the eapp returns when its ring cannot be mapped (FAILED | 3).
pub const NO_RING: u64 = (0xBAD0 << 48) | 3;
/// `time` CSR ticks per second.
const TICKS_PER_S: u64 = keystone_abi::eyrie::TIMEBASE_HZ;

/// What one run of the switchless eapp gave.
pub struct Outcome {
    pub value: u64,
    /// The eapp's REPORT, if it sent one.
    pub report: Vec<u64>,
    /// INC calls the host served on a switchless worker / on the run loop.
    pub by_workers: u64,
    pub by_run_loop: u64,
    /// CALLS mode: requests 0..n the INC handler never saw / saw twice or more.
    pub lost: u64,
    pub duplicated: u64,
    pub switchless: u64,
    pub ocalls: u64,
    /// Times the SM stopped the enclave for an interrupt (INTERRUPTED).
    pub interrupts: u64,
    /// Calls a slow worker held (slept on after taking them).
    pub delayed: u64,
    /// SLEEP_US calls the host served on a worker / on the run loop.
    pub sleeps: (u64, u64),
    /// WAIT_OCALLs the run loop served.
    pub host_waits: u64,
    pub ran: Duration,
    /// When the run began, in ns since the epoch (to see runs overlap).
    pub started_ns: u128,
}

/// How the host behaves besides serving.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// Workers (count, first CPU) serve the ring.
    Workers(usize, usize),
    /// No worker, but the ring's header says one runs.
    Liar,
    /// One worker (on this CPU) that sleeps `secs` s after taking each of
    /// the first `delays` INC calls it serves: a host descheduled mid-call.
    SlowWorker { cpu: usize, delays: u64, secs: u64 },
    /// A lying worker (of every four answers: one right, one to another
    /// request, one with a length past the slot, one leaving a state the
    /// protocol does not have) and a thread writing garbage all over the ring.
    Hostile,
}

fn on_worker() -> bool {
    std::thread::current().name().is_some_and(|n| n.starts_with("ks-switchless"))
}

/// Runs the switchless eapp in `what` mode with `n`; the enclave on CPU `cpu`.
pub fn run(what: u64, n: u64, host: Host, cpu: Option<usize>) -> Result<Outcome, Error> {
    run_with_utm(what, n, host, cpu, UTM)
}

fn run_with_utm(
    what: u64,
    n: u64,
    host: Host,
    cpu: Option<usize>,
    utm: u64,
) -> Result<Outcome, Error> {
    if let Some(c) = cpu {
        let _ = keystone_host::pin_current_thread(c);
    }
    let report = Arc::new(Mutex::new(Vec::new()));
    let (by_workers, by_run_loop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (w, r, rep) = (by_workers.clone(), by_run_loop.clone(), report.clone());
    // SLEEP_US calls: served by a worker, by the run loop.
    let sleeps = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (w2, r2) = (sleeps.0.clone(), sleeps.1.clone());
    // How often the INC handler saw each request 0..n (CALLS mode only: the
    // hostile host's garbage is no request of the eapp's).
    let track = what == mode::CALLS && n <= 1 << 24;
    let seen = Arc::new(Mutex::new(vec![0u8; if track { n as usize } else { 0 }]));
    let s = seen.clone();
    let delays = match host {
        Host::SlowWorker { delays, secs, .. } => (delays, Duration::from_secs(secs)),
        _ => (0, Duration::ZERO),
    };
    let delayed = Arc::new(AtomicU64::new(0));
    let d = delayed.clone();
    let mut b = test_ocalls(builder("switchless"))
        .utm_size(utm)
        .ocall(test_ocall::MODE, move |_| {
            Reply::Data([what, n, 0].iter().flat_map(|v| v.to_le_bytes()).collect())
        })
        .ocall(test_ocall::REPORT, move |args| {
            *rep.lock().unwrap() =
                args.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
            Reply::None
        })
        .ocall_shared(test_ocall::INC, move |args| {
            let Some(v) = args.get(..8) else { return Reply::Status(status::BAD_PTR) };
            let counter = if on_worker() { &w } else { &r };
            counter.fetch_add(1, Ordering::Relaxed);
            // The slow worker: the call is taken (CLAIMED) and not answered
            // until the sleep ends.
            if on_worker() && d.fetch_add(1, Ordering::Relaxed) < delays.0 {
                std::thread::sleep(delays.1);
            }
            let v = u64::from_le_bytes(v.try_into().unwrap());
            if let Ok(i) = usize::try_from(v) {
                if let Some(c) = s.lock().unwrap().get_mut(i) {
                    *c = c.saturating_add(1);
                }
            }
            Reply::Data((v + 1).to_le_bytes().to_vec())
        })
        .ocall_shared(test_ocall::SLEEP_US, move |args| {
            let counter = if on_worker() { &w2 } else { &r2 };
            counter.fetch_add(1, Ordering::Relaxed);
            let us = args.get(..8).map_or(0, |v| u64::from_le_bytes(v.try_into().unwrap()));
            std::thread::sleep(Duration::from_micros(us.min(10_000_000)));
            Reply::None
        });
    match host {
        Host::Workers(k, first) => {
            let cpus: Vec<usize> = (first..first + k).collect();
            b = b.switchless(k, &cpus);
        }
        Host::SlowWorker { cpu, .. } => b = b.switchless(1, &[cpu]),
        Host::Hostile | Host::Liar => {}
    }
    let mut e = b.build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let scribbler = match (host, e.ring()) {
        (Host::Liar, Some(ring)) => {
            ring.store(header::WORKERS, 1);
            None
        }
        (Host::Hostile, Some(ring)) => {
            let (r1, s1) = (ring.clone(), stop.clone());
            let (r2, s2) = (ring.clone(), stop.clone());
            Some((
                std::thread::spawn(move || lying_worker(&r1, &s1)),
                std::thread::spawn(move || scribble(&r2, &s2)),
            ))
        }
        _ => None,
    };
    let started_ns = now_ns();
    let t = Instant::now();
    let value = e.run();
    let ran = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut lied = None;
    if let Some((liar, s)) = scribbler {
        lied = liar.join().ok();
        let _ = s.join();
    }
    let stats = e.stats();
    e.destroy()?;
    let report = report.lock().unwrap().clone();
    let seen = seen.lock().unwrap();
    let lost = seen.iter().filter(|&&c| c == 0).count() as u64;
    let duplicated = seen.iter().filter(|&&c| c > 1).count() as u64;
    Ok(Outcome {
        value: value?,
        report,
        // The lying worker answers by itself, without the handler table.
        by_workers: lied.unwrap_or_else(|| by_workers.load(Ordering::Relaxed)),
        by_run_loop: by_run_loop.load(Ordering::Relaxed),
        lost,
        duplicated,
        switchless: stats.switchless,
        ocalls: stats.ocalls,
        interrupts: stats.interrupts,
        delayed: delayed.load(Ordering::Relaxed).min(delays.0),
        sleeps: (sleeps.0.load(Ordering::Relaxed), sleeps.1.load(Ordering::Relaxed)),
        host_waits: stats.switchless_waits,
        ran,
        started_ns,
    })
}

/// A worker that lies: it takes each posted request and answers it in turn
/// right, for another request (wrong sequence number), with a length past
/// the slot, or not at all (leaving a state the protocol does not have).
/// Returns how many requests it took.
fn lying_worker(ring: &keystone_host::switchless::Ring, stop: &AtomicBool) -> u64 {
    ring.store(header::WORKERS, 1);
    let mut k = 0u64;
    while !stop.load(Ordering::Relaxed) {
        for i in 0..SLOTS {
            let b = slot_offset(i);
            if ring.load(b + slot::STATE) != state::POSTED {
                continue;
            }
            ring.store(b + slot::STATE, state::CLAIMED);
            let seq = ring.load(b + slot::SEQ);
            let v = ring.load(b + PAYLOAD_OFFSET);
            ring.store(b + PAYLOAD_OFFSET, v.wrapping_add(1));
            ring.store(b + slot::STATUS, status::OK);
            ring.store(b + slot::RET_LEN, 8);
            ring.store(b + slot::RET_SEQ, seq);
            k += 1;
            match k % 4 {
                1 => {}
                2 => ring.store(b + slot::RET_SEQ, seq ^ 1),
                3 => ring.store(b + slot::RET_LEN, u64::MAX - 7),
                _ => {
                    ring.store(b + slot::STATE, 0xdead);
                    continue;
                }
            }
            ring.store(b + slot::STATE, state::DONE);
        }
        std::hint::spin_loop();
    }
    k
}

/// Writes garbage over the ring until told to stop: slot states the
/// protocol does not have, answers to other requests, lengths past the
/// slot, a lying worker count, random payload.
fn scribble(ring: &keystone_host::switchless::Ring, stop: &AtomicBool) {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    while !stop.load(Ordering::Relaxed) {
        let i = (next() % SLOTS as u64) as usize;
        let base = slot_offset(i);
        match next() % 6 {
            0 => ring.store(base + slot::STATE, next() % 8),
            1 => ring.store(base + slot::RET_LEN, next()),
            2 => ring.store(base + slot::RET_SEQ, next() % 4),
            3 => ring.store(base + slot::STATE, 3),
            4 => ring.store(header::WORKERS, next() % 3),
            _ => ring.store((next() as usize % (RING_BYTES / 8)) * 8, next()),
        }
        for _ in 0..200 {
            std::hint::spin_loop();
        }
    }
}

fn now_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `ks-demo switchless calls|liar|hostile|slow|slow-worker|small-utm [N] [WORKERS]`.
pub fn cmd(args: &[String]) -> bool {
    let kind = args.first().map(String::as_str).unwrap_or("calls");
    if kind == "small-utm" {
        return small_utm();
    }
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let workers: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    // --cpu C: the enclave on CPU C, its worker(s) on the CPUs after it.
    let pin: Option<usize> = match args.get(3..5) {
        Some([flag, c]) if flag == "--cpu" => c.parse().ok(),
        _ => None,
    };
    let first_cpu = match pin {
        Some(c) => (c + 1) % cpus(),
        None => usize::from(cpus() > 1),
    };
    let (what, host) = match kind {
        "calls" => (mode::CALLS, Host::Workers(workers, first_cpu)),
        "liar" => (mode::CALLS, Host::Liar),
        "hostile" => (mode::HOSTILE, Host::Hostile),
        "slow" => (mode::SLOW, Host::Workers(1, first_cpu)),
        // slow-worker N [DELAYS] [SECS]: 3 delays of 3 s by default.
        "slow-worker" => {
            let delays = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
            let secs = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3);
            (mode::CALLS, Host::SlowWorker { cpu: first_cpu, delays, secs })
        }
        _ => {
            eprintln!(
                "usage: ks-demo switchless calls|liar|hostile|slow|slow-worker|small-utm [N] \
                 [WORKERS | DELAYS SECS]"
            );
            return false;
        }
    };
    let o = match run(what, n, host, pin) {
        Ok(o) => o,
        Err(e) => {
            println!("switchless: {kind}: {e}");
            return false;
        }
    };
    let r = |i: usize| o.report.get(i).copied().unwrap_or(u64::MAX);
    let value_ok = o.value == 0;
    if what == mode::SLOW {
        println!(
            "switchless: slow: exit {:#x}, answered through the ring after {} ticks ({} ms), \
             eapp asked the run loop to wait {} times, run loop waited {} times; sleeps served \
             by workers {} run loop {}; next call path {} ({}), ran {} ms",
            o.value,
            r(0),
            r(0) / (TICKS_PER_S / 1000),
            r(1),
            o.host_waits,
            o.sleeps.0,
            o.sleeps.1,
            r(2),
            match r(2) {
                1 => "switchless",
                2 => "ordinary",
                _ => "none",
            },
            o.ran.as_millis()
        );
        return value_ok && o.report.len() == 3;
    }
    println!(
        "switchless: {kind}: exit {:#x}; eapp: switchless {} ordinary {} unclaimed {} waited \
         {} (asked {}) protocol {} wrong {} status {}; host: workers served {} run loop served \
         {} (switchless {}, ordinary stops {}, waits {}, interrupts {}), ran {} ms, lost {} \
         duplicated {}",
        o.value,
        r(0),
        r(1),
        r(2),
        r(3),
        r(7),
        r(4),
        r(5),
        r(6),
        o.by_workers,
        o.by_run_loop,
        o.switchless,
        o.ocalls,
        o.host_waits,
        o.interrupts,
        o.ran.as_millis(),
        o.lost,
        o.duplicated
    );
    if let Host::SlowWorker { delays, secs, .. } = host {
        println!(
            "switchless: {kind}: the worker slept {secs} s after taking {} of the {delays} calls \
             it was to delay",
            o.delayed
        );
    }
    println!(
        "switchless: {kind}: ran from {} to {} ns",
        o.started_ns,
        o.started_ns + o.ran.as_nanos()
    );
    value_ok && o.report.len() == 8 && o.lost == 0 && o.duplicated == 0
}

/// A UTM with no room for the ring besides a page: the eapp cannot map it,
/// and the host SDK refuses workers for it.
fn small_utm() -> bool {
    let small = UTM - RING_BYTES as u64;
    let eapp = run_with_utm(mode::CALLS, 10, Host::Workers(0, 0), None, small);
    let workers = test_ocalls(builder("switchless")).utm_size(small).switchless(1, &[]).build();
    let refused = match &workers {
        Err(e @ Error::Config(_)) => e.to_string(),
        Err(e) => format!("other error: {e}"),
        Ok(_) => "built".into(),
    };
    let value = eapp.as_ref().map(|o| o.value);
    println!(
        "switchless: small-utm: eapp exit {}; workers: {refused}",
        match &value {
            Ok(v) => format!("{v:#x}"),
            Err(e) => e.to_string(),
        }
    );
    value.is_ok_and(|v| v == NO_RING) && matches!(workers, Err(Error::Config(_)))
}

/// The switchless figures: latency beside the ordinary ocall (both in guest
/// time), the enclave hart's own instructions per call, and throughput with
/// 1 and 3 workers when there are 4 harts.
pub fn bench(n: u64) -> bool {
    let c = cpus();
    let mut ok = true;
    let ns = |ticks: u64| ticks * (1_000_000_000 / TICKS_PER_S);
    match run(mode::LATENCY, n, Host::Workers(1, usize::from(c > 1)), Some(0)) {
        Ok(o) if o.value == 0 && o.report.len() == 10 => {
            let r = &o.report;
            let (sw, ord) = (r[4], r[1]);
            let ratio = if ord == 0 { f64::NAN } else { sw as f64 / ord as f64 };
            if c > 1 {
                println!(
                    "bench: switchless round trip: median {sw} ticks = {} ns (p10 {}, p90 {} \
                     ticks) over {} calls; ordinary ocall median {ord} ticks = {} ns (p10 {}, \
                     p90 {} ticks) over {n} calls; ratio {ratio:.3} (-smp {c}, 1 worker)",
                    ns(sw),
                    r[3],
                    r[5],
                    r[8],
                    ns(ord),
                    r[0],
                    r[2],
                );
            } else {
                // On one hart the worker runs only when the enclave is
                // stopped: that measures the scheduler, not the ring.
                println!("bench: switchless round trip: skipped (needs 2 harts, have 1)");
            }
            println!(
                "bench: switchless own instructions: median {} per call (min {}; instret of the \
                 enclave's hart, spin excluded; {} calls fell back; exact under -icount only, \
                 without it QEMU's instret follows the host's clock)",
                r[6], r[7], r[9]
            );
        }
        Ok(o) => {
            println!("bench: switchless latency failed: exit {:#x} report {:?}", o.value, o.report);
            ok = false;
        }
        Err(e) => {
            println!("bench: switchless latency: {e}");
            ok = false;
        }
    }
    if c < 4 {
        println!("bench: switchless throughput: skipped (needs 4 harts, have {c})");
        return ok;
    }
    for workers in [1usize, 3] {
        match run(mode::THROUGHPUT, TICKS_PER_S, Host::Workers(workers, 1), Some(0)) {
            Ok(o) if o.value == 0 && o.report.len() == 3 => {
                let (done, ticks, failed) = (o.report[0], o.report[1], o.report[2]);
                println!(
                    "bench: switchless throughput: {workers} workers: {done} calls in {ticks} \
                     ticks = {} calls/s of guest time ({failed} failed, -smp {c})",
                    done * TICKS_PER_S / ticks.max(1)
                );
            }
            Ok(o) => {
                println!(
                    "bench: switchless throughput failed: exit {:#x} report {:?}",
                    o.value, o.report
                );
                ok = false;
            }
            Err(e) => {
                println!("bench: switchless throughput: {e}");
                ok = false;
            }
        }
    }
    ok
}

/// The soak's default storm period (µs): 20 timers per tick of the kernel's 1 kHz.
const STORM_US: u64 = 50;

unsafe extern "C" {
    fn prctl(option: i32, ...) -> i32;
    fn sched_setscheduler(pid: i32, policy: i32, param: *const i32) -> i32;
}

/// `prctl` option: this thread's timer slack in ns (its sleeps may end that late).
const PR_SET_TIMERSLACK: i32 = 29;
/// The real-time policy whose threads run as soon as they wake.
const SCHED_FIFO: i32 = 1;

/// What one storm thread did.
struct StormCount {
    cpu: usize,
    pinned: bool,
    fifo: bool,
    sleeps: u64,
    ran: Duration,
}

/// A timer storm: a real-time thread pinned to each CPU sleeps `period` over
/// and over with no timer slack, so the kernel arms that hart's timer every
/// time it goes back to sleep; each expiry while an enclave runs there stops
/// it (INTERRUPTED).
struct Storm {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<StormCount>>,
}

impl Storm {
    fn start(period: Duration, cpus: usize) -> Storm {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..cpus)
            .map(|cpu| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let pinned = keystone_host::pin_current_thread(cpu).is_ok();
                    // SAFETY: PR_SET_TIMERSLACK takes one unsigned long and
                    // changes only this thread's timer slack.
                    unsafe { prctl(PR_SET_TIMERSLACK, 1u64) };
                    // Real time, so that each expiry runs the thread at once
                    // and it re-arms: a waking CFS thread may wait a slice.
                    let priority = 1i32;
                    // SAFETY: `priority` is a live struct sched_param (one
                    // int); pid 0 is this thread.
                    let fifo = unsafe { sched_setscheduler(0, SCHED_FIFO, &priority) } == 0;
                    let (t, mut sleeps) = (Instant::now(), 0u64);
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(period);
                        sleeps += 1;
                    }
                    StormCount { cpu, pinned, fifo, sleeps, ran: t.elapsed() }
                })
            })
            .collect();
        Storm { stop, threads }
    }

    /// Ends the storm; what each thread did.
    fn stop(self) -> Vec<StormCount> {
        self.stop.store(true, Ordering::Relaxed);
        self.threads.into_iter().filter_map(|t| t.join().ok()).collect()
    }
}

/// Timer interrupts each CPU has taken so far (the `riscv-timer` line of
/// /proc/interrupts), so the soak shows what the storm did to every hart.
fn timer_interrupts() -> Vec<u64> {
    let text = std::fs::read_to_string("/proc/interrupts").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.trim_end().ends_with("riscv-timer")) else {
        return Vec::new();
    };
    line.split_whitespace().skip(1).map_while(|w| w.parse().ok()).collect()
}

/// `ks-demo switchless-soak N [PROCS] [--storm US]`: PROCS (4) processes at
/// once, each an enclave pinned to its own hart making N sequence-numbered
/// switchless calls served by a worker on the next hart, under a timer storm
/// (on every hart a real-time thread sleeping US µs over and over, default
/// 50; 0: the kernel's 1 kHz tick only) that stops the enclaves far more
/// often than the tick; none may be lost or duplicated, each answer checked
/// by the eapp. Prints each hart's timer interrupts, the storm's sleeps and
/// each enclave's stops.
pub fn soak(args: &[String]) -> bool {
    let storm_at = args.iter().position(|a| a == "--storm");
    let storm_us: u64 = match storm_at.map(|i| args.get(i + 1).and_then(|s| s.parse().ok())) {
        None => STORM_US,
        Some(Some(us)) => us,
        Some(None) => {
            eprintln!("usage: ks-demo switchless-soak N [PROCS] [--storm US]");
            return false;
        }
    };
    let args: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|&(i, _)| storm_at.is_none_or(|s| i != s && i != s + 1))
        .map(|(_, a)| a)
        .collect();
    let n: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let procs: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(4);
    let exe = std::env::current_exe().map_or("/bin/ks-demo".into(), |p| p.display().to_string());
    let (timer_before, t0) = (timer_interrupts(), Instant::now());
    let storm = (storm_us > 0).then(|| Storm::start(Duration::from_micros(storm_us), cpus()));
    let children: Vec<_> = (0..procs)
        .map(|i| {
            std::process::Command::new(&exe)
                .args(["switchless", "calls", &n.to_string(), "1", "--cpu", &i.to_string()])
                .stdout(std::process::Stdio::piped())
                .spawn()
        })
        .collect();
    let (mut good, mut lines, mut spans, mut stops) = (0, Vec::new(), Vec::new(), Vec::new());
    let per_ms = |k: u64, ms: u128| k as f64 / ms.max(1) as f64;
    // A number after `key` in a report line.
    let field = |l: &str, key: &str| -> Option<u64> {
        l.split_once(key)?.1.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    for (i, child) in children.into_iter().enumerate() {
        let out = match child.and_then(|c| c.wait_with_output()) {
            Ok(o) => o,
            Err(e) => {
                lines.push(format!("switchless-soak[{i}]: {e}"));
                continue;
            }
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let line =
            text.lines().find(|l| l.starts_with("switchless: calls: ")).unwrap_or("no report");
        let span = text.lines().find_map(|l| {
            let (from, to) =
                l.split_once(" ran from ")?.1.strip_suffix(" ns")?.split_once(" to ")?;
            Some((from.parse::<u128>().ok()?, to.parse::<u128>().ok()?))
        });
        spans.extend(span);
        stops.push(match (field(line, " interrupts "), field(line, " ran ")) {
            (Some(k), Some(ms)) => format!("{k} ({:.2} per ms)", per_ms(k, ms.into())),
            _ => "?".into(),
        });
        let ok = out.status.success();
        good += usize::from(ok);
        lines.push(format!("switchless-soak[{i}]: {} {line}", if ok { "ok" } else { "FAIL" }));
        if !ok {
            lines.push(format!("switchless-soak[{i}]: output: {}", text.trim()));
        }
    }
    // The storm ends when the last enclave has.
    let counts = storm.map(Storm::stop).unwrap_or_default();
    let (timer_after, soak_ms) = (timer_interrupts(), t0.elapsed().as_millis());
    for (cpu, (a, b)) in timer_after.iter().zip(&timer_before).enumerate() {
        let k = a.saturating_sub(*b);
        println!(
            "switchless-soak: cpu {cpu}: {k} timer interrupts in {soak_ms} ms = {:.2} per ms",
            per_ms(k, soak_ms)
        );
    }
    for c in &counts {
        let ms = c.ran.as_millis();
        println!(
            "switchless-soak: storm: cpu {} (pinned {}, fifo {}): {} sleeps of {storm_us} us \
             in {ms} ms = {:.2} per ms",
            c.cpu,
            if c.pinned { "yes" } else { "no" },
            if c.fifo { "yes" } else { "no" },
            c.sleeps,
            per_ms(c.sleeps, ms)
        );
    }
    for l in &lines {
        println!("{l}");
    }
    println!("switchless-soak: enclaves interrupted: {}", stops.join(", "));
    // How long all the enclaves ran at once (the storm is on every hart).
    let latest_start = spans.iter().map(|s| s.0).max().unwrap_or(0);
    let first_end = spans.iter().map(|s| s.1).min().unwrap_or(0);
    println!(
        "switchless-soak: {} enclaves ran at the same time for {} ms",
        spans.len(),
        first_end.saturating_sub(latest_start) / 1_000_000
    );
    println!(
        "switchless-soak: {good} of {procs} enclaves made {n} calls each under {}, none lost or \
         duplicated: {}",
        if storm_us > 0 {
            format!("a timer storm ({storm_us} us sleeps on {} harts)", counts.len())
        } else {
            "the 1 kHz tick only".into()
        },
        if good == procs { "ok" } else { "FAILED" }
    );
    good == procs
}

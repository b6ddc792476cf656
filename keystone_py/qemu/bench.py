"""``keystone-py bench``: deterministic costs of our SM beside OpenSBI, in one run.

Every run uses QEMU ``-icount shift=0,sleep=off`` (one instruction = 1 ns of
virtual time; an idle machine skips to its next timer instead of sleeping in
real time) and writes its console straight to a file (a guest polling a UART
that a slow reader keeps full would execute extra instructions), so the
figures repeat exactly from run to run and machine to machine:

* the conformance payload booted with ``-append bench`` prints
  ``bench: NAME instret=N ticks=T rounds=R`` per SBI call (average instructions
  of one call, M-mode included: QEMU's instret counts every retired
  instruction, loop overhead removed);
* Linux (same kernel and initramfs for both) booted with ``ks.script=poweroff``:
  /init prints the time CSR (10 MHz) at its marker; one tick is 100 ns = 100
  instructions under shift=0 (plus idle time skipped to timers). On one hart
  this repeats exactly; with ``-smp`` > 1 QEMU's round-robin scheduling of the
  harts makes it neither repeatable nor comparable (said in the table).

Wall times are reported beside them; they depend on the build machine and are
not compared by any test.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ..build.artifacts import Artifacts
from ..contract import INIT_READY, SM_PANIC
from ..paths import logs_dir
from ..toolchain import Toolchain
from .firmware import CHOICES, firmware_label, resolve_firmware
from .guest import INSTRUCTIONS_PER_TICK_SHIFT0, linux_machine, parse_ready
from .machine import BatchResult, Machine

log = logging.getLogger("keystone_py.bench")

ICOUNT_SHIFT = 0
BENCH_LINE = re.compile(r"^bench: (?P<name>\w+)(?P<fields>(?: \w+=\d+)+)\s*$", re.MULTILINE)
BENCH_DONE = r"^bench: done"
#: Payload measurements in display order, with a label; others follow by name.
PAYLOAD_LABELS = {
    "sbi_null_call": "SBI null call (base.get_spec_version) round trip",
    "sbi_probe_extension": "SBI base.probe_extension(TIME)",
    "sbi_set_timer": "SBI time.set_timer",
    "sbi_unknown_extension": "SBI unknown extension (-> NOT_SUPPORTED)",
    "enclave_run_to_exit": "world switch: RUN -> enclave exit -> host",
    "enclave_edge_call_round_trip": "edge call round trip (STOP -> host -> RESUME)",
    "enclave_timer_stop_resume": "timer stop + resume (INTERRUPTED -> RESUME)",
    "enclave_attest": "ATTEST (SM part)",
    "enclave_sealing_key": "GET_SEALING_KEY (SM part)",
    "enclave_create_per_page": "CREATE per measured 4 KiB page",
}
#: Lines ``bench: create_epm_<log2 size> ...`` of the per-size sweep.
SIZE_SWEEP = re.compile(r"^create_epm_(\d+)$")


def parse_bench_lines(text: str) -> Dict[str, Dict[str, int]]:
    """``bench: NAME k=v k=v`` lines → ``{NAME: {k: v}}`` (``bench: done`` skipped)."""
    out: Dict[str, Dict[str, int]] = {}
    for m in BENCH_LINE.finditer(text.replace("\r", "")):
        fields = dict(kv.split("=") for kv in m.group("fields").split())
        out[m.group("name")] = {k: int(v) for k, v in fields.items()}
    return out


@dataclass
class PayloadRun:
    firmware: str
    measurements: Dict[str, Dict[str, int]] = field(default_factory=dict)
    wall_s: float = 0.0
    exit_status: Optional[int] = None
    error: Optional[str] = None
    log_dir: str = ""


@dataclass
class LinuxRun:
    firmware: str
    smp: int
    cpus: Optional[int] = None
    marker_ticks: Optional[int] = None
    marker_instructions: Optional[int] = None
    marker_wall_s: Optional[float] = None
    wall_s: float = 0.0
    exit_status: Optional[int] = None
    error: Optional[str] = None
    log_dir: str = ""
    #: On our SM, figures of ``ks-demo bench`` run in the guest (instructions).
    ocall_round_trip: Optional[int] = None
    hello_create_run_destroy: Optional[int] = None


#: ``ks-demo bench`` lines (guest ns = instructions under -icount shift=0).
OCALL_LINE = re.compile(r"^bench: ocall round trip: \d+ ticks for \d+ ocalls = (\d+) ns each",
                        re.MULTILINE)
HELLO_LINE = re.compile(r"^bench: hello create \d+ ns, run \d+ ns, destroy \d+ ns, "
                        r"total (\d+) ns", re.MULTILINE)


@dataclass
class BenchReport:
    firmware: Dict[str, str]  # label -> image path
    payload: List[PayloadRun] = field(default_factory=list)
    linux: List[LinuxRun] = field(default_factory=list)
    icount_shift: int = ICOUNT_SHIFT
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        runs: List[Any] = [*self.payload, *self.linux]
        return all(r.error is None and r.exit_status == 0 for r in runs)

    def to_dict(self) -> Dict[str, Any]:
        return {"icount": f"shift={self.icount_shift}",
                "instructions_per_tick": INSTRUCTIONS_PER_TICK_SHIFT0,
                "firmware": self.firmware, "ok": self.ok, "wall_s": round(self.wall_s, 3),
                "payload": [asdict(r) for r in self.payload],
                "linux": [asdict(r) for r in self.linux]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def size_sweep(self) -> List[tuple]:
        """(EPM bytes, figures) of the CREATE/DESTROY sweep, smallest first."""
        out = []
        for r in self.payload:
            for name, m in r.measurements.items():
                if SIZE_SWEEP.match(name) and "create_per_page" in m:
                    out.append((m["bytes"], m))
        return sorted(out, key=lambda x: x[0])

    def plot(self, path: Path) -> Path:
        """A PNG: CREATE cost per page vs EPM size, and ours vs OpenSBI per operation."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
        sweep = self.size_sweep()
        if sweep:
            sizes = [s / 1024 for s, _ in sweep]
            for key, label in (("create_per_page", "CREATE (measure)"),
                               ("sha3_per_page", "SHA3-512 of the same bytes"),
                               ("destroy_per_page", "DESTROY (scrub)")):
                left.plot(sizes, [m[key] for _, m in sweep], marker="o", label=label)
            left.set_xscale("log", base=2)
            left.set_yscale("log")
            left.set_xlabel("EPM size (KiB)")
            left.set_ylabel("instructions per 4 KiB page")
            left.set_title("Enclave create/destroy cost vs EPM size (-icount)")
            left.legend()
        payload = {r.firmware: r for r in self.payload}
        names = [n for n in PAYLOAD_LABELS
                 if any("instret" in r.measurements.get(n, {}) for r in self.payload)]
        width = 0.8 / max(1, len(payload))
        for i, (fw, r) in enumerate(payload.items()):
            values = [r.measurements.get(n, {}).get("instret", 0) for n in names]
            right.bar([x + i * width for x in range(len(names))], values, width, label=fw)
        right.set_xticks([x + width * (len(payload) - 1) / 2 for x in range(len(names))])
        right.set_xticklabels([n.replace("enclave_", "").replace("sbi_", "sbi ") for n in names],
                              rotation=35, ha="right", fontsize=8)
        right.set_yscale("log")
        right.set_ylabel("instructions (instret, -icount shift=0)")
        right.set_title("Per operation: ours vs OpenSBI")
        right.legend()
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path

    def format_table(self) -> str:
        labels = list(self.firmware)
        rows: List[List[str]] = [["", *labels]]
        payload = {r.firmware: r for r in self.payload}
        names = list(PAYLOAD_LABELS)
        for r in self.payload:
            names += [n for n in r.measurements if n not in names and not SIZE_SWEEP.match(n)
                      and "instret" in r.measurements[n]]
        if self.payload:
            rows.append(["payload on 1 hart, instructions per call (instret)"])
            for name in names:
                cells = []
                for fw in labels:
                    r = payload.get(fw)
                    v = r.measurements.get(name, {}).get("instret") if r else None
                    cells.append(str(v) if v is not None else ("FAILED" if r and r.error
                                                               else "-"))
                rows.append([f"  {PAYLOAD_LABELS.get(name, name)}", *cells])
            rows.append(["  wall time of the payload run",
                         *[_wall(payload.get(fw)) for fw in labels]])
        sweep = self.size_sweep()
        if sweep:
            rows.append(["enclave CREATE / DESTROY per 4 KiB page by EPM size (ours), "
                         "instructions; SHA3-512 of the same bytes for the ratio"])
            for size, m in sweep:
                ratio = m["create_per_page"] / m["sha3_per_page"] if m["sha3_per_page"] else 0
                rows.append([f"  {size >> 10:>6} KiB: create {m['create_per_page']}, destroy "
                             f"{m['destroy_per_page']}, sha3 {m['sha3_per_page']}, "
                             f"create/sha3 {ratio:.3f}"])
        smps = sorted({r.smp for r in self.linux})
        linux = {(r.firmware, r.smp): r for r in self.linux}
        for smp in smps:
            rows.append([f"Linux 6.1 + /init, -smp {smp}, ks.script=poweroff"])
            cells, approx, mwall, wall = [], [], [], []
            for fw in labels:
                r = linux.get((fw, smp))
                if r is None:
                    cells.append("-")
                    approx.append("-")
                elif r.marker_ticks is not None:
                    cells.append(f"{r.marker_ticks}")
                    approx.append(f"{r.marker_instructions / 1e6:.1f} M")
                else:
                    cells.append("unreadable" if r.cpus is not None else "FAILED")
                    approx.append("-")
                mwall.append(f"{r.marker_wall_s:.2f} s" if r and r.marker_wall_s else "-")
                wall.append(_wall(r))
            rows.append(["  boot to /init marker, time CSR ticks (10 MHz)", *cells])
            rows.append(["  boot to /init marker, ~instructions (100/tick)", *approx])
            rows.append(["  wall time to the marker", *mwall])
            for key, label in (("ocall_round_trip", "ocall round trip eapp -> host -> eapp"),
                               ("hello_create_run_destroy", "hello create + run + destroy")):
                vals = [getattr(linux.get((fw, smp)), key, None) for fw in labels]
                if any(v is not None for v in vals):
                    rows.append([f"  {label}, instructions",
                                 *[str(v) if v is not None else "-" for v in vals]])
            rows.append(["  wall time of the whole run (to power-off)", *wall])
        cells = [r for r in rows if len(r) > 1]
        widths = [max(len(r[i]) for r in cells if len(r) > i) for i in range(len(labels) + 1)]
        lines = []
        for r in rows:
            if len(r) == 1:
                lines.append(r[0])
                continue
            lines.append(r[0].ljust(widths[0]) + "".join(
                "  " + c.rjust(widths[i + 1]) for i, c in enumerate(r[1:])))
        errors = [f"{kind} on {r.firmware}: {r.error}" for kind, runs in
                  (("payload", self.payload), ("linux", self.linux)) for r in runs if r.error]
        lines.append(f"QEMU -icount shift={self.icount_shift},sleep=off: instructions and ticks "
                     "repeat exactly run after run; wall times are this machine's "
                     f"(total {self.wall_s:.1f} s).")
        lines.append("Ticks are virtual time from reset: 100 instructions each, plus idle "
                     "time skipped to the next timer (sleep=off).")
        if any(smp > 1 for smp in smps):
            lines.append("-smp > 1: QEMU runs the harts round-robin under -icount; a hart "
                         "spinning on another burns its whole slice (up to 100 ms), so these "
                         "boot figures neither repeat nor compare firmware.")
        lines.extend(f"error: {e}" for e in errors)
        return "\n".join(lines)


def _wall(r: Any) -> str:
    if r is None:
        return "-"
    return f"{r.wall_s:.2f} s" + ("" if r.exit_status == 0 else f" (exit {r.exit_status})")


def _run_error(res: BatchResult, wanted: str) -> Optional[str]:
    if res.failure:
        return f"console failure: {res.failure}"
    if res.timed_out:
        return f"timeout before QEMU exited (waiting for {wanted})"
    if res.status != 0:
        return f"QEMU exit status {res.status}"
    return None


def bench_payload(artifacts: Artifacts, firmware: str, log_dir: Path,
                  toolchain: Toolchain, timeout: float = 120.0) -> PayloadRun:
    """Boots the conformance payload with ``-append bench`` on 1 hart."""
    run = PayloadRun(firmware=firmware_label(firmware), log_dir=str(log_dir))
    m = Machine(firmware=resolve_firmware(firmware, artifacts, toolchain),
                kernel=artifacts.require("payload_bin"), append="bench", smp=1,
                icount=ICOUNT_SHIFT, log_dir=log_dir, name=f"bench-payload-{run.firmware}",
                qemu=toolchain.qemu, fail_patterns=(SM_PANIC,))
    res = m.run_to_exit(timeout=timeout, marks=[BENCH_DONE])
    run.wall_s = round(res.wall_s, 3)
    run.exit_status = res.status
    run.measurements = parse_bench_lines(res.text)
    run.error = _run_error(res, "bench: done")
    if run.error is None and BENCH_DONE not in res.marks:
        run.error = "the payload never printed `bench: done`"
    return run


def bench_linux(artifacts: Artifacts, firmware: str, smp: int, log_dir: Path,
                toolchain: Toolchain, timeout: float = 600.0) -> LinuxRun:
    """Boots Linux + /init with ``ks.script=poweroff``; reads the marker's time."""
    run = LinuxRun(firmware=firmware_label(firmware), smp=smp, log_dir=str(log_dir))
    # On our SM the guest also runs the driver-level figures: an ocall round
    # trip eapp -> host handler -> eapp, and hello's create + run + destroy.
    ours = run.firmware == "ours"
    script = ["run /bin/ks-demo bench", "poweroff"] if ours else ["poweroff"]
    m = linux_machine(artifacts, firmware=firmware, smp=smp, script=script,
                      icount=ICOUNT_SHIFT, toolchain=toolchain, log_dir=log_dir,
                      name=f"bench-linux-{run.firmware}-smp{smp}")
    res = m.run_to_exit(timeout=timeout, marks=[INIT_READY])
    run.wall_s = round(res.wall_s, 3)
    run.exit_status = res.status
    run.error = _run_error(res, "the /init marker")
    ocall = OCALL_LINE.search(res.text)
    hello = HELLO_LINE.findall(res.text)
    run.ocall_round_trip = int(ocall.group(1)) if ocall else None
    run.hello_create_run_destroy = int(hello[-1]) if hello else None
    ready = parse_ready(res.text)
    if ready is not None:
        run.marker_wall_s = round(res.marks.get(INIT_READY, res.wall_s), 3)
        run.cpus = ready.cpus
        run.marker_ticks = ready.time
        run.marker_instructions = ready.instructions(ICOUNT_SHIFT)
        if run.error is None and ready.time is None:
            run.error = "/init could not read the time CSR (rdtime trapped in U-mode)"
    elif run.error is None:
        run.error = "no /init marker"
    return run


def run_bench(artifacts: Artifacts, firmwares: Sequence[str] = CHOICES,
              linux_smp: Sequence[int] = (1,), payload: bool = True,
              log_root: Optional[Path] = None, toolchain: Optional[Toolchain] = None,
              timeout: float = 600.0) -> BenchReport:
    """Every run, one after the other (so wall times do not disturb each other)."""
    tc = toolchain or Toolchain()
    if log_root is None:
        log_root = logs_dir() / time.strftime("bench-%Y%m%d-%H%M%S")
    report = BenchReport(firmware={firmware_label(f): str(resolve_firmware(f, artifacts, tc))
                                   for f in firmwares})
    start = time.monotonic()
    for fw in firmwares:
        if payload:
            log.info("bench: payload on %s", firmware_label(fw))
            r = bench_payload(artifacts, fw, log_root / f"payload-{firmware_label(fw)}", tc,
                              timeout=min(timeout, 120.0))
            report.payload.append(r)
    for smp in linux_smp:
        for fw in firmwares:
            log.info("bench: Linux on %s, -smp %d", firmware_label(fw), smp)
            r = bench_linux(artifacts, fw, smp,
                            log_root / f"linux-{firmware_label(fw)}-smp{smp}", tc, timeout)
            report.linux.append(r)
    report.wall_s = time.monotonic() - start
    log.info("bench: logs in %s", log_root)
    return report

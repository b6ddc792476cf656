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

Beside them stands Keystone's own C SM, measured in the same run when its
sources are given (``keystone_py.build.keystone_sm`` builds it in OpenSBI 1.1
with its boot ROM; column ``keystone``): the same payload, the same Linux
image and ``ks-demo bench``, the same ``-cpu`` options and ``-icount``. Without
the sources, Keystone's figures recorded once on the same QEMU stand in
(``keystone_py.qemu.reference``, labelled "recorded" with their source). The
last column is the ratio ours / Keystone. ``phases=True`` also traces one of
each hot-path operation on our SM (``keystone_py.qemu.phases``) for a
per-phase breakdown.

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
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..build.artifacts import Artifacts
from ..build.keystone_sm import KeystoneFirmware
from ..contract import INIT_READY_ON_CONSOLE, SM_PANIC
from ..errors import KeystoneError
from ..paths import logs_dir
from ..toolchain import Toolchain
from . import reference
from .firmware import CHOICES, firmware_label, resolve_firmware
from .guest import INSTRUCTIONS_PER_TICK_SHIFT0, LinuxGuest, linux_machine, parse_ready
from .machine import BatchResult, Machine
from .phases import Breakdown, format_breakdowns, trace_phases
from .zcore import zcore_machine

log = logging.getLogger("keystone_py.bench")

ICOUNT_SHIFT = 0
#: The column of Keystone's SM measured in this run.
KEYSTONE = reference.LIVE_LABEL
#: What a bench run boots: ``ours``, ``opensbi``, a path, or Keystone's SM built.
BenchFirmware = Union[str, Path, KeystoneFirmware]
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
    "enclave_preemption_round_trip": "preemption round trip (timer -> INTERRUPTED -> RESUME)",
    "enclave_attest": "ATTEST (SM part)",
    "enclave_sealing_key": "GET_SEALING_KEY (SM part)",
    "enclave_create_per_page": "CREATE per measured 4 KiB page (512 KiB EPM)",
}
PREEMPTION = "enclave_preemption_round_trip"
#: The CREATE/DESTROY sweep rows that have a recorded Keystone figure.
SWEEP_ROWS = (("create_epm_16", "create_per_page", "CREATE per measured 4 KiB page, 64 KiB EPM"),
              ("create_epm_26", "create_per_page", "CREATE per measured 4 KiB page, 64 MiB EPM"),
              ("create_epm_16", "destroy_per_page", "DESTROY per 4 KiB page, 64 KiB EPM"),
              ("create_epm_26", "destroy_per_page", "DESTROY per 4 KiB page, 64 MiB EPM"))
#: Linux rows (fields of LinuxRun) compared with Keystone, with their label.
LINUX_ROWS = (("marker_instructions", "boot to /init marker, ~instructions (100/tick)"),
              ("ocall_round_trip", "ocall round trip eapp -> host -> eapp, instructions"),
              ("hello_create_run_destroy", "hello create + run + destroy, instructions"))
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
    #: ``-cpu`` of the run (None: QEMU's default CPU).
    cpu: Optional[str] = None


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
    #: The same ocall round trip served through the C++ host SDK (``ks-cpp-demo bench``).
    ocall_round_trip_cpp: Optional[int] = None
    #: ``ks-files``: a glibc eapp's proxied 4 KiB pread and pwrite (file calls
    #: served by the host SDK's FileServer) and its plain NOP ocall, each the
    #: eapp's instret per call (docs/runtime.md, "Files").
    file_pread_4k: Optional[int] = None
    file_pwrite_4k: Optional[int] = None
    file_plain_ocall: Optional[int] = None
    #: ``ks-files --sealed``: the sealed-file eapp's 4 KiB pread and pwrite of
    #: a sealed file (docs/runtime.md, "Sealed files"), instret per call.
    sealed_pread_4k: Optional[int] = None
    sealed_pwrite_4k: Optional[int] = None
    #: ``ks-net``: a glibc eapp's proxied 4 KiB send and receive over the
    #: guest's loopback (socket calls served by the host SDK's SocketServer),
    #: each the eapp's instret per call (docs/runtime.md, "sockets").
    socket_send_4k: Optional[int] = None
    socket_recv_4k: Optional[int] = None
    #: ``bench: switchless TOPIC: ...`` lines of ``ks-demo bench``, by topic
    #: (see :func:`parse_switchless`); empty when the guest printed none.
    switchless: Dict[str, Dict[str, Any]] = field(default_factory=dict)


#: ``ks-demo bench`` lines (guest ns = instructions under -icount shift=0).
OCALL_LINE = re.compile(r"^bench: ocall round trip: \d+ ticks for \d+ ocalls = (\d+) ns each",
                        re.MULTILINE)
#: ``ks-cpp-demo bench``: the same eapp and count, served by sdk/cpp's Keystone::Enclave.
CPP_OCALL_LINE = re.compile(r"^bench-cpp: ocall round trip: \d+ ticks for \d+ ocalls = (\d+) ns "
                            r"each", re.MULTILINE)
#: ``ks-files``' glibc eapp: instructions per call (instret, averaged over its rounds).
FILES_LINE = re.compile(r"^files: bench rounds=\d+ pread4k=(\d+) pwrite4k=(\d+) ocall=(\d+)$",
                        re.MULTILINE)
#: The ``ks-files`` run that prints FILES_LINE (its folder made by --setup).
FILES_BENCH = "run /bin/ks-files /enclave/linux-files --setup /tmp/ksf --rw /tmp/ksf/rw"
#: The sealed-file eapp: sealed and plain 4 KiB pread/pwrite (instret per call).
SEALED_LINE = re.compile(r"^sealed: bench rounds=\d+ sealed_pread4k=(\d+) sealed_pwrite4k=(\d+) ",
                         re.MULTILINE)
#: The ``ks-files`` run that prints SEALED_LINE.
SEALED_BENCH = ("run /bin/ks-files /enclave/linux-sealed --setup /tmp/kss --rw /tmp/kss/rw "
                "--sealed /tmp/kss/rw/s.bin --sealed /tmp/kss/rw/bench.bin -- write")
#: ``ks-net``'s glibc eapp: instructions per call (instret, averaged over its rounds).
NET_LINE = re.compile(r"^net: bench rounds=\d+ send4k=(\d+) recv4k=(\d+) ocall=\d+$", re.MULTILINE)
#: The ``ks-net`` run that prints NET_LINE (TCP granted on the port it uses).
NET_BENCH = ("run /bin/ks-net /enclave/linux-net --bind tcp:127.0.0.1:7401 "
             "--connect tcp:127.0.0.1:7401")
HELLO_LINE = re.compile(r"^bench: hello create \d+ ns, run \d+ ns, destroy \d+ ns, "
                        r"total (\d+) ns", re.MULTILINE)
#: ``bench: switchless ...`` lines (figures of switchless ocalls, ks-demo bench).
SWITCHLESS_LINE = re.compile(r"^bench: switchless\b[ :]*(?P<rest>.*?)\s*$", re.MULTILINE)
_KV = re.compile(r"(?<![\w-])(?P<k>[A-Za-z_]\w*)=(?P<v>[^\s,;()]+)")
#: Figures read from the prose form of the lines, when they are there.
_SWITCHLESS_FIGURES = (
    ("median_ticks", re.compile(r"^median (\d+) ticks")),
    ("median_ns", re.compile(r"^median \d+ ticks = (\d+) ns")),
    ("calls", re.compile(r"^median .*? over (\d+) calls")),
    ("ordinary_median_ticks", re.compile(r"ordinary ocall median (\d+) ticks")),
    ("ordinary_median_ns", re.compile(r"ordinary ocall median \d+ ticks = (\d+) ns")),
    ("ratio", re.compile(r"\bratio (\d+(?:\.\d+)?)\b")),
    ("median_instructions", re.compile(r"^median (\d+) per call")),
    ("min_instructions", re.compile(r"^median \d+ per call \(min (\d+)")),
    ("fell_back", re.compile(r"(\d+) calls fell back")),
    ("calls", re.compile(r"^(\d+) calls in \d+ ticks")),
    ("ticks", re.compile(r"^\d+ calls in (\d+) ticks")),
    ("calls_per_s", re.compile(r"= (\d+) calls/s")),
    ("failed", re.compile(r"\((\d+) failed")),
    ("smp", re.compile(r"-smp (\d+)")),
)


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_switchless(text: str) -> Dict[str, Dict[str, Any]]:
    """``bench: switchless ...`` lines → ``{topic: {"text": ..., figures...}}``.

    Tolerant of the form: ``bench: switchless TOPIC: prose`` (the topic is the
    text before the first colon, ``throughput: N workers:`` keeps the workers),
    or ``bench: switchless k=v k=v``. Every ``k=v`` pair is kept; figures are
    read from the prose only where a known phrase says them (``median N ticks
    = M ns``, ``ratio R``, ``N calls/s``, ...); ``skipped``/``failed`` lines are
    marked. ``text`` is the line as the guest printed it after the topic.
    """
    out: Dict[str, Dict[str, Any]] = {}
    for m in SWITCHLESS_LINE.finditer(text.replace("\r", "")):
        rest = m.group("rest")
        topic, sep, body = rest.partition(": ")
        if not sep or "=" in topic:
            words = [w for w in rest.split() if "=" not in w]
            topic, body = " ".join(words) or "figures", rest
        workers = re.match(r"(\d+ workers?): (.*)$", body)
        if workers:
            topic, body = f"{topic} {workers.group(1)}", workers.group(2)
        topic = topic.strip().rstrip(":")
        entry: Dict[str, Any] = {"text": body.strip()}
        if body.startswith("skipped"):
            entry["skipped"] = True
        if "failed" in topic or body.startswith(("failed", "error")):
            entry["failed"] = True
        for key, pattern in _SWITCHLESS_FIGURES:
            found = pattern.search(body)
            if found and key not in entry:
                entry[key] = _number(found.group(1))
        for kv in _KV.finditer(body):
            entry[kv.group("k")] = _number(kv.group("v"))
        name, n = topic, 2
        while name in out:
            name, n = f"{topic} #{n}", n + 1
        out[name] = entry
    return out


@dataclass
class Comparison:
    """One row that has a recorded Keystone figure: ours / OpenSBI / Keystone."""

    key: str  # the key in reference.KEYSTONE
    label: str
    values: Dict[str, Optional[int]]  # firmware label -> figure of this run
    keystone: Optional[int]  # values["keystone"] when measured live, else the recorded one
    cpu: Optional[str] = None  # -cpu of our figure (None: QEMU's default)
    #: "measured" (this run) or "recorded" (keystone_py.qemu.reference).
    keystone_kind: str = "recorded"

    @property
    def ours(self) -> Optional[int]:
        return self.values.get("ours")

    @property
    def ratio(self) -> Optional[float]:
        return reference.ratio(self.ours, self.keystone)

    def to_dict(self) -> Dict[str, Any]:
        r = self.ratio
        return {"key": self.key, "label": self.label, "values": self.values,
                "keystone": self.keystone, "keystone_kind": self.keystone_kind,
                "cpu": self.cpu,
                "ratio_ours_keystone": None if r is None else round(r, 4)}


def format_ratio(r: Optional[float]) -> str:
    return "-" if r is None else f"{r:.2f}x"


@dataclass
class BenchReport:
    firmware: Dict[str, str]  # label -> image path
    payload: List[PayloadRun] = field(default_factory=list)
    linux: List[LinuxRun] = field(default_factory=list)
    #: zCore as the host on our SM (``--zcore``): the same figures as ``linux``'s.
    zcore: List[LinuxRun] = field(default_factory=list)
    icount_shift: int = ICOUNT_SHIFT
    wall_s: float = 0.0
    #: ``--phases``: the per-phase breakdown on our SM (None: not asked).
    phases: Optional[List[Breakdown]] = None
    phases_error: Optional[str] = None
    #: What Keystone's SM measured in this run was built from (None: not measured).
    keystone_source: Optional[str] = None
    #: Why Keystone's SM was not measured (its sources not given, or ``--no-keystone``).
    keystone_missing: Optional[str] = None

    @property
    def keystone_live(self) -> bool:
        """Keystone's SM was measured in this run (its column is ``keystone``)."""
        return self.keystone_source is not None and KEYSTONE in self.firmware

    def keystone_figure(self, key: str, measured: Optional[int]) -> Optional[int]:
        """Keystone's figure for a row: ``measured`` (this run's) when live, else recorded."""
        return measured if self.keystone_live else reference.KEYSTONE.get(key)

    @property
    def ok(self) -> bool:
        runs: List[Any] = [*self.payload, *self.linux, *self.zcore]
        return (all(r.error is None and r.exit_status == 0 for r in runs)
                and self.phases_error is None)

    def payload_runs(self, cpu: Optional[str] = None) -> Dict[str, PayloadRun]:
        """The payload runs on ``-cpu cpu`` (None: the default CPU) by firmware."""
        return {r.firmware: r for r in self.payload if r.cpu == cpu}

    def payload_names(self) -> List[str]:
        """Payload measurements with an ``instret``, in display order."""
        names = list(PAYLOAD_LABELS)
        for r in self.payload:
            names += [n for n in r.measurements if n not in names and not SIZE_SWEEP.match(n)
                      and "instret" in r.measurements[n]]
        return names

    def _sweep_value(self, fw: str, name: str, key: str) -> Optional[int]:
        r = self.payload_runs().get(fw)
        return r.measurements.get(name, {}).get(key) if r else None

    def comparisons(self) -> List[Comparison]:
        """Every row the recorded Keystone figures have, with this run's figures."""
        labels = list(self.firmware)
        kind = "measured" if self.keystone_live else "recorded"
        out: List[Comparison] = []
        default = self.payload_runs()
        for name in self.payload_names():
            if name not in reference.KEYSTONE:
                continue
            if name == PREEMPTION:
                # Keystone's is for -cpu rv64,sstc=false only: compare with ours there.
                runs = self.payload_runs(reference.PREEMPTION_CPU)
                cpu: Optional[str] = reference.PREEMPTION_CPU
            else:
                runs, cpu = default, None
            values = {fw: runs[fw].measurements.get(name, {}).get("instret")
                      if fw in runs else None for fw in labels}
            label = PAYLOAD_LABELS.get(name, name) + (f", -cpu {cpu}" if cpu else "")
            out.append(Comparison(name, label, values,
                                  self.keystone_figure(name, values.get(KEYSTONE)), cpu, kind))
        for name, key, label in SWEEP_ROWS:
            values = {fw: self._sweep_value(fw, name, key) for fw in labels}
            out.append(Comparison(f"{name}.{key}", label, values,
                                  self.keystone_figure(f"{name}.{key}", values.get(KEYSTONE)),
                                  keystone_kind=kind))
        linux = {r.firmware: r for r in self.linux if r.smp == 1}
        for key, label in LINUX_ROWS:
            values = {fw: getattr(linux.get(fw), key, None) for fw in labels}
            out.append(Comparison(f"linux.{key}", f"Linux -smp 1: {label}", values,
                                  self.keystone_figure(f"linux.{key}", values.get(KEYSTONE)),
                                  keystone_kind=kind))
        return out

    def to_dict(self) -> Dict[str, Any]:
        return {"icount": f"shift={self.icount_shift}",
                "instructions_per_tick": INSTRUCTIONS_PER_TICK_SHIFT0,
                "firmware": self.firmware, "ok": self.ok, "wall_s": round(self.wall_s, 3),
                "payload": [asdict(r) for r in self.payload],
                "linux": [asdict(r) for r in self.linux],
                "zcore": [asdict(r) for r in self.zcore],
                "keystone": {"live": self.keystone_live, "source": self.keystone_source,
                             "not_measured_because": self.keystone_missing,
                             "preemption_cpu": reference.PREEMPTION_CPU,
                             "not_applicable": dict(reference.NOT_APPLICABLE)
                             if self.keystone_live else {}},
                # Recorded figures only when Keystone's SM was not measured in this run.
                "keystone_reference": None if self.keystone_live else {
                    "label": reference.LABEL, "source": reference.SOURCE,
                    "preemption_cpu": reference.PREEMPTION_CPU,
                    "figures": dict(reference.KEYSTONE), "notes": list(reference.NOTES)},
                "comparison": [c.to_dict() for c in self.comparisons()],
                "phases": None if self.phases is None else [
                    {"name": b.name, "total": b.total, "sm_total": b.sm_total(),
                     "phases": dict(b.phases)} for b in self.phases],
                "phases_error": self.phases_error}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def size_sweep(self, firmware: str = "ours") -> List[tuple]:
        """(EPM bytes, figures) of the CREATE/DESTROY sweep on ``firmware``, smallest first."""
        out = []
        r = self.payload_runs().get(firmware)
        if r is not None:
            for name, m in r.measurements.items():
                if SIZE_SWEEP.match(name) and "create_per_page" in m:
                    out.append((m["bytes"], m))
        return sorted(out, key=lambda x: x[0])

    def plot(self, path: Path) -> Path:
        """A PNG: CREATE cost per page vs EPM size, and ours vs OpenSBI vs Keystone's
        recorded figures per payload operation."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6))
        sweep = self.size_sweep()
        if sweep:
            sizes = [s / 1024 for s, _ in sweep]
            for key, label in (("create_per_page", "CREATE (measure)"),
                               ("sha3_per_page", "SHA3-512 of the same bytes"),
                               ("destroy_per_page", "DESTROY (scrub)")):
                left.plot(sizes, [m[key] for _, m in sweep], marker="o", label=label)
            theirs = self.size_sweep(KEYSTONE) if self.keystone_live else []
            for key, label in (("create_per_page", "CREATE"), ("destroy_per_page", "DESTROY")):
                if theirs:
                    left.plot([s / 1024 for s, _ in theirs], [m[key] for _, m in theirs],
                              marker="x", linestyle="--", label=f"Keystone's SM: {label}")
            if not self.keystone_live:
                for name, key, _label in SWEEP_ROWS:
                    k = reference.KEYSTONE.get(f"{name}.{key}")
                    if k is not None:
                        left.scatter([(1 << int(name.rsplit("_", 1)[1])) / 1024], [k],
                                     marker="x", color="black")
                left.scatter([], [], marker="x", color="black",
                             label=f"{reference.LABEL}: CREATE, DESTROY")
            left.set_xscale("log", base=2)
            left.set_yscale("log")
            left.set_xlabel("EPM size (KiB)")
            left.set_ylabel("instructions per 4 KiB page")
            left.set_title("Enclave create/destroy cost vs EPM size (-icount)")
            left.legend(fontsize=8)
        rows = [c for c in self.comparisons()
                if not c.key.startswith(("linux.", "create_epm_"))
                and any(v is not None for v in (*c.values.values(), c.keystone))]
        series: List[Tuple[str, List[int], Optional[str]]] = [
            (fw, [c.values.get(fw) or 0 for c in rows], None) for fw in self.firmware]
        if not self.keystone_live:
            series.append((reference.LABEL, [c.keystone or 0 for c in rows], "//"))
        width = 0.8 / max(1, len(series))
        for i, (label, values, hatch) in enumerate(series):
            right.bar([x + i * width for x in range(len(rows))], values, width, label=label,
                      hatch=hatch, edgecolor="black" if hatch else None,
                      color="white" if hatch else None)
        right.set_xticks([x + width * (len(series) - 1) / 2 for x in range(len(rows))])
        right.set_xticklabels([c.key.replace("enclave_", "").replace("sbi_", "sbi ")
                               + (f"\n(-cpu {c.cpu})" if c.cpu else "") for c in rows],
                              rotation=35, ha="right", fontsize=8)
        right.set_yscale("log")
        right.set_ylabel("instructions (instret, -icount shift=0)")
        right.set_title("Per operation: ours vs OpenSBI vs Keystone "
                        + ("(measured in this run)" if self.keystone_live else "(recorded)"))
        right.legend(fontsize=8)
        fig.text(0.01, 0.01, f"keystone: Keystone's SM measured in this run, built from "
                 f"{self.keystone_source}" if self.keystone_live
                 else f"{reference.LABEL}: {reference.SOURCE}", fontsize=7)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        path = Path(path)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path

    def _host_rows(self, width: int) -> List[List[str]]:
        return _host_rows_impl(self, width)

    def format_table(self) -> str:
        labels = list(self.firmware)
        live = self.keystone_live
        # Live: Keystone's SM is a firmware column; else its recorded figures are one.
        header = ["", *labels, *([] if live else [reference.LABEL]), "ours/Keystone"]
        rows: List[List[str]] = [header]
        compared = {c.key: c for c in self.comparisons()}

        def tail(recorded: str, ratio: str) -> List[str]:
            return [ratio] if live else [recorded, ratio]

        def figure_cells(values: Dict[str, Optional[int]], failed: Dict[str, bool],
                         recorded: Optional[int], na: Optional[str] = None) -> List[str]:
            cells = []
            for fw in labels:
                v = values.get(fw)
                cells.append(str(v) if v is not None else "FAILED" if failed.get(fw)
                             else f"n/a ({na})" if fw == KEYSTONE and na else "-")
            keystone = values.get(KEYSTONE) if live else recorded
            return [*cells, *tail(str(recorded) if recorded is not None else "-",
                                  format_ratio(reference.ratio(values.get("ours"), keystone)))]

        if self.payload:
            payload = self.payload_runs()
            failed = {fw: r.error is not None for fw, r in payload.items()}
            rows.append(["payload on 1 hart, instructions per call (instret)"])
            for name in self.payload_names():
                values = {fw: payload[fw].measurements.get(name, {}).get("instret")
                          if fw in payload else None for fw in labels}
                label = PAYLOAD_LABELS.get(name, name)
                if name == PREEMPTION:
                    # QEMU's default CPU has Sstc: Keystone has no figure there.
                    rows.append([f"  {label}, default CPU (Sstc)", *figure_cells(
                        values, failed, None, reference.NOT_APPLICABLE.get(name))])
                    c = compared.get(name)
                    sstc = self.payload_runs(reference.PREEMPTION_CPU)
                    if c is not None and (sstc or c.keystone is not None):
                        rows.append([f"  {label}, -cpu {c.cpu}", *figure_cells(
                            c.values, {fw: r.error is not None for fw, r in sstc.items()},
                            c.keystone)])
                    continue
                rows.append([f"  {label}", *figure_cells(values, failed,
                                                         reference.KEYSTONE.get(name))])
            rows.append(["  wall time of the payload run",
                         *[_wall(payload.get(fw)) for fw in labels], *tail("", "")])
            for r in self.payload:
                if r.cpu is not None:
                    rows.append([f"  wall time of the payload run, -cpu {r.cpu} ({r.firmware})",
                                 *[_wall(r) if fw == r.firmware else "-" for fw in labels],
                                 *tail("", "")])
        sweep = self.size_sweep()
        if sweep:
            rows.append(["enclave CREATE / DESTROY per 4 KiB page by EPM size (ours), "
                         "instructions; SHA3-512 of the same bytes for the ratio"])
            for size, m in sweep:
                ratio = m["create_per_page"] / m["sha3_per_page"] if m["sha3_per_page"] else 0
                rows.append([f"  {size >> 10:>6} KiB: create {m['create_per_page']}, destroy "
                             f"{m['destroy_per_page']}, sha3 {m['sha3_per_page']}, "
                             f"create/sha3 {ratio:.3f}"])
            for name, key, label in SWEEP_ROWS:
                c = compared[f"{name}.{key}"]
                if any(v is not None for v in c.values.values()):
                    rows.append([f"  {label}", *figure_cells(c.values, {}, c.keystone)])
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
                    approx.append(f"{r.marker_instructions / 1e6:.1f} M"
                                  if r.marker_instructions is not None else "-")
                else:
                    cells.append("unreadable" if r.cpus is not None else "FAILED")
                    approx.append("-")
                mwall.append(f"{r.marker_wall_s:.2f} s" if r and r.marker_wall_s else "-")
                wall.append(_wall(r))
            keystone_boot = reference.KEYSTONE.get("linux.marker_instructions") if smp == 1 \
                else None
            ours_boot = getattr(linux.get(("ours", smp)), "marker_instructions", None)
            if live:
                keystone_boot = getattr(linux.get((KEYSTONE, smp)), "marker_instructions", None)
            rows.append(["  boot to /init marker, time CSR ticks (10 MHz)", *cells,
                         *tail("-", "-")])
            rows.append(["  boot to /init marker, ~instructions (100/tick)", *approx,
                         *tail(f"{keystone_boot / 1e6:.1f} M" if keystone_boot else "-",
                               format_ratio(reference.ratio(ours_boot, keystone_boot)))])
            rows.append(["  wall time to the marker", *mwall, *tail("", "")])
            for key, label in (("ocall_round_trip", "ocall round trip eapp -> host -> eapp"),
                               ("ocall_round_trip_cpp", "the same through the C++ host SDK"),
                               ("file_plain_ocall", "glibc eapp: plain ocall (ks-files)"),
                               ("file_pread_4k", "glibc eapp: proxied 4 KiB pread"),
                               ("file_pwrite_4k", "glibc eapp: proxied 4 KiB pwrite"),
                               ("sealed_pread_4k", "glibc eapp: sealed 4 KiB pread"),
                               ("sealed_pwrite_4k", "glibc eapp: sealed 4 KiB pwrite"),
                               ("socket_send_4k", "glibc eapp: proxied 4 KiB TCP send"),
                               ("socket_recv_4k", "glibc eapp: proxied 4 KiB TCP recv"),
                               ("hello_create_run_destroy", "hello create + run + destroy")):
                vals = {fw: getattr(linux.get((fw, smp)), key, None) for fw in labels}
                if any(v is not None for v in vals.values()):
                    keystone = reference.KEYSTONE.get(f"linux.{key}") if smp == 1 else None
                    rows.append([f"  {label}, instructions",
                                 *figure_cells(vals, {}, keystone)])
            rows.append(["  wall time of the whole run (to power-off)", *wall, *tail("", "")])
            for fw in labels:
                r = linux.get((fw, smp))
                if r is not None and fw == KEYSTONE and smp == 1:
                    # bench_linux passed --no-switchless: say why rather than "skipped".
                    why = reference.NOT_APPLICABLE["linux.switchless"]
                    rows.append([f"  switchless ocalls (ks-demo bench on {fw}): n/a ({why})"])
                elif r is not None and r.switchless:
                    rows.append([f"  switchless ocalls (ks-demo bench on {fw}, as printed):"])
                    # A line with no topic of its own ("skipped (...)") is printed once.
                    rows.extend([f"    {topic}: {e['text']}" if e["text"] != topic
                                 else f"    {topic}"] for topic, e in r.switchless.items())
        rows.extend(self._host_rows(len(header)))
        cells = [r for r in rows if len(r) > 1]
        widths = [max(len(r[i]) for r in cells if len(r) > i) for i in range(len(header))]
        lines = []
        for r in rows:
            if len(r) == 1:
                lines.append(r[0])
                continue
            lines.append(r[0].ljust(widths[0]) + "".join(
                "  " + c.rjust(widths[i + 1]) for i, c in enumerate(r[1:])))
        if self.phases is not None:
            lines.append(format_breakdowns(self.phases))
        errors = [f"{kind} on {r.firmware}{f' (-cpu {r.cpu})' if getattr(r, 'cpu', None) else ''}"
                  f": {r.error}" for kind, runs in
                  (("payload", self.payload), ("linux", self.linux), ("zcore", self.zcore))
                  for r in runs if r.error]
        if self.phases_error:
            errors.append(f"phases on ours: {self.phases_error}")
        if live:
            lines.append(f"keystone: measured in this run, built from {self.keystone_source}. "
                         "ours/Keystone: our figure over Keystone's (below 1: ours is cheaper).")
            lines.extend(reference.LIVE_NOTES)
        else:
            lines.append(f"{reference.LABEL}: not measured by this run; {reference.SOURCE}. "
                         "ours/Keystone: our figure over Keystone's (below 1: ours is cheaper).")
            lines.extend(reference.NOTES)
            if self.keystone_missing:
                lines.append(f"Keystone's SM not measured live: {self.keystone_missing}")
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


def _host_rows_impl(report: "BenchReport", width: int) -> List[List[str]]:
    """Linux and zCore side by side on our SM (same -smp), as extra table rows
    whose cells sit under the first firmware columns (Linux, zCore)."""
    rows: List[List[str]] = []
    linux = {r.smp: r for r in report.linux if r.firmware == "ours"}
    for z in report.zcore:
        lx = linux.get(z.smp)
        rows.append([f"Host OS on ours, -smp {z.smp}: Linux 6.1 | zCore (patched), instructions"])

        def pair(key: str, lx: Optional[LinuxRun] = lx, z: LinuxRun = z) -> List[str]:
            vals = [getattr(r, key, None) if r is not None else None for r in (lx, z)]
            cells = [f"{v:,}" if isinstance(v, int) else "-" for v in vals]
            ratio = (f"zCore/Linux {vals[1] / vals[0]:.2f}" if all(vals) else "")
            return [*cells, ratio][:max(width - 1, 1)]
        rows.append(["  boot to the first user program (/init's marker)",
                     *pair("marker_instructions")])
        rows.append(["  ocall round trip eapp -> host -> eapp", *pair("ocall_round_trip")])
        rows.append(["  hello create + run + destroy", *pair("hello_create_run_destroy")])
    return rows


def bench_zcore(artifacts: Artifacts, zcore: Path, root_image: Path, smp: int, log_dir: Path,
                toolchain: Toolchain, timeout: float = 600.0) -> LinuxRun:
    """zCore + /init on our SM under -icount: the marker's time (boot to the first
    user program), then ``ks-demo bench`` at the prompt (its ocall and hello lines);
    QEMU is stopped afterwards (zCore cannot power off)."""
    run = LinuxRun(firmware="ours", smp=smp, log_dir=str(log_dir))
    firmware = resolve_firmware("ours", artifacts, toolchain)
    m = zcore_machine(firmware, zcore, root_image, ["/bin/init"], smp=smp, log="error",
                      icount=ICOUNT_SHIFT, name=f"bench-zcore-smp{smp}", log_dir=log_dir)
    start = time.monotonic()
    try:
        with m:
            guest = LinuxGuest(m)
            ready = guest.wait_ready(timeout=timeout)
            run.marker_wall_s = round(time.monotonic() - start, 3)
            guest.wait_prompt()
            # Switchless workers need harts of their own; zCore's one-hart scheduling
            # gap (zcore_patch/README.md) stops them, so zCore's column leaves them out.
            out = guest.run("/bin/ks-demo bench --no-switchless", timeout=timeout)
            run.exit_status = out.status
            run.cpus = ready.cpus
            run.marker_ticks = ready.time
            run.marker_instructions = ready.instructions(ICOUNT_SHIFT)
            ocall = OCALL_LINE.search(out.output)
            hello = HELLO_LINE.findall(out.output)
            run.ocall_round_trip = int(ocall.group(1)) if ocall else None
            run.hello_create_run_destroy = int(hello[-1]) if hello else None
            run.switchless = parse_switchless(out.output)
            if out.status != 0:
                run.error = f"ks-demo bench ended with {out.status}"
    except KeystoneError as exc:
        run.error = str(exc).splitlines()[0]
    run.wall_s = round(time.monotonic() - start, 3)
    return run


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


def bench_label(firmware: BenchFirmware) -> str:
    """The column of ``firmware``: ``ours``, ``opensbi``, ``keystone`` or a file name."""
    return KEYSTONE if isinstance(firmware, KeystoneFirmware) else firmware_label(firmware)


def _boot(firmware: BenchFirmware, artifacts: Artifacts, toolchain: Toolchain,
          smp: int) -> Tuple[Path, List[str]]:
    """The ``-bios`` image of ``firmware`` and the QEMU arguments it needs besides
    (Keystone's SM: its boot ROM, where every hart starts)."""
    if isinstance(firmware, KeystoneFirmware):
        return firmware.fw_jump, firmware.qemu_args(smp)
    return resolve_firmware(firmware, artifacts, toolchain), []


def bench_payload(artifacts: Artifacts, firmware: BenchFirmware, log_dir: Path,
                  toolchain: Toolchain, timeout: float = 120.0,
                  cpu: Optional[str] = None) -> PayloadRun:
    """Boots the conformance payload with ``-append bench`` on 1 hart
    (``-cpu cpu`` when given, else QEMU's default CPU)."""
    run = PayloadRun(firmware=bench_label(firmware), log_dir=str(log_dir), cpu=cpu)
    suffix = "" if cpu is None else "-" + re.sub(r"[^A-Za-z0-9_-]", "_", cpu)
    image, extra = _boot(firmware, artifacts, toolchain, 1)
    m = Machine(firmware=image,
                kernel=artifacts.require("payload_bin"), append="bench", smp=1,
                icount=ICOUNT_SHIFT, log_dir=log_dir,
                name=f"bench-payload-{run.firmware}{suffix}", qemu=toolchain.qemu,
                fail_patterns=(SM_PANIC,), extra_args=[*extra, *(["-cpu", cpu] if cpu else [])])
    res = m.run_to_exit(timeout=timeout, marks=[BENCH_DONE])
    run.wall_s = round(res.wall_s, 3)
    run.exit_status = res.status
    run.measurements = parse_bench_lines(res.text)
    run.error = _run_error(res, "bench: done")
    if run.error is None and BENCH_DONE not in res.marks:
        run.error = "the payload never printed `bench: done`"
    return run


def bench_linux(artifacts: Artifacts, firmware: BenchFirmware, smp: int, log_dir: Path,
                toolchain: Toolchain, timeout: float = 600.0) -> LinuxRun:
    """Boots Linux + /init with ``ks.script=poweroff``; reads the marker's time."""
    run = LinuxRun(firmware=bench_label(firmware), smp=smp, log_dir=str(log_dir))
    # On our SM and Keystone's the guest also runs the driver-level figures: an
    # ocall round trip eapp -> host handler -> eapp, and hello's create + run + destroy.
    demo = "run /bin/ks-demo bench"
    if run.firmware == KEYSTONE and smp == 1:
        # reference.NOT_APPLICABLE["linux.switchless"]: the enclave would wait forever.
        demo += " --no-switchless"
    script = ([demo, "run /bin/ks-cpp-demo bench", FILES_BENCH, SEALED_BENCH, NET_BENCH,
               "poweroff"]
              if run.firmware in ("ours", KEYSTONE) else ["poweroff"])
    image, extra = _boot(firmware, artifacts, toolchain, smp)
    m = linux_machine(artifacts, firmware=image, smp=smp, script=script,
                      icount=ICOUNT_SHIFT, toolchain=toolchain, log_dir=log_dir,
                      name=f"bench-linux-{run.firmware}-smp{smp}", extra_args=extra)
    res = m.run_to_exit(timeout=timeout, marks=[INIT_READY_ON_CONSOLE])
    run.wall_s = round(res.wall_s, 3)
    run.exit_status = res.status
    run.error = _run_error(res, "the /init marker")
    ocall = OCALL_LINE.search(res.text)
    hello = HELLO_LINE.findall(res.text)
    run.ocall_round_trip = int(ocall.group(1)) if ocall else None
    cpp = CPP_OCALL_LINE.search(res.text)
    run.ocall_round_trip_cpp = int(cpp.group(1)) if cpp else None
    run.hello_create_run_destroy = int(hello[-1]) if hello else None
    files = FILES_LINE.search(res.text.replace("\r", ""))
    if files:
        run.file_pread_4k, run.file_pwrite_4k, run.file_plain_ocall = \
            (int(g) for g in files.groups())
    sealed = SEALED_LINE.search(res.text.replace("\r", ""))
    if sealed:
        run.sealed_pread_4k, run.sealed_pwrite_4k = (int(g) for g in sealed.groups())
    sockets = NET_LINE.search(res.text.replace("\r", ""))
    if sockets:
        run.socket_send_4k, run.socket_recv_4k = (int(g) for g in sockets.groups())
    run.switchless = parse_switchless(res.text)
    ready = parse_ready(res.text)
    if ready is not None:
        run.marker_wall_s = round(res.marks.get(INIT_READY_ON_CONSOLE, res.wall_s), 3)
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
              timeout: float = 600.0, phases: bool = False,
              preemption_cpu: Optional[str] = reference.PREEMPTION_CPU,
              zcore: Optional[Tuple[Path, Path]] = None,
              keystone: Optional[KeystoneFirmware] = None,
              keystone_missing: Optional[str] = None) -> BenchReport:
    """Every run, one after the other (so wall times do not disturb each other).

    ``keystone``: Keystone's SM built (``keystone_py.build.keystone_sm``), run
    as one more firmware, column ``keystone``, with the same payload, Linux
    image and CPUs as ours; without it the recorded figures stand in and
    ``keystone_missing`` says why. On our SM and Keystone's the payload runs a
    second time on ``-cpu preemption_cpu`` (where Keystone's SM preempts;
    None skips it), and ``phases`` adds the traced per-phase breakdown."""
    tc = toolchain or Toolchain()
    if log_root is None:
        log_root = logs_dir() / time.strftime("bench-%Y%m%d-%H%M%S")
    runs: List[BenchFirmware] = [*firmwares, *([keystone] if keystone is not None else [])]
    report = BenchReport(firmware={bench_label(f): str(_boot(f, artifacts, tc, 1)[0])
                                   for f in runs},
                         keystone_source=keystone.source if keystone is not None else None,
                         keystone_missing=None if keystone is not None else keystone_missing)
    start = time.monotonic()
    # Payload timeouts: Keystone's CREATE sweep alone is ~30 G instructions.
    payload_timeout = min(timeout, 120.0)
    for fw in runs:
        label = bench_label(fw)
        wait = timeout if label == KEYSTONE else payload_timeout
        if payload:
            log.info("bench: payload on %s", label)
            r = bench_payload(artifacts, fw, log_root / f"payload-{label}", tc, timeout=wait)
            report.payload.append(r)
            if preemption_cpu and label in ("ours", KEYSTONE):
                log.info("bench: payload on %s, -cpu %s", label, preemption_cpu)
                safe = re.sub(r"[^A-Za-z0-9_-]", "_", preemption_cpu)
                r = bench_payload(artifacts, fw, log_root / f"payload-{label}-cpu-{safe}", tc,
                                  timeout=wait, cpu=preemption_cpu)
                report.payload.append(r)
    if phases and any(firmware_label(f) == "ours" for f in firmwares):
        log.info("bench: per-phase trace on ours")
        try:
            report.phases = trace_phases(artifacts, log_root / "phases-ours", tc,
                                         timeout=timeout)
        except KeystoneError as exc:
            report.phases, report.phases_error = [], str(exc)
    for smp in linux_smp:
        for fw in runs:
            label = bench_label(fw)
            log.info("bench: Linux on %s, -smp %d", label, smp)
            r = bench_linux(artifacts, fw, smp, log_root / f"linux-{label}-smp{smp}", tc,
                            timeout)
            report.linux.append(r)
    if zcore is not None:
        for smp in linux_smp or (1,):
            log.info("bench: zCore on ours, -smp %d", smp)
            report.zcore.append(bench_zcore(artifacts, zcore[0], zcore[1], smp,
                                            log_root / f"zcore-ours-smp{smp}", tc, timeout))
    report.wall_s = time.monotonic() - start
    log.info("bench: logs in %s", log_root)
    return report

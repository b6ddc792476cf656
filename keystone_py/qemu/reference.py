"""Keystone's own C security monitor, measured once on our QEMU: recorded figures.

``keystone-py bench`` measures Keystone's SM live, in the same run, when its
sources are given (``KEYSTONE_SOURCES`` and ``KEYSTONE_OPENSBI_SOURCES``, see
``keystone_py.build.keystone_sm``); these recorded figures stand in, labelled
"recorded", only when they are not. Keystone's SM (monorepo
88c49ee, ``sm/`` on OpenSBI v1.1 with Keystone's two OpenSBI patches) was built
from source and booted with **this project's** bench payload (``-append
bench``) and **this project's** Linux image and ``ks-demo bench``, the way
``keystone-py bench`` runs them, under ``-icount shift=0,sleep=off``. The bench
prints them beside its own figures, labelled with :data:`SOURCE`, and the ratio
ours / Keystone.

Keys are the bench's measurement names (see ``keystone_py.qemu.bench``):
payload names (``sbi_null_call``, ...), ``create_epm_<log2 size>.<field>`` for
the per-size CREATE/DESTROY sweep, and ``linux.<field>`` for the Linux rows.
"""

from __future__ import annotations

from typing import Dict, Optional, Union

Number = Union[int, float]

#: Where the figures come from; printed with them.
SOURCE = ("Keystone 88c49ee (C SM on OpenSBI 1.1), recorded 2026-11-30 on QEMU 7.2 -M virt, "
          "1 hart, 256 MiB, with this project's bench payload and ks-demo bench "
          "(project at c3d7c63), -icount shift=0,sleep=off")
#: Short column label.
LABEL = "Keystone (recorded)"
#: The column label of Keystone's SM measured in this run.
LIVE_LABEL = "keystone"
#: The CPU of the preemption figure: with Sstc (QEMU's default) Keystone's SM
#: never preempts an enclave with the host's timer.
PREEMPTION_CPU = "rv64,sstc=false"

#: Instructions (instret, -icount shift=0), keyed by the bench's names.
KEYSTONE: Dict[str, int] = {
    "sbi_null_call": 249,
    "sbi_probe_extension": 270,
    "sbi_set_timer": 282,
    "sbi_unknown_extension": 245,
    "enclave_run_to_exit": 1_974,
    "enclave_edge_call_round_trip": 1_959,
    # Measured with -cpu rv64,sstc=false (see PREEMPTION_CPU); P = 100 vs 400,
    # one set_timer included in each round trip.
    "enclave_preemption_round_trip": 2_335,
    "enclave_attest": 694_936,
    "enclave_sealing_key": 1_153_400,
    # CREATE per measured 4 KiB page and DESTROY per page, 64 KiB and 64 MiB EPMs.
    "create_epm_16.create_per_page": 1_844_868,
    "create_epm_26.create_per_page": 1_842_384,
    "create_epm_16.destroy_per_page": 12_365,
    "create_epm_26.destroy_per_page": 12_288,
    # Linux 6.1 + ks-demo bench on one hart.
    "linux.ocall_round_trip": 3_355,
    "linux.hello_create_run_destroy": 38_398_500,
    # Boot to the /init marker, recorded to 0.1 M; without Keystone's boot ROM
    # (SHA3 of the 2 MiB SM region and key derivation: 1,018 M more).
    "linux.marker_instructions": 71_400_000,
}

#: Notes printed under the table.
NOTES = (
    "Keystone's preemption figure exists only with -cpu rv64,sstc=false (with Sstc its SM "
    "never preempts an enclave with the host's timer).",
    "Keystone's boot to /init is recorded to 0.1 M and leaves out its boot ROM "
    "(1,018 M instructions: SHA3 of the SM region and key derivation); ours includes our "
    "boot stage, which hashes the same 0x1ff000-byte SM region (Keystone's SM hash).",
)


#: Rows Keystone's SM cannot run, by the bench's name: why (printed "n/a (why)").
NOT_APPLICABLE: Dict[str, str] = {
    # The payload's preemption row on QEMU's default CPU: Keystone's SM leaves
    # the host's timer to Sstc there, so the enclave is never stopped (the
    # payload prints error=2: no more interrupts at P = 100 than at P = 400).
    "enclave_preemption_round_trip": "never preempts with Sstc",
    # ks-demo bench's switchless calls on one hart: the host's worker thread
    # shares the hart with the enclave and runs only when the enclave is
    # preempted, which Keystone's SM does not do with Sstc, so the enclave would
    # spin forever; the bench runs ks-demo bench --no-switchless there.
    "linux.switchless": "one hart: its SM never preempts the enclave for the worker (Sstc)",
}
#: Notes printed under the table when Keystone's SM is measured live.
LIVE_NOTES = (
    "keystone: Keystone's C SM measured in this run (built from its sources: OpenSBI 1.1 "
    "fw_jump with Keystone's patches, started from Keystone's boot ROM at 0x2000 on every "
    "hart, its test device key); its preemption figure is for -cpu rv64,sstc=false.",
    "Boot to /init on keystone includes its boot ROM (SHA3 of the SM region and key "
    "derivation), as ours includes our boot stage's hash of the same region.",
)


def ratio(ours: Optional[Number], keystone: Optional[Number]) -> Optional[float]:
    """ours / Keystone, or None when either is missing or Keystone's is 0."""
    if ours is None or keystone is None or keystone == 0:
        return None
    return ours / keystone

"""Runs inside gdb-multiarch (``keystone-py gdb``'s command file loads it with
``source``): the ``ks-capture`` command, which reads the enclave's physical
placement from the create arguments at a stop in the SM's create handler.

The host passes those arguments by its own virtual address (``a1``): a
physical one from the payload (paging off), a kernel virtual one from Linux or
zCore. At an M-mode stop QEMU's gdbstub reads physical memory, so the address
is walked through the host's ``satp`` (:mod:`paging`, loaded by path: gdb's
Python has no keystone_py). Sets ``$ks_epm``, ``$ks_epm_size`` and
``$ks_utm``; the loader's breakpoints at the EPM base follow from them."""

import importlib.util
import os
import struct

import gdb  # type: ignore[import-not-found]  # only inside gdb

_spec = importlib.util.spec_from_file_location(
    "ks_paging", os.path.join(os.path.dirname(os.path.abspath(__file__)), "paging.py"))
_paging = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(_paging)  # type: ignore[union-attr]


def _read_phys(addr: int, size: int) -> bytes:
    return bytes(gdb.selected_inferior().read_memory(addr, size))


class Capture(gdb.Command):
    """ks-capture: at a stop in the SM's create handler, set $ks_epm, $ks_epm_size
    and $ks_utm from the create arguments the host passed in a1."""

    def __init__(self) -> None:
        super().__init__("ks-capture", gdb.COMMAND_USER)

    def invoke(self, arg: str, from_tty: bool) -> None:
        frame = gdb.selected_frame()
        va = int(frame.read_register("a1")) & (2**64 - 1)
        satp = int(frame.read_register("satp")) & (2**64 - 1)
        try:
            pa = _paging.sv39_translate(va, satp, _read_phys)
        except ValueError as exc:
            raise gdb.GdbError(f"ks-capture: create arguments at {va:#x}: {exc}") from None
        epm, epm_size, utm = struct.unpack("<3Q", _read_phys(pa, 24))
        gdb.set_convenience_variable("ks_epm", epm)
        gdb.set_convenience_variable("ks_epm_size", epm_size)
        gdb.set_convenience_variable("ks_utm", utm)


Capture()

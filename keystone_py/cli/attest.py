"""`keystone-py measure` and `keystone-py attest verify`: predict an
enclave's measurement offline and check a report against it.

Only the standard library is imported here at module level: the parser is
built for every command, `setup` included, before PyNaCl is installed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..build import all_artifacts
from ..errors import KeystoneError

if TYPE_CHECKING:
    from ..attest.report import Report


def _read_report(path: Path) -> "Report":
    from ..attest.report import Report
    raw = path.read_bytes()
    text = raw.strip()
    try:
        if len(raw) != 1352 and all(c in b"0123456789abcdefABCDEF" for c in text):
            raw = bytes.fromhex(text.decode())
        return Report.parse(raw)
    except ValueError as exc:  # ReportError too
        raise KeystoneError(f"{path} is not a report ({exc}); give the 1352 raw bytes or "
                            "their hex") from exc


def _files(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    if args.eapp is None:
        raise KeystoneError("--eapp required (the eapp ELF; --loader and --runtime default to "
                            "this checkout's build)")
    if args.loader is None or args.runtime is None:
        # The ones this checkout built (what `keystone-py run` boots).
        art = all_artifacts()
        if args.loader is None:
            args.loader = art.require("loader_bin", "loader.bin (the default --loader)")
        if args.runtime is None:
            args.runtime = art.require("runtime_elf", "eyrie-rt.elf (the default --runtime)")
    for name in ("loader", "runtime", "eapp"):
        p = getattr(args, name)
        if not p.is_file():
            raise KeystoneError(f"--{name} {p}: no such file (`keystone-py artifacts` lists "
                                "the built ones)")
    return args.loader, args.runtime, args.eapp


def _firmware_hash(path: Path) -> bytes:
    from ..attest.measure import firmware_hash
    if not path.is_file():
        raise KeystoneError(f"--firmware {path}: no such file (build/sm_rs.bin is the SM)")
    return firmware_hash(path)


def cmd_measure(args: argparse.Namespace) -> int:
    from ..attest.measure import predict
    if args.firmware is not None:
        if any(getattr(args, n) is not None for n in ("loader", "runtime", "eapp")):
            raise KeystoneError("measure: give --firmware alone (the SM hash) or --loader, "
                                "--runtime and --eapp (the enclave hash), not both")
        print(_firmware_hash(args.firmware).hex())
        return 0
    loader, runtime, eapp = _files(args)
    print(predict(loader, runtime, eapp).hex())
    return 0


def cmd_attest_verify(args: argparse.Namespace) -> int:
    from ..attest import devkey
    from ..attest.measure import predict
    from ..attest.report import verify
    report = _read_report(args.report)
    loader, runtime, eapp = _files(args)
    if args.device_key:
        device_pk = bytes.fromhex(args.device_key)
    else:
        try:
            device_pk = devkey.load_key(args.device_secret).public
        except ValueError as exc:  # DeviceKeyError
            raise KeystoneError(f"--device-secret: {exc}") from exc
    nonce = bytes.fromhex(args.nonce_hex) if args.nonce_hex else (
        args.nonce.encode() if args.nonce is not None else None)
    sm_hash = _firmware_hash(args.firmware) if args.firmware else None
    expected = predict(loader, runtime, eapp)
    verdict = verify(report, device_public_key=device_pk, enclave_hash=expected,
                     sm_hash=sm_hash, nonce=nonce)
    print(verdict)
    if not verdict.ok:
        print("attest verify: the report does NOT match what was expected", file=sys.stderr)
    return 0 if verdict.ok else 1


def register(sub: argparse._SubParsersAction) -> None:
    """Adds the measure and attest commands to the keystone-py parser."""
    def files(s: argparse.ArgumentParser, required: bool = True) -> None:
        s.add_argument("--loader", type=Path, default=None,
                       help="loader.bin (default: this checkout's build/loader.bin)")
        s.add_argument("--runtime", type=Path, default=None,
                       help="the runtime ELF (default: this checkout's build/eyrie-rt.elf)")
        s.add_argument("--eapp", type=Path, required=required, help="the eapp ELF")

    s = sub.add_parser("measure", help="print the enclave hash the SM will compute for these "
                       "files, or with --firmware the SM hash its boot stage reports")
    files(s, required=False)
    s.add_argument("--firmware", type=Path, help="the SM firmware file (build/sm_rs.bin): print "
                   "SHA3-512 of it zero-padded to 0x1ff000 bytes (Keystone's SM hash)")
    s.set_defaults(func=cmd_measure)

    a = sub.add_parser("attest", help="verify attestation reports")
    asub = a.add_subparsers(dest="attest_command", required=True)
    v = asub.add_parser("verify", help="check a report's signatures and expected values; "
                        "exit 1 on any mismatch")
    v.add_argument("report", type=Path, help="report file: 1352 raw bytes or their hex")
    files(v)
    v.add_argument("--nonce", help="the data the enclave should have attested (text)")
    v.add_argument("--nonce-hex", help="the same, as hex")
    v.add_argument("--firmware", type=Path, help="the SM firmware file (build/sm_rs.bin) whose "
                   "hash (zero-padded to 0x1ff000 bytes, as Keystone) the report must carry")
    v.add_argument("--device-key", help="trusted device public key (hex)")
    v.add_argument("--device-secret", type=Path, help="device key file to take the trusted "
                   "public key from: a 32-byte seed, Keystone's 64-byte expanded secret (or 96: "
                   "secret then public key), or Keystone's test_dev_key.h; default: the public "
                   "development seed")
    v.set_defaults(func=cmd_attest_verify)

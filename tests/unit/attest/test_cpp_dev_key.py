"""The C++ SDK's verifier/test_dev_key.h holds the public key of the SM's
default development device key, so Keystone's verifier programs built against
it accept reports from an SM booted with that key (and nothing else)."""

from __future__ import annotations

import re
from pathlib import Path

from keystone_py.attest import devkey

HEADER = Path(__file__).resolve().parents[3] / "sdk/cpp/include/verifier/test_dev_key.h"


def test_the_header_holds_the_default_development_public_key():
    text = HEADER.read_text()
    body = re.search(r"_sanctum_dev_public_key\[32\] = \{([^}]*)\}", text)
    assert body, "no _sanctum_dev_public_key array in the header"
    key = bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", body.group(1)))
    assert key == devkey.device_public_key(devkey.load_secret(None))
    assert "_sanctum_dev_secret_key" not in text, "a verifier needs no secret"

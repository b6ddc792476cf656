"""keystone_py: build, boot and drive the keystone-rs TEE (Rust, RISC-V) in QEMU.

Subpackages, each depending only on those listed before it::

    build/          cargo, Linux, host apps, initramfs; the cache, the runner, Artifacts
    qemu/           Machine (one QEMU run), the argv builder, console, QMP, firmware,
                    the Linux guest, the payload as enclave host, bench
    gdb/            GdbSession (GDB/MI), worlds, ELF, the payload stack, `keystone-py gdb`
    attest/         reports, Ed25519-SHA3, measurements, the device key
    cli/            `keystone-py`
    pytest_plugin/  fixtures, options, per-test logs, one item per TAP line

Shared modules at the top: ``errors`` (every exception), ``paths``,
``toolchain`` (find/check tools, doctor), ``contract`` (console patterns),
``tap`` (TAP results), ``abi`` (the SM ABI), ``remote`` (SSH targets).

The import graph is acyclic (tests/unit/test_import_graph.py). Third-party
modules (pexpect, pygdbmi, pyelftools, PyNaCl, paramiko) are imported only by
the modules that need them, so ``toolchain``, ``build`` and the CLI's parser,
``doctor`` and ``setup`` run on a bare Python.
"""

__version__ = "0.1.0"

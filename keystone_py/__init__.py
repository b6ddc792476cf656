"""keystone_py: build, boot and drive the keystone-rs TEE (Rust, RISC-V) in QEMU.

Modules: ``toolchain`` (find/check tools, doctor), ``build`` (cargo, cache),
``machine`` (one QEMU run), ``console`` (serial console), ``gdb`` (GDB/MI),
``elf`` (pyelftools), ``tap`` (conformance results), ``contract`` (console
patterns), ``errors`` (every exception), ``cli`` and ``pytest_plugin``.

Heavy modules (pexpect, pygdbmi, pyelftools) are imported only by the modules
that need them, so ``toolchain`` and the CLI's doctor/setup run on a bare
Python.
"""

__version__ = "0.1.0"

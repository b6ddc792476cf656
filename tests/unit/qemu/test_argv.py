"""The one QEMU argv builder: every launcher's command line, without QEMU."""

from pathlib import Path

from keystone_py.qemu import Console, Machine, QemuConfig

QEMU = "/usr/bin/qemu-system-riscv64"


def make_machine(**kw):
    return Machine(firmware="fw.bin", qemu=QEMU, log_dir="/nonexistent", **kw)


def test_argv_has_machine_firmware_kernel_and_sockets():
    argv = make_machine(kernel="k.bin", smp=4, memory="512M").build_argv(
        Path("/t/s.sock"), Path("/t/q.sock"), None)
    joined = " ".join(argv)
    assert argv[0] == QEMU
    assert "-M virt" in joined and "-smp 4" in joined and "-m 512M" in joined
    assert "-bios fw.bin" in joined and "-kernel k.bin" in joined
    assert "path=/t/s.sock,server=on,wait=on" in joined
    assert "-qmp unix:/t/q.sock,server=on,wait=off" in joined
    assert "-S" not in argv and "-gdb" not in argv and "-append" not in argv


def test_argv_with_gdb_starts_halted_on_the_given_port():
    argv = make_machine(gdb=True).build_argv(Path("s"), Path("q"), 4321)
    assert "-S" in argv
    assert argv[argv.index("-gdb") + 1] == "tcp:127.0.0.1:4321"


def test_argv_keeps_append_as_one_argument_and_extra_args_last():
    argv = make_machine(append="hang now", initrd="i.cpio", extra_args=["-icount", "shift=0"]) \
        .build_argv(Path("s"), Path("q"), None)
    assert argv[argv.index("-append") + 1] == "hang now"
    assert argv[argv.index("-initrd") + 1] == "i.cpio"
    assert argv[-2:] == ["-icount", "shift=0"]


def test_icount_adds_one_icount_argument():
    m = Machine(firmware="fw.bin", qemu=QEMU, log_dir="/x", icount=0)
    argv = m.build_argv(Path("s"), Path("q"), None)
    assert argv[argv.index("-icount") + 1] == "shift=0,sleep=off"
    m = Machine(firmware="fw.bin", qemu=QEMU, log_dir="/x", icount="shift=2")
    assert m.build_argv(Path("s"), Path("q"), None)[-1] == "shift=2"
    m = Machine(firmware="fw.bin", qemu=QEMU, log_dir="/x")
    assert "-icount" not in m.build_argv(Path("s"), Path("q"), None)


def test_batch_argv_writes_the_console_to_a_file_and_has_no_qmp():
    argv = make_machine(kernel="k.bin").build_batch_argv(Path("/l/console.log"))
    assert "file,id=console,path=/l/console.log" in argv and "-qmp" not in " ".join(argv)
    assert argv[argv.index("-serial") + 1] == "chardev:console"


def test_every_console_shares_the_rest_of_the_command_line():
    config = make_machine(kernel="k.bin", initrd="i", append="console=ttyS0", icount=0,
                          extra_args=["-cpu", "rv64,h=false"]).config
    socket = config.argv(Console.socket(Path("s")), qmp=Path("q"))
    stdio = config.argv(Console.stdio())
    # The interactive console (keystone-py boot --linux --interactive) is the
    # terminal, with QEMU's Ctrl-A monitor mux; the rest is the same.
    assert stdio[:8] == [QEMU, "-M", "virt", "-smp", "1", "-m", "256M", "-nographic"]
    assert stdio[8:] == socket[socket.index("-bios"):]
    assert stdio[-2:] == ["-cpu", "rv64,h=false"]


def test_config_is_what_the_machine_boots():
    m = make_machine(kernel="k.bin", smp=2, memory="1G", append="x")
    assert m.config == QemuConfig(qemu=Path(QEMU), smp=2, memory="1G", firmware=Path("fw.bin"),
                                  kernel=Path("k.bin"), append="x")

//! ns16550a UART, polled: the SM's console and the SBI console devices.

/// A 16550-compatible UART at a physical MMIO address.
pub struct Uart {
    base: usize,
    shift: usize,
}

const RBR_THR: usize = 0;
const IER: usize = 1;
const FCR: usize = 2;
const LCR: usize = 3;
const LSR: usize = 5;
const LSR_DATA_READY: u8 = 1 << 0;
const LSR_THR_EMPTY: u8 = 1 << 5;

impl Uart {
    /// Wraps the UART the device tree described; `shift` is its reg-shift.
    /// # Safety
    /// `base` must be the MMIO base of a 16550 that nothing else drives.
    pub const unsafe fn new(base: usize, shift: usize) -> Self {
        Self { base, shift }
    }

    /// The UART the device tree names at `base` (MMIO, outside the SM),
    /// with register shift `shift`; `None` when its registers would overlap
    /// the SM. Only the console should drive it.
    pub fn for_device(base: usize, shift: usize) -> Option<Self> {
        let span = (LSR + 1).checked_shl(shift as u32)?;
        crate::phys::PhysRange::new(base, span)?;
        // SAFETY: the registers lie outside the SM (checked), so writing them
        // cannot change a Rust object; the caller is the console, its one user.
        Some(unsafe { Self::new(base, shift) })
    }

    fn reg(&self, index: usize) -> *mut u8 {
        (self.base + (index << self.shift)) as *mut u8
    }

    fn read(&self, index: usize) -> u8 {
        // SAFETY: `new`'s contract makes every register of this UART valid MMIO.
        unsafe { self.reg(index).read_volatile() }
    }

    fn write(&self, index: usize, value: u8) {
        // SAFETY: as in `read`.
        unsafe { self.reg(index).write_volatile(value) }
    }

    /// Puts the UART in 8N1 with FIFOs and no interrupts (QEMU ignores the baud rate).
    pub fn init(&self) {
        self.write(IER, 0);
        self.write(LCR, 0x03);
        self.write(FCR, 0x07);
    }

    /// Sends one byte, waiting for room in the transmitter.
    pub fn putc(&self, byte: u8) {
        while self.read(LSR) & LSR_THR_EMPTY == 0 {
            core::hint::spin_loop();
        }
        self.write(RBR_THR, byte);
    }

    /// Takes one received byte if there is one.
    pub fn getc(&self) -> Option<u8> {
        if self.read(LSR) & LSR_DATA_READY != 0 {
            Some(self.read(RBR_THR))
        } else {
            None
        }
    }
}

//! The UTM as the ocall path sees it: bytes at offsets, through copies (the
//! mapped UTM in [`crate::sys::Mapping`], a `Vec<u8>` in tests).

/// Memory shared with the enclave (the UTM), reached by copies at offsets.
/// Out-of-bounds offsets panic.
pub trait SharedMem {
    fn len(&self) -> usize;
    fn read(&self, offset: usize, len: usize) -> Vec<u8>;
    fn write(&mut self, offset: usize, src: &[u8]);

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read_u64(&self, offset: usize) -> u64 {
        u64::from_le_bytes(self.read(offset, 8).try_into().expect("8 bytes"))
    }

    fn write_u64(&mut self, offset: usize, v: u64) {
        self.write(offset, &v.to_le_bytes());
    }

    /// Three consecutive u64s at `offset` (an edge-call header's words).
    fn read_u64x3(&self, offset: usize) -> [u64; 3] {
        [self.read_u64(offset), self.read_u64(offset + 8), self.read_u64(offset + 16)]
    }

    /// Writes three consecutive u64s at `offset`.
    fn write_u64x3(&mut self, offset: usize, v: [u64; 3]) {
        for (i, w) in v.into_iter().enumerate() {
            self.write_u64(offset + 8 * i, w);
        }
    }
}

/// A buffer in this process standing in for the UTM (tests, simulations).
impl SharedMem for Vec<u8> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn read(&self, offset: usize, len: usize) -> Vec<u8> {
        self[offset..offset + len].to_vec()
    }

    fn write(&mut self, offset: usize, src: &[u8]) {
        self[offset..offset + src.len()].copy_from_slice(src);
    }
}

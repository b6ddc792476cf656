//! The caller's memory, typed (after Hubris's `umem`): a `USlice<T>` is a
//! range of the calling world's virtual memory that `sm_core::umem` has
//! checked at construction, read and written only through MPRV with fault
//! handling, so a bad pointer from S-mode is an error code, never an SM
//! fault, and the SM touches no address it was not asked about.

use crate::arch::mprv::{self, Fault};
use core::marker::PhantomData;
use sm_core::umem::{UmemError, UserRange};

/// A value the SM copies from or to a caller: its size and a guarded
/// load/store of one element.
pub trait UserValue: Copy {
    const SIZE: usize;
    fn load(va: usize) -> Result<Self, Fault>;
    fn store(va: usize, value: Self) -> Result<(), Fault>;
}

impl UserValue for u8 {
    const SIZE: usize = 1;
    fn load(va: usize) -> Result<Self, Fault> {
        mprv::load_u8(va)
    }
    fn store(va: usize, value: Self) -> Result<(), Fault> {
        mprv::store_u8(va, value)
    }
}

impl UserValue for u64 {
    const SIZE: usize = 8;
    fn load(va: usize) -> Result<Self, Fault> {
        mprv::load_u64(va)
    }
    fn store(va: usize, value: Self) -> Result<(), Fault> {
        // Stored as bytes: the SM writes u64s to callers nowhere yet, and a
        // byte store is what the probe-then-write contract needs.
        for (i, b) in value.to_le_bytes().into_iter().enumerate() {
            mprv::store_u8(va + i, b)?;
        }
        Ok(())
    }
}

/// `len` values of type `T` in the caller's memory, checked when made.
pub struct USlice<T: UserValue> {
    range: UserRange,
    count: usize,
    _t: PhantomData<T>,
}

impl<T: UserValue> USlice<T> {
    /// `count` (at most `max`) naturally aligned `T`s at the caller's `va`.
    pub fn new(va: usize, count: usize, max: usize) -> Result<Self, UmemError> {
        let range = UserRange::new(va, count, T::SIZE, T::SIZE, max)?;
        Ok(Self { range, count, _t: PhantomData })
    }

    /// Elements in the slice.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True for an empty slice.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Copies the whole slice into `dst[..len]`; `dst` must be at least as long.
    pub fn read_into(&self, dst: &mut [T]) -> Result<(), Fault> {
        for (i, d) in dst[..self.count].iter_mut().enumerate() {
            *d = T::load(self.range.base() + i * T::SIZE)?;
        }
        Ok(())
    }

    /// Writes `src` (exactly `len` values) to the caller, after probing
    /// every page, so a bad buffer leaves the caller's memory untouched.
    pub fn write_from(&self, src: &[T]) -> Result<(), Fault> {
        if src.len() != self.count {
            return Err(Fault);
        }
        for va in self.range.probes() {
            mprv::load_u8(va)?;
        }
        for (i, &v) in src.iter().enumerate() {
            T::store(self.range.base() + i * T::SIZE, v)?;
        }
        Ok(())
    }
}

//! Edge calls as the enclave side sees them: every offset and size in the UTM
//! comes from the untrusted host and is checked here before any copy.

use keystone_abi::edge::{status, EdgeCall, DATA_OFFSET};

/// Why an edge call's answer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeError {
    /// The host set a status other than OK.
    Status(u64),
    /// An offset/size pair the host wrote points outside the UTM.
    OutOfBounds,
    /// The request does not fit in the UTM's data area.
    TooLarge,
    /// The answer is shorter than the caller needs.
    TooShort,
}

/// `edge_call_get_ptr_from_offset`: the byte range `offset .. offset + len`
/// inside a UTM of `utm_size` bytes, or None if any part is outside (overflow
/// included).
pub fn shared_range(utm_size: usize, offset: u64, len: u64) -> Option<core::ops::Range<usize>> {
    let offset = usize::try_from(offset).ok()?;
    let len = usize::try_from(len).ok()?;
    let end = offset.checked_add(len)?;
    if offset > utm_size || end > utm_size {
        return None;
    }
    Some(offset..end)
}

/// Bytes of request data that fit after the `edge_call` header.
pub fn data_capacity(utm_size: usize) -> usize {
    utm_size.saturating_sub(DATA_OFFSET)
}

/// The header for a call `id` whose `len` argument bytes sit at the data area.
pub fn request(utm_size: usize, id: u64, len: usize) -> Result<EdgeCall, EdgeError> {
    if len > data_capacity(utm_size) {
        return Err(EdgeError::TooLarge);
    }
    Ok(EdgeCall {
        call_id: id,
        call_arg_offset: DATA_OFFSET as u64,
        call_arg_size: len as u64,
        return_data: Default::default(),
    })
}

/// Checks the host's answer in `call` (read back from the UTM after RESUME):
/// the status, then the return range. Returns the range of the return bytes.
pub fn reply(utm_size: usize, call: &EdgeCall) -> Result<core::ops::Range<usize>, EdgeError> {
    if call.return_data.call_status != status::OK {
        return Err(EdgeError::Status(call.return_data.call_status));
    }
    shared_range(utm_size, call.return_data.call_ret_offset, call.return_data.call_ret_size)
        .ok_or(EdgeError::OutOfBounds)
}

/// For a proxied syscall: the host's int64 result (needs at least 8 bytes).
pub fn syscall_result(utm: &[u8], call: &EdgeCall) -> Result<i64, EdgeError> {
    let r = reply(utm.len(), call)?;
    if r.len() < 8 {
        return Err(EdgeError::TooShort);
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&utm[r.start..r.start + 8]);
    Ok(i64::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_range_accepts_exact_fits() {
        assert_eq!(shared_range(4096, 48, 16), Some(48..64));
        assert_eq!(shared_range(4096, 0, 4096), Some(0..4096));
        assert_eq!(shared_range(4096, 4096, 0), Some(4096..4096));
    }

    #[test]
    fn shared_range_refuses_outside_and_overflow() {
        assert_eq!(shared_range(4096, 4097, 0), None);
        assert_eq!(shared_range(4096, 4000, 97), None);
        assert_eq!(shared_range(4096, 0, 4097), None);
        assert_eq!(shared_range(4096, u64::MAX, 1), None);
        assert_eq!(shared_range(4096, 1, u64::MAX), None);
        assert_eq!(shared_range(4096, u64::MAX, u64::MAX), None);
        assert_eq!(shared_range(0, 0, 1), None);
    }

    #[test]
    fn request_fits_the_data_area_only() {
        let c = request(4096, 7, 4096 - 48).unwrap();
        assert_eq!((c.call_id, c.call_arg_offset, c.call_arg_size), (7, 48, 4048));
        assert_eq!(request(4096, 7, 4096 - 47), Err(EdgeError::TooLarge));
        assert_eq!(
            request(16, 7, 0),
            Ok(EdgeCall { call_id: 7, call_arg_offset: 48, ..Default::default() })
        );
        assert_eq!(request(16, 7, 1), Err(EdgeError::TooLarge));
    }

    fn answered(status: u64, off: u64, size: u64) -> EdgeCall {
        let mut c = EdgeCall::default();
        c.return_data.call_status = status;
        c.return_data.call_ret_offset = off;
        c.return_data.call_ret_size = size;
        c
    }

    #[test]
    fn reply_checks_status_then_bounds() {
        assert_eq!(reply(4096, &answered(0, 48, 8)), Ok(48..56));
        assert_eq!(reply(4096, &answered(status::BAD_CALL_ID, 48, 8)), Err(EdgeError::Status(1)));
        assert_eq!(reply(4096, &answered(0, 4090, 8)), Err(EdgeError::OutOfBounds));
        assert_eq!(reply(4096, &answered(0, 8, u64::MAX - 7)), Err(EdgeError::OutOfBounds));
    }

    #[test]
    fn syscall_result_reads_eight_bytes_in_bounds() {
        let mut utm = vec![0u8; 256];
        utm[48..56].copy_from_slice(&(-38i64).to_le_bytes());
        assert_eq!(syscall_result(&utm, &answered(0, 48, 8)), Ok(-38));
        assert_eq!(syscall_result(&utm, &answered(0, 48, 4)), Err(EdgeError::TooShort));
        assert_eq!(syscall_result(&utm, &answered(0, 250, 8)), Err(EdgeError::OutOfBounds));
        assert_eq!(syscall_result(&utm, &answered(5, 48, 8)), Err(EdgeError::Status(5)));
    }
}

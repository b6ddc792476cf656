//! The eapp's argv and envp as the host places them in the UTM before the
//! first run (`keystone_abi::edge::ArgsHeader`): checked here, then copied
//! by the runtime to the eapp's initial stack.

use keystone_abi::edge::{ArgsHeader, ARGS_MAGIC, ARGS_MAX_BYTES, ARGS_MAX_STRINGS};

/// The host's header breaks a bound: the enclave ends with BAD_ARGS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadArgs;

/// What a valid header announces: (argc, envc, bytes of strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announced {
    pub argc: usize,
    pub envc: usize,
    pub len: usize,
}

/// The header's announcement, None without the magic (no arguments given),
/// Err when it breaks a bound: no strings, too many, too long, or more
/// bytes than the UTM holds after `room` (the bytes after the header).
pub fn announced(h: &ArgsHeader, room: usize) -> Result<Option<Announced>, BadArgs> {
    if h.magic != ARGS_MAGIC {
        return Ok(None);
    }
    let (argc, envc, len) = (h.argc as usize, h.envc as usize, h.len as usize);
    let count = argc.checked_add(envc).ok_or(BadArgs)?;
    if argc == 0 || count > ARGS_MAX_STRINGS || len > ARGS_MAX_BYTES || len > room {
        return Err(BadArgs);
    }
    Ok(Some(Announced { argc, envc, len }))
}

/// Whether `blob` is exactly `count` NUL-terminated strings.
pub fn strings_ok(blob: &[u8], count: usize) -> bool {
    blob.last() == Some(&0) && blob.iter().filter(|&&b| b == 0).count() == count
}

/// The offset in `blob` of each of its strings, in order, to `out` (which
/// holds as many as the blob has).
pub fn starts(blob: &[u8], mut out: impl FnMut(usize)) {
    let mut at = 0;
    for (i, &b) in blob.iter().enumerate() {
        if b == 0 {
            out(at);
            at = i + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(argc: u64, envc: u64, len: u64) -> ArgsHeader {
        ArgsHeader { magic: ARGS_MAGIC, argc, envc, len }
    }

    #[test]
    fn headers_are_bounded() {
        assert_eq!(announced(&ArgsHeader::default(), 100), Ok(None), "no magic: none given");
        assert_eq!(
            announced(&header(2, 1, 9), 100),
            Ok(Some(Announced { argc: 2, envc: 1, len: 9 }))
        );
        assert_eq!(announced(&header(0, 1, 9), 100), Err(BadArgs), "argv[0] is needed");
        assert_eq!(announced(&header(200, 57, 9), 10_000), Err(BadArgs), "too many strings");
        assert_eq!(announced(&header(u64::MAX, 2, 9), 100), Err(BadArgs), "overflow");
        assert_eq!(announced(&header(1, 0, 4097), 10_000), Err(BadArgs), "too long");
        assert_eq!(announced(&header(1, 0, 101), 100), Err(BadArgs), "past the UTM");
    }

    #[test]
    fn strings_are_counted_and_terminated() {
        assert!(strings_ok(b"a\0bc\0\0", 3));
        assert!(!strings_ok(b"a\0bc", 2), "unterminated");
        assert!(!strings_ok(b"a\0bc\0", 3), "too few");
        assert!(!strings_ok(b"", 0), "empty");
        let mut at = vec![];
        starts(b"a\0bc\0\0", |o| at.push(o));
        assert_eq!(at, [0, 2, 5]);
    }
}

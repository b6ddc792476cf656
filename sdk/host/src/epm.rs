//! Copying the loader, runtime and eapp into the EPM before FINALIZE
//! (docs/abi.md §7.1 step 4): each file page-padded, one after the other
//! from the EPM's start.
//!
//! Our driver maps any part of the EPM with one `mmap`; Keystone's
//! (`linux-keystone-driver/keystone.c`) maps at most one page per `mmap`
//! before FINALIZE and answers EINVAL to anything longer. So the loaded part
//! is mapped whole first, and page by page when the driver refuses a
//! mapping longer than a page with EINVAL: the same SDK runs on both drivers
//! (and on ours loaded with `keystone_mmap=page`, which enforces Keystone's rule).

use crate::{Error, SharedMem, PAGE};
use std::io;

/// How the files reached the EPM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpmLoad {
    /// One mapping of the whole loaded part.
    Whole,
    /// One mapping per page: the driver refused the whole part with EINVAL.
    ByPage,
}

impl EpmLoad {
    pub fn as_str(self) -> &'static str {
        match self {
            EpmLoad::Whole => "whole",
            EpmLoad::ByPage => "page-by-page",
        }
    }
}

const EINVAL: i32 = 22;

/// Page-rounded size of `len` bytes.
fn padded(len: usize) -> usize {
    len.div_ceil(PAGE as usize) * PAGE as usize
}

/// Copies `images` into the EPM through `map(offset, len)` (an mmap of the
/// device file) and returns each image's offset from the EPM's start and
/// how they were mapped.
pub(crate) fn load<M: SharedMem>(
    images: &[Vec<u8>],
    mut map: impl FnMut(u64, usize) -> io::Result<M>,
) -> Result<(Vec<u64>, EpmLoad), Error> {
    let mut offsets = Vec::with_capacity(images.len());
    let mut total = 0usize;
    for image in images {
        offsets.push(total as u64);
        total += padded(image.len());
    }
    let how = match map(0, total) {
        Ok(mut epm) => {
            for (image, &at) in images.iter().zip(&offsets) {
                epm.write(at as usize, image);
            }
            EpmLoad::Whole
        }
        Err(e) if e.raw_os_error() == Some(EINVAL) && total > PAGE as usize => {
            load_by_page(images, &offsets, &mut map)?;
            EpmLoad::ByPage
        }
        Err(source) => return Err(Error::Driver { op: "mmap of the EPM", source }),
    };
    Ok((offsets, how))
}

/// One mapping per page, as Keystone's driver requires before FINALIZE.
fn load_by_page<M: SharedMem>(
    images: &[Vec<u8>],
    offsets: &[u64],
    map: &mut impl FnMut(u64, usize) -> io::Result<M>,
) -> Result<(), Error> {
    for (image, &at) in images.iter().zip(offsets) {
        for (i, chunk) in image.chunks(PAGE as usize).enumerate() {
            let mut page = map(at + i as u64 * PAGE, PAGE as usize)
                .map_err(|source| Error::Driver { op: "mmap of an EPM page", source })?;
            page.write(0, chunk);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A fake EPM: `map` hands out windows onto one shared buffer.
    struct Window {
        epm: Rc<RefCell<Vec<u8>>>,
        at: usize,
        len: usize,
    }

    impl SharedMem for Window {
        fn len(&self) -> usize {
            self.len
        }
        fn read(&self, offset: usize, len: usize) -> Vec<u8> {
            self.epm.borrow()[self.at + offset..self.at + offset + len].to_vec()
        }
        fn write(&mut self, offset: usize, src: &[u8]) {
            assert!(offset + src.len() <= self.len, "write outside the window");
            self.epm.borrow_mut()[self.at + offset..self.at + offset + src.len()]
                .copy_from_slice(src);
        }
    }

    fn images() -> Vec<Vec<u8>> {
        vec![vec![1; 5000], vec![2; 4096], vec![3; 1]]
    }

    /// What `load` returned, the fake EPM's bytes, and every (offset, len) mapped.
    type Outcome = (Result<(Vec<u64>, EpmLoad), Error>, Vec<u8>, Vec<(u64, usize)>);

    fn run(max_len: usize, errno: i32) -> Outcome {
        let epm = Rc::new(RefCell::new(vec![0u8; 5 * PAGE as usize]));
        let mut calls = Vec::new();
        let r = load(&images(), |off, len| {
            calls.push((off, len));
            if len > max_len {
                return Err(io::Error::from_raw_os_error(errno));
            }
            Ok(Window { epm: epm.clone(), at: off as usize, len })
        });
        let bytes = epm.borrow().clone();
        (r, bytes, calls)
    }

    fn expected() -> Vec<u8> {
        let mut want = vec![0u8; 5 * PAGE as usize];
        want[..5000].fill(1);
        want[8192..12288].fill(2);
        want[12288] = 3;
        want
    }

    #[test]
    fn our_driver_gets_one_mapping() {
        let (r, bytes, calls) = run(usize::MAX, EINVAL);
        let (offsets, how) = r.expect("loads");
        assert_eq!((offsets, how), (vec![0, 8192, 12288], EpmLoad::Whole));
        assert_eq!(calls, vec![(0, 4 * PAGE as usize)]);
        assert_eq!(bytes, expected());
    }

    #[test]
    fn keystones_driver_gets_one_page_per_mapping() {
        let (r, bytes, calls) = run(PAGE as usize, EINVAL);
        assert_eq!(r.expect("loads").1, EpmLoad::ByPage);
        let p = PAGE as usize;
        assert_eq!(calls, vec![(0, 4 * p), (0, p), (4096, p), (8192, p), (12288, p)]);
        assert_eq!(bytes, expected());
    }

    #[test]
    fn other_refusals_are_reported_not_retried() {
        let (r, _, calls) = run(0, 12 /* ENOMEM */);
        let err = r.expect_err("refused");
        assert_eq!(err.errno(), Some(12));
        assert!(err.to_string().contains("mmap of the EPM"), "{err}");
        assert_eq!(calls.len(), 1);
    }

    #[test]
    fn a_refused_page_names_the_page_mapping() {
        let (r, _, _) = run(PAGE as usize - 1, EINVAL);
        let err = r.expect_err("refused");
        assert_eq!(err.errno(), Some(EINVAL));
        assert!(err.to_string().contains("mmap of an EPM page"), "{err}");
    }
}

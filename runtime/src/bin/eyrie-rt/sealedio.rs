//! The eapp's sealed files (`runtime::sealed`): a file the host's open
//! answer marks sealed (`keystone_abi::edge::FILE_SEALED`) is read and
//! written here through the sealed format, so the eapp sees plain bytes and
//! the host only ciphertext. The key comes from the SM (GET_SEALING_KEY,
//! bound to the enclave's measurement); the position is the runtime's.

use crate::fileio::{file_call, Result};
use crate::mem::{State, Utm};
use crate::syscall::or_bad_pointer;
use keystone_abi::edge::{DATA_OFFSET, FILE_CALL_SIZE, FILE_REPLY_SIZE};
use keystone_abi::eyrie::linux;
use keystone_abi::sm::{fid, report};
use runtime::arch;
use runtime::edge;
use runtime::files::Bytes;
use runtime::pt::PhysMem;
use runtime::sealed::{Anchors, HostFile, SealedFile, BLOCK, IDENT_LEN};

/// Bytes of the scratch page.
pub const SCRATCH: usize = BLOCK;

/// How many sealed files may be open at once.
pub const MAX_SEALED: usize = 4;

/// An open sealed file: its descriptor, state and position.
struct Open {
    fd: usize,
    handle: u64,
    file: SealedFile,
    pos: u64,
    read: bool,
    write: bool,
    append: bool,
}

/// The open sealed files, the run's freshness anchors and a page to
/// decrypt into (never the UTM, which the host can read).
pub struct Sealed {
    open: [Option<Open>; MAX_SEALED],
    anchors: Anchors,
    scratch: [u8; BLOCK],
}

impl Sealed {
    /// Writes the empty state at `p` in place: the value is tens of KiB, too
    /// big to build on the runtime's stack and move.
    ///
    /// # Safety
    /// `p` is valid for writes of one `Sealed`.
    pub unsafe fn init(p: *mut Sealed) {
        // SAFETY: the caller's promise; each write is of one field's place.
        unsafe {
            for i in 0..MAX_SEALED {
                core::ptr::addr_of_mut!((*p).open[i]).write(None);
            }
            core::ptr::addr_of_mut!((*p).anchors).write(Anchors::new());
            core::ptr::addr_of_mut!((*p).scratch).write_bytes(0, 1);
        }
    }

    /// The runtime's scratch page (the caller clears what it leaves).
    pub fn scratch(&mut self) -> &mut [u8; BLOCK] {
        &mut self.scratch
    }

    /// Whether `fd` names a sealed file.
    pub fn has(&self, fd: usize) -> bool {
        self.open.iter().flatten().any(|o| o.fd == fd)
    }

    /// Forgets `fd` (closed).
    pub fn forget(&mut self, fd: usize) {
        for slot in self.open.iter_mut() {
            if slot.as_ref().is_some_and(|o| o.fd == fd) {
                *slot = None;
            }
        }
    }

    fn get(&mut self, fd: usize) -> Result<usize> {
        self.open.iter().position(|o| o.as_ref().is_some_and(|o| o.fd == fd)).ok_or(linux::EBADF)
    }
}

/// The host file behind a sealed file: positioned reads and writes as
/// EDGECALL_FILE calls, each answer checked by `file_call`.
struct Host<'a> {
    utm: &'a mut Utm,
    handle: u64,
}

impl HostFile for Host<'_> {
    fn read_at(&mut self, at: u64, buf: &mut [u8]) -> Result<usize> {
        let room = edge::data_capacity(self.utm.size()).saturating_sub(FILE_REPLY_SIZE);
        let n = buf.len().min(room);
        let args = [self.handle, n as u64, at, 1];
        let (got, range) =
            file_call(self.utm, linux::READ, args, 0, Some(n as u64), Bytes::Counted)?;
        buf[..got as usize].copy_from_slice(&self.utm.bytes()[range]);
        Ok(got as usize)
    }

    fn write_at(&mut self, at: u64, buf: &[u8]) -> Result<usize> {
        let room = edge::data_capacity(self.utm.size()).saturating_sub(FILE_CALL_SIZE);
        if buf.len() > room {
            return Err(linux::EIO);
        }
        let at_utm = DATA_OFFSET + FILE_CALL_SIZE;
        self.utm.bytes()[at_utm..at_utm + buf.len()].copy_from_slice(buf);
        let args = [self.handle, buf.len() as u64, at, 1];
        let n = buf.len();
        file_call(self.utm, linux::WRITE, args, n, Some(n as u64), Bytes::None)
            .map(|(v, _)| v as usize)
    }
}

/// The SM's sealing key for `ident` (first 32 bytes), through the copy pages.
fn derive(
    s_mem: &mut impl PhysMem,
    a: usize,
    b: usize,
    ident: &[u8; IDENT_LEN],
) -> Result<[u8; 32]> {
    s_mem.page(b)[..IDENT_LEN].copy_from_slice(ident);
    // SAFETY: GET_SEALING_KEY takes physical addresses inside the EPM: a and
    // b are the runtime's copy pages, with no reference to them live; the SM
    // writes a sealing key struct (< a page) at a and reads IDENT_LEN bytes
    // at b.
    let r = unsafe { arch::sm_call(fid::GET_SEALING_KEY, a, b, IDENT_LEN) };
    let mut key = [0u8; 32];
    if r.error == 0 {
        key.copy_from_slice(&s_mem.page(a)[..32]);
    }
    s_mem.page(a)[..report::SEALING_KEY_STRUCT].fill(0);
    if r.error != 0 {
        return Err(linux::EIO);
    }
    Ok(key)
}

/// Opens the sealed file the host's `handle` names for the eapp's `flags`:
/// checks its header (EBADMSG if it fails), then gives it descriptor `fd`.
/// On failure the caller closes the handle.
pub fn open(s: &mut State, fd: usize, handle: u64, flags: usize) -> Result<()> {
    let slot = s.sealed.open.iter().position(Option::is_none).ok_or(linux::EMFILE)?;
    let acc = flags & linux::O_ACCMODE;
    let (read, write) = (acc != linux::O_WRONLY, acc != linux::O_RDONLY);
    let mut salt = [0u8; 16];
    salt[..8].copy_from_slice(&arch::random().to_le_bytes());
    salt[8..].copy_from_slice(&arch::random().to_le_bytes());
    let (a, b) = (s.copy.a, s.copy.b);
    let State { utm, space, sealed, .. } = s;
    let mem = space.mem();
    let file = SealedFile::open(
        &mut Host { utm, handle },
        |ident| derive(mem, a, b, ident),
        // O_CREAT makes an empty host file a new sealed file whatever the
        // access mode (the host opened it read-write).
        flags & linux::O_CREAT != 0,
        false,
        salt,
        &mut sealed.anchors,
        &mut sealed.scratch,
    )?;
    // One descriptor per sealed file: two would each keep a table and
    // overwrite each other's header.
    if sealed.open.iter().flatten().any(|o| o.file.id() == file.id()) {
        return Err(linux::EBUSY);
    }
    let mut file = file;
    if flags & linux::O_TRUNC != 0 && write {
        file.truncate(&mut Host { utm, handle }, 0, &mut sealed.anchors, &mut sealed.scratch)?;
    }
    let append = flags & linux::O_APPEND != 0;
    sealed.open[slot] = Some(Open { fd, handle, file, pos: 0, read, write, append });
    Ok(())
}

/// read/pread64 of a sealed file: plaintext, every block checked.
pub fn read(s: &mut State, fd: usize, buf: usize, count: usize, at: Option<u64>) -> Result<u64> {
    let i = s.sealed.get(fd)?;
    let dst = or_bad_pointer(s.space.writable(buf, count));
    let State { utm, space, sealed, .. } = s;
    let Sealed { open, scratch, .. } = sealed;
    let o = open[i].as_mut().expect("found");
    if !o.read {
        return Err(linux::EBADF);
    }
    let pos = at.unwrap_or(o.pos);
    let n =
        o.file.read(&mut Host { utm, handle: o.handle }, pos, count, scratch, |off, bytes| {
            space.copy_out(&dst.get(off..off + bytes.len()).expect("inside"), bytes)
        })?;
    if at.is_none() {
        o.pos = pos + n as u64;
    }
    Ok(n as u64)
}

/// write/pwrite64 of a sealed file: encrypted block by block.
pub fn write(s: &mut State, fd: usize, buf: usize, count: usize, at: Option<u64>) -> Result<u64> {
    let i = s.sealed.get(fd)?;
    let src = or_bad_pointer(s.space.readable(buf, count));
    let State { utm, space, sealed, .. } = s;
    let Sealed { open, scratch, anchors } = sealed;
    let o = open[i].as_mut().expect("found");
    if !o.write {
        return Err(linux::EBADF);
    }
    let pos = match at {
        Some(p) => p,
        None if o.append => o.file.size(),
        None => o.pos,
    };
    let mut host = Host { utm, handle: o.handle };
    let n = o.file.write(&mut host, pos, count, anchors, scratch, |off, dst| {
        space.copy_in(&src.get(off..off + dst.len()).expect("inside"), dst)
    })?;
    if at.is_none() {
        o.pos = pos + n as u64;
    }
    Ok(n as u64)
}

/// lseek of a sealed file: the runtime's own position.
pub fn lseek(s: &mut State, fd: usize, offset: usize, whence: usize) -> Result<u64> {
    let i = s.sealed.get(fd)?;
    let o = s.sealed.open[i].as_mut().expect("found");
    let base = match whence {
        linux::SEEK_SET => 0,
        linux::SEEK_CUR => o.pos as i64,
        linux::SEEK_END => o.file.size() as i64,
        _ => return Err(linux::EINVAL),
    };
    let new = base.checked_add(offset as i64).filter(|&p| p >= 0).ok_or(linux::EINVAL)?;
    o.pos = new as u64;
    Ok(o.pos)
}

/// The plaintext size of sealed `fd`, if it is one (fstat's st_size).
pub fn size(s: &State, fd: usize) -> Option<u64> {
    s.sealed.open.iter().flatten().find(|o| o.fd == fd).map(|o| o.file.size())
}

/// ftruncate of a sealed file.
pub fn truncate(s: &mut State, fd: usize, len: usize) -> Result<u64> {
    let i = s.sealed.get(fd)?;
    if (len as isize) < 0 {
        return Err(linux::EINVAL);
    }
    let State { utm, sealed, .. } = s;
    let Sealed { open, scratch, anchors } = sealed;
    let o = open[i].as_mut().expect("found");
    if !o.write {
        return Err(linux::EINVAL);
    }
    o.file.truncate(&mut Host { utm, handle: o.handle }, len as u64, anchors, scratch)?;
    Ok(0)
}

/// F_GETFL/F_SETFL of a sealed file: its access mode and O_APPEND, kept here.
pub fn flags(s: &mut State, fd: usize, cmd: usize, arg: usize) -> Result<u64> {
    let i = s.sealed.get(fd)?;
    let o = s.sealed.open[i].as_mut().expect("found");
    if cmd == linux::F_SETFL {
        o.append = arg & linux::O_APPEND != 0;
        return Ok(0);
    }
    let acc = match (o.read, o.write) {
        (true, true) => linux::O_RDWR,
        (false, true) => linux::O_WRONLY,
        _ => linux::O_RDONLY,
    };
    Ok((acc | if o.append { linux::O_APPEND } else { 0 }) as u64)
}

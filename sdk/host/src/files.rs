//! The host's side of the enclave's files: a [`FilePolicy`] says which paths
//! the eapp may open and how; a [`FileServer`] answers the runtime's
//! EDGECALL_FILE calls (`keystone_abi::edge::file`) under it. Anything the
//! policy does not grant is refused with EACCES.
//!
//! ```no_run
//! use keystone_host::{Enclave, FilePolicy};
//! let policy = FilePolicy::new().read_only("/etc/hostname").read_write("/tmp/enclave");
//! let enclave = Enclave::builder().files(policy) /* .loader(..).runtime(..).eapp(..) */;
//! ```

use crate::Reply;
use keystone_abi::edge::{FILE_CALL_SIZE, FILE_REPLY_SIZE, FILE_SEALED};
use keystone_abi::eyrie::linux;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// How a granted path may be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// O_RDONLY only, no O_CREAT or O_TRUNC.
    ReadOnly,
    /// Any access mode; files may be created and truncated.
    ReadWrite,
    /// Read-write, and sealed: the runtime encrypts and authenticates the
    /// file with the enclave's sealing key (docs/runtime.md, "Sealed
    /// files"); the host opens it read-write without truncating and marks
    /// its handle [`FILE_SEALED`].
    Sealed,
}

/// Which host paths an enclave may open. A rule grants a path and, when it
/// is a directory, everything under it. Paths are compared after resolving
/// symbolic links and `..` (of the file, or of its folder when it is being
/// created), so a link inside a granted folder cannot lead out of it. The
/// most specific matching rule decides; no rule, no access (EACCES).
#[derive(Debug, Clone, Default)]
pub struct FilePolicy {
    rules: Vec<(PathBuf, Access)>,
}

impl FilePolicy {
    /// Refuses everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants `path` (and what is under it) with `access`.
    pub fn allow(mut self, path: impl AsRef<Path>, access: Access) -> Self {
        let p = path.as_ref();
        // A path that does not exist yet is taken lexically, from the
        // current folder when relative (the calls' paths are resolved too).
        let p = std::fs::canonicalize(p).unwrap_or_else(|_| match std::env::current_dir() {
            Ok(cwd) if p.is_relative() => normalize(&cwd.join(p)),
            _ => normalize(p),
        });
        self.rules.push((p, access));
        self
    }

    pub fn read_only(self, path: impl AsRef<Path>) -> Self {
        self.allow(path, Access::ReadOnly)
    }

    pub fn read_write(self, path: impl AsRef<Path>) -> Self {
        self.allow(path, Access::ReadWrite)
    }

    /// Grants `path` (and what is under it) as sealed files: the enclave
    /// stores them encrypted with its own sealing key.
    pub fn sealed(self, path: impl AsRef<Path>) -> Self {
        self.allow(path, Access::Sealed)
    }

    /// The access granted to the resolved `path`, if any.
    pub fn access(&self, path: &Path) -> Option<Access> {
        self.rules
            .iter()
            .filter(|(p, _)| path.starts_with(p))
            .max_by_key(|(p, _)| p.components().count())
            .map(|&(_, a)| a)
    }
}

/// `path` with `.` and `..` removed lexically (for paths that do not exist yet).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// Where `path` really leads: the file itself when it exists, else its
/// resolved folder and its name (a file being created).
fn resolve(path: &Path) -> io::Result<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(p) => Ok(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let name = path.file_name().ok_or(e)?;
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            Ok(std::fs::canonicalize(dir)?.join(name))
        }
        Err(e) => Err(e),
    }
}

/// Serves the enclave's file calls under a policy: the host's open files
/// by handle (a counter, never reused while the server lives).
#[derive(Debug, Default)]
pub struct FileServer {
    policy: FilePolicy,
    open: HashMap<u64, File>,
    /// The open flags of each handle (F_GETFL).
    flags: HashMap<u64, usize>,
    /// The handles that are directories: their listing (getdents64).
    dirs: HashMap<u64, Listing>,
    next: u64,
}

/// An open directory: its resolved path and, once read, its entries
/// (inode, d_type, name) and how many were handed out.
#[derive(Debug, Default)]
struct Listing {
    path: PathBuf,
    entries: Option<Vec<(u64, u8, Vec<u8>)>>,
    next: usize,
}

/// `linux_dirent64`'s fixed part: d_ino, d_off, d_reclen, d_type.
const DIRENT_HEAD: usize = 19;

fn errno(e: &io::Error) -> i64 {
    -(e.raw_os_error().map_or(linux::EIO as i64, i64::from))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl FileServer {
    pub fn new(policy: FilePolicy) -> Self {
        FileServer {
            policy,
            open: HashMap::new(),
            flags: HashMap::new(),
            dirs: HashMap::new(),
            next: 1,
        }
    }

    /// How many files the enclave has open.
    pub fn open_files(&self) -> usize {
        self.open.len()
    }

    /// The answer to one EDGECALL_FILE call (its argument bytes): a result
    /// header, then the call's bytes.
    pub fn serve(&mut self, call: &[u8]) -> Reply {
        let (result, bytes) = self.answer(call).unwrap_or((-(linux::EINVAL as i64), Vec::new()));
        let mut out = Vec::with_capacity(FILE_REPLY_SIZE + bytes.len());
        out.extend_from_slice(&result.to_le_bytes());
        out.extend_from_slice(&bytes);
        Reply::Data(out)
    }

    fn answer(&mut self, call: &[u8]) -> Option<(i64, Vec<u8>)> {
        let num = u64_at(call, 0)? as usize;
        let a = [u64_at(call, 8)?, u64_at(call, 16)?, u64_at(call, 24)?, u64_at(call, 32)?];
        let bytes = call.get(FILE_CALL_SIZE..)?;
        let none = |r: io::Result<u64>| Some((r.map_or_else(|e| errno(&e), |v| v as i64), vec![]));
        match num {
            linux::OPENAT => none(self.open(bytes, a[0] as usize, a[1] as u32)),
            linux::CLOSE => {
                self.flags.remove(&a[0]);
                self.dirs.remove(&a[0]);
                Some((
                    if self.open.remove(&a[0]).is_some() { 0 } else { -linux::EBADF as i64 },
                    vec![],
                ))
            }
            linux::NEWFSTATAT => match self.stat(bytes, a[0] as usize) {
                Ok(m) => Some((0, stat_bytes(&m))),
                Err(e) => Some((errno(&e), vec![])),
            },
            linux::UNLINKAT => none(self.unlink(bytes, a[0] as usize).map(|()| 0)),
            linux::RENAMEAT2 => {
                let (old, new) = bytes.split_at_checked(a[0] as usize)?;
                none(self.rename(old, new, a[1]).map(|()| 0))
            }
            linux::FTRUNCATE => {
                let Some(f) = self.open.get(&a[0]) else { return Some((-9, vec![])) };
                none(f.set_len(a[1]).map(|()| 0))
            }
            linux::GETDENTS64 => Some(self.getdents(a[0], a[1] as usize)),
            linux::FCNTL => none(self.fcntl(a[0], a[1] as usize, a[2] as usize)),
            linux::READ => {
                let Some(f) = self.open.get_mut(&a[0]) else { return Some((-9, vec![])) };
                let mut buf = vec![0u8; a[1].min(1 << 24) as usize];
                let r = if a[3] != 0 { f.read_at(&mut buf, a[2]) } else { f.read(&mut buf) };
                match r {
                    Ok(n) => {
                        buf.truncate(n);
                        Some((n as i64, buf))
                    }
                    Err(e) => Some((errno(&e), vec![])),
                }
            }
            linux::WRITE => {
                let Some(f) = self.open.get_mut(&a[0]) else { return Some((-9, vec![])) };
                let data = bytes.get(..a[1] as usize)?;
                let r = if a[3] != 0 { f.write_at(data, a[2]) } else { f.write(data) };
                none(r.map(|n| n as u64))
            }
            linux::LSEEK => {
                let Some(f) = self.open.get_mut(&a[0]) else { return Some((-9, vec![])) };
                let pos = match a[2] as usize {
                    linux::SEEK_SET => SeekFrom::Start(a[1]),
                    linux::SEEK_CUR => SeekFrom::Current(a[1] as i64),
                    linux::SEEK_END => SeekFrom::End(a[1] as i64),
                    _ => return Some((-(linux::EINVAL as i64), vec![])),
                };
                none(f.seek(pos))
            }
            linux::FSTAT => {
                let Some(f) = self.open.get(&a[0]) else { return Some((-9, vec![])) };
                match f.metadata() {
                    Ok(m) => Some((0, stat_bytes(&m))),
                    Err(e) => Some((errno(&e), vec![])),
                }
            }
            _ => Some((-(linux::ENOSYS as i64), vec![])),
        }
    }

    fn open(&mut self, path: &[u8], flags: usize, mode: u32) -> io::Result<u64> {
        use std::os::unix::ffi::OsStrExt;
        let denied = || io::Error::from_raw_os_error(linux::EACCES as i32);
        if path.contains(&0) {
            return Err(io::Error::from_raw_os_error(linux::EINVAL as i32));
        }
        let path = Path::new(std::ffi::OsStr::from_bytes(path));
        let real = resolve(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => e,
            _ => denied(),
        })?;
        let creates = flags & (linux::O_CREAT | linux::O_TRUNC) != 0;
        let access = self.policy.access(&real);
        let mode_ok = match (access, flags & linux::O_ACCMODE) {
            (Some(Access::ReadWrite | Access::Sealed), m) => m != 3,
            (Some(Access::ReadOnly), linux::O_RDONLY) => !creates,
            _ => false,
        };
        if !mode_ok {
            return Err(denied());
        }
        let sealed = access == Some(Access::Sealed);
        // A sealed file's bytes are the runtime's format: it reads them to
        // write, and truncates and appends itself.
        let flags = if sealed {
            (flags & !(linux::O_ACCMODE | linux::O_TRUNC | linux::O_APPEND)) | linux::O_RDWR
        } else {
            flags
        };
        let acc = flags & linux::O_ACCMODE;
        let mut o = OpenOptions::new();
        o.read(acc != linux::O_WRONLY)
            .write(acc != linux::O_RDONLY)
            .append(flags & linux::O_APPEND != 0)
            .truncate(flags & linux::O_TRUNC != 0)
            .create(flags & linux::O_CREAT != 0)
            .create_new(flags & linux::O_CREAT != 0 && flags & linux::O_EXCL != 0)
            .mode(mode & 0o777);
        // The resolved path, so the file opened is the one the policy saw
        // (a link swapped in since is not followed at the last component).
        o.custom_flags(libc_o_nofollow());
        let f = o.open(&real)?;
        let is_dir = f.metadata()?.is_dir();
        let h = if sealed { self.next | FILE_SEALED } else { self.next };
        self.next += 1;
        self.open.insert(h, f);
        self.flags.insert(h, flags & (linux::O_ACCMODE | linux::O_APPEND));
        if is_dir {
            self.dirs.insert(h, Listing { path: real, ..Listing::default() });
        }
        Ok(h)
    }

    /// The path of a call's bytes, EINVAL if it holds a NUL.
    fn path(bytes: &[u8]) -> io::Result<&Path> {
        use std::os::unix::ffi::OsStrExt;
        if bytes.contains(&0) || bytes.is_empty() {
            return Err(io::Error::from_raw_os_error(if bytes.is_empty() {
                linux::ENOENT as i32
            } else {
                linux::EINVAL as i32
            }));
        }
        Ok(Path::new(std::ffi::OsStr::from_bytes(bytes)))
    }

    /// `path` with its folder resolved and its last part kept (not
    /// followed): what unlink and rename act on; EACCES unless the policy
    /// grants it writable.
    fn writable_entry(&self, bytes: &[u8]) -> io::Result<PathBuf> {
        let path = Self::path(bytes)?;
        let name =
            path.file_name().ok_or_else(|| io::Error::from_raw_os_error(linux::EINVAL as i32))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let real = std::fs::canonicalize(dir)?.join(name);
        match self.policy.access(&real) {
            Some(Access::ReadWrite | Access::Sealed) => Ok(real),
            _ => Err(io::Error::from_raw_os_error(linux::EACCES as i32)),
        }
    }

    /// newfstatat by path: any grant lets the eapp see a path's metadata.
    fn stat(&self, bytes: &[u8], flags: usize) -> io::Result<std::fs::Metadata> {
        let denied = || io::Error::from_raw_os_error(linux::EACCES as i32);
        let path = Self::path(bytes)?;
        if flags & linux::AT_SYMLINK_NOFOLLOW != 0 {
            let name = path.file_name().ok_or_else(denied)?;
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let real = std::fs::canonicalize(dir)?.join(name);
            self.policy.access(&real).ok_or_else(denied)?;
            return std::fs::symlink_metadata(real);
        }
        let real = std::fs::canonicalize(path)?;
        self.policy.access(&real).ok_or_else(denied)?;
        std::fs::metadata(real)
    }

    /// unlinkat: a file, or with AT_REMOVEDIR an empty folder, writable.
    fn unlink(&self, bytes: &[u8], flags: usize) -> io::Result<()> {
        let real = self.writable_entry(bytes)?;
        if flags & linux::AT_REMOVEDIR != 0 {
            std::fs::remove_dir(real)
        } else {
            std::fs::remove_file(real)
        }
    }

    /// renameat2 without flags: both paths writable.
    fn rename(&self, old: &[u8], new: &[u8], flags: u64) -> io::Result<()> {
        if flags != 0 {
            return Err(io::Error::from_raw_os_error(linux::EINVAL as i32));
        }
        let (from, to) = (self.writable_entry(old)?, self.writable_entry(new)?);
        std::fs::rename(from, to)
    }

    /// getdents64: as many whole `linux_dirent64` records of the open
    /// directory as fit in `count` bytes (EINVAL if not even one does).
    fn getdents(&mut self, h: u64, count: usize) -> (i64, Vec<u8>) {
        use std::os::unix::ffi::OsStrExt;
        let Some(d) = self.dirs.get_mut(&h) else {
            let e = if self.open.contains_key(&h) { linux::ENOTDIR } else { linux::EBADF };
            return (-(e as i64), vec![]);
        };
        if d.entries.is_none() {
            let read = std::fs::read_dir(&d.path).map(|it| {
                it.flatten()
                    .map(|e| {
                        let t = e.file_type().ok();
                        let ty = match t {
                            Some(t) if t.is_dir() => 4,
                            Some(t) if t.is_symlink() => 10,
                            Some(t) if t.is_file() => 8,
                            _ => 0,
                        };
                        let ino = e.metadata().map_or(0, |m| m.ino());
                        (ino, ty, e.file_name().as_bytes().to_vec())
                    })
                    .collect::<Vec<_>>()
            });
            match read {
                Ok(mut v) => {
                    v.sort_by(|a, b| a.2.cmp(&b.2));
                    d.entries = Some(v);
                }
                Err(e) => return (errno(&e), vec![]),
            }
        }
        let entries = d.entries.as_ref().expect("listed");
        let mut out = Vec::new();
        while let Some((ino, ty, name)) = entries.get(d.next) {
            let reclen = (DIRENT_HEAD + name.len() + 1).next_multiple_of(8);
            if out.len() + reclen > count {
                break;
            }
            let at = out.len();
            out.resize(at + reclen, 0);
            out[at..at + 8].copy_from_slice(&ino.to_le_bytes());
            out[at + 8..at + 16].copy_from_slice(&(d.next as u64 + 1).to_le_bytes());
            out[at + 16..at + 18].copy_from_slice(&(reclen as u16).to_le_bytes());
            out[at + 18] = *ty;
            out[at + DIRENT_HEAD..at + DIRENT_HEAD + name.len()].copy_from_slice(name);
            d.next += 1;
        }
        if out.is_empty() && d.next < entries.len() {
            return (-(linux::EINVAL as i64), vec![]);
        }
        (out.len() as i64, out)
    }

    /// fcntl on a handle: F_GETFL, F_SETFL (O_APPEND cannot change: EINVAL),
    /// F_DUPFD (a new handle to the same open file).
    fn fcntl(&mut self, h: u64, cmd: usize, arg: usize) -> io::Result<u64> {
        let ebadf = || io::Error::from_raw_os_error(linux::EBADF as i32);
        let flags = *self.flags.get(&h).ok_or_else(ebadf)?;
        match cmd {
            linux::F_GETFL => Ok(flags as u64),
            linux::F_SETFL if (arg ^ flags) & linux::O_APPEND == 0 => Ok(0),
            linux::F_DUPFD | linux::F_DUPFD_CLOEXEC if !self.dirs.contains_key(&h) => {
                let f = self.open.get(&h).ok_or_else(ebadf)?.try_clone()?;
                let new = (self.next) | (h & FILE_SEALED);
                self.next += 1;
                self.open.insert(new, f);
                self.flags.insert(new, flags);
                Ok(new)
            }
            _ => Err(io::Error::from_raw_os_error(linux::EINVAL as i32)),
        }
    }
}

/// O_NOFOLLOW (riscv64 and x86_64 Linux).
const fn libc_o_nofollow() -> i32 {
    0o400000
}

/// The asm-generic `struct stat` (riscv64) of `m`, STAT_SIZE bytes.
fn stat_bytes(m: &std::fs::Metadata) -> Vec<u8> {
    let mut b = vec![0u8; linux::STAT_SIZE];
    let mut put = |at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
    put(0, &m.dev().to_le_bytes());
    put(8, &m.ino().to_le_bytes());
    put(16, &m.mode().to_le_bytes());
    put(20, &(m.nlink() as u32).to_le_bytes());
    put(24, &m.uid().to_le_bytes());
    put(28, &m.gid().to_le_bytes());
    put(32, &m.rdev().to_le_bytes());
    put(48, &m.size().to_le_bytes());
    put(56, &(m.blksize() as i32).to_le_bytes());
    put(64, &m.blocks().to_le_bytes());
    put(72, &m.atime().to_le_bytes());
    put(80, &m.atime_nsec().to_le_bytes());
    put(88, &m.mtime().to_le_bytes());
    put(96, &m.mtime_nsec().to_le_bytes());
    put(104, &m.ctime().to_le_bytes());
    put(112, &m.ctime_nsec().to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use keystone_abi::edge::FILE_CALL_SIZE;

    fn call(num: usize, args: [u64; 4], bytes: &[u8]) -> Vec<u8> {
        let mut c = (num as u64).to_le_bytes().to_vec();
        for a in args {
            c.extend_from_slice(&a.to_le_bytes());
        }
        assert_eq!(c.len(), FILE_CALL_SIZE);
        c.extend_from_slice(bytes);
        c
    }

    fn result(r: &Reply) -> (i64, Vec<u8>) {
        let Reply::Data(d) = r else { panic!("{r:?}") };
        (i64::from_le_bytes(d[..8].try_into().unwrap()), d[8..].to_vec())
    }

    #[test]
    fn the_policy_refuses_by_default_and_grants_by_prefix() {
        let dir = std::env::temp_dir().join(format!("ks-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("rw")).unwrap();
        std::fs::write(dir.join("ro.txt"), b"read me").unwrap();
        std::fs::write(dir.join("secret"), b"no").unwrap();
        let policy = FilePolicy::new().read_only(dir.join("ro.txt")).read_write(dir.join("rw"));
        let mut s = FileServer::new(policy);
        let path = |p: &str| dir.join(p).to_str().unwrap().as_bytes().to_vec();
        let open = |s: &mut FileServer, p: &str, flags: usize| {
            result(&s.serve(&call(linux::OPENAT, [flags as u64, 0o600, 0, 0], &path(p)))).0
        };
        assert_eq!(open(&mut s, "secret", 0), -13, "not granted");
        assert_eq!(open(&mut s, "rw/../secret", 0), -13, "`..` out of a granted folder");
        assert_eq!(open(&mut s, "ro.txt", linux::O_RDWR), -13, "read-only");
        assert_eq!(open(&mut s, "ro.txt", linux::O_TRUNC), -13, "read-only");
        let h = open(&mut s, "ro.txt", 0);
        assert!(h > 0);
        let (n, data) = result(&s.serve(&call(linux::READ, [h as u64, 100, 0, 0], &[])));
        assert_eq!((n, data.as_slice()), (7, &b"read me"[..]));
        let (n, data) = result(&s.serve(&call(linux::READ, [h as u64, 4, 1, 1], &[])));
        assert_eq!((n, data.as_slice()), (4, &b"ead "[..]), "pread");
        let (r, st) = result(&s.serve(&call(linux::FSTAT, [h as u64, 0, 0, 0], &[])));
        assert_eq!((r, st.len()), (0, linux::STAT_SIZE));
        assert_eq!(i64::from_le_bytes(st[48..56].try_into().unwrap()), 7, "st_size");
        let w = open(&mut s, "rw/new", linux::O_WRONLY | linux::O_CREAT);
        assert!(w > h);
        let (n, _) = result(&s.serve(&call(linux::WRITE, [w as u64, 3, 0, 0], b"abc")));
        assert_eq!(n, 3);
        assert_eq!(std::fs::read(dir.join("rw/new")).unwrap(), b"abc");
        assert_eq!(result(&s.serve(&call(linux::CLOSE, [w as u64, 0, 0, 0], &[]))).0, 0);
        assert_eq!(result(&s.serve(&call(linux::CLOSE, [w as u64, 0, 0, 0], &[]))).0, -9);
        assert_eq!(result(&s.serve(&call(linux::READ, [99, 1, 0, 0], &[]))).0, -9);
        assert_eq!(result(&s.serve(&call(linux::OPENAT, [0; 4], &[]))).0, -2, "empty path");
        assert_eq!(result(&s.serve(&[1, 2, 3])).0, -22, "truncated call");
        std::os::unix::fs::symlink(dir.join("secret"), dir.join("rw/link")).unwrap();
        assert_eq!(open(&mut s, "rw/link", 0), -13, "a link out of a granted folder");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sealed_paths_open_read_write_and_carry_the_sealed_mark() {
        let dir = std::env::temp_dir().join(format!("ks-sealed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("s.bin"), b"sealed bytes").unwrap();
        let mut s = FileServer::new(FilePolicy::new().sealed(dir.join("s.bin")));
        let path = dir.join("s.bin").to_str().unwrap().as_bytes().to_vec();
        let flags = (linux::O_RDONLY | linux::O_TRUNC) as u64;
        let h = result(&s.serve(&call(linux::OPENAT, [flags, 0, 0, 0], &path))).0 as u64;
        assert_ne!(h & FILE_SEALED, 0);
        assert_eq!(std::fs::read(dir.join("s.bin")).unwrap(), b"sealed bytes", "not truncated");
        let (n, _) = result(&s.serve(&call(linux::WRITE, [h, 3, 0, 1], b"SEA")));
        assert_eq!(n, 3, "opened read-write for the runtime");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn path_calls_are_decided_by_the_policy() {
        let dir = std::env::temp_dir().join(format!("ks-paths-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("rw/sub")).unwrap();
        std::fs::create_dir_all(dir.join("ro")).unwrap();
        for f in ["rw/a", "rw/b", "ro/c", "secret"] {
            std::fs::write(dir.join(f), f).unwrap();
        }
        let policy = FilePolicy::new().read_write(dir.join("rw")).read_only(dir.join("ro"));
        let mut s = FileServer::new(policy);
        let p = |f: &str| dir.join(f).to_str().unwrap().as_bytes().to_vec();
        let stat =
            |s: &mut FileServer, f: &str| result(&s.serve(&call(linux::NEWFSTATAT, [0; 4], &p(f))));
        let (r, st) = stat(&mut s, "ro/c");
        assert_eq!((r, st.len()), (0, linux::STAT_SIZE));
        assert_eq!(stat(&mut s, "secret").0, -13);
        assert_eq!(stat(&mut s, "rw/nothing").0, -2);
        let unlink = |s: &mut FileServer, f: &str, fl: usize| {
            result(&s.serve(&call(linux::UNLINKAT, [fl as u64, 0, 0, 0], &p(f)))).0
        };
        assert_eq!(unlink(&mut s, "ro/c", 0), -13, "read-only");
        assert_eq!(unlink(&mut s, "secret", 0), -13);
        assert_eq!(unlink(&mut s, "rw/a", 0), 0);
        assert!(!dir.join("rw/a").exists());
        assert_eq!(unlink(&mut s, "rw/sub", linux::AT_REMOVEDIR), 0);
        let rename = |s: &mut FileServer, a: &str, b: &str| {
            let mut bytes = p(a);
            let n = bytes.len() as u64;
            bytes.extend(p(b));
            result(&s.serve(&call(linux::RENAMEAT2, [n, 0, 0, 0], &bytes))).0
        };
        assert_eq!(rename(&mut s, "rw/b", "ro/b"), -13, "into a read-only folder");
        assert_eq!(rename(&mut s, "ro/c", "rw/c"), -13, "out of a read-only folder");
        assert_eq!(rename(&mut s, "rw/b", "rw/b2"), 0);
        assert_eq!(std::fs::read(dir.join("rw/b2")).unwrap(), b"rw/b");
        let open = |s: &mut FileServer, f: &str, fl: usize| {
            result(&s.serve(&call(linux::OPENAT, [fl as u64, 0o600, 0, 0], &p(f)))).0 as u64
        };
        let d = open(&mut s, "rw", linux::O_RDONLY);
        let (n, ents) = result(&s.serve(&call(linux::GETDENTS64, [d, 4096, 0, 0], &[])));
        assert_eq!(n as usize, ents.len());
        assert!(ents.windows(3).any(|w| w == b"b2\0"), "the listing names b2");
        assert_eq!(result(&s.serve(&call(linux::GETDENTS64, [d, 4096, 0, 0], &[]))).0, 0, "end");
        let f = open(&mut s, "rw/b2", linux::O_RDWR);
        assert_eq!(result(&s.serve(&call(linux::GETDENTS64, [f, 4096, 0, 0], &[]))).0, -20);
        assert_eq!(result(&s.serve(&call(linux::FTRUNCATE, [f, 1, 0, 0], &[]))).0, 0);
        assert_eq!(std::fs::read(dir.join("rw/b2")).unwrap(), b"r");
        let r = open(&mut s, "ro/c", linux::O_RDONLY);
        assert_eq!(result(&s.serve(&call(linux::FTRUNCATE, [r, 0, 0, 0], &[]))).0, -22);
        let fl = linux::F_GETFL as u64;
        assert_eq!(result(&s.serve(&call(linux::FCNTL, [f, fl, 0, 0], &[]))).0, 2);
        let dup = result(&s.serve(&call(linux::FCNTL, [f, 0, 0, 0], &[]))).0 as u64;
        assert!(dup > f);
        assert_eq!(result(&s.serve(&call(linux::CLOSE, [dup, 0, 0, 0], &[]))).0, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

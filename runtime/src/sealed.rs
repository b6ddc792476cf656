//! Sealed files: a host file the runtime encrypts and authenticates with a
//! key only this enclave (its measurement) can get from the SM, so the eapp
//! reads and writes plain bytes and the host stores and sees ciphertext.
//!
//! Host file layout (all integers little-endian):
//!
//! - the header page, bytes 0..4096: `magic` "KSSEAL01" (8), `file_id`
//!   (16, random at creation), `version` (8, +1 on every write call),
//!   `size` (8, plaintext bytes), `nblocks` (4), 4 zero, the header's
//!   `nonce` (24) and `tag` (16), 8 zero, then `nblocks` [`Entry`]s of 48
//!   bytes: the version the block was last written at (0: never written,
//!   reads as zeros), its nonce (24) and its tag (16);
//! - block `i` (4096 bytes of XChaCha20-Poly1305 ciphertext) at `4096 *
//!   (i + 1)`.
//!
//! The key is the SM's sealing key for the ident `IDENT_PREFIX ++ file_id`
//! (bound to the enclave's measurement). A block's tag covers its bytes and,
//! as associated data, the file id, its index and its version; the header's
//! tag covers the header and the whole entry table (with its own nonce and
//! tag fields zeroed). While a file is open the table lives in enclave
//! memory: each block the host returns is checked against it, so an edited,
//! swapped, moved, missing or older block fails with EBADMSG and its bytes
//! never reach the eapp. Nonces are a random salt drawn at each open and a
//! counter, never reused under a key.
//!
//! Whole-file rollback (the host keeps an older header, table and blocks
//! together) is caught only within one enclave run: [`Anchors`] remembers the
//! newest version seen of each file id and refuses an older one. Across
//! enclave runs there is no trusted counter, so it is not detected.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use keystone_abi::eyrie::linux;

/// Plaintext bytes per block.
pub const BLOCK: usize = 4096;
/// The most blocks a sealed file holds (its size limit is BLOCK * this).
pub const MAX_BLOCKS: usize = 64;
/// The host file's magic.
pub const MAGIC: &[u8; 8] = b"KSSEAL01";
/// The SM sealing-key ident of a file is this, then its 16-byte id.
pub const IDENT_PREFIX: &[u8; 24] = b"keystone-rs sealed file\0";
/// The ident's length.
pub const IDENT_LEN: usize = IDENT_PREFIX.len() + 16;
/// Bytes before the entry table.
pub const HEADER: usize = 96;
/// Bytes of one entry.
pub const ENTRY: usize = 48;
/// The header page's size (where block 0 starts on the host).
pub const HEADER_PAGE: usize = BLOCK;
const _: () = assert!(HEADER + MAX_BLOCKS * ENTRY <= HEADER_PAGE);

/// EBADMSG: what a sealed file whose bytes fail their checks answers.
pub const EBADMSG: isize = 74;
/// EFBIG: past [`MAX_BLOCKS`].
pub const EFBIG: isize = 27;

type Result<T> = core::result::Result<T, isize>;

/// The host file, as the runtime reaches it: positioned reads and writes
/// of the host's bytes, each result already checked (a read never claims
/// more than it was asked).
pub trait HostFile {
    /// Reads at most `buf.len()` bytes at `at`: how many.
    fn read_at(&mut self, at: u64, buf: &mut [u8]) -> Result<usize>;
    /// Writes `buf` at `at`: how many (a short count is an error here).
    fn write_at(&mut self, at: u64, buf: &[u8]) -> Result<usize>;
}

/// One block's record in the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Entry {
    version: u64,
    nonce: [u8; 24],
    tag: [u8; 16],
}

/// The newest version seen of each sealed file in this enclave run: the
/// freshness anchor that refuses a file rolled back while the enclave lives.
#[derive(Debug, Clone, Copy)]
pub struct Anchors {
    seen: [([u8; 16], u64); 16],
    next: usize,
}

impl Default for Anchors {
    fn default() -> Self {
        Self::new()
    }
}

impl Anchors {
    pub const fn new() -> Self {
        Anchors { seen: [([0; 16], 0); 16], next: 0 }
    }

    /// Records `version` of `id`: EBADMSG if an older one than already seen.
    pub fn check(&mut self, id: &[u8; 16], version: u64) -> Result<()> {
        if let Some(e) = self.seen.iter_mut().find(|(i, v)| i == id && *v != 0) {
            if version < e.1 {
                return Err(EBADMSG);
            }
            e.1 = version;
            return Ok(());
        }
        // The oldest record gives way when the table is full.
        self.seen[self.next] = (*id, version);
        self.next = (self.next + 1) % self.seen.len();
        Ok(())
    }
}

/// An open sealed file: its key, header and table, checked at open.
pub struct SealedFile {
    cipher: XChaCha20Poly1305,
    id: [u8; 16],
    version: u64,
    size: u64,
    nblocks: usize,
    table: [Entry; MAX_BLOCKS],
    salt: [u8; 16],
    counter: u64,
}

impl core::fmt::Debug for SealedFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SealedFile")
            .field("version", &self.version)
            .field("size", &self.size)
            .field("nblocks", &self.nblocks)
            .finish_non_exhaustive()
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// A block's associated data: the file id, its index and its version.
fn block_ad(id: &[u8; 16], index: usize, version: u64) -> [u8; 32] {
    let mut ad = [0u8; 32];
    ad[..16].copy_from_slice(id);
    ad[16..24].copy_from_slice(&(index as u64).to_le_bytes());
    ad[24..].copy_from_slice(&version.to_le_bytes());
    ad
}

impl SealedFile {
    /// Opens the sealed file behind `host`, checking its header and table
    /// under the key `derive` gives for its ident (the SM's sealing key).
    /// An empty host file is a new sealed file when `create`, else EBADMSG;
    /// `truncate` empties it. `salt` must be fresh random bytes. `scratch`
    /// is a page of the runtime's memory.
    pub fn open<H: HostFile>(
        host: &mut H,
        derive: impl FnOnce(&[u8; IDENT_LEN]) -> Result<[u8; 32]>,
        create: bool,
        truncate: bool,
        salt: [u8; 16],
        anchors: &mut Anchors,
        scratch: &mut [u8; BLOCK],
    ) -> Result<Self> {
        let got = host.read_at(0, &mut scratch[..])?;
        let fresh = got == 0;
        if fresh && !create {
            return Err(EBADMSG);
        }
        let mut id = [0u8; 16];
        if fresh {
            // A new file's id: the salt's bytes are fresh random bytes too,
            // turned so the id and the first nonce share nothing.
            for (i, b) in id.iter_mut().enumerate() {
                *b = salt[15 - i] ^ 0x5a;
            }
        } else {
            if got < HEADER || &scratch[..8] != MAGIC {
                return Err(EBADMSG);
            }
            id.copy_from_slice(&scratch[8..24]);
        }
        let mut ident = [0u8; IDENT_LEN];
        ident[..IDENT_PREFIX.len()].copy_from_slice(IDENT_PREFIX);
        ident[IDENT_PREFIX.len()..].copy_from_slice(&id);
        let key = derive(&ident)?;
        let mut f = SealedFile {
            cipher: XChaCha20Poly1305::new(Key::from_slice(&key)),
            id,
            version: 0,
            size: 0,
            nblocks: 0,
            table: [Entry::default(); MAX_BLOCKS],
            salt,
            counter: 0,
        };
        if !fresh {
            f.load(&scratch[..got])?;
            anchors.check(&f.id, f.version)?;
        }
        if fresh || truncate {
            f.version += 1;
            f.size = 0;
            f.nblocks = 0;
            f.table = [Entry::default(); MAX_BLOCKS];
            f.commit(host, anchors, scratch)?;
        }
        Ok(f)
    }

    /// Checks and takes the header and table in `b` (the host's bytes).
    fn load(&mut self, b: &[u8]) -> Result<()> {
        let nblocks = u32::from_le_bytes(b[40..44].try_into().expect("4")) as usize;
        if nblocks > MAX_BLOCKS || b.len() < HEADER + nblocks * ENTRY {
            return Err(EBADMSG);
        }
        let mut ad = [0u8; HEADER + MAX_BLOCKS * ENTRY];
        let ad = &mut ad[..HEADER + nblocks * ENTRY];
        ad.copy_from_slice(&b[..HEADER + nblocks * ENTRY]);
        ad[48..88].fill(0);
        let nonce = XNonce::clone_from_slice(&b[48..72]);
        let tag = Tag::clone_from_slice(&b[72..88]);
        self.cipher.decrypt_in_place_detached(&nonce, ad, &mut [], &tag).map_err(|_| EBADMSG)?;
        self.version = u64_at(b, 24);
        self.size = u64_at(b, 32);
        self.nblocks = nblocks;
        // The size ends in the last block (the table's MAC makes them agree,
        // this refuses a header this runtime would never write).
        if self.size > (nblocks * BLOCK) as u64
            || self.size + (BLOCK as u64) <= (nblocks * BLOCK) as u64
        {
            return Err(EBADMSG);
        }
        for (i, e) in self.table[..nblocks].iter_mut().enumerate() {
            let at = HEADER + i * ENTRY;
            e.version = u64_at(b, at);
            e.nonce.copy_from_slice(&b[at + 8..at + 32]);
            e.tag.copy_from_slice(&b[at + 32..at + 48]);
        }
        Ok(())
    }

    /// The file's id (which sealed file this is, whatever its path).
    pub fn id(&self) -> &[u8; 16] {
        &self.id
    }

    /// The plaintext size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The file's version (the number of write calls it has taken).
    pub fn version(&self) -> u64 {
        self.version
    }

    fn next_nonce(&mut self) -> XNonce {
        self.counter += 1;
        let mut n = [0u8; 24];
        n[..16].copy_from_slice(&self.salt);
        n[16..].copy_from_slice(&self.counter.to_le_bytes());
        XNonce::clone_from_slice(&n)
    }

    /// Writes the header and table to the host (a new MAC) and records the
    /// version in `anchors`.
    fn commit<H: HostFile>(
        &mut self,
        host: &mut H,
        anchors: &mut Anchors,
        scratch: &mut [u8; BLOCK],
    ) -> Result<()> {
        let len = HEADER + self.nblocks * ENTRY;
        let b = &mut scratch[..len];
        b.fill(0);
        b[..8].copy_from_slice(MAGIC);
        b[8..24].copy_from_slice(&self.id);
        b[24..32].copy_from_slice(&self.version.to_le_bytes());
        b[32..40].copy_from_slice(&self.size.to_le_bytes());
        b[40..44].copy_from_slice(&(self.nblocks as u32).to_le_bytes());
        for (i, e) in self.table[..self.nblocks].iter().enumerate() {
            let at = HEADER + i * ENTRY;
            b[at..at + 8].copy_from_slice(&e.version.to_le_bytes());
            b[at + 8..at + 32].copy_from_slice(&e.nonce);
            b[at + 32..at + 48].copy_from_slice(&e.tag);
        }
        let nonce = self.next_nonce();
        let tag =
            self.cipher.encrypt_in_place_detached(&nonce, b, &mut []).map_err(|_| linux::EIO)?;
        b[48..72].copy_from_slice(&nonce);
        b[72..88].copy_from_slice(&tag);
        if host.write_at(0, b)? != len {
            return Err(linux::EIO);
        }
        anchors.check(&self.id, self.version)
    }

    /// Block `i`'s plaintext into `out`: zeros for a block never written,
    /// EBADMSG if the host's bytes are not the ones the table names.
    fn read_block<H: HostFile>(&self, host: &mut H, i: usize, out: &mut [u8; BLOCK]) -> Result<()> {
        let e = self.table[i];
        if e.version == 0 {
            out.fill(0);
            return Ok(());
        }
        let at = (HEADER_PAGE + i * BLOCK) as u64;
        if host.read_at(at, &mut out[..])? != BLOCK {
            out.fill(0);
            return Err(EBADMSG);
        }
        let ad = block_ad(&self.id, i, e.version);
        let r = self.cipher.decrypt_in_place_detached(
            XNonce::from_slice(&e.nonce),
            &ad,
            &mut out[..],
            Tag::from_slice(&e.tag),
        );
        if r.is_err() {
            // Nothing of a forged block is left for anyone to read.
            out.fill(0);
            return Err(EBADMSG);
        }
        Ok(())
    }

    /// Encrypts `data` (block `i`'s new plaintext; left as ciphertext) at
    /// the current version and writes it.
    fn write_block<H: HostFile>(
        &mut self,
        host: &mut H,
        i: usize,
        data: &mut [u8; BLOCK],
    ) -> Result<()> {
        let nonce = self.next_nonce();
        let ad = block_ad(&self.id, i, self.version);
        let tag = self
            .cipher
            .encrypt_in_place_detached(&nonce, &ad, &mut data[..])
            .map_err(|_| linux::EIO)?;
        self.table[i] = Entry { version: self.version, nonce: nonce.into(), tag: tag.into() };
        if i >= self.nblocks {
            self.nblocks = i + 1;
        }
        if host.write_at((HEADER_PAGE + i * BLOCK) as u64, &data[..])? != BLOCK {
            return Err(linux::EIO);
        }
        Ok(())
    }

    /// Reads at most `len` bytes at `pos`, handing each checked piece to
    /// `sink(offset in the read, bytes)`: how many (0 at or past the end).
    /// A block that fails its check ends the read with EBADMSG if nothing
    /// was handed out yet, else with what was.
    pub fn read<H: HostFile>(
        &self,
        host: &mut H,
        pos: u64,
        len: usize,
        scratch: &mut [u8; BLOCK],
        mut sink: impl FnMut(usize, &[u8]),
    ) -> Result<usize> {
        if pos >= self.size {
            return Ok(0);
        }
        let len = len.min((self.size - pos) as usize);
        let mut done = 0;
        while done < len {
            let p = pos + done as u64;
            let (i, off) = ((p / BLOCK as u64) as usize, (p % BLOCK as u64) as usize);
            let n = (BLOCK - off).min(len - done);
            match self.read_block(host, i, scratch) {
                Ok(()) => sink(done, &scratch[off..off + n]),
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
            scratch.fill(0);
            done += n;
        }
        Ok(done)
    }

    /// Writes `len` bytes at `pos`, asking `fill(offset in the write, dst)`
    /// for each piece: how many (all of them, or EFBIG past the limit).
    /// One new version for the whole call; the header is written last.
    pub fn write<H: HostFile>(
        &mut self,
        host: &mut H,
        pos: u64,
        len: usize,
        anchors: &mut Anchors,
        scratch: &mut [u8; BLOCK],
        mut fill: impl FnMut(usize, &mut [u8]),
    ) -> Result<usize> {
        let end = pos.checked_add(len as u64).ok_or(EFBIG)?;
        if end > (MAX_BLOCKS * BLOCK) as u64 {
            return Err(EFBIG);
        }
        if len == 0 {
            return Ok(0);
        }
        self.version += 1;
        let mut done = 0;
        while done < len {
            let p = pos + done as u64;
            let (i, off) = ((p / BLOCK as u64) as usize, (p % BLOCK as u64) as usize);
            let n = (BLOCK - off).min(len - done);
            if n == BLOCK || i >= self.nblocks {
                scratch.fill(0);
            } else {
                self.read_block(host, i, scratch)?;
            }
            fill(done, &mut scratch[off..off + n]);
            self.write_block(host, i, scratch)?;
            done += n;
        }
        self.size = self.size.max(end);
        self.commit(host, anchors, scratch)?;
        Ok(len)
    }

    /// Sets the size to `len`: a shrink zeroes the rest of the last block
    /// (so a later growth reads zeros) and forgets the blocks past it; a
    /// growth reads as zeros.
    pub fn truncate<H: HostFile>(
        &mut self,
        host: &mut H,
        len: u64,
        anchors: &mut Anchors,
        scratch: &mut [u8; BLOCK],
    ) -> Result<()> {
        if len > (MAX_BLOCKS * BLOCK) as u64 {
            return Err(EFBIG);
        }
        self.version += 1;
        let blocks = (len as usize).div_ceil(BLOCK);
        if len < self.size {
            let tail = len as usize % BLOCK;
            if tail != 0 && blocks <= self.nblocks {
                self.read_block(host, blocks - 1, scratch)?;
                scratch[tail..].fill(0);
                self.write_block(host, blocks - 1, scratch)?;
            }
            for e in self.table[blocks.min(self.nblocks)..self.nblocks].iter_mut() {
                *e = Entry::default();
            }
        }
        self.nblocks = blocks;
        self.size = len;
        self.commit(host, anchors, scratch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host file in memory.
    #[derive(Default, Clone)]
    struct Mem(Vec<u8>);

    impl HostFile for Mem {
        fn read_at(&mut self, at: u64, buf: &mut [u8]) -> Result<usize> {
            let at = (at as usize).min(self.0.len());
            let n = buf.len().min(self.0.len() - at);
            buf[..n].copy_from_slice(&self.0[at..at + n]);
            Ok(n)
        }
        fn write_at(&mut self, at: u64, buf: &[u8]) -> Result<usize> {
            let at = at as usize;
            if self.0.len() < at + buf.len() {
                self.0.resize(at + buf.len(), 0);
            }
            self.0[at..at + buf.len()].copy_from_slice(buf);
            Ok(buf.len())
        }
    }

    fn key(seed: u8) -> impl FnOnce(&[u8; IDENT_LEN]) -> Result<[u8; 32]> {
        move |ident| {
            let mut k = [seed; 32];
            for (i, b) in ident.iter().enumerate() {
                k[i % 32] ^= b.wrapping_mul(31);
            }
            Ok(k)
        }
    }

    struct Env {
        anchors: Anchors,
        scratch: [u8; BLOCK],
        salt: u8,
    }

    impl Env {
        fn new() -> Self {
            Env { anchors: Anchors::new(), scratch: [0; BLOCK], salt: 1 }
        }
        fn open(&mut self, host: &mut Mem, seed: u8, create: bool) -> Result<SealedFile> {
            self.salt += 1;
            SealedFile::open(
                host,
                key(seed),
                create,
                false,
                [self.salt; 16],
                &mut self.anchors,
                &mut self.scratch,
            )
        }
        fn write(
            &mut self,
            f: &mut SealedFile,
            h: &mut Mem,
            pos: u64,
            data: &[u8],
        ) -> Result<usize> {
            f.write(h, pos, data.len(), &mut self.anchors, &mut self.scratch, |o, d| {
                d.copy_from_slice(&data[o..o + d.len()])
            })
        }
        fn read(&mut self, f: &SealedFile, h: &mut Mem, pos: u64, len: usize) -> Result<Vec<u8>> {
            let mut out = vec![0u8; len];
            let n = f.read(h, pos, len, &mut self.scratch, |o, d| {
                out[o..o + d.len()].copy_from_slice(d)
            })?;
            out.truncate(n);
            Ok(out)
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| b'a' + (i % 26) as u8).collect()
    }

    fn sealed_with(blocks: usize) -> (Env, Mem, SealedFile, Vec<u8>) {
        let (mut env, mut h) = (Env::new(), Mem::default());
        let mut f = env.open(&mut h, 7, true).unwrap();
        let data = pattern(blocks * BLOCK - 100);
        assert_eq!(env.write(&mut f, &mut h, 0, &data), Ok(data.len()));
        (env, h, f, data)
    }

    #[test]
    fn what_is_written_reads_back_and_the_host_holds_no_plaintext() {
        let (mut env, mut h, f, data) = sealed_with(3);
        assert_eq!(env.read(&f, &mut h, 0, 1 << 20).unwrap(), data);
        assert_eq!(env.read(&f, &mut h, 4000, 200).unwrap(), &data[4000..4200], "across blocks");
        assert_eq!(env.read(&f, &mut h, data.len() as u64, 10).unwrap(), b"", "end of file");
        assert!(!h.0.windows(16).any(|w| w == &data[..16]), "plaintext on the host");
        assert_eq!(h.0.len(), HEADER_PAGE + 3 * BLOCK);
        let mut g = env.open(&mut h, 7, false).unwrap();
        assert_eq!(
            (g.size(), env.read(&g, &mut h, 0, 1 << 20).unwrap()),
            (data.len() as u64, data.clone())
        );
        assert_eq!(env.write(&mut g, &mut h, 10, b"XYZ"), Ok(3));
        let mut want = data.clone();
        want[10..13].copy_from_slice(b"XYZ");
        let g = env.open(&mut h, 7, false).unwrap();
        assert_eq!(env.read(&g, &mut h, 0, 1 << 20).unwrap(), want, "a partial write merged");
    }

    #[test]
    fn another_key_cannot_open_the_file() {
        let (mut env, mut h, _, _) = sealed_with(1);
        assert_eq!(env.open(&mut h, 8, false).unwrap_err(), EBADMSG);
    }

    #[test]
    fn an_empty_host_file_is_new_only_when_created() {
        let (mut env, mut h) = (Env::new(), Mem::default());
        assert_eq!(env.open(&mut h, 7, false).unwrap_err(), EBADMSG);
        let f = env.open(&mut h, 7, true).unwrap();
        assert_eq!((f.size(), h.0.len()), (0, HEADER));
    }

    #[test]
    fn an_edited_byte_anywhere_is_detected() {
        let (_, h0, _, _) = sealed_with(2);
        for at in [
            0,
            9,
            30,
            35,
            41,
            60,
            80,
            HEADER + 3,
            HEADER + 40,
            HEADER_PAGE + 5,
            HEADER_PAGE + BLOCK + 4095,
        ] {
            let mut h = h0.clone();
            h.0[at] ^= 1;
            let mut env = Env::new();
            // Each block read alone (a read ends early at a bad block).
            let r = env.open(&mut h, 7, false).and_then(|f| {
                env.read(&f, &mut h, 0, 10)?;
                env.read(&f, &mut h, BLOCK as u64, 10)
            });
            assert_eq!(r.map(|v| v.len()).unwrap_err(), EBADMSG, "byte {at}");
        }
    }

    #[test]
    fn swapped_blocks_are_detected() {
        let (mut env, mut h, f, _) = sealed_with(2);
        let (a, b) = (HEADER_PAGE, HEADER_PAGE + BLOCK);
        let first = h.0[a..b].to_vec();
        h.0.copy_within(b..b + BLOCK, a);
        h.0[b..b + BLOCK].copy_from_slice(&first);
        assert_eq!(env.read(&f, &mut h, 0, 10).unwrap_err(), EBADMSG);
        assert_eq!(env.read(&f, &mut h, BLOCK as u64, 10).unwrap_err(), EBADMSG);
    }

    #[test]
    fn a_truncated_host_file_is_detected() {
        let (mut env, mut h, f, _) = sealed_with(2);
        h.0.truncate(HEADER_PAGE + BLOCK + 100);
        assert_eq!(env.read(&f, &mut h, 0, 10).unwrap().len(), 10, "block 0 is whole");
        assert_eq!(env.read(&f, &mut h, BLOCK as u64, 10).unwrap_err(), EBADMSG);
        h.0.truncate(50);
        assert_eq!(env.open(&mut h, 7, false).unwrap_err(), EBADMSG);
    }

    #[test]
    fn an_older_block_or_an_older_file_replayed_is_detected() {
        let (mut env, mut h, mut f, _) = sealed_with(2);
        let old = h.clone();
        assert_eq!(env.write(&mut f, &mut h, 5, b"new"), Ok(3));
        let mut replayed = h.clone();
        replayed.0[HEADER_PAGE..HEADER_PAGE + BLOCK]
            .copy_from_slice(&old.0[HEADER_PAGE..HEADER_PAGE + BLOCK]);
        assert_eq!(env.read(&f, &mut replayed, 0, 10).unwrap_err(), EBADMSG, "open file");
        assert_eq!(
            env.open(&mut replayed, 7, false)
                .and_then(|g| env.read(&g, &mut replayed, 0, 10))
                .unwrap_err(),
            EBADMSG,
            "reopened"
        );
        let mut whole = old.clone();
        assert_eq!(env.open(&mut whole, 7, false).unwrap_err(), EBADMSG, "older version, same run");
        let mut fresh_run = Env::new();
        assert!(fresh_run.open(&mut whole, 7, false).is_ok(), "not detected across runs");
    }

    #[test]
    fn truncation_by_the_eapp_shrinks_and_zero_fills() {
        let (mut env, mut h, mut f, data) = sealed_with(3);
        f.truncate(&mut h, 5000, &mut env.anchors, &mut env.scratch).unwrap();
        assert_eq!(env.read(&f, &mut h, 0, 1 << 20).unwrap(), &data[..5000]);
        f.truncate(&mut h, 9000, &mut env.anchors, &mut env.scratch).unwrap();
        let got = env.read(&f, &mut h, 0, 1 << 20).unwrap();
        assert_eq!((&got[..5000], got[5000..].iter().all(|&b| b == 0)), (&data[..5000], true));
        let g = env.open(&mut h, 7, false).unwrap();
        assert_eq!(env.read(&g, &mut h, 0, 1 << 20).unwrap(), got);
    }

    #[test]
    fn writes_past_the_limit_are_efbig_and_holes_read_as_zeros() {
        let (mut env, mut h) = (Env::new(), Mem::default());
        let mut f = env.open(&mut h, 7, true).unwrap();
        assert_eq!(env.write(&mut f, &mut h, (MAX_BLOCKS * BLOCK) as u64, b"x"), Err(EFBIG));
        assert_eq!(env.write(&mut f, &mut h, 3 * BLOCK as u64, b"end"), Ok(3));
        let got = env.read(&f, &mut h, 0, 1 << 20).unwrap();
        assert_eq!(got.len(), 3 * BLOCK + 3);
        assert!(got[..3 * BLOCK].iter().all(|&b| b == 0));
        assert_eq!(h.0.len(), HEADER_PAGE + 4 * BLOCK, "only the written block is stored");
    }
}

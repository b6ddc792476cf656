//! Switchless ocalls (ours; Keystone has none): a ring of request slots in
//! the UTM that an eapp fills and host threads on other harts serve, with
//! no world switch and no SM on the path.
//!
//! The ring is the last [`RING_BYTES`] of the UTM. The eapp asks the runtime
//! to map it into its own address space ([`crate::eyrie::syscall::MAP_RING`]);
//! from then on the runtime's ordinary edge calls use only the UTM before it,
//! so the two never overlap. All fields are little-endian `u64`s, each
//! reached with one aligned atomic access (RISC-V `ld`/`sd`/`amo*` with the
//! fences of the stated ordering), so both sides may touch them at any time.
//!
//! ```text
//! offset 0          header (one slot's room): MAGIC, SLOTS, SLOT_BYTES,
//!                   WORKERS (the host's count of running workers, a hint)
//! offset SLOT_BYTES slot 0 ... slot SLOTS-1, each SLOT_BYTES:
//!   +0 state   FREE -> POSTED (eapp, release) -> CLAIMED (a worker's CAS)
//!              -> DONE (worker, release) -> FREE (eapp)
//!   +8 seq     the eapp's number for this request; the worker echoes it in ret_seq
//!   +16 id     ocall id (the same table as ordinary ocalls)
//!   +24 arg_len  request bytes at +PAYLOAD_OFFSET (<= PAYLOAD_BYTES)
//!   +32 status   edge status of the answer (crate::edge::status)
//!   +40 ret_len  answer bytes at +PAYLOAD_OFFSET (<= PAYLOAD_BYTES)
//!   +48 ret_seq  = seq of the request answered
//!   +64 payload  request, then the answer in its place
//! ```
//!
//! Everything the host writes is untrusted: the eapp derives every address
//! from its own slot index, checks every length against [`PAYLOAD_BYTES`]
//! and every `ret_seq` against the request's, and bounds every wait.

/// Bytes of the ring (one page, at the end of the UTM).
pub const RING_BYTES: usize = 4096;
/// Bytes per slot (and of the header).
pub const SLOT_BYTES: usize = 256;
/// Request slots (the header takes the first slot's room).
pub const SLOTS: usize = RING_BYTES / SLOT_BYTES - 1;
/// Where a slot's payload starts.
pub const PAYLOAD_OFFSET: usize = 64;
/// Largest request or answer a slot carries; larger calls go the ordinary way.
pub const PAYLOAD_BYTES: usize = SLOT_BYTES - PAYLOAD_OFFSET;
/// "KSSWLES1": the eapp writes it at offset 0 when it maps the ring.
pub const MAGIC: u64 = u64::from_le_bytes(*b"KSSWLES1");

/// Header fields (byte offsets in the ring).
pub mod header {
    pub const MAGIC: usize = 0;
    pub const SLOTS: usize = 8;
    pub const SLOT_BYTES: usize = 16;
    /// How many host workers are serving the ring (0: none; take the
    /// ordinary path). A hint only: a lying host costs a bounded wait.
    pub const WORKERS: usize = 24;
}

/// Slot fields (byte offsets from the slot's start).
pub mod slot {
    pub const STATE: usize = 0;
    pub const SEQ: usize = 8;
    pub const ID: usize = 16;
    pub const ARG_LEN: usize = 24;
    pub const STATUS: usize = 32;
    pub const RET_LEN: usize = 40;
    pub const RET_SEQ: usize = 48;
}

/// Slot states.
pub mod state {
    pub const FREE: u64 = 0;
    pub const POSTED: u64 = 1;
    pub const CLAIMED: u64 = 2;
    pub const DONE: u64 = 3;
}

/// Byte offset of slot `i` (< [`SLOTS`]) in the ring.
pub const fn slot_offset(i: usize) -> usize {
    SLOT_BYTES * (i + 1)
}

const _: () = assert!(RING_BYTES.is_multiple_of(4096) && SLOT_BYTES.is_multiple_of(64));
const _: () = assert!(slot_offset(SLOTS - 1) + SLOT_BYTES == RING_BYTES);
const _: () = assert!(slot::RET_SEQ + 8 <= PAYLOAD_OFFSET && PAYLOAD_BYTES.is_multiple_of(8));

/// Ocall ids of the switchless examples and tests.
pub mod test_ocall {
    /// Answers the u64 LE it is sent plus one.
    pub const INC: u64 = 9;
    /// The switchless eapp asks what to do (ordinary ocall): a u64 mode.
    pub const MODE: u64 = 10;
    /// The switchless eapp reports its figures (ordinary ocall): u64s.
    pub const REPORT: u64 = 12;
    /// Sleeps for the u64 LE microseconds it is sent, then answers OK.
    pub const SLEEP_US: u64 = 13;
}

/// What the switchless example eapp does (the host's answer to MODE).
pub mod mode {
    /// INC calls; every answer checked; reports (switchless, fallback) counts.
    pub const CALLS: u64 = 1;
    /// Latency: ordinary vs switchless NOP calls, medians of time ticks and
    /// the eapp's own instret per switchless call.
    pub const LATENCY: u64 = 2;
    /// Throughput: NOP calls, up to SLOTS in flight, for a fixed time.
    pub const THROUGHPUT: u64 = 3;
    /// A host that scribbles on the ring: calls until told, counts errors.
    pub const HOSTILE: u64 = 4;
    /// One SLEEP_US call longer than the eapp's bound: must time out.
    pub const SLOW: u64 = 5;
}

//! Adds a `reserved-memory` child for the SM's region to a flattened device
//! tree, so the kernel the SM boots never maps or allocates the SM's memory.
//!
//! It also marks the devices the SM owns `status = "disabled"` (PMP closes
//! them to S-mode): the power/reset devices (`sifive,test0`,
//! `syscon-poweroff`, `syscon-reboot`), so the kernel powers off and resets
//! through SBI SRST, which scrubs enclave memory first; and the CLINT
//! (`riscv,clint0`), so the kernel keeps time and sends IPIs through the
//! time CSR, Sstc and SBI TIME/IPI. A status the node had is dropped.
//!
//! The `fdt` crate only reads trees; this module writes the one edit the SM
//! needs by copying the structure block token by token (devicetree spec v0.4,
//! chapter 5) and inserting nodes where they belong. Pure: host-tested.

const MAGIC: u32 = 0xd00d_feed;
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;
const HEADER_LEN: usize = 40;

/// Why the tree could not be patched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdtPatchError {
    /// Not a version-17 flattened device tree, or a block lies outside it.
    Malformed,
    /// The output buffer is too small for the patched tree.
    NoSpace,
}

fn be32(buf: &[u8], at: usize) -> Result<u32, FdtPatchError> {
    buf.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(FdtPatchError::Malformed)
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

struct Out<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Out<'_> {
    fn bytes(&mut self, data: &[u8]) -> Result<(), FdtPatchError> {
        let end = self.len + data.len();
        self.buf.get_mut(self.len..end).ok_or(FdtPatchError::NoSpace)?.copy_from_slice(data);
        self.len = end;
        Ok(())
    }
    fn u32(&mut self, v: u32) -> Result<(), FdtPatchError> {
        self.bytes(&v.to_be_bytes())
    }
    fn pad4(&mut self) -> Result<(), FdtPatchError> {
        while !self.len.is_multiple_of(4) {
            self.bytes(&[0])?;
        }
        Ok(())
    }
    fn begin_node(&mut self, name: &str) -> Result<(), FdtPatchError> {
        self.u32(BEGIN_NODE)?;
        self.bytes(name.as_bytes())?;
        self.bytes(&[0])?;
        self.pad4()
    }
    fn prop(&mut self, nameoff: u32, value: &[u8]) -> Result<(), FdtPatchError> {
        self.u32(PROP)?;
        self.u32(value.len() as u32)?;
        self.u32(nameoff)?;
        self.bytes(value)?;
        self.pad4()
    }
}

/// Offsets of the property names the new nodes use, in the output strings block.
struct Names {
    address_cells: u32,
    size_cells: u32,
    ranges: u32,
    reg: u32,
    no_map: u32,
    status: u32,
}

/// Compatible strings of the devices the SM owns: those that power off or
/// reset the machine, and the CLINT (M-mode timer and software interrupts).
const SM_DEVICES: [&[u8]; 5] =
    [b"sifive,test0", b"syscon-poweroff", b"syscon-reboot", b"riscv,clint0", b"sifive,clint0"];

/// True when a `compatible` value (NUL-separated strings) names a device the SM owns.
fn is_sm_device(compatible: &[u8]) -> bool {
    compatible.split(|&b| b == 0).any(|c| SM_DEVICES.contains(&c))
}

/// The NUL-terminated property name at `off` in the strings block (a name
/// may share its bytes with the tail of a longer one, so compare names,
/// not offsets).
fn name_at(strings: &[u8], off: u32) -> Result<&[u8], FdtPatchError> {
    let tail = strings.get(off as usize..).ok_or(FdtPatchError::Malformed)?;
    let len = tail.iter().position(|&b| b == 0).ok_or(FdtPatchError::Malformed)?;
    Ok(&tail[..len])
}

/// True when the node whose properties start at `pos` has a `compatible`
/// naming a device the SM owns (properties come before any child node).
fn owned_node(structure: &[u8], strings: &[u8], mut pos: usize) -> Result<bool, FdtPatchError> {
    loop {
        match be32(structure, pos)? {
            PROP => {
                let len = be32(structure, pos + 4)? as usize;
                let name = name_at(strings, be32(structure, pos + 8)?)?;
                let value =
                    structure.get(pos + 12..pos + 12 + len).ok_or(FdtPatchError::Malformed)?;
                if name == b"compatible" && is_sm_device(value) {
                    return Ok(true);
                }
                pos = align4(pos + 12 + len);
            }
            NOP => pos += 4,
            _ => return Ok(false),
        }
    }
}

/// Offset of `name` in the strings block, or where it will be appended.
fn string_offset(strings: &[u8], extra: &mut [u8; 96], extra_len: &mut usize, name: &str) -> u32 {
    let mut start = 0;
    for (i, &b) in strings.iter().enumerate() {
        if b == 0 {
            if &strings[start..i] == name.as_bytes() {
                return start as u32;
            }
            start = i + 1;
        }
    }
    let mut start = 0;
    for i in 0..*extra_len {
        if extra[i] == 0 {
            if &extra[start..i] == name.as_bytes() {
                return (strings.len() + start) as u32;
            }
            start = i + 1;
        }
    }
    let off = strings.len() + *extra_len;
    extra[*extra_len..*extra_len + name.len()].copy_from_slice(name.as_bytes());
    *extra_len += name.len() + 1;
    off as u32
}

fn cells(value: usize, count: u32, out: &mut [u8], at: &mut usize) {
    if count == 2 {
        out[*at..*at + 8].copy_from_slice(&(value as u64).to_be_bytes());
        *at += 8;
    } else {
        out[*at..*at + 4].copy_from_slice(&(value as u32).to_be_bytes());
        *at += 4;
    }
}

fn reserved_child(
    out: &mut Out,
    names: &Names,
    base: usize,
    size: usize,
    acells: u32,
    scells: u32,
) -> Result<(), FdtPatchError> {
    let mut name = [0u8; 32];
    let prefix = b"keystone-sm@";
    name[..prefix.len()].copy_from_slice(prefix);
    let mut len = prefix.len();
    let mut digits = [0u8; 16];
    let mut n = base;
    let mut count = 0;
    loop {
        digits[count] = b"0123456789abcdef"[n & 0xf];
        count += 1;
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    for i in (0..count).rev() {
        name[len] = digits[i];
        len += 1;
    }
    out.begin_node(core::str::from_utf8(&name[..len]).map_err(|_| FdtPatchError::Malformed)?)?;
    let mut reg = [0u8; 16];
    let mut at = 0;
    cells(base, acells, &mut reg, &mut at);
    cells(size, scells, &mut reg, &mut at);
    out.prop(names.reg, &reg[..at])?;
    out.prop(names.no_map, &[])?;
    out.u32(END_NODE)
}

/// Writes `src` with the range [base, base + size) reserved (no-map) into
/// `dst`, returning the patched tree's length.
pub fn reserve_memory(
    src: &[u8],
    dst: &mut [u8],
    base: usize,
    size: usize,
) -> Result<usize, FdtPatchError> {
    if be32(src, 0)? != MAGIC || src.len() < HEADER_LEN {
        return Err(FdtPatchError::Malformed);
    }
    let total = be32(src, 4)? as usize;
    let off_struct = be32(src, 8)? as usize;
    let off_strings = be32(src, 12)? as usize;
    let off_rsvmap = be32(src, 16)? as usize;
    let version = be32(src, 20)?;
    let size_strings = be32(src, 32)? as usize;
    let size_struct = be32(src, 36)? as usize;
    if version < 17 || total > src.len() {
        return Err(FdtPatchError::Malformed);
    }
    let strings =
        src.get(off_strings..off_strings + size_strings).ok_or(FdtPatchError::Malformed)?;
    let structure =
        src.get(off_struct..off_struct + size_struct).ok_or(FdtPatchError::Malformed)?;

    let mut extra = [0u8; 96];
    let mut extra_len = 0;
    let mut name = |n: &str| string_offset(strings, &mut extra, &mut extra_len, n);
    let names = Names {
        address_cells: name("#address-cells"),
        size_cells: name("#size-cells"),
        ranges: name("ranges"),
        reg: name("reg"),
        no_map: name("no-map"),
        status: name("status"),
    };

    let mut out = Out { buf: dst, len: 0 };
    out.bytes(&[0; HEADER_LEN])?;
    // Memory reservation block: copy up to and including the (0, 0) terminator.
    let new_rsvmap = out.len;
    let mut at = off_rsvmap;
    loop {
        let entry = src.get(at..at + 16).ok_or(FdtPatchError::Malformed)?;
        out.bytes(entry)?;
        at += 16;
        if entry.iter().all(|&b| b == 0) {
            break;
        }
    }

    let new_struct = out.len;
    let (mut acells, mut scells) = (2u32, 1u32);
    let mut depth = 0usize;
    let mut in_resv = false;
    let mut inserted = false;
    // Depth of the SM-owned node being copied (its own properties sit there).
    let mut owned: Option<usize> = None;
    let mut pos = 0;
    loop {
        let token = be32(structure, pos)?;
        match token {
            BEGIN_NODE => {
                let name_start = pos + 4;
                let name_len = structure
                    .get(name_start..)
                    .ok_or(FdtPatchError::Malformed)?
                    .iter()
                    .position(|&b| b == 0)
                    .ok_or(FdtPatchError::Malformed)?;
                let node_name = &structure[name_start..name_start + name_len];
                let next = align4(name_start + name_len + 1);
                if in_resv && depth == 2 && !inserted {
                    reserved_child(&mut out, &names, base, size, acells, scells)?;
                    inserted = true;
                }
                out.bytes(&structure[pos..next])?;
                depth += 1;
                if depth == 2 && (node_name == b"reserved-memory") {
                    in_resv = true;
                }
                if owned_node(structure, strings, next)? {
                    out.prop(names.status, b"disabled\0")?;
                    owned = Some(depth);
                }
                pos = next;
            }
            END_NODE => {
                if depth == 2 && in_resv && !inserted {
                    reserved_child(&mut out, &names, base, size, acells, scells)?;
                    inserted = true;
                }
                if depth == 1 && !inserted {
                    out.begin_node("reserved-memory")?;
                    out.prop(names.address_cells, &acells.to_be_bytes())?;
                    out.prop(names.size_cells, &scells.to_be_bytes())?;
                    out.prop(names.ranges, &[])?;
                    reserved_child(&mut out, &names, base, size, acells, scells)?;
                    out.u32(END_NODE)?;
                    inserted = true;
                }
                if depth == 2 {
                    in_resv = false;
                }
                if owned == Some(depth) {
                    owned = None;
                }
                out.u32(END_NODE)?;
                depth = depth.checked_sub(1).ok_or(FdtPatchError::Malformed)?;
                pos += 4;
            }
            PROP => {
                let len = be32(structure, pos + 4)? as usize;
                let name = name_at(strings, be32(structure, pos + 8)?)?;
                let next = align4(pos + 12 + len);
                let value =
                    structure.get(pos + 12..pos + 12 + len).ok_or(FdtPatchError::Malformed)?;
                if depth == 1 && len == 4 {
                    let v = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
                    if name == b"#address-cells" {
                        acells = v;
                    } else if name == b"#size-cells" {
                        scells = v;
                    }
                }
                // An SM-owned node got its status = "disabled" first; drop its own.
                if !(owned == Some(depth) && name == b"status") {
                    out.bytes(structure.get(pos..next).ok_or(FdtPatchError::Malformed)?)?;
                }
                pos = next;
            }
            NOP => pos += 4,
            END => {
                out.u32(END)?;
                break;
            }
            _ => return Err(FdtPatchError::Malformed),
        }
    }
    if !inserted || !(1..=2).contains(&acells) || !(1..=2).contains(&scells) {
        return Err(FdtPatchError::Malformed);
    }
    let new_size_struct = out.len - new_struct;
    let new_strings = out.len;
    out.bytes(strings)?;
    out.bytes(&extra[..extra_len])?;
    let new_size_strings = out.len - new_strings;
    let new_total = out.len;

    let header: [u32; 10] = [
        MAGIC,
        new_total as u32,
        new_struct as u32,
        new_strings as u32,
        new_rsvmap as u32,
        17,
        16,
        be32(src, 28)?,
        new_size_strings as u32,
        new_size_struct as u32,
    ];
    for (i, word) in header.iter().enumerate() {
        out.buf[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    Ok(new_total)
}

//! The enclave measurement against independently computed SHA3-512 values.

use sha3::{Digest, Sha3_512};
use sm_core::create_args::EnclaveLayout;
use sm_core::measure::{header, measure, page_addresses, sha3_512, Measurer, Page};
use sm_core::pmp::Range;

const PAGE: usize = 4096;
const EPM: usize = 0x8100_0000;

/// EPM of 4 pages: loader, runtime, eapp, then one page of freemem.
fn layout() -> EnclaveLayout {
    EnclaveLayout {
        epm: Range { base: EPM, size: 4 * PAGE },
        utm: Range { base: 0x8200_0000, size: 0x4_0000 },
        runtime: EPM + PAGE,
        user: EPM + 2 * PAGE,
        free: EPM + 3 * PAGE,
        free_requested: 0,
    }
}

/// EPM contents: page k holds byte (31 j + 7 k) mod 251 at offset j.
fn epm_bytes(pages: usize) -> Vec<u8> {
    (0..pages).flat_map(|k| (0..PAGE).map(move |j| ((j * 31 + k * 7) % 251) as u8)).collect()
}

fn page_at(epm: &[u8], pa: usize) -> &Page {
    let off = pa - EPM;
    epm[off..off + PAGE].try_into().unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn sha3_512_of_nothing_is_the_fips_202_value_not_keccak() {
    assert_eq!(
        hex(&sha3_512(b"")),
        "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a6\
         15b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e301758586281dcd26"
    );
}

#[test]
fn header_is_three_little_endian_offsets() {
    let mut l = layout();
    l.runtime = EPM + 0x1000;
    l.user = EPM + 0x3000;
    l.free = EPM + 0x7000;
    let h = header(&l);
    assert_eq!(&h[0..8], &0x1000u64.to_le_bytes());
    assert_eq!(&h[8..16], &0x2000u64.to_le_bytes());
    assert_eq!(&h[16..24], &0x4000u64.to_le_bytes());
}

#[test]
fn measurement_equals_sha3_over_header_and_pages_concatenated() {
    let epm = epm_bytes(4);
    let mut expected = Sha3_512::new();
    expected.update(1u64.wrapping_mul(PAGE as u64).to_le_bytes());
    expected.update((PAGE as u64).to_le_bytes());
    expected.update((PAGE as u64).to_le_bytes());
    expected.update(&epm[..3 * PAGE]);
    let got = measure(&layout(), |pa| page_at(&epm, pa));
    assert_eq!(got.as_slice(), expected.finalize().as_slice());
}

#[test]
fn measurement_matches_a_fixed_vector_from_another_implementation() {
    // Python: hashlib.sha3_512(struct.pack('<QQQ', 0x1000, 0x1000, 0x1000) + pages)
    let epm = epm_bytes(4);
    assert_eq!(
        hex(&measure(&layout(), |pa| page_at(&epm, pa))),
        "09ed1832afba2e12e39162e80dc03b1a67023e671bd53eb533e8d67935232b85\
         be28b54d0ddf2202dad4d0e85cd5f27337b6843f51cc10fe0fcbe4c9b58ed029"
    );
}

#[test]
fn empty_enclave_hashes_only_the_zero_header() {
    let l = EnclaveLayout { runtime: EPM, user: EPM, free: EPM, ..layout() };
    let got = measure(&l, |_| panic!("no page should be read"));
    assert_eq!(
        hex(&got),
        "b06923bd6534c6d4d435dcfa7593c4887213af25cdc9c3f8e854831af2755e3b\
         229a1f64ed6acaa471e84850d45beb43e46e3aac284e7401c8da98ec41809aaf"
    );
}

#[test]
fn pages_are_read_in_address_order_and_freemem_is_not() {
    let epm = epm_bytes(4);
    let mut seen = Vec::new();
    measure(&layout(), |pa| {
        seen.push(pa);
        page_at(&epm, pa)
    });
    assert_eq!(seen, vec![EPM, EPM + PAGE, EPM + 2 * PAGE]);
    assert_eq!(page_addresses(&layout()).count(), layout().measured_pages());
}

#[test]
fn streaming_measurer_equals_measure() {
    let epm = epm_bytes(4);
    let mut m = Measurer::new(&layout());
    for pa in page_addresses(&layout()) {
        m.update_page(page_at(&epm, pa));
    }
    assert_eq!(m.pages(), 3);
    assert_eq!(m.finalize(), measure(&layout(), |pa| page_at(&epm, pa)));
}

#[test]
fn one_changed_byte_changes_the_measurement() {
    let epm = epm_bytes(4);
    let mut other = epm.clone();
    other[2 * PAGE + 17] ^= 1;
    let a = measure(&layout(), |pa| page_at(&epm, pa));
    let b = measure(&layout(), |pa| page_at(&other, pa));
    assert_ne!(a, b);
}

#[test]
fn same_bytes_with_other_offsets_measure_differently() {
    let epm = epm_bytes(4);
    let moved = EnclaveLayout { user: EPM + PAGE, ..layout() };
    let a = measure(&layout(), |pa| page_at(&epm, pa));
    let b = measure(&moved, |pa| page_at(&epm, pa));
    assert_ne!(a, b);
}

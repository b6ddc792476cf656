//! The reserved-memory patch, checked by parsing its output with the `fdt` crate.

use sm_core::fdt_patch::{reserve_memory, FdtPatchError};

const VIRT_DTB: &[u8] = include_bytes!("fixtures/qemu-virt-smp4.dtb");
const SM_BASE: usize = 0x8000_0000;
const SM_SIZE: usize = 0x20_0000;

fn patched() -> Vec<u8> {
    let mut out = vec![0u8; VIRT_DTB.len() + 512];
    let len = reserve_memory(VIRT_DTB, &mut out, SM_BASE, SM_SIZE).expect("patch");
    out.truncate(len);
    out
}

#[test]
fn patched_tree_parses_and_reserves_the_sm_region_no_map() {
    let blob = patched();
    let fdt = fdt::Fdt::new(&blob).expect("patched tree parses");
    let node = fdt.find_node("/reserved-memory/keystone-sm@80000000").expect("node exists");
    let reg = node.reg().unwrap().next().unwrap();
    assert_eq!(reg.starting_address as usize, SM_BASE);
    assert_eq!(reg.size, Some(SM_SIZE));
    assert!(node.property("no-map").is_some());
    let parent = fdt.find_node("/reserved-memory").unwrap();
    assert!(parent.property("ranges").is_some());
    assert_eq!(parent.property("#address-cells").unwrap().as_usize(), Some(2));
}

#[test]
fn patch_keeps_every_original_node_and_property() {
    let before = fdt::Fdt::new(VIRT_DTB).unwrap();
    let blob = patched();
    let after = fdt::Fdt::new(&blob).unwrap();
    assert_eq!(after.all_nodes().count(), before.all_nodes().count() + 2);
    for (a, b) in before.all_nodes().zip(after.all_nodes()) {
        assert_eq!(a.name, b.name);
        let pa: Vec<_> = a.properties().map(|p| (p.name, p.value)).collect();
        // The one addition: status = "disabled" in a node the SM owns.
        let pb: Vec<_> = b
            .properties()
            .filter(|p| !(p.name == "status" && p.value == b"disabled\0"))
            .map(|p| (p.name, p.value))
            .collect();
        assert_eq!(pa, pb, "node {}", a.name);
    }
    assert_eq!(after.cpus().count(), 4);
    assert_eq!(after.chosen().bootargs(), before.chosen().bootargs());
}

#[test]
fn patching_twice_adds_a_second_child_under_the_existing_node() {
    let once = patched();
    let mut twice = vec![0u8; once.len() + 512];
    let len = reserve_memory(&once, &mut twice, 0x8800_0000, 0x1000).unwrap();
    let fdt = fdt::Fdt::new(&twice[..len]).unwrap();
    let children: Vec<_> =
        fdt.find_node("/reserved-memory").unwrap().children().map(|c| c.name).collect();
    assert_eq!(children, ["keystone-sm@88000000", "keystone-sm@80000000"]);
    assert_eq!(fdt.all_nodes().filter(|n| n.name == "reserved-memory").count(), 1);
}

#[test]
fn too_small_output_is_an_error_not_a_panic() {
    let mut out = vec![0u8; 100];
    assert_eq!(reserve_memory(VIRT_DTB, &mut out, SM_BASE, SM_SIZE), Err(FdtPatchError::NoSpace));
}

#[test]
fn garbage_input_is_rejected() {
    let mut out = vec![0u8; 8192];
    assert_eq!(
        reserve_memory(&[0u8; 64], &mut out, SM_BASE, SM_SIZE),
        Err(FdtPatchError::Malformed)
    );
    let mut truncated = VIRT_DTB[..200].to_vec();
    truncated[4..8].copy_from_slice(&(VIRT_DTB.len() as u32).to_be_bytes());
    assert_eq!(
        reserve_memory(&truncated, &mut out, SM_BASE, SM_SIZE),
        Err(FdtPatchError::Malformed)
    );
}

#[test]
fn sm_devices_are_disabled_and_nothing_else_is() {
    let blob = patched();
    let fdt = fdt::Fdt::new(&blob).unwrap();
    let mut disabled = Vec::new();
    for node in fdt.all_nodes() {
        if node.property("status").and_then(|p| p.as_str()) == Some("disabled") {
            disabled.push(node.compatible().unwrap().first().to_string());
        }
    }
    disabled.sort();
    assert_eq!(disabled, vec!["sifive,clint0", "sifive,test1", "syscon-poweroff", "syscon-reboot"]);
    let before = fdt::Fdt::new(VIRT_DTB).unwrap();
    assert!(before
        .all_nodes()
        .all(|n| n.property("status").and_then(|p| p.as_str()) != Some("disabled")));
}

#[test]
fn the_clint_node_is_disabled_and_keeps_its_reg() {
    let blob = patched();
    let fdt = fdt::Fdt::new(&blob).unwrap();
    let clint = fdt.find_compatible(&["riscv,clint0"]).expect("the CLINT node is still there");
    assert_eq!(clint.property("status").and_then(|p| p.as_str()), Some("disabled"));
    let reg = clint.reg().unwrap().next().unwrap();
    assert_eq!((reg.starting_address as usize, reg.size), (0x200_0000, Some(0x1_0000)));
}

#[test]
fn a_status_the_node_had_is_replaced_not_duplicated() {
    // The first patch gave every SM device a status; patching its output
    // again must leave exactly one per node (the old one dropped).
    let once = patched();
    let mut twice = vec![0u8; once.len() + 512];
    let len = reserve_memory(&once, &mut twice, 0x8800_0000, 0x1000).unwrap();
    let fdt = fdt::Fdt::new(&twice[..len]).unwrap();
    let mut owned = 0;
    for node in fdt.all_nodes() {
        let statuses: Vec<_> = node.properties().filter(|p| p.name == "status").collect();
        assert!(statuses.len() <= 1, "node {} has {} status properties", node.name, statuses.len());
        if statuses.first().is_some_and(|p| p.value == b"disabled\0") {
            owned += 1;
        }
    }
    assert_eq!(owned, 4);
    // Nodes the SM does not own keep theirs (QEMU's CPU nodes say "okay").
    assert!(fdt.cpus().all(|c| c.property("status").and_then(|p| p.as_str()) == Some("okay")));
}

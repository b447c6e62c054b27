//! Specification tests of `wire::lldp::med`: which MED TLVs are kept as sent or ignored, and what is refused when
//! parsing and emitting. The §9 fixture's MED TLVs are checked with the rest of the frame in `lldp/tests.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use super::super::tests::vvx411;
use super::super::{LldpRepr, RawTlv};
use super::*;
use crate::wire::testkit::hex;

/// Location (subtype 3) and extended power (4) are kept as sent; a later duplicate of the capabilities is ignored;
/// network policies accumulate in order.
#[test]
fn uninterpreted_and_repeated_med_tlvs() {
    let pdu = hex("
        0407 03 64167f123456  0602 0078
        fe07 0012bb 01 0033 03      # capabilities
        fe07 0012bb 01 0001 01      # a later duplicate
        fe06 0012bb 03 0000         # location
        fe07 0012bb 04 51 003c      # extended power via MDI
        fe08 0012bb 02 01 40296e    # voice
        fe08 0012bb 02 02 40296e    # voice signaling");
    let repr = LldpRepr::parse(&pdu).unwrap();
    assert_eq!(
        repr.med.capabilities,
        Some(MedCapabilities {
            capabilities: 0x0033,
            device_class: MedDeviceClass::EndpointClass3,
        })
    );
    let applications: Vec<MedApplication> = repr
        .med
        .network_policies
        .iter()
        .map(|p| p.application)
        .collect();
    assert_eq!(
        applications,
        [MedApplication::Voice, MedApplication::VoiceSignaling]
    );
    assert_eq!(
        repr.other_tlvs,
        [
            RawTlv {
                kind: 127,
                value: hex("0012bb 03 0000")
            },
            RawTlv {
                kind: 127,
                value: hex("0012bb 04 51 003c")
            }
        ]
    );
}

/// A network policy cut short is refused with its field and offset.
#[test]
fn short_policy_is_refused() {
    assert_eq!(
        LldpRepr::parse(&hex(
            "0407 03 64167f123456  0602 0078  fe06 0012bb 02 01 40"
        ))
        .unwrap_err()
        .to_string(),
        "network policy flags, VLAN, priority and DSCP at byte 20 needs 3 bytes, but only 1 remain"
    );
}

/// A VLAN ID over 12 bits is refused when emitting, not cut.
#[test]
fn emit_refuses_a_vlan_over_4095() {
    let mut vlan = vvx411();
    vlan.med.network_policies[0].vlan_id = 4096;
    assert!(matches!(
        vlan.emit(&mut Vec::new()),
        Err(WireError::TooLarge { max: 4095, .. })
    ));
}

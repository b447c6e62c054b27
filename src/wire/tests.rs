//! Specification tests of `wire`: parse, emit, round trip, truncation, and properties over arbitrary and mutated frames.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use super::testkit::*;
use super::*;
use proptest::prelude::*;

/// An untagged frame reads as addresses, EtherType and the payload after byte 14.
#[test]
fn untagged_frame() {
    let bytes = hex("ffffffffffff 0004f2a1b2c3 0806 0001");
    let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
    assert_eq!(frame.dst(), BROADCAST);
    assert_eq!(frame.src(), "0004F2A1B2C3".parse().unwrap());
    assert_eq!(frame.vlan(), None);
    assert_eq!(frame.ethertype(), EtherType::Arp);
    assert_eq!(frame.header_len(), 14);
    assert_eq!(frame.payload(), &[0x00, 0x01]);
}

/// A frame in the voice VLAN unwraps its one 802.1Q tag: priority 5, VLAN 20, then the LLDP EtherType.
#[test]
fn tagged_frame() {
    let bytes = hex("0180c200000e 64167f123456 8100 a014 88cc 0206");
    let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
    assert_eq!(frame.vlan(), Some(VlanTag::dot1q(20, 5)));
    assert_eq!(frame.outer_vlan(), None);
    assert_eq!(frame.ethertype(), EtherType::Lldp);
    assert_eq!(frame.header_len(), 18);
    assert_eq!(frame.payload(), &[0x02, 0x06]);
}

/// An 802.3 frame (CDP's framing) is cut to the length its type/length field gives, dropping the padding.
#[test]
fn length_framed_payload_excludes_padding() {
    let bytes = hex("01000ccccccc 0004f2a1b2c3 0003 aaaa03 0000");
    let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
    assert_eq!(frame.ethertype(), EtherType::Length(3));
    assert_eq!(frame.payload(), &[0xaa, 0xaa, 0x03]);
}

/// A header cut anywhere, or an 802.3 length longer than the frame, is refused with the field named.
#[test]
fn truncated_headers_are_refused() {
    let bytes = hex("0180c200000e 64167f123456 8100 a014 88cc");
    for len in 0..bytes.len() {
        let err = EthernetFrame::new_checked(&bytes[..len]).unwrap_err();
        assert!(matches!(err, WireError::Truncated { .. }), "{len}: {err}");
        assert!(err.offset() <= len, "{len}: {err}");
    }
    let err =
        EthernetFrame::new_checked(&hex("01000ccccccc 0004f2a1b2c3 0010 aaaa")[..]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "802.3 payload (as long as the length field says) at byte 14 needs 16 bytes, but only 2 remain"
    );
}

/// Emitting a header writes exactly the bytes that parse back to it, and refuses a too-small buffer.
#[test]
fn header_emit() {
    let repr = EthernetRepr {
        dst: BROADCAST,
        src: "0004F2A1B2C3".parse().unwrap(),
        vlan: Some(VlanTag::dot1q(20, 5)),
        outer: None,
        ethertype: EtherType::Arp,
    };
    let mut buf = [0u8; 18];
    assert_eq!(repr.emit(&mut buf).unwrap(), 18);
    assert_eq!(
        buf.to_vec(),
        hex("ffffffffffff 0004f2a1b2c3 8100 a014 0806")
    );
    let err = repr.emit(&mut [0u8; 17]).unwrap_err();
    assert!(
        matches!(err, WireError::BufferTooSmall { needed: 18, .. }),
        "{err}"
    );
    let bad = EthernetRepr {
        vlan: Some(VlanTag::dot1q(1, 8)),
        ..repr
    };
    assert!(matches!(
        bad.emit(&mut buf),
        Err(WireError::TooLarge { .. })
    ));
}

/// An 802.1ad S-tag alone (TPID 0x88a8) is unwrapped like an 802.1Q tag, and keeps its TPID.
#[test]
fn single_service_tag() {
    let bytes = hex("0180c200000e 64167f123456 88a8 0064 88cc 0206");
    let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
    assert_eq!(frame.vlan(), Some(VlanTag::dot1ad(100, 0)));
    assert_eq!(frame.outer_vlan(), None);
    assert_eq!(frame.ethertype(), EtherType::Lldp);
    assert_eq!(frame.header_len(), 18);
    assert_eq!(frame.payload(), &[0x02, 0x06]);
}

/// QinQ: a provider's S-tag (VLAN 100) around the phone's C-tag (voice VLAN 20, priority 5); `vlan` is the inner.
#[test]
fn qinq_frame() {
    let bytes = hex("0180c200000e 64167f123456 88a8 0064 8100 a014 88cc 0206");
    let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
    assert_eq!(frame.vlan(), Some(VlanTag::dot1q(20, 5)));
    assert_eq!(frame.outer_vlan(), Some(VlanTag::dot1ad(100, 0)));
    assert_eq!(frame.ethertype(), EtherType::Lldp);
    assert_eq!(frame.header_len(), 22);
    assert_eq!(frame.payload(), &[0x02, 0x06]);
}

/// Every pair of TPIDs (0x8100, 0x88a8, the old 0x9100) stacks; the tags keep their TPIDs and DEI bits.
#[test]
fn any_two_tpids_stack() {
    for (outer, outer_tpid) in [
        ("8100", Tpid::Dot1q),
        ("88a8", Tpid::Dot1ad),
        ("9100", Tpid::Qinq9100),
    ] {
        for (inner, inner_tpid) in [
            ("8100", Tpid::Dot1q),
            ("88a8", Tpid::Dot1ad),
            ("9100", Tpid::Qinq9100),
        ] {
            let bytes = hex(&format!(
                "ffffffffffff 0004f2a1b2c3 {outer} 1064 {inner} b014 0806 0001"
            ));
            let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
            let want = |tpid, priority, drop_eligible, id| VlanTag {
                tpid,
                priority,
                drop_eligible,
                id,
            };
            assert_eq!(
                frame.outer_vlan(),
                Some(want(outer_tpid, 0, true, 100)),
                "{outer} {inner}"
            );
            assert_eq!(
                frame.vlan(),
                Some(want(inner_tpid, 5, true, 20)),
                "{outer} {inner}"
            );
            assert_eq!(
                (frame.ethertype(), frame.payload()),
                (EtherType::Arp, &[0x00, 0x01][..])
            );
        }
    }
}

/// A third tag is refused at its TPID (byte 20), not skipped: nothing inside it is read as if it were untagged.
#[test]
fn third_tag_is_refused() {
    let bytes = hex("ffffffffffff 0004f2a1b2c3 88a8 0064 8100 00c8 8100 a014 0806 0001");
    let err = EthernetFrame::new_checked(&bytes[..]).unwrap_err();
    assert_eq!(err.offset(), 20);
    assert_eq!(
        err.to_string(),
        "TPID of a third VLAN tag at byte 20 is 33024 (0x8100), expected an EtherType (at most two VLAN tags are unwrapped)"
    );
    assert_eq!(arp::parse_frame(&bytes).unwrap_err(), err);
}

/// A double-tagged header cut anywhere is refused as truncated, at an offset inside the bytes.
#[test]
fn truncated_stacked_headers_are_refused() {
    let bytes = hex("0180c200000e 64167f123456 88a8 0064 8100 a014 88cc");
    for len in 0..bytes.len() {
        let err = EthernetFrame::new_checked(&bytes[..len]).unwrap_err();
        assert!(matches!(err, WireError::Truncated { .. }), "{len}: {err}");
        assert!(err.offset() <= len, "{len}: {err}");
    }
}

/// Two tags are written outer first, each with its own TPID; an outer tag without an inner one, or an EtherType
/// that is a TPID, is refused rather than written as bytes that would read back differently.
#[test]
fn stacked_header_emit() {
    let repr = EthernetRepr {
        dst: BROADCAST,
        src: "0004F2A1B2C3".parse().unwrap(),
        vlan: Some(VlanTag::dot1q(20, 5)),
        outer: Some(VlanTag::dot1ad(100, 0)),
        ethertype: EtherType::Arp,
    };
    let mut out = Vec::new();
    repr.append_to(&mut out).unwrap();
    assert_eq!(
        out,
        hex("ffffffffffff 0004f2a1b2c3 88a8 0064 8100 a014 0806")
    );
    assert_eq!(repr.header_len(), 22);
    let err = repr.emit(&mut [0u8; 21]).unwrap_err();
    assert!(
        matches!(err, WireError::BufferTooSmall { needed: 22, .. }),
        "{err}"
    );
    let no_inner = EthernetRepr { vlan: None, ..repr };
    let err = no_inner.emit(&mut [0u8; 22]).unwrap_err();
    assert!(
        matches!(err, WireError::Unexpected { offset: 12, .. }),
        "{err}"
    );
    let tpid_type = EthernetRepr {
        ethertype: EtherType::from(0x88a8),
        ..repr
    };
    let err = tpid_type.emit(&mut [0u8; 22]).unwrap_err();
    assert!(
        matches!(err, WireError::Unexpected { offset: 20, .. }),
        "{err}"
    );
}

proptest! {
    #![proptest_config(cases(2000))]

    /// Any bytes at all either wrap as a frame or are refused at an offset inside them; nothing panics. A frame
    /// that wraps re-emits its header byte for byte.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in bytes(64)) {
        match EthernetFrame::new_checked(&bytes[..]) {
            Ok(frame) => {
                let repr = EthernetRepr::parse(&frame);
                prop_assert!(frame.header_len() + frame.payload().len() <= bytes.len());
                let mut buf = [0u8; ETHERNET_MAX_HEADER_LEN];
                let len = repr.emit(&mut buf).unwrap();
                prop_assert_eq!(&buf[..len], &bytes[..frame.header_len()]);
            }
            Err(e) => prop_assert!(e.offset() <= bytes.len()),
        }
    }

    /// Bytes after zero to three random tags (any TPID) either wrap, with the tags they carry, or are refused at
    /// an offset inside them; nothing panics.
    #[test]
    fn tagged_bytes_never_panic(head in bytes(12), tags in proptest::collection::vec(tag(), 0..=3), rest in bytes(32)) {
        let mut bytes = head;
        for tag in &tags {
            let repr = EthernetRepr { dst: BROADCAST, src: BROADCAST, vlan: Some(*tag), outer: None, ethertype: EtherType::Arp };
            let mut header = Vec::new();
            repr.append_to(&mut header).unwrap();
            bytes.extend_from_slice(&header[12..16]);
        }
        bytes.extend_from_slice(&rest);
        match EthernetFrame::new_checked(&bytes[..]) {
            Ok(frame) => {
                prop_assert!(frame.header_len() + frame.payload().len() <= bytes.len());
                prop_assert!(frame.header_len() <= ETHERNET_MAX_HEADER_LEN);
            }
            Err(e) => prop_assert!(e.offset() <= bytes.len()),
        }
    }

    /// Every header, untagged or with one or two tags of any TPID, parses back to what was emitted.
    #[test]
    fn header_round_trip(
        dst in mac(),
        src in mac(),
        (outer, vlan) in tags(),
        kind in (1501u16..).prop_filter("not a TPID", |k| Tpid::from_u16(*k).is_none()),
    ) {
        let repr = EthernetRepr { dst, src, vlan, outer, ethertype: EtherType::from(kind) };
        let mut buf = [0u8; ETHERNET_MAX_HEADER_LEN];
        let len = repr.emit(&mut buf).unwrap();
        prop_assert_eq!(len, repr.header_len());
        let frame = EthernetFrame::new_checked(&buf[..len]).unwrap();
        prop_assert_eq!(frame.header_len(), len);
        prop_assert_eq!(EthernetRepr::parse(&frame), repr);
    }
}

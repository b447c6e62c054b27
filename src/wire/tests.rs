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
    let tag = VlanTag {
        priority: 5,
        drop_eligible: false,
        id: 20,
    };
    assert_eq!(frame.vlan(), Some(tag));
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
        vlan: Some(VlanTag {
            priority: 5,
            drop_eligible: false,
            id: 20,
        }),
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
        vlan: Some(VlanTag {
            priority: 8,
            drop_eligible: false,
            id: 1,
        }),
        ..repr
    };
    assert!(matches!(
        bad.emit(&mut buf),
        Err(WireError::TooLarge { .. })
    ));
}

proptest! {
    #![proptest_config(cases(2000))]

    /// Any bytes at all either wrap as a frame or are refused at an offset inside them; nothing panics.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in bytes(64)) {
        match EthernetFrame::new_checked(&bytes[..]) {
            Ok(frame) => {
                let repr = EthernetRepr::parse(&frame);
                prop_assert!(frame.header_len() + frame.payload().len() <= bytes.len());
                let mut buf = [0u8; 18];
                let _ = repr.emit(&mut buf);
            }
            Err(e) => prop_assert!(e.offset() <= bytes.len()),
        }
    }

    /// Every header parses back to what was emitted.
    #[test]
    fn header_round_trip(dst in mac(), src in mac(), vlan in vlan(), kind in (1501u16..).prop_filter("not a second tag", |k| *k != 0x8100)) {
        let repr = EthernetRepr { dst, src, vlan, ethertype: EtherType::from(kind) };
        let mut buf = [0u8; 18];
        let len = repr.emit(&mut buf).unwrap();
        let frame = EthernetFrame::new_checked(&buf[..len]).unwrap();
        prop_assert_eq!(EthernetRepr::parse(&frame), repr);
    }
}

//! Specification tests of `wire::cdp`: parse, emit, round trip, truncation, and properties over arbitrary and mutated frames.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use super::super::testkit::{self, bytes, cases, hex, ipv4, ipv6, mutated};
use super::*;
use proptest::prelude::*;

/// `discovery.md` §2/§9: a VVX 250 (00:04:f2:ab:cd:ef at 10.1.20.50) announcing itself over CDP v2, holdtime
/// 180, with the real platform and version strings; device and port IDs are synthetic.
const VVX250_FRAME: &str = "
    01000ccccccc 0004f2abcdef 007a                          # CDP multicast, phone MAC, 802.3 length 122
    aaaa03 00000c 2000                                      # LLC/SNAP, Cisco OUI, CDP
    02 b4 7338                                              # version 2, holdtime 180, checksum
    0001 0010 303030346632616263646566                      # device ID '0004f2abcdef'
    0002 0011 00000001 01 01 cc 0004 0a011432               # addresses: 1, IPv4 10.1.20.50
    0003 000a 506f72742031                                  # port ID 'Port 1'
    0004 0008 00000090                                      # capabilities: host + phone
    0005 0028 557064617465723a20362e342e362e323638312c
              204170703a20362e342e362e32363831              # version 'Updater: 6.4.6.2681, App: 6.4.6.2681'
    0006 0013 506f6c79636f6d2056565820323530                # platform 'Polycom VVX 250'";

fn phone_mac() -> Mac {
    "0004F2ABCDEF".parse().unwrap()
}

fn vvx250() -> CdpRepr {
    CdpRepr {
        version: 2,
        ttl: 180,
        device_id: Some("0004f2abcdef".into()),
        addresses: vec![CdpAddress::Ipv4(Ipv4Addr::new(10, 1, 20, 50))],
        port_id: Some("Port 1".into()),
        capabilities: Some(capability::HOST | capability::PHONE),
        software_version: Some("Updater: 6.4.6.2681, App: 6.4.6.2681".into()),
        platform: Some("Polycom VVX 250".into()),
        native_vlan: None,
        voice_vlan: None,
        other_tlvs: vec![],
    }
}

fn frame_of(repr: &CdpRepr, vlan: Option<VlanTag>) -> Vec<u8> {
    let mut out = Vec::new();
    repr.emit_frame(phone_mac(), vlan, &mut out).unwrap();
    out
}

/// The frame `repr` makes under `(outer, vlan)` tags, its header built by hand (`emit_frame` takes one tag).
fn frame_in(repr: &CdpRepr, (outer, vlan): (Option<VlanTag>, Option<VlanTag>)) -> Vec<u8> {
    let mut pdu = Vec::new();
    repr.emit(&mut pdu).unwrap();
    let mut out = Vec::new();
    let length = (SNAP_HEADER.len() + pdu.len()) as u16;
    let ethernet = EthernetRepr {
        dst: MULTICAST,
        src: phone_mac(),
        vlan,
        outer,
        ethertype: EtherType::Length(length),
    };
    ethernet.append_to(&mut out).unwrap();
    out.extend_from_slice(&SNAP_HEADER);
    out.extend_from_slice(&pdu);
    out
}

/// The VVX 250 frame parses to its device ID, address, port, capabilities, version and platform; it is a phone.
#[test]
fn parses_the_vvx250_fixture() {
    let frame = parse_frame(&hex(VVX250_FRAME)).unwrap();
    assert_eq!(frame.cdp, vvx250());
    assert_eq!(
        (frame.ethernet.src, frame.ethernet.ethertype),
        (phone_mac(), EtherType::Length(122))
    );
    assert!(frame.cdp.is_phone());
}

/// Emitting the VVX 250 repr builds the fixture byte for byte, checksum included.
#[test]
fn emits_the_vvx250_fixture() {
    assert_eq!(frame_of(&vvx250(), None), hex(VVX250_FRAME));
}

/// Poly's platform and version strings read as model `VVX 250` and firmware (App) `6.4.6.2681`.
#[test]
fn reads_poly_platform_and_version() {
    let poly = vvx250().poly().unwrap();
    assert_eq!(poly.model, "VVX 250");
    assert_eq!(poly.firmware.as_deref(), Some("6.4.6.2681"));
    assert_eq!(poly.updater.as_deref(), Some("6.4.6.2681"));
    assert_eq!(
        poly_model_from_platform("Poly CCX 500").as_deref(),
        Some("CCX 500")
    );
    assert_eq!(poly_model_from_platform("Cisco IP Phone 8811"), None);
    assert_eq!(poly_model_from_platform("Polycom "), None);
    assert_eq!(version_field("App: 6.4.6.2681", "app"), Some("6.4.6.2681"));
    assert_eq!(version_field("Updater: 6.4.6.2681, App:", "App"), None);
    let mut cisco = vvx250();
    cisco.platform = Some("Cisco IP Phone 8811".into());
    assert_eq!(cisco.poly(), None);
}

/// A frame padded to the 60-byte minimum keeps only the bytes its 802.3 length announces.
#[test]
fn padding_after_the_pdu_is_ignored() {
    let repr = CdpRepr {
        device_id: Some("x".into()),
        addresses: vec![],
        port_id: None,
        capabilities: None,
        software_version: None,
        platform: None,
        ..vvx250()
    };
    let mut bytes = frame_of(&repr, None);
    bytes.resize(60, 0);
    assert_eq!(parse_frame(&bytes).unwrap().cdp, repr);
}

/// CDP inside an 802.1Q tag parses the same.
#[test]
fn tagged_frame() {
    let tag = VlanTag::dot1q(20, 5);
    let frame = parse_frame(&frame_of(&vvx250(), Some(tag))).unwrap();
    assert_eq!((frame.ethernet.vlan, frame.cdp), (Some(tag), vvx250()));
}

/// Cut anywhere, the frame is refused (its 802.3 length then points past the end) at an offset inside it; the
/// bare PDU cut at a TLV boundary still parses, and anywhere else is refused.
#[test]
fn truncated_at_every_length() {
    let frame = hex(VVX250_FRAME);
    for len in 0..frame.len() {
        let err = parse_frame(&frame[..len]).unwrap_err();
        assert!(matches!(err, WireError::Truncated { .. }), "{len}: {err}");
        assert!(err.offset() <= len, "{len}: {err}");
    }
    let pdu = &frame[22..];
    let boundaries = [4, 20, 37, 47, 55, 95, pdu.len()];
    for len in 0..=pdu.len() {
        match CdpRepr::parse(&pdu[..len]) {
            Ok(_) => assert!(boundaries.contains(&len), "{len} parsed"),
            Err(e) => assert!(
                !boundaries.contains(&len) && e.offset() <= len,
                "{len}: {e}"
            ),
        }
    }
}

/// What is not CDP is refused naming the field: the destination, LLC, SNAP OUI and protocol, a version of 3, a
/// TLV length under 4, an address count larger than the addresses, an Ethernet II frame.
#[test]
fn refuses_what_is_not_cdp() {
    let frame = hex(VVX250_FRAME);
    let with = |at: usize, value: u8| {
        let mut f = frame.clone();
        f[at] = value;
        parse_frame(&f).unwrap_err().to_string()
    };
    assert!(
        with(5, 0xcd).starts_with("Ethernet destination at byte 0 is"),
        "{}",
        with(5, 0xcd)
    );
    assert_eq!(
        with(14, 0x42),
        "LLC header at byte 14 is 4368899 (0x42aa03), expected 0xaaaa03 (SNAP)"
    );
    assert_eq!(
        with(19, 0x0d),
        "SNAP OUI at byte 17 is 13 (0xd), expected 0x00000c (Cisco)"
    );
    assert_eq!(
        with(20, 0x21),
        "SNAP protocol ID at byte 20 is 8448 (0x2100), expected 0x2000 (CDP)"
    );
    assert_eq!(
        with(22, 3),
        "CDP version at byte 22 is 3 (0x3), expected 1 or 2"
    );
    assert_eq!(
        with(29, 3),
        "CDP TLV length at byte 28 is 3 (0x3), expected at least 4 (it counts its own header)"
    );
    assert_eq!(
        with(49, 2),
        "CDP address protocol type at byte 59 needs 1 bytes, but only 0 remain"
    );
    assert_eq!(
        with(12, 0x88),
        "EtherType at byte 12 is 34938 (0x887a), expected an 802.3 length (CDP is LLC/SNAP framed)"
    );
}

/// Unknown TLVs (here a VoIP VLAN query and a type 0x99) are kept; a second Platform TLV is ignored.
#[test]
fn unknowns_are_kept() {
    let pdu = hex("01 b4 0000  000f 0007 012000  0099 0005 ff  0006 0005 41  0006 0005 42");
    let repr = CdpRepr::parse(&pdu).unwrap();
    assert_eq!(repr.version, 1);
    assert_eq!(repr.platform.as_deref(), Some("A"));
    assert_eq!(
        repr.other_tlvs,
        [
            RawTlv {
                kind: TlvType::VoipVlanQuery,
                value: hex("012000")
            },
            RawTlv {
                kind: TlvType::Unknown(0x99),
                value: vec![0xff]
            }
        ]
    );
}

/// A switch's CDP to the phone on its port: native (data) VLAN 10, and a VoIP VLAN Reply telling the phone its voice
/// VLAN, 20 (data byte 0x01, then the VLAN ID).
const SWITCH_FRAME: &str = "
    01000ccccccc 001b2baabbcc 0063                          # to CDP multicast from the switch, 802.3 length 99
    aaaa03 00000c 2000                                      # LLC/SNAP, Cisco, CDP
    02 b4 0000                                              # version 2, holdtime 180, checksum (not verified)
    0001 000f 73772d6163636573732d31                        # device ID 'sw-access-1'
    0003 0018 4769676162697445746865726e6574312f302f35      # port ID 'GigabitEthernet1/0/5'
    0004 0008 00000028                                      # capabilities: switch + IGMP
    0006 001b 636973636f2057532d4332393630582d34384650442d4c  # platform 'cisco WS-C2960X-48FPD-L'
    000a 0006 000a                                          # native VLAN 10
    000e 0007 01 0014                                       # VoIP VLAN reply: data 0x01, VLAN 20";

/// A switch's CDP frame yields both its native VLAN (10) and the voice VLAN it assigns the phone (20).
#[test]
fn switch_assigns_the_voice_vlan() {
    let frame = parse_frame(&hex(SWITCH_FRAME)).unwrap();
    assert_eq!(frame.cdp.native_vlan, Some(10));
    assert_eq!(frame.cdp.voice_vlan, Some(20));
    assert_eq!(
        frame.cdp.platform.as_deref(),
        Some("cisco WS-C2960X-48FPD-L")
    );
    assert!(!frame.cdp.is_phone());
    assert!(frame.cdp.other_tlvs.is_empty());
}

/// The voice VLAN is emitted as switches send it (data byte 0x01, then the VLAN ID), so the switch frame's PDU
/// re-emits byte for byte apart from the checksum.
#[test]
fn emits_the_voip_vlan_reply() {
    let bytes = hex(SWITCH_FRAME);
    let mut pdu = Vec::new();
    parse_frame(&bytes).unwrap().cdp.emit(&mut pdu).unwrap();
    assert_eq!(pdu[4..], bytes[26..]);
}

/// A VoIP VLAN Reply of the VLAN ID alone (2 bytes) is read too; shorter values are refused, naming the TLV.
#[test]
fn voip_vlan_reply_lengths() {
    let repr = CdpRepr::parse(&hex("02 b4 0000  000e 0006 0014")).unwrap();
    assert_eq!(repr.voice_vlan, Some(20));
    let repr = CdpRepr::parse(&hex("02 b4 0000  000e 0008 01 0014 ff  000e 0007 01 0063")).unwrap();
    assert_eq!(
        repr.voice_vlan,
        Some(20),
        "bytes after the VLAN ID, and a later duplicate, are ignored"
    );
    let err = CdpRepr::parse(&hex("02 b4 0000  000e 0005 01")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CDP VoIP VLAN reply VLAN ID at byte 9 needs 2 bytes, but only 0 remain"
    );
    let err = CdpRepr::parse(&hex("02 b4 0000  000e 0004")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CDP VoIP VLAN reply data byte at byte 8 needs 1 bytes, but only 0 remain"
    );
}

/// CDP from a phone behind a QinQ provider (S-tag 100 around voice VLAN 20) parses the same, both tags kept.
#[test]
fn qinq_frame() {
    let outer = Some(VlanTag::dot1ad(100, 0));
    let vlan = Some(VlanTag::dot1q(20, 5));
    let frame = parse_frame(&frame_in(&vvx250(), (outer, vlan))).unwrap();
    assert_eq!((frame.ethernet.outer, frame.ethernet.vlan), (outer, vlan));
    assert_eq!(frame.cdp, vvx250());
}

/// A PDU too long for one 802.3 frame is refused when emitting.
#[test]
fn emit_refuses_oversized_frames() {
    let mut big = vvx250();
    big.platform = Some("x".repeat(1500));
    let err = big
        .emit_frame(phone_mac(), None, &mut Vec::new())
        .unwrap_err();
    assert!(
        matches!(err, WireError::TooLarge { max: 1500, .. }),
        "{err}"
    );
}

fn address() -> impl Strategy<Value = CdpAddress> {
    prop_oneof![
        ipv4().prop_map(CdpAddress::Ipv4),
        ipv6().prop_map(CdpAddress::Ipv6),
        (any::<u8>(), bytes(8), bytes(16))
            .prop_filter("not IPv4 or IPv6", |(t, p, a)| {
                let ipv4 = *t == 1 && p == &[0xcc] && a.len() == 4;
                let ipv6 = *t == 2 && p == &IPV6_PROTOCOL && a.len() == 16;
                !ipv4 && !ipv6
            })
            .prop_map(|(protocol_type, protocol, address)| CdpAddress::Other {
                protocol_type,
                protocol,
                address
            }),
    ]
}

fn text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(testkit::text(40))
}

fn raw() -> impl Strategy<Value = RawTlv> {
    (0x0007u16..=0xffff)
        .prop_filter("not a parsed type", |k| !matches!(k, 0x000a | 0x000e))
        .prop_flat_map(|kind| {
            bytes(24).prop_map(move |value| RawTlv {
                kind: TlvType::from(kind),
                value,
            })
        })
}

fn repr() -> impl Strategy<Value = CdpRepr> {
    (
        (
            1u8..=2,
            any::<u8>(),
            text(),
            proptest::collection::vec(address(), 0..3),
            text(),
        ),
        (
            proptest::option::of(any::<u32>()),
            text(),
            text(),
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u16>()),
        ),
        proptest::collection::vec(raw(), 0..3),
    )
        .prop_map(
            |(
                (version, ttl, device_id, addresses, port_id),
                (capabilities, software_version, platform, native_vlan, voice_vlan),
                other_tlvs,
            )| CdpRepr {
                version,
                ttl,
                device_id,
                addresses,
                port_id,
                capabilities,
                software_version,
                platform,
                native_vlan,
                voice_vlan,
                other_tlvs,
            },
        )
}

proptest! {
    #![proptest_config(cases(1500))]

    /// Any CDP repr survives emit → parse unchanged, untagged or under one or two VLAN tags of any TPID.
    #[test]
    fn round_trip(repr in repr(), tags in testkit::tags()) {
        let frame = parse_frame(&frame_in(&repr, tags)).unwrap();
        prop_assert_eq!((frame.ethernet.outer, frame.ethernet.vlan), tags);
        prop_assert_eq!(frame.cdp, repr);
    }

    /// A repr in one tag survives `emit_frame` → parse unchanged.
    #[test]
    fn round_trip_emit_frame(repr in repr(), vlan in testkit::vlan()) {
        let frame = parse_frame(&frame_of(&repr, vlan)).unwrap();
        prop_assert_eq!(frame.ethernet.vlan, vlan);
        prop_assert_eq!(frame.cdp, repr);
    }
}

proptest! {
    #![proptest_config(cases(5000))]

    /// Arbitrary bytes never panic the PDU or frame parser; errors point inside the input.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in bytes(160)) {
        for result in [CdpRepr::parse(&bytes).map(|_| ()), parse_frame(&bytes).map(|_| ())] {
            if let Err(e) = result {
                prop_assert!(e.offset() <= bytes.len(), "{}", e);
            }
        }
    }

    /// Flipped, cut, extended or spliced CDP frames never panic; whatever still parses emits and parses back
    /// to the same repr.
    #[test]
    fn mutated_frames_never_panic(frame in mutated(vec![hex(VVX250_FRAME), hex(SWITCH_FRAME), {
        let mut padded = frame_of(&CdpRepr { addresses: vec![], ..vvx250() }, None);
        padded.resize(padded.len() + 20, 0);
        padded
    }, frame_in(&vvx250(), (Some(VlanTag::dot1ad(100, 0)), Some(VlanTag::dot1q(20, 5))))])) {
        match parse_frame(&frame) {
            Ok(parsed) => {
                let mut again = Vec::new();
                if parsed.cdp.emit(&mut again).is_ok() {
                    prop_assert_eq!(CdpRepr::parse(&again).unwrap(), parsed.cdp);
                }
            }
            Err(e) => prop_assert!(e.offset() <= frame.len(), "{}", e),
        }
    }
}

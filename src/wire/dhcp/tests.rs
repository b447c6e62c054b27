//! Specification tests of `wire::dhcp`: parse, emit, round trip, truncation, and properties over arbitrary and mutated frames.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use super::super::testkit::{self, bytes, cases, hex, ipv4, mac, mutated};
use super::super::{BROADCAST, Tpid, VlanTag};
use super::*;
use proptest::prelude::*;

/// Option 60 of a SoundPoint IP 601's DISCOVER, from the decode in Poly's administrator's guide (`discovery.md`
/// §1.2): enterprise 13885, 111 bytes of sub-options, company, part, part number, application and BootROM.
const SPIP601_VENDOR_CLASS: &str = "
    3c 74                                                   # option 60, 116 bytes
    0000363d 6f                                             # enterprise 13885, 111 bytes of sub-options
    01 07 506f6c79636f6d                                    # company 'Polycom'
    02 15 536f756e64506f696e7449502d535049505f363031        # part 'SoundPointIP-SPIP_601'
    03 10 323334352d31313630352d3030312c32                  # part number '2345-11605-001,2'
    04 1c 5349502f5469702e585858582f30382d4a756e2d30372031303a3434   # 'SIP/Tip.XXXX/08-Jun-07 10:44'
    05 1d 42522f332e312e302e585858582f32382d4170722d30352031333a3330 # 'BR/3.1.0.XXXX/28-Apr-05 13:30'";

fn spip601_class() -> PolyVendorClass {
    PolyVendorClass {
        company: Some("Polycom".into()),
        part: Some("SoundPointIP-SPIP_601".into()),
        part_number: Some("2345-11605-001,2".into()),
        application: Some("SIP/Tip.XXXX/08-Jun-07 10:44".into()),
        bootrom: Some("BR/3.1.0.XXXX/28-Apr-05 13:30".into()),
        other: vec![],
    }
}

/// The SoundPoint's DISCOVER: broadcast from 0.0.0.0:68 to 255.255.255.255:67.
fn spip601_discover() -> DhcpFrame {
    let mac: Mac = "0004F2123456".parse().unwrap();
    DhcpFrame {
        ethernet: EthernetRepr {
            dst: BROADCAST,
            src: mac,
            vlan: None,
            outer: None,
            ethertype: EtherType::Ipv4,
        },
        source: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CLIENT_PORT),
        destination: SocketAddrV4::new(Ipv4Addr::BROADCAST, SERVER_PORT),
        dhcp: DhcpRepr {
            op: BootpOp::Request,
            xid: 0x3903_f326,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            client_mac: mac,
            message_type: Some(MessageType::Discover),
            requested_ip: None,
            host_name: None,
            vendor_class: Some(VendorClass::Poly(spip601_class())),
        },
    }
}

/// A VVX 411's REQUEST for 10.1.20.37 in the voice VLAN, host name and vendor class by analogy (synthetic).
fn vvx411_request() -> DhcpFrame {
    let mac: Mac = "64167F123456".parse().unwrap();
    let mut frame = spip601_discover();
    frame.ethernet.src = mac;
    frame.ethernet.vlan = Some(VlanTag::dot1q(20, 5));
    frame.dhcp = DhcpRepr {
        client_mac: mac,
        message_type: Some(MessageType::Request),
        requested_ip: Some(Ipv4Addr::new(10, 1, 20, 37)),
        host_name: Some("VVX411-64167F123456".into()),
        vendor_class: Some(VendorClass::Poly(PolyVendorClass {
            part: Some("VVX-VVX_411".into()),
            part_number: Some("3111-48450-001,1".into()),
            application: Some("SIP/6.4.7.4560/05-Dec-24 00:58".into()),
            bootrom: Some("UP/6.4.7.3828/05-Dec-24 01:22".into()),
            ..spip601_class()
        })),
        ..frame.dhcp
    };
    frame
}

fn bytes_of(frame: &DhcpFrame) -> Vec<u8> {
    let mut out = Vec::new();
    frame.emit(&mut out).unwrap();
    out
}

/// Emitting the SoundPoint's DISCOVER writes option 60 exactly as Poly's guide decodes it.
#[test]
fn emits_the_guides_vendor_class() {
    let bytes = bytes_of(&spip601_discover());
    let options = &bytes[14 + 20 + 8 + 240..];
    let mut want = hex("35 01 01");
    want.extend(hex(SPIP601_VENDOR_CLASS));
    want.push(0xff);
    assert_eq!(options, &want[..]);
}

/// The DISCOVER parses back to the phone's MAC, the message type and the vendor class, which reads as the
/// SoundPoint IP 601 with application `Tip.XXXX` and BootROM `3.1.0.XXXX`.
#[test]
fn parses_a_soundpoint_discover() {
    let frame = parse_frame(&bytes_of(&spip601_discover())).unwrap();
    assert_eq!(frame, spip601_discover());
    let poly = frame.dhcp.poly().unwrap();
    assert_eq!(poly.model().as_deref(), Some("SoundPoint IP 601"));
    assert_eq!(poly.firmware().as_deref(), Some("Tip.XXXX"));
    assert_eq!(poly.bootrom_version().as_deref(), Some("3.1.0.XXXX"));
}

/// A VVX's REQUEST in the voice VLAN yields the address it asks for, its host name, and model `VVX 411`.
#[test]
fn parses_a_vvx_request_in_the_voice_vlan() {
    let frame = parse_frame(&bytes_of(&vvx411_request())).unwrap();
    assert_eq!(frame, vvx411_request());
    assert_eq!(frame.dhcp.requested_ip, Some(Ipv4Addr::new(10, 1, 20, 37)));
    let poly = frame.dhcp.poly().unwrap();
    assert_eq!(
        (poly.model().as_deref(), poly.firmware().as_deref()),
        (Some("VVX 411"), Some("6.4.7.4560"))
    );
}

/// The same REQUEST behind a QinQ provider (0x9100 outer tag, VLAN 300) parses the same: the IPv4 and UDP offsets
/// follow the 22-byte header.
#[test]
fn parses_a_vvx_request_under_two_tags() {
    let mut request = vvx411_request();
    request.ethernet.outer = Some(VlanTag {
        tpid: Tpid::Qinq9100,
        ..VlanTag::dot1q(300, 0)
    });
    let mut bytes = bytes_of(&request);
    assert_eq!(&bytes[12..20], &hex("9100 012c 8100 a014")[..]);
    assert_eq!(parse_frame(&bytes).unwrap(), request);
    bytes[22] = 0x65; // IP version 6
    assert_eq!(parse_frame(&bytes).unwrap_err().offset(), 22);
}

/// While only the BootROM runs, sub-option 4 carries the BootROM's build: no application firmware is reported.
#[test]
fn bootrom_only_has_no_firmware() {
    let class = PolyVendorClass {
        application: Some("BR/3.1.0.XXXX/28-Apr-05 13:30".into()),
        ..spip601_class()
    };
    assert_eq!(class.firmware(), None);
    assert_eq!(class.bootrom_version().as_deref(), Some("3.1.0.XXXX"));
}

/// The guide's trailing `ff` (end of sub-options, or of options) is accepted either inside or after option 60;
/// another vendor's class is kept as text bytes; unknown sub-options are kept.
#[test]
fn vendor_class_variants() {
    let mut frame = spip601_discover();
    let mut inside = hex(SPIP601_VENDOR_CLASS)[2..].to_vec();
    inside[4] += 1;
    inside.push(0xff);
    let class = VendorClass::parse(Reader::new(&inside, 0)).unwrap();
    assert_eq!(class, VendorClass::Poly(spip601_class()));
    frame.dhcp.vendor_class = Some(VendorClass::Other(b"udhcp 1.36.1".to_vec()));
    assert_eq!(parse_frame(&bytes_of(&frame)).unwrap(), frame);
    let extra = VendorClass::parse(Reader::new(&hex("0000363d 05 09 03 616263"), 0)).unwrap();
    let want = PolyVendorClass {
        other: vec![SubOption {
            code: 9,
            value: b"abc".to_vec(),
        }],
        ..PolyVendorClass::default()
    };
    assert_eq!(extra, VendorClass::Poly(want));
}

/// Cut inside the fixed part or inside an option the message is refused at an offset inside it; cut between
/// options it keeps the options before the cut. Cut anywhere, the frame is refused (the IPv4 total length then
/// points past the end).
#[test]
fn truncated_at_every_length() {
    let frame = bytes_of(&spip601_discover());
    let bootp = &frame[42..];
    let full = spip601_discover().dhcp;
    for len in 0..=bootp.len() {
        match DhcpRepr::parse(&bootp[..len]) {
            Ok(repr) => {
                assert!(len >= 240, "{len}");
                assert!(
                    [None, full.message_type].contains(&repr.message_type),
                    "{len}"
                );
                assert!(
                    [None, full.vendor_class.clone()].contains(&repr.vendor_class),
                    "{len}"
                );
                assert!(len == 240 || len == 243 || len >= 243 + 118, "{len}");
            }
            Err(e) => assert!(e.offset() <= len, "{len}: {e}"),
        }
    }
    for len in 0..frame.len() {
        let err = parse_frame(&frame[..len]).unwrap_err();
        assert!(matches!(err, WireError::Truncated { .. }), "{len}: {err}");
        assert!(err.offset() <= len, "{len}: {err}");
    }
}

/// Each header's wrong value is refused naming the field and its offset in the frame.
#[test]
fn refuses_what_is_not_a_dhcp_client_message() {
    let frame = bytes_of(&spip601_discover());
    let with = |at: usize, value: u8| {
        let mut f = frame.clone();
        f[at] = value;
        parse_frame(&f).unwrap_err().to_string()
    };
    assert_eq!(
        with(14, 0x65),
        "IP version at byte 14 is 6 (0x6), expected 4"
    );
    assert_eq!(
        with(14, 0x44),
        "IPv4 header length at byte 14 is 16 (0x10), expected at least 20 bytes"
    );
    assert!(
        with(20, 0x20).starts_with("IPv4 flags and fragment offset at byte 20 is 8192 (0x2000)")
    );
    assert_eq!(
        with(23, 6),
        "IPv4 protocol at byte 23 is 6 (0x6), expected 17 (UDP)"
    );
    assert_eq!(
        with(37, 80),
        "UDP destination port at byte 36 is 80 (0x50), expected 67 or 68 (BOOTP)"
    );
    assert_eq!(
        with(42 + 1, 6),
        "BOOTP hardware type at byte 43 is 6 (0x6), expected 1 (Ethernet)"
    );
    assert_eq!(
        with(42 + 2, 8),
        "BOOTP hardware address length at byte 44 is 8 (0x8), expected 6"
    );
    assert_eq!(
        with(42 + 236, 0x64),
        "DHCP magic cookie at byte 278 is 1686262627 (0x64825363), expected 0x63825363 (DHCP)"
    );
    let mut short_udp = frame.clone();
    short_udp[38..40].copy_from_slice(&[0, 7]);
    assert_eq!(
        parse_frame(&short_udp).unwrap_err().to_string(),
        "UDP length at byte 38 is 7 (0x7), expected at least 8 (it counts its own header)"
    );
    let mut long_class = frame.clone();
    long_class[42 + 240 + 3 + 2 + 4] = 0x70;
    assert_eq!(
        parse_frame(&long_class).unwrap_err().to_string(),
        "Polycom vendor class sub-options at byte 292 needs 112 bytes, but only 111 remain"
    );
}

/// Values too long for a one-byte option length are refused when emitting.
#[test]
fn emit_refuses_long_options() {
    let mut frame = spip601_discover();
    frame.dhcp.host_name = Some("x".repeat(256));
    assert!(matches!(
        frame.emit(&mut Vec::new()),
        Err(WireError::TooLarge {
            value: 256,
            max: 255,
            ..
        })
    ));
}

fn vendor_class() -> impl Strategy<Value = Option<VendorClass>> {
    let text = || proptest::option::of(testkit::text(30));
    let sub = ((6u8..=254), bytes(10)).prop_map(|(code, value)| SubOption { code, value });
    let poly = (
        text(),
        text(),
        text(),
        text(),
        text(),
        proptest::collection::vec(sub, 0..2),
    )
        .prop_map(
            |(company, part, part_number, application, bootrom, other)| {
                VendorClass::Poly(PolyVendorClass {
                    company,
                    part,
                    part_number,
                    application,
                    bootrom,
                    other,
                })
            },
        );
    let other = bytes(40)
        .prop_filter("not Poly's", |b| {
            !b.starts_with(&POLYCOM_ENTERPRISE.to_be_bytes())
        })
        .prop_map(VendorClass::Other);
    proptest::option::of(prop_oneof![poly, other])
}

fn frame() -> impl Strategy<Value = DhcpFrame> {
    (
        (
            mac(),
            mac(),
            testkit::tags(),
            ipv4(),
            any::<u16>(),
            ipv4(),
            prop_oneof![Just(67u16), Just(68u16)],
        ),
        (
            any::<u8>(),
            any::<u32>(),
            ipv4(),
            mac(),
            proptest::option::of(any::<u8>()),
        ),
        (
            proptest::option::of(ipv4()),
            proptest::option::of(testkit::text(40)),
            vendor_class(),
        ),
    )
        .prop_map(
            |(
                (dst, src, (outer, vlan), sip, sport, dip, dport),
                (op, xid, ciaddr, client_mac, kind),
                (requested_ip, host_name, vendor_class),
            )| {
                DhcpFrame {
                    ethernet: EthernetRepr {
                        dst,
                        src,
                        vlan,
                        outer,
                        ethertype: EtherType::Ipv4,
                    },
                    source: SocketAddrV4::new(sip, sport),
                    destination: SocketAddrV4::new(dip, dport),
                    dhcp: DhcpRepr {
                        op: BootpOp::from(op),
                        xid,
                        ciaddr,
                        client_mac,
                        message_type: kind.map(MessageType::from),
                        requested_ip,
                        host_name,
                        vendor_class,
                    },
                }
            },
        )
}

proptest! {
    #![proptest_config(cases(1000))]

    /// Any DHCP frame survives emit → parse unchanged.
    #[test]
    fn round_trip(frame in frame()) {
        prop_assert_eq!(parse_frame(&bytes_of(&frame)).unwrap(), frame);
    }
}

proptest! {
    #![proptest_config(cases(5000))]

    /// Arbitrary bytes never panic the message or frame parser; errors point inside the input.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in bytes(400)) {
        for result in [DhcpRepr::parse(&bytes).map(|_| ()), parse_frame(&bytes).map(|_| ())] {
            if let Err(e) = result {
                prop_assert!(e.offset() <= bytes.len(), "{}", e);
            }
        }
    }

    /// Arbitrary option bytes after a valid fixed part never panic; what parses emits and parses back the same.
    #[test]
    fn arbitrary_options_never_panic(options in bytes(160)) {
        let mut bootp = Vec::new();
        spip601_discover().dhcp.emit(&mut bootp).unwrap();
        bootp.truncate(240);
        bootp.extend_from_slice(&options);
        match DhcpRepr::parse(&bootp) {
            Ok(repr) => {
                let mut again = Vec::new();
                if repr.emit(&mut again).is_ok() {
                    prop_assert_eq!(DhcpRepr::parse(&again).unwrap(), repr);
                }
            }
            Err(e) => prop_assert!(e.offset() >= 240 && e.offset() <= bootp.len(), "{}", e),
        }
    }

    /// Flipped, cut, extended or spliced DISCOVERs and REQUESTs never panic; whatever still parses emits and
    /// parses back to the same message.
    #[test]
    fn mutated_frames_never_panic(frame in mutated(vec![bytes_of(&spip601_discover()), bytes_of(&vvx411_request()), {
        let mut qinq = vvx411_request();
        qinq.ethernet.outer = Some(VlanTag::dot1ad(100, 0));
        bytes_of(&qinq)
    }])) {
        match parse_frame(&frame) {
            Ok(parsed) => {
                let mut again = Vec::new();
                if parsed.emit(&mut again).is_ok() {
                    prop_assert_eq!(parse_frame(&again).unwrap(), parsed);
                }
            }
            Err(e) => prop_assert!(e.offset() <= frame.len(), "{}", e),
        }
    }
}

//! Specification tests of `wire::arp`: parse, emit, round trip, truncation, and properties over arbitrary and mutated frames.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use super::super::VlanTag;
use super::super::testkit::*;
use super::*;
use proptest::prelude::*;

/// A VVX (OUI 00:04:F2) at 198.18.20.41 answering the agent (52:54:00:12:34:56, 198.18.20.2): Ethernet header,
/// the 28 ARP bytes, then 18 bytes of padding.
const POLY_REPLY: &str = "
    525400123456 0004f2a1b2c3 0806
    0001 0800 06 04 0002
    0004f2a1b2c3 c6121429
    525400123456 c6121402
    000000000000000000000000000000000000";

fn agent() -> (Mac, Ipv4Addr) {
    (
        "525400123456".parse().unwrap(),
        Ipv4Addr::new(198, 18, 20, 2),
    )
}

fn poly_reply() -> ArpRepr {
    let (agent_mac, agent_ip) = agent();
    ArpRepr {
        operation: Operation::Reply,
        sender_mac: "0004F2A1B2C3".parse().unwrap(),
        sender_ip: Ipv4Addr::new(198, 18, 20, 41),
        target_mac: agent_mac,
        target_ip: agent_ip,
    }
}

/// The view reads every field of a Poly phone's reply where RFC 826 puts it.
#[test]
fn view_reads_a_poly_reply() {
    let frame = hex(POLY_REPLY);
    let packet = ArpPacket::new_checked(&frame[14..]).unwrap();
    assert_eq!(packet.hardware_type(), Hardware::Ethernet);
    assert_eq!(packet.protocol_type(), EtherType::Ipv4);
    assert_eq!((packet.hardware_len(), packet.protocol_len()), (6, 4));
    assert_eq!(packet.operation(), Operation::Reply);
    assert_eq!(packet.sender_hardware_addr(), &hex("0004f2a1b2c3")[..]);
    assert_eq!(packet.sender_protocol_addr(), &[198, 18, 20, 41]);
    assert_eq!(packet.target_hardware_addr(), &hex("525400123456")[..]);
    assert_eq!(packet.target_protocol_addr(), &[198, 18, 20, 2]);
    assert_eq!(packet.packet_len(), PACKET_LEN);
}

/// The reply parses to the phone's MAC and IP; it is neither gratuitous nor a probe.
#[test]
fn parses_a_poly_reply() {
    let parsed = parse_frame(&hex(POLY_REPLY)).unwrap();
    assert_eq!(parsed.arp, poly_reply());
    assert_eq!(parsed.ethernet.src, poly_reply().sender_mac);
    assert_eq!(parsed.ethernet.vlan, None);
    assert!(!parsed.arp.is_gratuitous() && !parsed.arp.is_probe());
}

/// Emitting the same reply gives the fixture byte for byte, padding included.
#[test]
fn emits_the_poly_reply() {
    let mut buf = [0xeeu8; 64];
    let reply = poly_reply();
    let len = reply.emit_frame(reply.eth_dst(), &mut buf).unwrap();
    assert_eq!(buf[..len].to_vec(), hex(POLY_REPLY));
}

/// The sweep's request is broadcast, asks with a zero target MAC, and parses back to itself.
#[test]
fn sweep_request_round_trip() {
    let (agent_mac, agent_ip) = agent();
    let request = ArpRepr::request(agent_mac, agent_ip, Ipv4Addr::new(198, 18, 20, 41));
    assert_eq!(request.eth_dst(), BROADCAST);
    let mut buf = [0u8; FRAME_LEN];
    request.emit_frame(request.eth_dst(), &mut buf).unwrap();
    assert_eq!(
        buf[..42].to_vec(),
        hex("ffffffffffff 525400123456 0806 0001 0800 0604 0001
             525400123456 c6121402 000000000000 c6121429")
    );
    let parsed = parse_frame(&buf).unwrap();
    assert_eq!(parsed.arp, request);
    assert_eq!(parsed.ethernet.dst, BROADCAST);
}

/// A phone announcing 198.18.20.41 (sender IP = target IP) is gratuitous; a probe from 0.0.0.0 is not, but is
/// a probe — the sweep's own requests from an unnumbered interface look like that.
#[test]
fn gratuitous_and_probe() {
    let phone: Mac = "64167F123456".parse().unwrap();
    let ip = Ipv4Addr::new(198, 18, 20, 41);
    let announcement = ArpRepr {
        target_ip: ip,
        ..ArpRepr::request(phone, ip, ip)
    };
    assert!(announcement.is_gratuitous() && !announcement.is_probe());
    let reply = ArpRepr {
        operation: Operation::Reply,
        target_mac: BROADCAST,
        ..announcement
    };
    assert!(reply.is_gratuitous());
    let probe = ArpRepr::request(phone, Ipv4Addr::UNSPECIFIED, ip);
    assert!(probe.is_probe() && !probe.is_gratuitous());
    let zero = ArpRepr::request(phone, Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED);
    assert!(!zero.is_gratuitous());
}

/// An operation other than request/reply (RARP's 3, say) is kept as `Unknown(3)` and emitted back as 3.
#[test]
fn unknown_operation_is_kept() {
    let mut frame = hex(POLY_REPLY);
    frame[21] = 3;
    let arp = parse_frame(&frame).unwrap().arp;
    assert_eq!(arp.operation, Operation::Unknown(3));
    let mut buf = [0u8; PACKET_LEN];
    arp.emit(&mut buf).unwrap();
    assert_eq!(buf[7], 3);
}

/// Cut anywhere before its last address byte, the packet is refused as truncated at a byte inside the input;
/// from 28 bytes on it parses.
#[test]
fn truncated_at_every_length() {
    let packet = hex(POLY_REPLY)[14..14 + PACKET_LEN].to_vec();
    for len in 0..PACKET_LEN {
        let err = parse(&packet[..len]).unwrap_err();
        assert!(matches!(err, WireError::Truncated { .. }), "{len}: {err}");
        assert!(err.offset() <= len, "{len}: {err}");
    }
    assert_eq!(parse(&packet).unwrap(), poly_reply());
    let frame = hex(POLY_REPLY);
    for len in 0..ETHERNET_HEADER_LEN + PACKET_LEN {
        let err = parse_frame(&frame[..len]).unwrap_err();
        assert!(err.offset() <= len, "{len}: {err}");
    }
}

/// Other hardware, other protocols, odd address lengths and non-ARP frames are refused, naming the field and
/// its offset in the frame.
#[test]
fn refuses_what_is_not_ethernet_ipv4_arp() {
    let frame = hex(POLY_REPLY);
    let with = |at: usize, value: u8| {
        let mut f = frame.clone();
        f[at] = value;
        parse_frame(&f).unwrap_err().to_string()
    };
    assert_eq!(
        with(15, 6),
        "ARP hardware type at byte 14 is 6 (0x6), expected 1 (Ethernet)"
    );
    assert_eq!(
        with(16, 0x86),
        "ARP protocol type at byte 16 is 34304 (0x8600), expected 0x800 (IPv4)"
    );
    assert_eq!(
        with(18, 8),
        "ARP hardware address length at byte 18 is 8 (0x8), expected 6"
    );
    assert_eq!(
        with(19, 2),
        "ARP protocol address length at byte 19 is 2 (0x2), expected 4"
    );
    assert!(matches!(
        parse_frame(&{
            let mut f = frame.clone();
            f[19] = 16;
            f
        }),
        Err(WireError::Truncated {
            what: "ARP target protocol address",
            ..
        })
    ));
    assert_eq!(
        with(13, 0x00),
        "EtherType at byte 12 is 2048 (0x800), expected 0x806 (ARP)"
    );
}

/// A reply inside a voice VLAN tag parses the same, with the tag kept and errors counted from the frame.
#[test]
fn tagged_reply() {
    let mut frame = hex(POLY_REPLY);
    frame.splice(12..12, hex("8100 a014"));
    let parsed = parse_frame(&frame).unwrap();
    assert_eq!(parsed.arp, poly_reply());
    assert_eq!(parsed.ethernet.vlan.map(|t| t.id), Some(20));
    frame[19] = 2;
    assert_eq!(parse_frame(&frame).unwrap_err().offset(), 18);
}

/// A reply under two stacked 802.1Q tags (outer 100, inner voice VLAN 20) parses the same, `vlan` the inner tag,
/// with errors counted from the frame.
#[test]
fn double_tagged_reply() {
    let mut frame = hex(POLY_REPLY);
    frame.splice(12..12, hex("8100 0064 8100 a014"));
    let parsed = parse_frame(&frame).unwrap();
    assert_eq!(parsed.arp, poly_reply());
    assert_eq!(parsed.ethernet.vlan, Some(VlanTag::dot1q(20, 5)));
    assert_eq!(parsed.ethernet.outer, Some(VlanTag::dot1q(100, 0)));
    frame[23] = 2;
    assert_eq!(parse_frame(&frame).unwrap_err().offset(), 22);
}

/// Under a third tag the reply is refused at that tag's TPID, not read past it.
#[test]
fn triple_tagged_reply_is_refused() {
    let mut frame = hex(POLY_REPLY);
    frame.splice(12..12, hex("88a8 0064 8100 00c8 8100 a014"));
    let err = parse_frame(&frame).unwrap_err();
    assert!(
        matches!(
            err,
            WireError::Unexpected {
                what: "TPID of a third VLAN tag",
                offset: 20,
                ..
            }
        ),
        "{err}"
    );
}

/// Emitting into a buffer too small for the frame or the packet is refused, not truncated.
#[test]
fn emit_refuses_small_buffers() {
    let err = poly_reply()
        .emit_frame(BROADCAST, &mut [0u8; 59])
        .unwrap_err();
    assert!(matches!(
        err,
        WireError::BufferTooSmall {
            needed: 60,
            available: 59,
            ..
        }
    ));
    let err = poly_reply().emit(&mut [0u8; 27]).unwrap_err();
    assert!(matches!(err, WireError::BufferTooSmall { needed: 28, .. }));
}

fn repr() -> impl Strategy<Value = ArpRepr> {
    (any::<u16>(), mac(), ipv4(), mac(), ipv4()).prop_map(
        |(op, sender_mac, sender_ip, target_mac, target_ip)| ArpRepr {
            operation: Operation::from(op),
            sender_mac,
            sender_ip,
            target_mac,
            target_ip,
        },
    )
}

proptest! {
    #![proptest_config(cases(5000))]

    /// Any ARP repr survives emit → parse unchanged, as a packet and as a frame.
    #[test]
    fn round_trip(repr in repr(), eth_dst in mac()) {
        let mut buf = [0u8; FRAME_LEN];
        repr.emit_frame(eth_dst, &mut buf).unwrap();
        let parsed = parse_frame(&buf).unwrap();
        prop_assert_eq!(parsed.arp, repr);
        prop_assert_eq!(parsed.ethernet.dst, eth_dst);
        prop_assert_eq!(parse(&buf[14..42]).unwrap(), repr);
    }

    /// Arbitrary bytes never panic the view, the parser or the frame parser; errors point inside the input.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in bytes(80)) {
        if let Ok(packet) = ArpPacket::new_checked(&bytes[..]) {
            let _ = (packet.sender_hardware_addr(), packet.target_protocol_addr(), packet.operation());
            prop_assert!(packet.packet_len() <= bytes.len());
        }
        for result in [parse(&bytes).map(|_| ()), parse_frame(&bytes).map(|_| ())] {
            if let Err(e) = result {
                prop_assert!(e.offset() <= bytes.len(), "{}", e);
            }
        }
    }

    /// Flipped, cut, extended or spliced replies and requests never panic; whatever still parses emits and
    /// parses back to the same thing.
    #[test]
    fn mutated_frames_never_panic(frame in mutated(vec![hex(POLY_REPLY), {
        let (m, ip) = agent();
        let mut buf = vec![0u8; FRAME_LEN];
        ArpRepr::request(m, ip, Ipv4Addr::new(198, 18, 20, 41)).emit_frame(BROADCAST, &mut buf).unwrap();
        buf
    }, {
        let mut qinq = hex(POLY_REPLY);
        qinq.splice(12..12, hex("88a8 0064 8100 a014"));
        qinq
    }])) {
        match parse_frame(&frame) {
            Ok(parsed) => {
                let mut buf = [0u8; FRAME_LEN];
                parsed.arp.emit_frame(parsed.ethernet.dst, &mut buf).unwrap();
                prop_assert_eq!(parse_frame(&buf).unwrap().arp, parsed.arp);
            }
            Err(e) => prop_assert!(e.offset() <= frame.len(), "{}", e),
        }
    }
}

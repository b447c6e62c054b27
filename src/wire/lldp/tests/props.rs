//! Properties of `wire::lldp` over generated values and bytes: any repr survives emit → parse, and arbitrary,
//! random-TLV and mutated frames never panic the walker or the parsers (what still parses round-trips).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use super::super::super::testkit::{self, bytes, cases, hex, ipv4, ipv6, mac, mutated};
use super::super::*;
use super::{VVX411_FRAME, frame_of, some, vvx411};
use proptest::prelude::*;

fn address() -> impl Strategy<Value = NetworkAddress> {
    prop_oneof![
        ipv4().prop_map(NetworkAddress::Ipv4),
        ipv6().prop_map(NetworkAddress::Ipv6),
        ((3u8..=255), bytes(16)).prop_map(|(family, address)| NetworkAddress::Other {
            family: AddressFamily::from(family),
            address
        }),
    ]
}

fn other_subtype(skip: [u8; 2]) -> impl Strategy<Value = u8> {
    any::<u8>().prop_filter("not a parsed subtype", move |s| !skip.contains(s))
}

fn chassis() -> impl Strategy<Value = ChassisId> {
    prop_oneof![
        mac().prop_map(ChassisId::Mac),
        address().prop_map(ChassisId::Address),
        (other_subtype([4, 5]), bytes(40)).prop_map(|(s, id)| ChassisId::Other {
            subtype: ChassisSubtype::from(s),
            id
        }),
    ]
}

fn port() -> impl Strategy<Value = PortId> {
    prop_oneof![
        mac().prop_map(PortId::Mac),
        address().prop_map(PortId::Address),
        (other_subtype([3, 4]), bytes(40)).prop_map(|(s, id)| PortId::Other {
            subtype: PortSubtype::from(s),
            id
        }),
    ]
}

fn text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(testkit::text(40))
}

fn management() -> impl Strategy<Value = ManagementAddress> {
    (address(), any::<u8>(), any::<u32>(), bytes(8)).prop_map(
        |(address, numbering, number, oid)| ManagementAddress {
            address,
            interface_numbering: InterfaceNumbering::from(numbering),
            interface_number: number,
            oid,
        },
    )
}

fn med() -> impl Strategy<Value = Med> {
    let caps =
        proptest::option::of(
            (any::<u16>(), any::<u8>()).prop_map(|(c, d)| MedCapabilities {
                capabilities: c,
                device_class: MedDeviceClass::from(d),
            }),
        );
    let policy = (
        any::<u8>(),
        any::<bool>(),
        any::<bool>(),
        0u16..4096,
        0u8..8,
        0u8..64,
    )
        .prop_map(
            |(app, unknown_policy, tagged, vlan_id, priority, dscp)| NetworkPolicy {
                application: MedApplication::from(app),
                unknown_policy,
                tagged,
                vlan_id,
                priority,
                dscp,
            },
        );
    let inventory = (text(), text(), text(), text(), text(), text(), text()).prop_map(
        |(a, b, c, d, e, f, g)| Inventory {
            hardware_revision: a,
            firmware_revision: b,
            software_revision: c,
            serial_number: d,
            manufacturer: e,
            model: f,
            asset_id: g,
        },
    );
    (caps, proptest::collection::vec(policy, 0..3), inventory).prop_map(
        |(capabilities, network_policies, inventory)| Med {
            capabilities,
            network_policies,
            inventory,
        },
    )
}

fn raw() -> impl Strategy<Value = RawTlv> {
    prop_oneof![
        (9u8..=126, bytes(40)).prop_map(|(kind, value)| RawTlv { kind, value }),
        (
            any::<[u8; 3]>().prop_filter("not MED", |o| *o != MED_OUI),
            bytes(40)
        )
            .prop_map(|(oui, rest)| {
                let mut value = oui.to_vec();
                value.push(1);
                value.extend(rest);
                RawTlv { kind: 127, value }
            }),
    ]
}

fn repr() -> impl Strategy<Value = LldpRepr> {
    (
        (
            proptest::option::of(chassis()),
            port(),
            any::<u16>(),
            text(),
            text(),
            text(),
        ),
        proptest::option::of(
            (any::<u16>(), any::<u16>())
                .prop_map(|(supported, enabled)| Capabilities { supported, enabled }),
        ),
        proptest::collection::vec(management(), 0..3),
        med(),
        proptest::collection::vec(raw(), 0..3),
    )
        .prop_map(
            |(
                (chassis_id, port_id, ttl, port_description, system_name, system_description),
                capabilities,
                management_addresses,
                med,
                other_tlvs,
            )| {
                LldpRepr {
                    chassis_id,
                    port_id,
                    ttl,
                    port_description,
                    system_name,
                    system_description,
                    capabilities,
                    management_addresses,
                    med,
                    other_tlvs,
                }
            },
        )
}

/// The frame `repr` makes under `(outer, vlan)` tags, its header built by hand (`emit_frame` takes one tag).
fn frame_in(repr: &LldpRepr, (outer, vlan): (Option<VlanTag>, Option<VlanTag>)) -> Vec<u8> {
    let mut out = Vec::new();
    let ethernet = EthernetRepr {
        dst: MULTICAST,
        src: Mac([0x64, 0x16, 0x7f, 0x12, 0x34, 0x56]),
        vlan,
        outer,
        ethertype: EtherType::Lldp,
    };
    ethernet.append_to(&mut out).unwrap();
    repr.emit(&mut out).unwrap();
    out
}

fn fixtures() -> Vec<Vec<u8>> {
    let mut early = vvx411();
    early.chassis_id = None;
    let mut soundpoint = vvx411();
    soundpoint.system_description =
        some("Polycom;SoundPointIP-SPIP_650;2345-12600-001,3;SIP/4.0.15/x;BR/5.0/y;");
    let tag = VlanTag::dot1q(20, 5);
    vec![
        hex(VVX411_FRAME),
        frame_of(&early, None),
        frame_of(&soundpoint, Some(tag)),
        frame_in(&vvx411(), (Some(VlanTag::dot1ad(100, 0)), Some(tag))),
    ]
}

proptest! {
    #![proptest_config(cases(1000))]

    /// Any LLDP repr survives emit → parse unchanged, in a frame with or without a VLAN tag.
    #[test]
    fn round_trip(repr in repr(), vlan in testkit::vlan()) {
        let bytes = frame_of(&repr, vlan);
        let frame = parse_frame(&bytes).unwrap();
        prop_assert_eq!(frame.ethernet.vlan, vlan);
        prop_assert_eq!(frame.lldp, repr);
    }

    /// Any LLDP repr survives emit → parse unchanged under 0..=2 VLAN tags of any TPID, the tags kept.
    #[test]
    fn round_trip_under_tags(repr in repr(), tags in testkit::tags()) {
        let frame = parse_frame(&frame_in(&repr, tags)).unwrap();
        prop_assert_eq!((frame.ethernet.outer, frame.ethernet.vlan), tags);
        prop_assert_eq!(frame.lldp, repr);
    }
}

proptest! {
    #![proptest_config(cases(5000))]

    /// Arbitrary bytes never panic the walker, the parser or the frame parser; errors point inside the input.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in bytes(200)) {
        for tlv in tlvs(&bytes) {
            if let Err(e) = tlv {
                prop_assert!(e.offset() <= bytes.len());
            }
        }
        for result in [LldpRepr::parse(&bytes).map(|_| ()), parse_frame(&bytes).map(|_| ())] {
            if let Err(e) = result {
                prop_assert!(e.offset() <= bytes.len(), "{}", e);
            }
        }
    }

    /// Random TLV sequences (valid headers, random types and values) never panic and, when they parse, emit
    /// and parse back to the same repr.
    #[test]
    fn random_tlvs_never_panic(tlvs in proptest::collection::vec((0u8..=127, bytes(24)), 0..12)) {
        let mut pdu = Vec::new();
        for (kind, value) in &tlvs {
            pdu.extend_from_slice(&((u16::from(*kind) << 9) | value.len() as u16).to_be_bytes());
            pdu.extend_from_slice(value);
        }
        if let Ok(repr) = LldpRepr::parse(&pdu) {
            let mut again = Vec::new();
            if repr.emit(&mut again).is_ok() {
                prop_assert_eq!(LldpRepr::parse(&again).unwrap(), repr);
            }
        }
    }

    /// Flipped, cut, extended or spliced Poly frames never panic; whatever still parses emits and parses back
    /// to the same repr.
    #[test]
    fn mutated_frames_never_panic(frame in mutated(fixtures())) {
        match parse_frame(&frame) {
            Ok(parsed) => {
                let mut again = Vec::new();
                if parsed.lldp.emit(&mut again).is_ok() {
                    prop_assert_eq!(LldpRepr::parse(&again).unwrap(), parsed.lldp);
                }
            }
            Err(e) => prop_assert!(e.offset() <= frame.len(), "{}", e),
        }
    }
}

//! Specification tests of `wire::lldp`: the §9 VVX 411 fixture parsed and emitted, the walker, the Poly system
//! descriptions, the phones' deviations from the standard, truncation, refused and kept TLVs. The LLDP-MED TLVs'
//! own cases are in `med/tests.rs`, the properties over arbitrary and mutated frames in `tests/props.rs`; both use
//! the fixtures here.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use super::super::testkit::hex;
use super::*;

mod props;

/// `discovery.md` §9: the LLDPDU a VVX 411 on UCS 6.4.7 should send (64:16:7f:12:34:56 at 10.1.20.37), with
/// the network policy and inventory values filled in as the section allows (synthetic, unverified).
const VVX411_FRAME: &str = "
    0180c200000e 64167f123456 88cc                          # LLDP multicast, phone MAC, EtherType
    0206 05 01 0a011425                                     # chassis ID: network address, IPv4 10.1.20.37
    0407 03 64167f123456                                    # port ID: MAC
    0602 0078                                               # TTL 120
    0801 31                                                 # port description '1'
    0a0f 506f6c79636f6d2d5656582d343131                     # system name 'Polycom-VVX-411'
    0c62 506f6c79636f6d3b5656582d5656585f3431313b333131312d34383435302d3030312c313b
         5349502f362e342e372e343536302f30352d4465632d32342030303a35383b
         55502f362e342e372e333832382f30352d4465632d32342030313a32323b   # system description (98 bytes)
    0e04 0024 0024                                          # capabilities: bridge + telephone, both enabled
    100c 05 01 0a011425 01 00000000 00                      # management address 10.1.20.37, ifnum 0, no OID
    fe09 00120f 01 03 6c01 001e                             # 802.3 MAC/PHY (kept raw)
    fe07 0012bb 01 0033 03                                  # MED capabilities 0x0033, class III
    fe08 0012bb 02 01 40296e                                # MED policy: voice, tagged, VLAN 20, prio 5, DSCP 46
    fe05 0012bb 05 31                                       # MED hardware revision '1'
    fe0e 0012bb 06 362e342e372e33383238                     # MED firmware revision '6.4.7.3828'
    fe0e 0012bb 07 362e342e372e34353630                     # MED software revision '6.4.7.4560'
    fe10 0012bb 08 363431363746313233343536                 # MED serial '64167F123456'
    fe0b 0012bb 09 506f6c79636f6d                           # MED manufacturer 'Polycom'
    fe0f 0012bb 0a 5656582d5656585f343131                   # MED model 'VVX-VVX_411'
    0000                                                    # end of LLDPDU";

const VVX411_DESCRIPTION: &str = "Polycom;VVX-VVX_411;3111-48450-001,1;SIP/6.4.7.4560/05-Dec-24 00:58;UP/6.4.7.3828/05-Dec-24 01:22;";

fn phone_mac() -> Mac {
    "64167F123456".parse().unwrap()
}

fn phone_ip() -> NetworkAddress {
    NetworkAddress::Ipv4(Ipv4Addr::new(10, 1, 20, 37))
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// The VVX 411 of §9, as a repr.
pub(super) fn vvx411() -> LldpRepr {
    LldpRepr {
        chassis_id: Some(ChassisId::Address(phone_ip())),
        port_id: PortId::Mac(phone_mac()),
        ttl: 120,
        port_description: some("1"),
        system_name: some("Polycom-VVX-411"),
        system_description: some(VVX411_DESCRIPTION),
        capabilities: Some(Capabilities {
            supported: Capabilities::BRIDGE | Capabilities::TELEPHONE,
            enabled: Capabilities::BRIDGE | Capabilities::TELEPHONE,
        }),
        management_addresses: vec![ManagementAddress {
            address: phone_ip(),
            interface_numbering: InterfaceNumbering::Unspecified,
            interface_number: 0,
            oid: vec![],
        }],
        med: Med {
            capabilities: Some(MedCapabilities {
                capabilities: 0x0033,
                device_class: MedDeviceClass::EndpointClass3,
            }),
            network_policies: vec![NetworkPolicy {
                application: MedApplication::Voice,
                unknown_policy: false,
                tagged: true,
                vlan_id: 20,
                priority: 5,
                dscp: 46,
            }],
            inventory: Inventory {
                hardware_revision: some("1"),
                firmware_revision: some("6.4.7.3828"),
                software_revision: some("6.4.7.4560"),
                serial_number: some("64167F123456"),
                manufacturer: some("Polycom"),
                model: some("VVX-VVX_411"),
                asset_id: None,
            },
        },
        other_tlvs: vec![RawTlv {
            kind: 127,
            value: hex("00120f 01 03 6c01 001e"),
        }],
    }
}

fn frame_of(repr: &LldpRepr, vlan: Option<VlanTag>) -> Vec<u8> {
    let mut out = Vec::new();
    repr.emit_frame(phone_mac(), vlan, &mut out).unwrap();
    out
}

/// The §9 frame parses to the VVX 411: key MAC from the Port ID, IP from the management address, a telephone.
#[test]
fn parses_the_vvx411_fixture() {
    let frame = parse_frame(&hex(VVX411_FRAME)).unwrap();
    assert_eq!(frame.lldp, vvx411());
    assert_eq!(frame.ethernet.src, phone_mac());
    assert_eq!(frame.ethernet.dst, MULTICAST);
    assert_eq!(frame.lldp.phone_mac(), Some(phone_mac()));
    assert_eq!(frame.lldp.ipv4(), Some(Ipv4Addr::new(10, 1, 20, 37)));
    assert!(frame.lldp.capabilities.unwrap().is_telephone());
}

/// Emitting the VVX 411 repr builds the §9 frame byte for byte.
#[test]
fn emits_the_vvx411_fixture() {
    assert_eq!(frame_of(&vvx411(), None), hex(VVX411_FRAME));
}

/// The walker yields each TLV with its type, header offset and value, and stops at End.
#[test]
fn walker_yields_tlvs_in_order() {
    let frame = hex(VVX411_FRAME);
    let tlvs: Vec<Tlv<'_>> = tlvs(&frame[14..]).map(Result::unwrap).collect();
    let kinds: Vec<u8> = tlvs.iter().map(|t| t.kind).collect();
    assert_eq!(
        kinds,
        [
            1, 2, 3, 4, 5, 6, 7, 8, 127, 127, 127, 127, 127, 127, 127, 127, 127
        ]
    );
    assert_eq!((tlvs[0].offset, tlvs[0].value.len()), (0, 6));
    assert_eq!((tlvs[5].offset, tlvs[5].value.len()), (41, 98));
}

/// The real VVX system descriptions read as model, part number, hardware revision and firmware.
#[test]
fn reads_real_vvx_descriptions() {
    let vvx411 = PolyDescription::parse(VVX411_DESCRIPTION).unwrap();
    assert_eq!(vvx411.manufacturer, "Polycom");
    assert_eq!(vvx411.family.as_deref(), Some("VVX"));
    assert_eq!(vvx411.model, "VVX 411");
    assert_eq!(vvx411.part_number.as_deref(), Some("3111-48450-001"));
    assert_eq!(vvx411.hardware_revision.as_deref(), Some("1"));
    assert_eq!(vvx411.firmware(), Some("6.4.7.4560"));
    let application = vvx411.application.unwrap();
    assert_eq!(
        (application.kind.as_str(), application.date.as_deref()),
        ("SIP", Some("05-Dec-24 00:58"))
    );
    let boot = vvx411.boot.unwrap();
    assert_eq!(
        (boot.kind.as_str(), boot.version.as_str()),
        ("UP", "6.4.7.3828")
    );
    for (description, model, part) in [
        (
            "Polycom;VVX-VVX_401;3111-48400-001,1;SIP/6.4.7.4560/05-Dec-24 00:58;UP/6.4.7.3828/05-Dec-24 01:22;",
            "VVX 401",
            "3111-48400-001",
        ),
        (
            "Polycom;VVX-VVX_450;3111-48450-025,1;SIP/6.4.7.4560/05-Dec-24 00:58;UP/6.4.7.3828/05-Dec-24 01:22;",
            "VVX 450",
            "3111-48450-025",
        ),
        (
            "Polycom;VVX-VVX_350;3111-48350-025,1;SIP/6.4.7.4560/05-Dec-24 00:58;UP/6.4.7.3828/05-Dec-24 01:22;",
            "VVX 350",
            "3111-48350-025",
        ),
    ] {
        let poly = PolyDescription::parse(description).unwrap();
        assert_eq!(
            (poly.model.as_str(), poly.part_number.as_deref()),
            (model, Some(part))
        );
        assert_eq!(poly.firmware(), Some("6.4.7.4560"));
    }
}

/// SoundPoint's model token spells out: `SoundPointIP-SPIP_650` is the SoundPoint IP 650, BootROM in field 5.
#[test]
fn reads_a_soundpoint_description() {
    let poly =
        PolyDescription::parse("Polycom;SoundPointIP-SPIP_650;2345-12600-001,3;SIP/4.0.15.1009/12-Jan-19 10:00;BR/5.0.15.0001/12-Jan-19 09:00;")
            .unwrap();
    assert_eq!(poly.model, "SoundPoint IP 650");
    assert_eq!(poly.family.as_deref(), Some("SoundPointIP"));
    assert_eq!(poly.firmware(), Some("4.0.15.1009"));
    assert_eq!(poly.boot.unwrap().kind, "BR");
    assert_eq!(
        poly_model_name("SoundPointIP-SPIP_601"),
        "SoundPoint IP 601"
    );
    assert_eq!(poly_model_name("VVX-VVX_411"), "VVX 411");
}

/// Other vendors' descriptions and degenerate Poly ones are not read as Poly; short ones keep what they have.
#[test]
fn only_poly_descriptions_are_read() {
    assert_eq!(
        PolyDescription::parse("Cisco IP Phone 8811, V1, sip88xx.12-1-1SR1-4.loads"),
        None
    );
    assert_eq!(PolyDescription::parse("Polycom;"), None);
    assert_eq!(PolyDescription::parse("Polycom;VVX-;"), None);
    assert_eq!(PolyDescription::parse(""), None);
    let short = PolyDescription::parse("Poly;CCX-CCX_500").unwrap();
    assert_eq!(
        (
            short.model.as_str(),
            short.part_number.as_deref(),
            short.firmware()
        ),
        ("CCX 500", None, None)
    );
    let no_revision =
        PolyDescription::parse("Polycom;VVX-VVX_250;3111-48820-001;garbage;").unwrap();
    assert_eq!(no_revision.part_number.as_deref(), Some("3111-48820-001"));
    assert_eq!(
        (no_revision.hardware_revision, no_revision.application),
        (None, None)
    );
}

/// Before DHCP completes a Poly phone sends no Chassis ID: the frame still parses, keyed by the Port ID MAC,
/// with no IP. A Chassis ID of 0.0.0.0 is likewise not taken as an IP.
#[test]
fn chassis_absent_or_unnumbered_before_dhcp() {
    let mut early = vvx411();
    early.chassis_id = None;
    early.management_addresses.clear();
    let parsed = parse_frame(&frame_of(&early, None)).unwrap().lldp;
    assert_eq!(parsed, early);
    assert_eq!(
        (parsed.phone_mac(), parsed.ipv4()),
        (Some(phone_mac()), None)
    );
    early.chassis_id = Some(ChassisId::Address(NetworkAddress::Ipv4(
        Ipv4Addr::UNSPECIFIED,
    )));
    let parsed = parse_frame(&frame_of(&early, None)).unwrap().lldp;
    assert_eq!(parsed.chassis_id, early.chassis_id);
    assert_eq!(parsed.ipv4(), None);
}

/// An LLDPDU in the voice VLAN (802.1Q tag, priority 5) parses the same, the tag kept.
#[test]
fn tagged_lldpdu() {
    let tag = VlanTag::dot1q(20, 5);
    let bytes = frame_of(&vvx411(), Some(tag));
    assert_eq!(&bytes[12..16], &hex("8100 a014")[..]);
    let frame = parse_frame(&bytes).unwrap();
    assert_eq!((frame.ethernet.vlan, frame.lldp), (Some(tag), vvx411()));
}

/// QinQ: the VVX 411's LLDPDU under a provider's 802.1ad S-tag (VLAN 100) around its 802.1Q voice tag (VLAN 20,
/// priority 5) parses the same; `vlan` is the phone's own VLAN, 20, and `outer` the service VLAN, 100.
#[test]
fn qinq_lldpdu() {
    let mut bytes = hex(VVX411_FRAME);
    bytes.splice(12..12, hex("88a8 0064 8100 a014"));
    let frame = parse_frame(&bytes).unwrap();
    assert_eq!(frame.ethernet.vlan, Some(VlanTag::dot1q(20, 5)));
    assert_eq!(frame.ethernet.outer, Some(VlanTag::dot1ad(100, 0)));
    assert_eq!(frame.ethernet.ethertype, EtherType::Lldp);
    assert_eq!(frame.lldp, vvx411());
    let mut untagged = hex(VVX411_FRAME);
    untagged[14] |= 0x01; // the Chassis ID TLV's length, now 256 more: past the end
    bytes[22] |= 0x01;
    let err = parse_frame(&untagged).unwrap_err();
    assert_eq!(
        parse_frame(&bytes).unwrap_err(),
        err.shifted(8),
        "offsets count from the frame"
    );
}

/// A TLV whose length runs past the data is refused with its name, its offset in the frame and the shortfall.
#[test]
fn tlv_length_past_the_end() {
    let frame =
        hex("0180c200000e 64167f123456 88cc  0407 03 64167f123456  0602 0078  0c62 506f6c79");
    assert_eq!(
        parse_frame(&frame).unwrap_err().to_string(),
        "system description TLV at byte 27 needs 100 bytes, but only 6 remain"
    );
}

/// Cut at a TLV boundary after the TTL, the LLDPDU still parses (End is optional); cut anywhere else it is
/// refused, the error pointing inside the input.
#[test]
fn truncated_at_every_length() {
    let frame = hex(VVX411_FRAME);
    let pdu = &frame[14..];
    let mut boundaries: Vec<usize> = tlvs(pdu)
        .map(|t| t.unwrap())
        .map(|t| t.offset + 2 + t.value.len())
        .collect();
    boundaries.push(pdu.len());
    let ttl_end = 8 + 9 + 4; // chassis, port and TTL TLVs
    for len in 0..=pdu.len() {
        let result = LldpRepr::parse(&pdu[..len]);
        let boundary = boundaries.contains(&len) && len >= ttl_end;
        match result {
            Ok(_) => assert!(boundary, "{len} parsed"),
            Err(e) => {
                assert!(!boundary, "{len}: {e}");
                assert!(e.offset() <= len, "{len}: {e}");
            }
        }
        if let Err(e) = parse_frame(&frame[..14 + len]) {
            assert!(e.offset() <= 14 + len, "{len}: {e}");
        }
    }
}

/// Port ID and TTL are required; without them the error says which is missing and where the data ended.
#[test]
fn port_id_and_ttl_are_required() {
    let no_port = hex("0206 05 01 0a011425  0602 0078  0000");
    assert_eq!(
        LldpRepr::parse(&no_port).unwrap_err(),
        WireError::Missing {
            what: "port ID TLV",
            offset: 14
        }
    );
    let no_ttl = hex("0407 03 64167f123456");
    assert!(matches!(
        LldpRepr::parse(&no_ttl),
        Err(WireError::Missing {
            what: "time-to-live TLV",
            ..
        })
    ));
}

/// Known TLVs too short for their fields are refused precisely: a 1-byte TTL, a 5-byte MAC, an IPv4 chassis
/// address of 3 bytes, a management address string longer than its TLV (a MED policy cut short: `med/tests.rs`).
#[test]
fn short_fields_are_refused() {
    let cases = [
        (
            "0407 03 64167f123456  0601 00",
            "time-to-live at byte 11 needs 2 bytes, but only 1 remain",
        ),
        (
            "0406 03 64167f1234  0602 0078",
            "MAC address length at byte 3 is 5 (0x5), expected 6 bytes",
        ),
        (
            "0205 05 01 0a0114  0407 03 64167f123456  0602 0078",
            "network address at byte 4 is 3 (0x3), expected 4 bytes (IPv4)",
        ),
        (
            "0407 03 64167f123456  0602 0078  1004 09 01 0a01",
            "management address at byte 16 needs 9 bytes, but only 3 remain",
        ),
    ];
    for (pdu, message) in cases {
        assert_eq!(
            LldpRepr::parse(&hex(pdu)).unwrap_err().to_string(),
            message,
            "{pdu}"
        );
    }
}

/// Unknown subtypes, reserved TLV types and other organizations' TLVs are kept as sent; a later duplicate of
/// the TTL is ignored; bytes after End (padding) are ignored.
#[test]
fn unknowns_are_kept() {
    let pdu = hex(
        "0204 07 706f72  0407 05 657468302f31  0602 0078  0602 ffff  1202 abcd  fe06 0080c2 01 0014  0000 ffffffff",
    );
    let repr = LldpRepr::parse(&pdu).unwrap();
    assert_eq!(
        repr.chassis_id,
        Some(ChassisId::Other {
            subtype: ChassisSubtype::LocallyAssigned,
            id: b"por".to_vec()
        })
    );
    assert_eq!(
        repr.port_id,
        PortId::Other {
            subtype: PortSubtype::InterfaceName,
            id: b"eth0/1".to_vec()
        }
    );
    assert_eq!(repr.ttl, 120);
    assert_eq!(
        repr.other_tlvs,
        [
            RawTlv {
                kind: 9,
                value: vec![0xab, 0xcd]
            },
            RawTlv {
                kind: 127,
                value: hex("0080c2 01 0014")
            }
        ]
    );
    assert_eq!(repr.phone_mac(), None);
    let odd = LldpRepr::parse(&hex("0203 63 0102  0407 03 64167f123456  0602 0078")).unwrap();
    assert_eq!(
        odd.chassis_id,
        Some(ChassisId::Other {
            subtype: ChassisSubtype::Unknown(0x63),
            id: vec![1, 2]
        })
    );
}

/// Values that do not fit their fields are refused when emitting, not cut (a MED VLAN ID: `med/tests.rs`).
#[test]
fn emit_refuses_what_does_not_fit() {
    let mut long = vvx411();
    long.system_name = Some("x".repeat(512));
    assert!(matches!(
        long.emit(&mut Vec::new()),
        Err(WireError::TooLarge {
            value: 512,
            max: 511,
            ..
        })
    ));
}

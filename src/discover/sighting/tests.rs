//! Frames as the lab captured them (`fixtures/captures/lab-discovery.pcap`, tcpdump in the namespace lab) read as
//! sightings, and the reader's robustness: every truncation of every captured frame, arbitrary frames with each
//! EtherType discovery reads, and mutated captured frames (about 140,000 cases in all, a few seconds in release).

use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;

use super::*;
use crate::wire::testkit::{cases, mutated};

fn capture() -> Vec<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/captures/lab-discovery.pcap");
    let file = std::fs::File::open(path).unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(file).unwrap();
    let mut frames = Vec::new();
    while let Some(p) = r.next_packet() {
        frames.push(p.unwrap().data.into_owned());
    }
    frames
}

fn at() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

#[test]
fn each_poly_phone_of_the_lab_says_what_it_is_in_its_own_protocol() {
    let sightings: Vec<Sighting> = capture()
        .iter()
        .filter_map(|f| from_frame(f, at(), None))
        .collect();
    let said = |mac: &str, source: Source| -> Option<(String, String)> {
        let mac: Mac = mac.parse().unwrap();
        sightings
            .iter()
            .find(|s| s.mac == Some(mac) && s.source == source && s.model.is_some())
            .map(|s| {
                (
                    s.model.clone().unwrap(),
                    s.firmware.clone().unwrap_or_default(),
                )
            })
    };
    assert_eq!(
        said("64167F000011", Source::Lldp),
        Some(("VVX 411".into(), "6.4.5.1210".into()))
    );
    assert_eq!(
        said("64167F000012", Source::Cdp),
        Some(("VVX 250".into(), "6.4.5.1210".into()))
    );
    assert_eq!(
        said("482567000013", Source::Dhcp),
        Some(("CCX 500".into(), "8.1.3.1301".into()))
    );
    assert_eq!(
        said("64167F000015", Source::Lldp),
        Some(("VVX 450".into(), "6.4.7.4560".into()))
    );
    assert_eq!(
        said("64167F000015", Source::Dhcp),
        Some(("VVX 450".into(), "6.4.7.4560".into()))
    );
    // The booting phone's LLDP has no management address: no IP from it.
    let booting: Mac = "64167F000015".parse().unwrap();
    assert!(
        sightings
            .iter()
            .filter(|s| s.mac == Some(booting))
            .all(|s| s.ip.is_none())
    );
    // The VVX 411's LLDP names its address.
    let vvx: Mac = "64167F000011".parse().unwrap();
    assert!(sightings.iter().any(|s| s.mac == Some(vvx)
        && s.source == Source::Lldp
        && s.ip == Some("198.18.0.11".parse().unwrap())));
}

#[test]
fn the_agents_own_frames_are_not_sightings() {
    let own: Mac = "020000000001".parse().unwrap();
    let frames = capture();
    let from_us = frames
        .iter()
        .filter(|f| f.get(6..12) == Some(&own.0[..]))
        .count();
    assert!(from_us > 0, "the capture holds the sweep's requests");
    assert!(
        frames
            .iter()
            .filter_map(|f| from_frame(f, at(), Some(own)))
            .all(|s| s.mac != Some(own))
    );
}

/// The lab's frames re-sent under QinQ (802.1ad S-tag 100 around an 802.1Q tag 20) or two 802.1Q tags read as the
/// same sightings, in VLAN 20 inside VLAN 100: every protocol discovery reads looks past both tags.
#[test]
fn frames_under_two_vlan_tags_are_the_same_sightings() {
    for frame in capture() {
        let untagged = from_frame(&frame, at(), None);
        if let Some(s) = &untagged {
            assert_eq!(s.segment, Some(Segment::Ours { vlan: None }));
        }
        for tags in ["88a8 0064 8100 a014", "8100 0064 8100 0014"] {
            let mut tagged = frame.clone();
            tagged.splice(12..12, crate::wire::testkit::hex(tags));
            let expected = untagged.clone().map(|s| Sighting {
                segment: Some(Segment::Tagged {
                    vlan: 20,
                    outer: Some(100),
                }),
                ..s
            });
            assert_eq!(from_frame(&tagged, at(), None), expected, "{tags}");
        }
    }
    assert!(
        capture()
            .iter()
            .any(|f| from_frame(f, at(), None).is_some())
    );
}

#[test]
fn every_truncation_of_every_captured_frame_is_read_without_panicking() {
    let mut n = 0usize;
    for frame in capture() {
        for len in 0..=frame.len() {
            if let Some(s) = from_frame(&frame[..len], at(), None) {
                let mac = s.mac.expect("frames always give a MAC");
                assert_eq!(mac.0[0] & 1, 0, "never a group MAC");
            }
            n += 1;
        }
    }
    assert!(n > 30_000, "{n} truncations");
}

fn ethertype() -> impl Strategy<Value = [u8; 2]> {
    prop_oneof![
        Just([0x08, 0x06]),
        Just([0x08, 0x00]),
        Just([0x88, 0xcc]),
        Just([0x81, 0x00]),
        (0u16..=1500).prop_map(u16::to_be_bytes),
        any::<[u8; 2]>(),
    ]
}

proptest! {
    #![proptest_config(cases(60_000))]

    /// Arbitrary frames of each kind discovery reads never panic, and never name a group MAC.
    #[test]
    fn arbitrary_frames_never_panic(
        head in any::<[u8; 12]>(),
        kind in ethertype(),
        body in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut frame = head.to_vec();
        frame.extend_from_slice(&kind);
        frame.extend(body);
        if let Some(s) = from_frame(&frame, at(), None) {
            prop_assert!(s.mac.is_some_and(|m| m.0[0] & 1 == 0));
        }
    }
}

proptest! {
    #![proptest_config(cases(40_000))]

    /// The lab's real frames with bytes flipped, inserted, cut or lengths lied about never panic.
    #[test]
    fn mutated_lab_frames_never_panic(frame in mutated(capture())) {
        let _ = from_frame(&frame, at(), None);
    }
}

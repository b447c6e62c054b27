//! Which VLAN phones are on, what switches advertise, and what the technician is told to do about it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::discover::oui::Ouis;
use crate::discover::sighting::{Sighting, Source};
use crate::discover::{Readiness, Web};
use crate::profile::ProfileSet;

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_790_000_000 + secs)
}

fn mac(s: &str) -> Mac {
    s.parse().unwrap()
}

fn inventory() -> Inventory {
    Inventory::new(Ouis::poly(&ProfileSet::bundled().unwrap()))
}

fn heard(m: &str, source: Source, at: u64, ip: Option<&str>, segment: Segment) -> Sighting {
    let mut s = Sighting::new(Some(mac(m)), source, t(at));
    s.ip = ip.map(|i| i.parse().unwrap());
    s.segment = Some(segment);
    s
}

const VOICE: Segment = Segment::Tagged {
    vlan: 20,
    outer: None,
};
const DATA: Segment = Segment::Ours { vlan: None };
const VVX: &str = "64:16:7f:12:34:56";
const CCX: &str = "48:25:67:00:00:02";
const SWITCH: &str = "02:aa:00:00:00:01";

fn no_subinterface(_: &str, _: u16) -> Option<(VlanInterface, Vec<Ipv4Net>)> {
    None
}

/// `/proc/net/vlan/config` names each subinterface, its VLAN and its parent; headers and junk are skipped.
#[test]
fn the_kernel_vlan_table_is_read() {
    let text = "VLAN Dev name\t | VLAN ID\nName-Type: VLAN_NAME_TYPE_RAW_PLUS_VID_NO_PAD\n\
                eth0.20        | 20  | eth0\nvoice          | 120 | enp3s0\nbad | x | eth0\nbad | 5000 | eth0\n";
    assert_eq!(
        parse_config(text),
        vec![
            VlanInterface {
                name: "eth0.20".into(),
                id: 20,
                parent: "eth0".into()
            },
            VlanInterface {
                name: "voice".into(),
                id: 120,
                parent: "enp3s0".into()
            },
        ]
    );
    assert_eq!(parse_config(""), vec![]);
}

/// A subinterface name Linux would refuse (over 15 characters) is not suggested.
#[test]
fn suggested_names_fit_linux() {
    assert_eq!(suggested_name("eth0", 20), "eth0.20");
    assert_eq!(suggested_name("enx0123456789ab", 20), "vlan20");
}

/// A phone heard only in the voice VLAN, tagged, is not "not probed": it is out of this interface's reach, and
/// the fix names the VLAN, the subnet it announced and the exact commands.
#[test]
fn phones_heard_only_tagged_get_the_vlan_subinterface_fix() {
    let mut inv = inventory();
    inv.merge(heard(VVX, Source::Dhcp, 1, Some("198.18.20.37"), VOICE));
    inv.merge(heard(CCX, Source::Arp, 2, Some("198.18.20.38"), VOICE));
    let d = inv.get(mac(VVX)).unwrap();
    assert_eq!(d.readiness(), Readiness::OtherVlan(20));
    assert!(d.readiness().describe().contains("VLAN 20"));
    let p = picture(&inv, "eth0", no_subinterface);
    assert_eq!(p.elsewhere.len(), 1);
    let e = &p.elsewhere[0];
    assert_eq!(
        (e.vlan, e.phones.len(), e.subinterface.clone()),
        (20, 2, None)
    );
    assert!(
        e.fix.contains(
            "sudo ip link add link eth0 name eth0.20 type vlan id 20 && sudo ip link set eth0.20 up"
        ) && e.fix.contains("--interface eth0.20 --cidr 198.18.20.0/24")
            && e.fix.contains("from a host on VLAN 20"),
        "{}",
        e.fix
    );
}

/// When the host already has the subinterface with an address, the fix is to run on it.
#[test]
fn an_existing_subinterface_is_named_instead_of_created() {
    let mut inv = inventory();
    inv.merge(heard(VVX, Source::Lldp, 1, None, VOICE));
    let p = picture(&inv, "eth0", |parent, vlan| {
        Some((
            VlanInterface {
                name: format!("{parent}.{vlan}"),
                id: vlan,
                parent: parent.into(),
            },
            vec!["198.18.20.5/24".parse().unwrap()],
        ))
    });
    let fix = &p.elsewhere[0].fix;
    assert!(
        fix.contains("eth0.20 is on VLAN 20 (198.18.20.5/24)")
            && fix.contains("--interface eth0.20 --cidr 198.18.20.0/24")
            && !fix.contains("ip link add"),
        "{fix}"
    );
}

/// A phone that moves to the voice VLAN after its reboot shows the newest segment; one back on ours is reachable.
#[test]
fn the_newest_frame_says_which_vlan_a_phone_is_on() {
    let mut inv = inventory();
    inv.merge(heard(VVX, Source::Sweep, 1, Some("198.18.0.11"), DATA));
    inv.merge(heard(VVX, Source::Dhcp, 90, Some("198.18.20.37"), VOICE));
    let d = inv.get(mac(VVX)).unwrap();
    assert_eq!(d.segment.as_ref().unwrap().value, VOICE);
    inv.merge(heard(VVX, Source::Arp, 200, Some("198.18.0.11"), DATA));
    let d = inv.get(mac(VVX)).unwrap();
    assert_eq!(d.segment.as_ref().unwrap().value, DATA);
    assert_ne!(d.readiness(), Readiness::OtherVlan(20));
}

/// A phone whose web UI answered is reachable whatever its frames' tags say (a routed voice VLAN); one whose look
/// failed is still out of reach, and listed with the fix.
#[test]
fn only_a_web_ui_that_answered_takes_a_phone_out_of_the_vlan_picture() {
    let mut inv = inventory();
    inv.merge(heard(VVX, Source::Dhcp, 1, Some("198.18.20.37"), VOICE));
    let mut failed = Sighting::new(Some(mac(VVX)), Source::Http, t(2));
    failed.web = Some(Web {
        url: "https://198.18.20.37/".into(),
        problem: Some("no web UI answered on 443 or 80".into()),
        ..Web::default()
    });
    inv.merge(failed);
    assert_eq!(
        inv.get(mac(VVX)).unwrap().readiness(),
        Readiness::OtherVlan(20)
    );
    assert_eq!(picture(&inv, "eth0", no_subinterface).elsewhere.len(), 1);
    let mut answered = Sighting::new(Some(mac(VVX)), Source::Http, t(3));
    answered.web = Some(Web {
        url: "https://198.18.20.37/".into(),
        server: Some("Polycom SoundPoint IP Telephone HTTPd".into()),
        problem: Some("web UI not recognised".into()),
        ..Web::default()
    });
    inv.merge(answered);
    assert!(picture(&inv, "eth0", no_subinterface).elsewhere.is_empty());
}

/// A fingerprint begun before the phone moved to the voice VLAN, and finished after, does not make it ready at
/// its old address.
#[test]
fn a_look_begun_before_a_move_is_stale() {
    let mut inv = inventory();
    inv.merge(heard(VVX, Source::Sweep, 1, Some("198.18.0.11"), DATA));
    inv.merge(heard(VVX, Source::Dhcp, 5, Some("198.18.20.37"), VOICE));
    let mut late = Sighting::new(Some(mac(VVX)), Source::Http, t(3));
    late.ip = Some("198.18.0.11".parse().unwrap());
    late.web = Some(Web {
        url: "https://198.18.0.11/".into(),
        profile: Some("poly-vvx-6".into()),
        web_provisioning: true,
        ..Web::default()
    });
    inv.merge(late);
    let d = inv.get(mac(VVX)).unwrap();
    assert_eq!(d.ip.as_ref().unwrap().value.to_string(), "198.18.20.37");
    assert!(d.web.is_none());
    assert_eq!(d.readiness(), Readiness::OtherVlan(20));
}

/// A segment first learned from LLDP (link-local, sent in either VLAN) is not a move when ARP says otherwise, and
/// a frame showing the same address again moves nothing: what the web UI showed stays.
#[test]
fn lldp_and_a_repeated_address_move_nothing() {
    let mut inv = inventory();
    inv.merge(heard(VVX, Source::Lldp, 1, Some("198.18.20.37"), DATA));
    let mut web = Sighting::new(Some(mac(VVX)), Source::Http, t(2));
    web.ip = Some("198.18.20.37".parse().unwrap());
    web.web = Some(Web {
        url: "https://198.18.20.37/".into(),
        profile: Some("poly-vvx-6".into()),
        server: Some("Polycom SoundPoint IP Telephone HTTPd".into()),
        web_provisioning: true,
        ..Web::default()
    });
    inv.merge(web);
    inv.merge(heard(VVX, Source::Arp, 3, Some("198.18.20.37"), VOICE));
    inv.merge(heard(VVX, Source::Arp, 4, Some("198.18.20.37"), DATA));
    let d = inv.get(mac(VVX)).unwrap();
    assert!(d.web.is_some(), "{d:?}");
    assert_eq!(d.ip.as_ref().unwrap().value.to_string(), "198.18.20.37");
}

/// The voice VLAN a switch advertises (LLDP-MED network policy) is shown with who sent it.
#[test]
fn a_switch_advertising_a_voice_vlan_is_shown() {
    let mut inv = inventory();
    let mut s = heard(SWITCH, Source::Lldp, 1, None, DATA);
    s.hostname = Some("access-sw1".into());
    s.voice_vlan = Some(20);
    inv.merge(s);
    let p = picture(&inv, "eth0", no_subinterface);
    assert_eq!(
        p.advertised,
        vec![AdvertisedVlan {
            vlan: 20,
            by: "access-sw1 (02:aa:00:00:00:01)".into(),
            how: "lldp".into()
        }]
    );
    assert_eq!(
        p.lines(),
        vec![
            "access-sw1 (02:aa:00:00:00:01) advertises voice VLAN 20 on this port (LLDP-MED network policy)"
        ]
    );
}

/// How a segment reads in the table.
#[test]
fn segments_read_plainly() {
    assert_eq!(DATA.shown(), "-");
    assert_eq!(Segment::Ours { vlan: Some(20) }.shown(), "20");
    assert_eq!(VOICE.shown(), "20 (tagged)");
    assert_eq!(
        Segment::Tagged {
            vlan: 20,
            outer: Some(100)
        }
        .shown(),
        "20 in 100 (tagged)"
    );
}

/// A phone that moves to the voice VLAN after its reboot leaves its old address and web UI behind, even though
/// an ARP reply outranks the DHCP request that announces the new one: the address is the voice VLAN's.
#[test]
fn a_phone_moving_to_the_voice_vlan_leaves_its_old_address_behind() {
    let mut inv = inventory();
    inv.merge(heard(VVX, Source::Sweep, 1, Some("198.18.0.11"), DATA));
    let mut web = Sighting::new(Some(mac(VVX)), Source::Http, t(2));
    web.web = Some(Web {
        url: "https://198.18.0.11/".into(),
        ..Web::default()
    });
    inv.merge(web);
    inv.merge(heard(VVX, Source::Dhcp, 90, Some("198.18.20.37"), VOICE));
    let d = inv.get(mac(VVX)).unwrap();
    assert_eq!(d.ip.as_ref().unwrap().value.to_string(), "198.18.20.37");
    assert!(d.web.is_none());
    assert_eq!(d.readiness(), Readiness::OtherVlan(20));
    assert!(inv.at("198.18.0.11".parse().unwrap()).is_none());
    // LLDP sent untagged afterwards (link-local, either VLAN) does not move it back.
    inv.merge(heard(VVX, Source::Lldp, 95, None, DATA));
    let d = inv.get(mac(VVX)).unwrap();
    assert_eq!(d.segment.as_ref().unwrap().value, VOICE);
    assert_eq!(d.ip.as_ref().unwrap().value.to_string(), "198.18.20.37");
}

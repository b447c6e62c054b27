//! How sightings from different sources merge into one device per MAC.

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::discover::oui::Ouis;
use crate::profile::ProfileSet;

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_790_000_000 + secs)
}

fn mac(s: &str) -> Mac {
    s.parse().unwrap()
}

fn seen(m: &str, source: Source, at: u64, ip: Option<&str>) -> Sighting {
    let mut s = Sighting::new(Some(mac(m)), source, t(at));
    s.ip = ip.map(|i| i.parse().unwrap());
    s
}

fn inventory() -> Inventory {
    Inventory::new(Ouis::poly(&ProfileSet::bundled().unwrap()))
}

const VVX: &str = "64:16:7f:12:34:56";

#[test]
fn an_arp_reply_outranks_an_lldp_management_address_whatever_the_order() {
    let mut inv = inventory();
    inv.merge(seen(VVX, Source::Sweep, 1, Some("198.18.0.11")));
    inv.merge(seen(VVX, Source::Lldp, 2, Some("198.19.9.9")));
    let d = inv.get(mac(VVX)).unwrap();
    assert_eq!(d.ip.as_ref().unwrap().value, Ipv4Addr::new(198, 18, 0, 11));
    assert_eq!(d.ip.as_ref().unwrap().source, Source::Sweep);
    assert_eq!(d.sources.len(), 2);
}

#[test]
fn a_phone_that_moves_after_a_reboot_is_followed_by_its_newest_arp() {
    let mut inv = inventory();
    inv.merge(seen(VVX, Source::Sweep, 1, Some("198.18.0.11")));
    let change = inv.merge(seen(VVX, Source::Arp, 90, Some("198.18.0.77")));
    assert_eq!(change, Change::Updated(mac(VVX)));
    assert_eq!(
        inv.get(mac(VVX)).unwrap().ip.as_ref().unwrap().value,
        Ipv4Addr::new(198, 18, 0, 77)
    );
    assert!(
        inv.at(Ipv4Addr::new(198, 18, 0, 11)).is_none(),
        "the old address is released"
    );
    assert_eq!(inv.at(Ipv4Addr::new(198, 18, 0, 77)).unwrap().mac, mac(VVX));
}

#[test]
fn model_and_firmware_come_from_what_the_phone_says_and_the_newest_firmware_wins() {
    let mut inv = inventory();
    let mut lldp = seen(VVX, Source::Lldp, 1, None);
    lldp.model = Some("VVX 411".into());
    lldp.firmware = Some("6.4.5.1210".into());
    lldp.manufacturer = Some("Polycom".into());
    inv.merge(lldp);
    let mut dhcp = seen(VVX, Source::Dhcp, 300, None);
    dhcp.firmware = Some("6.4.7.4560".into());
    inv.merge(dhcp);
    let d = inv.get(mac(VVX)).unwrap();
    assert_eq!(d.model.as_ref().unwrap().value, "VVX 411");
    assert_eq!(d.firmware.as_ref().unwrap().value, "6.4.7.4560");
    assert_eq!(d.firmware.as_ref().unwrap().source, Source::Dhcp);
    assert_eq!(d.readiness(), Readiness::NoAddress);
}

#[test]
fn an_mdns_answer_waits_for_arp_to_name_its_mac() {
    let mut inv = inventory();
    let mut m = Sighting::new(None, Source::Mdns, t(1));
    m.ip = Some(Ipv4Addr::new(198, 18, 0, 30));
    m.hostname = Some("ccx-lab".into());
    assert_eq!(inv.merge(m), Change::None);
    assert!(inv.is_empty());
    inv.merge(seen(
        "48:25:67:00:00:30",
        Source::Sweep,
        2,
        Some("198.18.0.30"),
    ));
    let d = inv.get(mac("48:25:67:00:00:30")).unwrap();
    assert_eq!(d.hostname.as_ref().unwrap().value, "ccx-lab");
    assert!(d.sources.contains(&Source::Mdns));
}

#[test]
fn a_repeated_arp_is_no_news() {
    let mut inv = inventory();
    assert_eq!(
        inv.merge(seen(VVX, Source::Arp, 1, Some("198.18.0.11"))),
        Change::New(mac(VVX))
    );
    assert_eq!(
        inv.merge(seen(VVX, Source::Arp, 2, Some("198.18.0.11"))),
        Change::None
    );
    assert_eq!(inv.get(mac(VVX)).unwrap().last_seen, t(2));
}

#[test]
fn hosts_without_poly_evidence_are_listed_only_with_all() {
    let mut inv = inventory();
    inv.merge(seen(
        "02:00:00:00:00:99",
        Source::Sweep,
        1,
        Some("198.18.0.99"),
    ));
    inv.merge(seen(VVX, Source::Sweep, 1, Some("198.18.0.11")));
    assert_eq!(inv.listed(false).count(), 1);
    assert_eq!(inv.listed(true).count(), 2);
    assert_eq!(
        inv.get(mac("02:00:00:00:00:99")).unwrap().readiness(),
        Readiness::NotPoly
    );
    let vvx = inv.get(mac(VVX)).unwrap().readiness();
    assert_eq!(vvx, Readiness::NotChecked(NOT_PROBED.into()));
    // The run gives the reason when it knows it; other judgements keep theirs.
    let why = "eth0 has no IPv4 address";
    assert_eq!(
        vvx.unchecked_because(why).describe(),
        "not checked: eth0 has no IPv4 address"
    );
    assert_eq!(
        Readiness::NotPoly.unchecked_because(why),
        Readiness::NotPoly
    );
}

#[test]
fn a_recognised_web_ui_makes_a_phone_ready_and_sip3_says_what_to_do_instead() {
    let mut inv = inventory();
    let mut http = seen(VVX, Source::Http, 2, Some("198.18.0.11"));
    http.web = Some(Web {
        url: "https://198.18.0.11/".into(),
        profile: Some("poly-vvx-6".into()),
        generation: Some("session-csrf".into()),
        web_provisioning: true,
        cert_cn: Some(mac(VVX).to_string()),
        cert_o: Some("Polycom Inc.".into()),
        ..Web::default()
    });
    inv.merge(http);
    let d = inv.get(mac(VVX)).unwrap();
    assert_eq!(d.readiness(), Readiness::Ready);
    assert!(
        d.evidence().iter().any(|e| e.contains("certificate")),
        "{:?}",
        d.evidence()
    );

    let sp = "00:04:f2:00:00:03";
    let mut http = seen(sp, Source::Http, 2, None);
    http.web = Some(Web {
        profile: Some("soundpoint-sip3".into()),
        web_provisioning: false,
        instead: Some("set it on the phone's menu".into()),
        ..Web::default()
    });
    inv.merge(seen(sp, Source::Sweep, 1, Some("198.18.0.3")));
    inv.merge(http);
    assert!(
        matches!(inv.get(mac(sp)).unwrap().readiness(), Readiness::NotWeb(i) if i.contains("menu"))
    );
}

/// Ready means the provisioning run will trust the phone: a recognised web UI whose certificate is not this phone's
/// (another device at the address, or an interception) is not ready, and says why.
#[test]
fn a_certificate_that_is_not_this_phones_is_not_ready() {
    let web = |cn: &str, o: &str| Web {
        url: "https://198.18.0.11/".into(),
        profile: Some("poly-vvx-6".into()),
        generation: Some("session-csrf".into()),
        web_provisioning: true,
        cert_cn: Some(cn.into()),
        cert_o: Some(o.into()),
        ..Web::default()
    };
    for (cn, o, says) in [
        (
            "intercept.example.test",
            "Example Proxy",
            "not a Poly phone's",
        ),
        ("64167F000099", "Polycom Inc.", "names MAC 64167F000099"),
    ] {
        let mut inv = inventory();
        let mut http = seen(VVX, Source::Http, 2, Some("198.18.0.11"));
        http.web = Some(web(cn, o));
        inv.merge(http);
        match inv.get(mac(VVX)).unwrap().readiness() {
            Readiness::Web(why) => assert!(why.contains(says), "{why}"),
            other => panic!("{cn}: {other:?}"),
        }
    }
}

const OTHER: &str = "64:16:7f:00:00:99";

#[test]
fn two_devices_answering_arp_for_one_address_are_a_conflict_and_neither_is_ready() {
    let mut inv = inventory();
    inv.merge(seen(VVX, Source::Sweep, 1, Some("198.18.0.50")));
    inv.merge(seen(OTHER, Source::Sweep, 1, Some("198.18.0.50")));
    for (me, them) in [(VVX, OTHER), (OTHER, VVX)] {
        let d = inv.get(mac(me)).unwrap();
        let c = d.conflict.as_ref().expect("conflict marked");
        assert_eq!(c.ip, Ipv4Addr::new(198, 18, 0, 50));
        assert_eq!(c.others, vec![mac(them)]);
        assert_eq!(c.evidence.len(), 2, "{c:?}");
        let Readiness::Conflict(why) = d.readiness() else {
            panic!("{:?}", d.readiness())
        };
        assert!(
            why.contains(&mac(them).shown()) && why.contains("198.18.0.50"),
            "{why}"
        );
    }
    assert_eq!(inv.conflicts().count(), 2);
}

#[test]
fn an_address_handed_to_another_device_later_is_a_new_lease_not_a_conflict() {
    let mut inv = inventory();
    inv.merge(seen(VVX, Source::Arp, 1, Some("198.18.0.50")));
    inv.merge(seen(OTHER, Source::Arp, 1 + 61, Some("198.18.0.50")));
    assert_eq!(inv.conflicts().count(), 0);
}

#[test]
fn a_phone_that_left_the_address_is_not_in_conflict_with_the_one_that_took_it() {
    let mut inv = inventory();
    inv.merge(seen(VVX, Source::Sweep, 1, Some("198.18.0.50")));
    inv.merge(seen(VVX, Source::Arp, 5, Some("198.18.0.51")));
    inv.merge(seen(OTHER, Source::Arp, 6, Some("198.18.0.50")));
    assert_eq!(inv.conflicts().count(), 0);
}

#[test]
fn a_conflict_ends_when_one_device_moves_away() {
    let mut inv = inventory();
    inv.merge(seen(VVX, Source::Sweep, 1, Some("198.18.0.50")));
    inv.merge(seen(OTHER, Source::Sweep, 2, Some("198.18.0.50")));
    assert_eq!(inv.conflicts().count(), 2);
    let change = inv.merge(seen(VVX, Source::Arp, 9, Some("198.18.0.51")));
    assert_eq!(change, Change::Updated(mac(VVX)));
    assert_eq!(inv.conflicts().count(), 0);
}

#[test]
fn what_a_device_only_announced_or_asked_for_is_no_claim() {
    let mut inv = inventory();
    inv.merge(seen(VVX, Source::Sweep, 1, Some("198.18.0.50")));
    // A DHCP REQUEST for the address, an LLDP management address: not an answer for it on the wire.
    inv.merge(seen(OTHER, Source::Dhcp, 2, Some("198.18.0.50")));
    inv.merge(seen(OTHER, Source::Lldp, 3, Some("198.18.0.50")));
    assert_eq!(inv.conflicts().count(), 0);
}

//! Voice VLANs the way a real access port carries them, in network namespaces this test creates (198.18.0.0/15
//! only): the technician's port has the data VLAN untagged and the voice VLAN 20 tagged, so phones that moved to
//! the voice VLAN reach the laptop only as tagged frames. This machine's kernel has neither 802.1Q interfaces
//! nor a VLAN-filtering bridge, so the phones tag their own frames (lldpd's `vlan-tx`, and raw tagged ARP and DHCP),
//! which is what the technician's port sees either way; the kernel strips the tag on receipt, as on any Linux.

mod lab;

use std::net::Ipv4Addr;
use std::time::Duration;

use lab::{Lab, device, discover, finished, fleet, summary};
use polyprov::mac::Mac;
use polyprov::wire::arp::{ArpRepr, Operation};
use polyprov::wire::dhcp::{
    BootpOp, DhcpFrame, DhcpRepr, MessageType, PolyVendorClass, VendorClass,
};
use polyprov::wire::{BROADCAST, EtherType, EthernetRepr, VlanTag};

/// Phones already in the voice VLAN: a VVX sending LLDP and a gratuitous ARP there, a CCX renewing its lease.
const VVX_VOICE: &str = "64:16:7f:00:02:01";
const CCX_VOICE: &str = "48:25:67:00:02:02";
/// A phone still in the data VLAN, with its web UI up.
const VVX_DATA: &str = "64:16:7f:00:02:03";
/// The switch's own LLDP (a stand-in: a host sending what an access switch sends on the port).
const SWITCH: &str = "02:aa:00:00:00:01";

fn data(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, last)
}

fn voice(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 20, last)
}

/// The voice VLAN's tag: VLAN 20, priority 5.
fn voice_tag() -> VlanTag {
    VlanTag::dot1q(20, 5)
}

/// A gratuitous ARP a phone sends once its address is configured, in the voice VLAN.
fn tagged_gratuitous_arp(mac: &str, ip: Ipv4Addr) -> Vec<u8> {
    gratuitous_arp_in(mac, ip, None)
}

/// A gratuitous ARP in the voice VLAN, inside an `outer` service tag when there is one.
fn gratuitous_arp_in(mac: &str, ip: Ipv4Addr, outer: Option<VlanTag>) -> Vec<u8> {
    let mac: Mac = mac.parse().unwrap();
    let mut out = Vec::new();
    EthernetRepr {
        dst: BROADCAST,
        src: mac,
        vlan: Some(voice_tag()),
        outer,
        ethertype: EtherType::Arp,
    }
    .append_to(&mut out)
    .unwrap();
    let mut arp = [0u8; 28];
    ArpRepr {
        operation: Operation::Request,
        sender_mac: mac,
        sender_ip: ip,
        target_mac: Mac([0; 6]),
        target_ip: ip,
    }
    .emit(&mut arp)
    .unwrap();
    out.extend_from_slice(&arp);
    out
}

/// A CCX's DHCP REQUEST renewing its voice-VLAN address, tagged.
fn tagged_dhcp_request(mac: &str, ip: Ipv4Addr) -> Vec<u8> {
    let mac: Mac = mac.parse().unwrap();
    let frame = DhcpFrame {
        ethernet: EthernetRepr {
            dst: BROADCAST,
            src: mac,
            vlan: Some(voice_tag()),
            outer: None,
            ethertype: EtherType::Ipv4,
        },
        source: std::net::SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        destination: std::net::SocketAddrV4::new(Ipv4Addr::BROADCAST, 67),
        dhcp: DhcpRepr {
            op: BootpOp::Request,
            xid: 0x2020_2020,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            client_mac: mac,
            message_type: Some(MessageType::Request),
            requested_ip: Some(ip),
            host_name: None,
            vendor_class: Some(VendorClass::Poly(PolyVendorClass {
                company: Some("Polycom".into()),
                part: Some("CCX-CCX_500".into()),
                part_number: Some("3111-49710-001,1".into()),
                application: Some("SIP/8.1.3.1301/01-Mar-24 10:00".into()),
                bootrom: None,
                other: Vec::new(),
            })),
        },
    };
    let mut out = Vec::new();
    frame.emit(&mut out).unwrap();
    out
}

/// The technician's eth0's promiscuity count (`ip -d link`: a packet socket's membership raises it without setting
/// the PROMISC flag `ip link` shows).
fn promiscuity(lab: &Lab) -> u64 {
    let out = lab.exec(&lab.tech(), &["ip", "-d", "-j", "link", "show", "eth0"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip -j");
    v[0]["promiscuity"].as_u64().expect("promiscuity")
}

/// The lab: the switch advertising voice VLAN 20, two phones in it (tagged), one in the data VLAN.
fn voice_vlan_lab(tag: &str) -> Lab {
    let mut lab = Lab::new(tag);
    let ns = lab.host("sw1", SWITCH, None);
    lab.lldpd_with(
        &ns,
        "lldp-sw1",
        &["-M", "4"],
        "access-sw1",
        1,
        "configure med policy application voice tagged vlan 20 priority voice dscp 46",
    );
    let ns = lab.host("pv1", VVX_VOICE, None);
    lab.lldpd_with(&ns, "lldp-pv1", &["-M", "3", "-i", "-S",
        "Polycom;VVX-VVX_411;3111-48450-001,1;SIP/6.4.5.1210/12-Feb-21 10:00;UP/6.4.5.1210/12-Feb-21 10:05;"],
        "VVX411-64167F000201", 1, "configure ports eth0 lldp vlan-tx 20 prio 5");
    lab.host("pv2", CCX_VOICE, None);
    let ns = lab.host("pd3", VVX_DATA, Some(data(13)));
    lab.sim(
        &ns,
        "sim-pd3",
        &fleet("poly-vvx-6", "6.4.5.1210", VVX_DATA, "VVX 411", data(13)),
        data(13),
    );
    lab.wait_tcp(&ns, data(13), 443, Duration::from_secs(20));
    lab
}

/// Phones in the voice VLAN arrive tagged: each is listed with VLAN 20 and "not reachable" instead of "not
/// probed", the switch's advertised voice VLAN is shown, and the fix names the exact subinterface commands; the
/// phone in the data VLAN stays ready. With `--no-promiscuous`, LLDP is heard through the multicast groups alone.
#[test]
fn phones_in_the_voice_vlan_are_shown_with_it_and_the_fix() {
    if !lab::available("discover_vlan_lab") {
        return;
    }
    let lab = voice_vlan_lab("vl");
    let child = discover(
        &lab,
        &[
            "--cidr",
            "198.18.0.0/28",
            "--no-mdns",
            "--passive",
            "4",
            "--no-promiscuous",
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    lab.send_frames(
        &lab.ns("pv1"),
        &[tagged_gratuitous_arp(VVX_VOICE, voice(11))],
    );
    lab.send_frames(&lab.ns("pv2"), &[tagged_dhcp_request(CCX_VOICE, voice(12))]);
    // While it listens: the LLDP and CDP groups are joined, and the interface is not promiscuous.
    let maddr = lab.exec(&lab.tech(), &["ip", "maddr", "show", "dev", "eth0"]);
    let maddr = String::from_utf8_lossy(&maddr.stdout).to_string();
    let link = promiscuity(&lab);
    let out = finished(child);
    assert!(
        maddr.contains("01:80:c2:00:00:0e") && maddr.contains("01:00:0c:cc:cc:cc"),
        "LLDP and CDP groups joined: {maddr}"
    );
    assert_eq!(link, 0, "not promiscuous");

    let s = summary(&out.stdout);
    let vvx = device(&s, VVX_VOICE).expect("the VVX in the voice VLAN");
    assert_eq!(vvx["vlan"], 20, "{vvx}");
    assert_eq!(vvx["device"]["segment"]["value"]["tagged"]["vlan"], 20);
    assert_eq!(vvx["device"]["model"]["value"], "VVX 411");
    assert_eq!(
        vvx["provisionable"],
        serde_json::json!({"state": "other-vlan", "detail": 20})
    );
    let ccx = device(&s, CCX_VOICE).expect("the CCX in the voice VLAN");
    assert_eq!(ccx["vlan"], 20, "{ccx}");
    assert_eq!(ccx["address"], "198.18.20.12");
    assert_eq!(ccx["provisionable"]["state"], "other-vlan");
    let ready = device(&s, VVX_DATA).expect("the VVX in the data VLAN");
    assert_eq!(ready["provisionable"]["state"], "ready", "{ready}");
    assert!(ready["vlan"].is_null());

    let vlans = &s["vlans"];
    assert_eq!(vlans["advertised"][0]["vlan"], 20, "{vlans}");
    assert_eq!(vlans["advertised"][0]["how"], "lldp");
    assert!(
        vlans["advertised"][0]["by"]
            .as_str()
            .unwrap()
            .contains("access-sw1")
    );
    let elsewhere = &vlans["elsewhere"][0];
    assert_eq!(elsewhere["vlan"], 20);
    assert_eq!(elsewhere["phones"].as_array().unwrap().len(), 2);
    let fix = elsewhere["fix"].as_str().unwrap();
    assert!(
        fix.contains("sudo ip link add link eth0 name eth0.20 type vlan id 20")
            && fix.contains("--interface eth0.20 --cidr 198.18.20.0/24"),
        "{fix}"
    );
}

/// The text table gains a VLAN column when a VLAN is known, and the fix follows the table. By default the
/// interface listens promiscuously (network cards that filter VLANs in hardware pass every VLAN only then).
#[test]
fn the_table_shows_the_vlan_column_and_the_fix() {
    if !lab::available("discover_vlan_lab") {
        return;
    }
    let lab = voice_vlan_lab("vt");
    let child = lab::polyprov(
        &lab,
        &[
            "discover",
            "--interface",
            "eth0",
            "--cidr",
            "198.18.0.0/28",
            "--no-mdns",
            "--passive",
            "3",
        ],
    )
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    lab.send_frames(
        &lab.ns("pv1"),
        &[tagged_gratuitous_arp(VVX_VOICE, voice(11))],
    );
    let during = promiscuity(&lab);
    let out = finished(child);
    assert_eq!(during, 1, "promiscuous while listening");
    assert_eq!(
        promiscuity(&lab),
        0,
        "and not after: the membership ended with the socket"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listening promiscuously"),
        "announced"
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let header = text
        .lines()
        .find(|l| l.starts_with("MAC"))
        .expect("a table");
    assert!(header.contains("VLAN"), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("64167F000201"))
        .unwrap_or_else(|| panic!("the VVX's row: {text}"));
    assert!(
        row.contains("20 (tagged)") && row.contains("not reachable: on VLAN 20"),
        "{row}"
    );
    assert!(
        text.contains("VLAN: access-sw1") && text.contains("VLAN: 1 Poly phone(s) are on VLAN 20"),
        "{text}"
    );
}

/// Whether this kernel can make 802.1Q interfaces (CONFIG_VLAN_8021Q): tried in a namespace of the lab.
fn kernel_has_8021q(lab: &Lab) -> bool {
    let out = lab.exec(
        &lab.tech(),
        &[
            "ip", "link", "add", "link", "eth0", "name", "probe.9", "type", "vlan", "id", "9",
        ],
    );
    let _ = lab.exec(&lab.tech(), &["ip", "link", "del", "probe.9"]);
    out.status.success()
}

/// Adds `eth0.20` with `ip`/24 in the host's namespace.
fn subinterface(lab: &Lab, name: &str, ip: Ipv4Addr) {
    let ns = lab.ns(name);
    for args in [
        vec![
            "ip", "link", "add", "link", "eth0", "name", "eth0.20", "type", "vlan", "id", "20",
        ],
        vec!["ip", "addr", "add", &format!("{ip}/24"), "dev", "eth0.20"],
        vec!["ip", "link", "set", "eth0.20", "up"],
    ] {
        let out = lab.exec(&ns, &args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// On a VLAN subinterface (`--interface eth0.20`) discovery runs end to end in the voice VLAN: the sweep and the
/// fingerprint reach the phone there, it is ready, and it is listed in VLAN 20. Needs a kernel with 802.1Q
/// interfaces; where the kernel has none (this project's build machines), it says so and checks nothing.
#[test]
fn a_vlan_subinterface_discovers_the_voice_vlan_end_to_end() {
    if !lab::available("discover_vlan_lab") {
        return;
    }
    let mut lab = Lab::new("vs");
    if !kernel_has_8021q(&lab) {
        eprintln!(
            "a_vlan_subinterface_discovers_the_voice_vlan_end_to_end: SKIPPED: this kernel cannot make 802.1Q \
             interfaces (CONFIG_VLAN_8021Q); nothing was checked"
        );
        return;
    }
    let ns = lab.host("pv", VVX_VOICE, None);
    subinterface(&lab, "pv", voice(11));
    lab.sim(
        &ns,
        "sim-pv",
        &fleet("poly-vvx-6", "6.4.5.1210", VVX_VOICE, "VVX 411", voice(11)),
        voice(11),
    );
    subinterface(&lab, "t", voice(1));
    lab.wait_tcp(&lab.tech(), voice(11), 443, Duration::from_secs(20));
    let out = finished(
        lab::polyprov(
            &lab,
            &[
                "discover",
                "--interface",
                "eth0.20",
                "--json",
                "--cidr",
                "198.18.20.0/28",
                "--no-mdns",
                "--passive",
                "0",
            ],
        )
        .spawn()
        .unwrap(),
    );
    let s = summary(&out.stdout);
    let d = device(&s, VVX_VOICE).expect("the phone in the voice VLAN");
    assert_eq!(d["address"], "198.18.20.11", "{d}");
    assert_eq!(d["provisionable"]["state"], "ready", "{d}");
    assert_eq!(d["vlan"], 20, "{d}");
    assert_eq!(d["device"]["segment"]["value"]["ours"]["vlan"], 20);
}

/// A phone that comes back from its reboot in the voice VLAN (VLAN 20, a new address) is followed there by `onboard
/// --interface` when this host can reach that VLAN: live discovery hears the phone's tagged gratuitous ARP, the
/// address it announces is tried first, its certificate names the phone, and the run ends Inactive at the new
/// address. This kernel cannot make `eth0.20`, so the laptop reaches 198.18.20.0/24 by an on-link route, which is
/// what a VLAN subinterface (or a routed voice VLAN) gives the agent.
#[test]
fn onboard_follows_a_phone_into_the_voice_vlan_it_can_reach() {
    if !lab::available("discover_vlan_lab") {
        return;
    }
    const MOVER: &str = "64:16:7f:00:02:05";
    let mut lab = Lab::new("vf");
    let prov = lab.provisioning_service();
    let ns = lab.host("pf", MOVER, Some(data(15)));
    let out = lab.exec(
        &ns,
        &["ip", "addr", "add", "198.18.20.15/24", "dev", "eth0"],
    );
    assert!(out.status.success());
    // Its first reboot brings it back on 198.18.20.15, as a phone moved to the voice VLAN gets a new lease there.
    let fleet = fleet("poly-vvx-6", "6.4.5.1210", MOVER, "VVX 411", data(15))
        .replace("time-scale = 300.0", "time-scale = 60.0")
        + "[phone.faults]\nnew-ip = \"198.18.20.15\"\n";
    lab.sim(&ns, "sim-pf", &fleet, data(15));
    lab.wait_tcp(&ns, data(15), 443, Duration::from_secs(20));
    // Once it has gone down, it announces its new address in VLAN 20 every second (a gratuitous ARP, tagged).
    let garp: String = tagged_gratuitous_arp(MOVER, voice(15))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let announcer = "import socket,sys,time\nframe=bytes.fromhex(sys.argv[1])\nup=False\nwhile True:\n    s=socket.socket()\n    s.settimeout(0.3)\n    try:\n        s.connect(('198.18.0.15',443))\n        up=True\n    except Exception:\n        if up:\n            break\n    finally:\n        s.close()\n    time.sleep(0.05)\nr=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\nr.bind(('eth0',0))\nwhile True:\n    r.send(frame)\n    time.sleep(1)\n";
    lab.spawn(&ns, "announcer", &["python3", "-c", announcer, &garp]);
    let tech = lab.tech();
    let out = lab.exec(
        &tech,
        &["ip", "route", "add", "198.18.20.0/24", "dev", "eth0"],
    );
    assert!(out.status.success());
    let state = lab.path("runs").display().to_string();
    let out = lab::polyprov(
        &lab,
        &[
            "onboard",
            "--interface",
            "eth0",
            "--cidr",
            "198.18.0.0/27",
            "--time-scale",
            "60",
            "--yes",
            "--json",
            "--state-dir",
            &state,
        ],
    )
    .args(prov.flags())
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = lab::schema::json_lines(&stdout);
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "moved" && l["to"] == "198.18.20.15"),
        "the run followed the phone to its voice-VLAN address: {stdout}"
    );
    let ended = lines
        .iter()
        .find(|l| l["event"] == "ended")
        .expect("the run ended");
    assert_eq!(ended["summary"]["inactive"], 1, "{ended}");
    let result = lines
        .iter()
        .find(|l| l["event"] == "result")
        .expect("the phone's result");
    assert_eq!(result["result"]["address"], "198.18.20.15", "{result}");
}

/// A frame with two tags (an 802.1ad service tag, VLAN 100, around the voice VLAN's 802.1Q tag) keeps both: the
/// kernel strips the outer one with its TPID, polyprov asks for it back, and the phone is listed in VLAN 20 inside
/// VLAN 100.
#[test]
fn a_double_tagged_frame_keeps_both_tags() {
    if !lab::available("discover_vlan_lab") {
        return;
    }
    const QINQ: &str = "64:16:7f:00:02:06";
    let mut lab = Lab::new("vq");
    lab.host("pq", QINQ, None);
    let child = discover(&lab, &["--passive", "3"]);
    std::thread::sleep(Duration::from_millis(1500));
    lab.send_frames(
        &lab.ns("pq"),
        &[gratuitous_arp_in(
            QINQ,
            voice(16),
            Some(VlanTag::dot1ad(100, 0)),
        )],
    );
    let out = finished(child);
    let s = summary(&out.stdout);
    let d = device(&s, QINQ).expect("the phone behind two tags");
    assert_eq!(
        d["device"]["segment"]["value"],
        serde_json::json!({"tagged": {"vlan": 20, "outer": 100}}),
        "{d}"
    );
    assert_eq!(d["vlan"], 20);
    assert_eq!(d["address"], "198.18.20.16");
}

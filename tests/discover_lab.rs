//! Discovery against real components in network namespaces this test creates (198.18.0.0/24 only): simulated
//! phones bound inside phone namespaces with Poly MACs, real lldpd sending Poly LLDP-MED and CDP, a real avahi
//! responder, DHCP broadcasts of phones that are booting, and hosts that are not phones. Needs root and the
//! packages `.ci/run` installs; skipped (saying why) locally without them, never on CI.

mod lab;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use lab::{Lab, device, discover, field, finished, fleet, polyprov, summary};
use polyprov::mac::Mac;
use polyprov::wire::dhcp::{
    BootpOp, DhcpFrame, DhcpRepr, MessageType, PolyVendorClass, VendorClass,
};
use polyprov::wire::{BROADCAST, EtherType, EthernetRepr};

const VVX411: &str = "64:16:7f:00:00:11";
const VVX250: &str = "64:16:7f:00:00:12";
const CCX500: &str = "48:25:67:00:00:13";
const SIP3: &str = "00:04:f2:00:00:14";
const BOOTING: &str = "64:16:7f:00:00:15";
const PRINTER: &str = "02:42:ac:00:00:21";
const PC: &str = "02:42:ac:00:00:22";

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, last)
}

/// A Poly phone's DHCP broadcast with its RFC 3925 vendor class (`discovery.md` §1.2).
fn dhcp(
    mac: &str,
    kind: MessageType,
    part: &str,
    app: &str,
    requested: Option<Ipv4Addr>,
) -> Vec<u8> {
    let mac: Mac = mac.parse().unwrap();
    let frame = DhcpFrame {
        ethernet: EthernetRepr {
            dst: BROADCAST,
            src: mac,
            vlan: None,
            outer: None,
            ethertype: EtherType::Ipv4,
        },
        source: std::net::SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        destination: std::net::SocketAddrV4::new(Ipv4Addr::BROADCAST, 67),
        dhcp: DhcpRepr {
            op: BootpOp::Request,
            xid: 0x1234_5678,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            client_mac: mac,
            message_type: Some(kind),
            requested_ip: requested,
            host_name: None,
            vendor_class: Some(VendorClass::Poly(PolyVendorClass {
                company: Some("Polycom".into()),
                part: Some(part.into()),
                part_number: Some("3111-48400-001,1".into()),
                application: Some(app.into()),
                bootrom: Some(app.replace("SIP/", "UP/")),
                other: Vec::new(),
            })),
        },
    };
    let mut out = Vec::new();
    frame.emit(&mut out).unwrap();
    out
}

/// The standard lab: five Poly phones (one still booting, without an address) and two hosts that are not phones.
fn standard_lab(tag: &str) -> Lab {
    lab_with(tag, false)
}

/// The standard lab; with `prov`, a provisioning service the phones fetch from.
fn lab_with(tag: &str, prov: bool) -> Lab {
    let mut lab = Lab::new(tag);
    if prov {
        lab.provisioning_service();
    }
    let ns = lab.host("p11", VVX411, Some(ip(11)));
    lab.sim(
        &ns,
        "sim11",
        &fleet("poly-vvx-6", "6.4.5.1210", VVX411, "VVX 411", ip(11)),
        ip(11),
    );
    lab.lldpd(&ns, "lldp11", &["-M", "3", "-i", "-S",
        "Polycom;VVX-VVX_411;3111-48450-001,1;SIP/6.4.5.1210/12-Feb-21 10:00;UP/6.4.5.1210/12-Feb-21 10:05;"], "VVX411-64167F000011");

    let ns = lab.host("p12", VVX250, Some(ip(12)));
    lab.sim(
        &ns,
        "sim12",
        &fleet("poly-vvx-6", "6.4.5.1210", VVX250, "VVX 250", ip(12)),
        ip(12),
    );
    // CDP only (CDPv2 forced, LLDP off): platform and version as a VVX sends them.
    lab.lldpd(
        &ns,
        "cdp12",
        &[
            "-ccccc",
            "-ll",
            "-i",
            "-S",
            "Updater: 6.4.5.1210, App: 6.4.5.1210",
            "-P",
            "Polycom VVX 250",
        ],
        "SEP64167F000012",
    );

    let ns = lab.host("p13", CCX500, Some(ip(13)));
    lab.sim(
        &ns,
        "sim13",
        &fleet("poly-ccx", "8.1.3.1301", CCX500, "CCX 500", ip(13)),
        ip(13),
    );
    lab.avahi(
        &ns,
        "avahi13",
        "ccx500-lab",
        &[("Poly CCX 500", "_http._tcp", 443)],
    );

    let ns = lab.host("p14", SIP3, Some(ip(14)));
    lab.sim(
        &ns,
        "sim14",
        &fleet(
            "soundpoint-sip3",
            "3.2.7.0198",
            SIP3,
            "SoundPoint IP 650",
            ip(14),
        ),
        ip(14),
    );

    let ns = lab.host("p15", BOOTING, None);
    lab.lldpd(&ns, "lldp15", &["-M", "3", "-i", "-S",
        "Polycom;VVX-VVX_450;3111-48450-025,1;SIP/6.4.7.4560/05-Dec-24 00:58;UP/6.4.7.3828/05-Dec-24 01:22;"], "VVX450-64167F000015");

    let ns = lab.host("h21", PRINTER, Some(ip(21)));
    lab.avahi(
        &ns,
        "avahi21",
        "printer-lab",
        &[("Lab Printer", "_ipp._tcp", 631)],
    );
    lab.host("h22", PC, Some(ip(22)));

    for (n, last, port) in [
        ("p11", 11, 443),
        ("p12", 12, 443),
        ("p13", 13, 443),
        ("p14", 14, 80),
    ] {
        lab.wait_tcp(&lab.ns(n), ip(last), port, Duration::from_secs(20));
    }
    lab
}

/// DHCP broadcasts: the CCX renewing its lease, the booting VVX 450 asking for one.
fn broadcast_dhcp(lab: &Lab) {
    lab.send_frames(
        &lab.ns("p13"),
        &[dhcp(
            CCX500,
            MessageType::Request,
            "CCX-CCX_500",
            "SIP/8.1.3.1301/01-Mar-24 10:00",
            Some(ip(13)),
        )],
    );
    lab.send_frames(
        &lab.ns("p15"),
        &[dhcp(
            BOOTING,
            MessageType::Discover,
            "VVX-VVX_450",
            "SIP/6.4.7.4560/05-Dec-24 00:58",
            None,
        )],
    );
}

#[test]
fn discover_finds_exactly_the_phones_with_model_firmware_and_profile_from_each_source() {
    if !lab::available("discover_lab") {
        return;
    }
    let mut lab = standard_lab("a");
    let pcap = lab.path("lab.pcap").display().to_string();
    lab.spawn(&lab.tech(), "tcpdump", &["tcpdump", "-i", "eth0", "-U", "-w", &pcap, "arp or ether proto 0x88cc or ether dst 01:00:0c:cc:cc:cc or udp port 67 or udp port 5353"]);
    std::thread::sleep(Duration::from_millis(500));
    let child = discover(
        &lab,
        &[
            "--cidr",
            "198.18.0.0/24",
            "--rate",
            "fast",
            "--passive",
            "6",
        ],
    );
    std::thread::sleep(Duration::from_secs(1));
    broadcast_dhcp(&lab);
    let out = finished(child);
    let s = summary(&out.stdout);

    // Exactly the five Poly phones are listed; the printer and the PC were heard but are not phones.
    let listed: Vec<&str> = s["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["device"]["mac"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 5, "{listed:?}");
    assert_eq!(s["hosts"], 7, "all hosts heard: {s}");
    assert!(device(&s, PRINTER).is_none() && device(&s, PC).is_none());

    // VVX 411: address from the sweep, model and firmware from LLDP, profile from its web UI.
    let d = device(&s, VVX411).expect("VVX 411");
    // Proven at layer 2: the sweep's reply, or a newer ARP the phone sent itself.
    assert_eq!(field(d, "ip").0, "198.18.0.11");
    assert!(
        matches!(field(d, "ip").1.as_str(), Some("sweep" | "arp")),
        "{d}"
    );
    assert!(
        d["device"]["sources"]
            .as_array()
            .unwrap()
            .contains(&"sweep".into()),
        "{d}"
    );
    assert_eq!(field(d, "model"), (&"VVX 411".into(), &"lldp".into()));
    assert_eq!(field(d, "firmware").0, "6.4.5.1210");
    assert_eq!(d["device"]["web"]["value"]["profile"], "poly-vvx-6");
    assert_eq!(d["device"]["web"]["value"]["generation"], "session-csrf");
    assert_eq!(d["provisionable"]["state"], "ready");

    // VVX 250: model and firmware from CDP only.
    let d = device(&s, VVX250).expect("VVX 250");
    assert_eq!(field(d, "model"), (&"VVX 250".into(), &"cdp".into()));
    assert_eq!(field(d, "firmware"), (&"6.4.5.1210".into(), &"cdp".into()));
    assert_eq!(d["device"]["web"]["value"]["profile"], "poly-vvx-6");

    // CCX 500: model and firmware from its DHCP vendor class, host name from mDNS (avahi).
    let d = device(&s, CCX500).expect("CCX 500");
    assert_eq!(field(d, "model"), (&"CCX 500".into(), &"dhcp".into()));
    assert_eq!(field(d, "firmware").0, "8.1.3.1301");
    assert_eq!(d["device"]["web"]["value"]["profile"], "poly-ccx");
    assert_eq!(field(d, "hostname"), (&"ccx500-lab".into(), &"mdns".into()));
    assert_eq!(d["provisionable"]["state"], "ready");

    // SoundPoint on SIP 3.x: recognised, and told what to do instead of web provisioning.
    let d = device(&s, SIP3).expect("SoundPoint");
    assert_eq!(d["device"]["web"]["value"]["profile"], "soundpoint-sip3");
    assert_eq!(d["provisionable"]["state"], "not-web");

    // The booting VVX 450: no address yet, but model and firmware from LLDP and DHCP without a single probe.
    let d = device(&s, BOOTING).expect("booting VVX 450");
    assert!(d["device"]["ip"].is_null());
    assert_eq!(field(d, "model").0, "VVX 450");
    assert_eq!(field(d, "firmware").0, "6.4.7.4560");
    assert_eq!(d["provisionable"]["state"], "no-address");

    // The capture taken meanwhile builds the same inventory offline (model and firmware per MAC; no web UI).
    lab_capture_check(&lab, &pcap);
}

fn lab_capture_check(lab: &Lab, pcap: &str) {
    std::thread::sleep(Duration::from_millis(300));
    let out = Command::new(env!("CARGO_BIN_EXE_polyprov"))
        .args(["discover", "--pcap", pcap, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(&out.stdout);
    for (mac, model) in [
        (VVX411, "VVX 411"),
        (VVX250, "VVX 250"),
        (CCX500, "CCX 500"),
        (BOOTING, "VVX 450"),
    ] {
        let d = device(&s, mac)
            .unwrap_or_else(|| panic!("{mac} in the capture ({})", lab.log("tcpdump")));
        assert_eq!(field(d, "model").0, model);
    }
    assert!(
        device(&s, SIP3).is_some(),
        "the SoundPoint answered the sweep (ARP)"
    );
}

#[test]
fn without_a_range_discovery_only_listens_and_sends_nothing() {
    if !lab::available("discover_lab") {
        return;
    }
    let lab = standard_lab("p");
    let before = lab.frames_sent_by("t");
    let child = discover(&lab, &["--passive", "4"]);
    std::thread::sleep(Duration::from_secs(1));
    broadcast_dhcp(&lab);
    let out = finished(child);
    assert_eq!(
        lab.frames_sent_by("t") - before,
        0,
        "a passive run sent frames"
    );
    let s = summary(&out.stdout);
    for mac in [VVX411, VVX250, CCX500, BOOTING] {
        let d = device(&s, mac).unwrap_or_else(|| panic!("{mac} heard passively: {s}"));
        assert!(
            d["device"]["web"].is_null(),
            "no web request in a passive run"
        );
    }
}

#[test]
fn without_cap_net_raw_discover_names_the_exact_fix() {
    if !lab::available("discover_lab") {
        return;
    }
    let lab = Lab::new("c");
    // Run as nobody: no capabilities at all. The binary and the profiles are copied where nobody can read them (the
    // checkout may sit under a directory only root can enter).
    let bin = lab.path("polyprov");
    std::fs::copy(env!("CARGO_BIN_EXE_polyprov"), &bin).unwrap();
    let data = lab.path("data");
    std::fs::create_dir_all(data.join("device-profiles")).unwrap();
    for f in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/device-profiles")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), data.join("device-profiles").join(f.file_name())).unwrap();
    }
    Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(&lab.dir)
        .status()
        .unwrap();
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.tech(),
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .arg(&bin)
        .args(["discover", "--interface", "eth0", "--passive", "1"])
        .env("POLYPROV_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CAP_NET_RAW")
            && stderr.contains("setcap cap_net_raw+p")
            && stderr.contains("sudo"),
        "{stderr}"
    );
}

#[test]
fn onboard_discovers_the_range_and_takes_every_ready_phone_to_inactive() {
    if !lab::available("discover_lab") {
        return;
    }
    let mut lab = lab_with("o", true);
    let state = lab.path("runs").display().to_string();
    let pcap = lab.path("port.pcap").display().to_string();
    lab.capture_port_arp(&pcap);
    let server = lab
        .prov
        .clone()
        .expect("the lab's provisioning service")
        .flags();
    let out = polyprov(
        &lab,
        &[
            "onboard",
            "--interface",
            "eth0",
            "--cidr",
            "198.18.0.0/27",
            "--time-scale",
            "300",
            "--yes",
            "--json",
            "--state-dir",
            &state,
        ],
    )
    .args(&server)
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = lab::schema::json_lines(&stdout)
        .into_iter()
        .find(|v| v["event"] == "ended")
        .expect("onboard summary");
    // The three web-provisionable phones with addresses; the SoundPoint SIP 3.x and the booting phone are not targets.
    assert_eq!(summary["summary"]["inactive"], 3, "{summary}");
    // The polite default held for the whole run, discovery and every phone's reboots included: the switch port
    // never carried more ARP frames in a second than Dynamic ARP Inspection allows.
    std::thread::sleep(Duration::from_millis(300));
    let times = lab::capture_times(&lab, &pcap);
    let (sliding, whole) = lab::worst_seconds(&times);
    eprintln!(
        "onboard: {} ARP frames on the port, at most {sliding} in any second",
        times.len()
    );
    assert!(!times.is_empty(), "the capture saw the sweep");
    assert!(
        sliding <= 15 && whole <= 15,
        "{sliding} ARP frames in one second"
    );
}

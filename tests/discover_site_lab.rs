//! Discovery the way a real site behaves, in network namespaces this test creates (198.18.0.0/24 only): every ARP
//! frame the technician's laptop puts on its switch port — the sweep's requests and the kernel's requests for each
//! web UI fingerprinted — captured with tcpdump on the switch side of the port (Dynamic ARP Inspection counts all
//! of them, whoever built them, and err-disables the port above 15 a second); two devices answering for one
//! address; a phone whose LLDP comes on its real 30 s interval, after the sweep is over.

mod lab;

use std::net::Ipv4Addr;
use std::time::Duration;

use lab::{Lab, capture_times, device, discover, field, finished, fleet, summary, worst_seconds};

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, last)
}

const PHONES: u8 = 40;

fn phone_mac(i: u8) -> String {
    format!("64:16:7f:00:01:{i:02x}")
}

#[test]
fn the_port_carries_no_more_arp_than_dynamic_arp_inspection_allows_fingerprints_included() {
    if !lab::available("discover_port_lab") {
        return;
    }
    let mut lab = Lab::new("arp");
    // Forty phones in a row (Poly MACs), each answering ARP: every one is a candidate the agent connects to, so
    // the kernel resolves forty addresses on top of the sweep. Their web servers are not up yet (booting), so
    // each connection is refused at once: the fastest the fingerprints can go.
    for i in 0..PHONES {
        lab.host(
            &format!("q{i}"),
            &phone_mac(i),
            Some(Ipv4Addr::new(198, 18, 0, 200 + i)),
        );
    }
    let pcap = lab.path("port.pcap").display().to_string();
    lab.capture_port_arp(&pcap);

    let out = finished(discover(
        &lab,
        &["--cidr", "198.18.0.192/26", "--no-mdns", "--passive", "0"],
    ));
    std::thread::sleep(Duration::from_millis(500));
    let s = summary(&out.stdout);

    // Every phone was found and its web UI looked at (refused: booting).
    for i in 0..PHONES {
        let d = device(&s, &phone_mac(i)).unwrap_or_else(|| panic!("phone {i} found: {s}"));
        assert!(
            d["device"]["web"]["value"]["problem"].is_string(),
            "phone {i} fingerprinted: {d}"
        );
    }

    let times = capture_times(&lab, &pcap);
    let stats = s["stats"].as_str().unwrap_or_default().to_string();
    let sent: usize = stats
        .split("sweep: ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("sweep requests in {stats:?}"));
    // The capture holds the sweep's requests and the kernel's own: at least one per phone fingerprinted.
    assert!(
        times.len() >= sent + usize::from(PHONES),
        "{} frames on the port, {sent} of them the sweep's: the kernel's requests are missing ({stats})",
        times.len()
    );
    let (sliding, whole) = worst_seconds(&times);
    eprintln!(
        "port: {} ARP frames from the agent ({sent} sweep, {} the kernel's); at most {sliding} in any sliding second, {whole} in any clock second; agent's own count: {stats}",
        times.len(),
        times.len() - sent
    );
    assert!(
        sliding <= 15 && whole <= 15,
        "Dynamic ARP Inspection would err-disable the port: {sliding} ARP frames in one second"
    );
    // And the budget itself held: its cap, give or take two frames nobody could announce (the kernel answering a
    // phone's request for us).
    let cap = polyprov::discover::budget::POLITE_CAP as usize;
    assert!(
        sliding <= cap + 2,
        "{sliding} ARP frames in one second, the budget is {cap}"
    );
    // The agent's own count of the port agrees with the capture.
    let counted: usize = stats
        .split("the port saw ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("the port's count in {stats:?}"));
    assert!(
        counted.abs_diff(times.len()) <= 3,
        "the agent counted {counted}, the port carried {}",
        times.len()
    );
}

#[test]
fn two_hosts_answering_for_one_address_are_shown_as_a_conflict_and_never_saved() {
    if !lab::available("discover_lab") {
        return;
    }
    // A phone with its web UI, and a second phone someone gave the same static address (its web server off):
    // both answer ARP for .29, and which one a connection reaches is chance.
    const FIRST: &str = "64:16:7f:00:00:31";
    const SECOND: &str = "64:16:7f:00:00:32";
    let mut lab = Lab::new("dup");
    let ns = lab.host("pa", FIRST, Some(ip(29)));
    lab.sim(
        &ns,
        "sima",
        &fleet("poly-vvx-6", "6.4.5.1210", FIRST, "VVX 411", ip(29)),
        ip(29),
    );
    lab.wait_tcp(&ns, ip(29), 443, Duration::from_secs(20));
    lab.host("pb", SECOND, Some(ip(29)));
    let save = lab.path("targets.csv").display().to_string();
    let child = discover(
        &lab,
        &["--cidr", "198.18.0.0/27", "--no-mdns", "--save", &save],
    );
    let out = finished(child);
    let s = summary(&out.stdout);
    for (me, them) in [(FIRST, SECOND), (SECOND, FIRST)] {
        let d = device(&s, me).unwrap_or_else(|| panic!("{me} listed: {s}"));
        assert_eq!(d["provisionable"]["state"], "conflict", "{d}");
        let detail = d["provisionable"]["detail"].as_str().unwrap_or_default();
        assert!(
            detail.to_ascii_lowercase().contains(&them.replace(':', ""))
                && detail.contains("198.18.0.29"),
            "{detail}"
        );
        assert_eq!(
            d["device"]["conflict"]["evidence"].as_array().map(Vec::len),
            Some(2),
            "{d}"
        );
    }
    assert_eq!(s["ready"], 0, "{s}");
    assert_eq!(
        std::fs::read_to_string(&save).unwrap(),
        "ip,mac\n",
        "a conflicted address is never saved as a target"
    );
}

#[test]
fn a_fast_sweep_waits_for_the_lldp_that_names_a_phones_model_unless_told_not_to() {
    if !lab::available("discover_lab") {
        return;
    }
    const LATE: &str = "64:16:7f:00:00:41";
    let mut lab = Lab::new("late");
    let ns = lab.host("pl", LATE, Some(ip(9)));
    lab.sim(
        &ns,
        "siml",
        &fleet("poly-vvx-6", "6.4.5.1210", LATE, "VVX 411", ip(9)),
        ip(9),
    );
    lab.wait_tcp(&ns, ip(9), 443, Duration::from_secs(20));
    let range = ["--cidr", "198.18.0.0/28", "--no-mdns"];

    // Told not to wait: the run ends with the sweep and the fingerprint, the model unknown.
    let started = std::time::Instant::now();
    let out = finished(discover(&lab, &[&range[..], &["--passive", "0"]].concat()));
    let quick = started.elapsed();
    let s = summary(&out.stdout);
    let d = device(&s, LATE).expect("the phone");
    assert!(d["device"]["model"].is_null(), "{d}");
    assert_eq!(d["provisionable"]["state"], "ready");

    // By default it keeps listening while the phone has not said what it is; its LLDP (every 30 s, like a phone
    // after fast start) comes a few seconds in, and the run ends as soon as it has.
    let child = discover(&lab, &range);
    let started = std::time::Instant::now();
    std::thread::sleep(quick + Duration::from_secs(2));
    lab.lldpd_every(&ns, "lldpl", &["-M", "3", "-i", "-S",
        "Polycom;VVX-VVX_411;3111-48450-001,1;SIP/6.4.5.1210/12-Feb-21 10:00;UP/6.4.5.1210/12-Feb-21 10:05;"],
        "VVX411-64167F000041", 30);
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        lines.contains("have not said their model or firmware"),
        "the wait is announced: {lines}"
    );
    let s = summary(&out.stdout);
    let d = device(&s, LATE).expect("the phone");
    assert_eq!(field(d, "model"), (&"VVX 411".into(), &"lldp".into()));
    assert_eq!(field(d, "firmware").0, "6.4.5.1210");
    assert!(
        took < Duration::from_secs(30),
        "the wait ended when the model came, not at its limit: {took:?}"
    );
}

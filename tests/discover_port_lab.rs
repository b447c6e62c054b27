//! Discovery as the switch port sees it: every ARP frame the technician's laptop puts on its port — the sweep's
//! requests and the kernel's requests for each web UI fingerprinted — captured with tcpdump on the switch side
//! of the port, in network namespaces this test creates (198.18.0.0/24 only). Dynamic ARP Inspection counts all
//! of them, whoever built them, and err-disables the port above 15 a second.

mod lab;

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Duration;

use lab::{Lab, capture_times, device, summary, worst_seconds};

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

    let out = Command::new("ip")
        .args(["netns", "exec", &lab.tech()])
        .arg(env!("CARGO_BIN_EXE_polyprov"))
        .args([
            "discover",
            "--interface",
            "eth0",
            "--cidr",
            "198.18.0.192/26",
            "--no-mdns",
            "--passive",
            "0",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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

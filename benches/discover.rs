//! Discovery against arp-scan, side by side in one run, in the namespace lab (needs root and the packages
//! `.ci/run` installs; prints why it skipped otherwise). One /24 (254 addresses) with 200 hosts, 50 of them
//! simulated Poly phones with real lldpd (sending every second, the LLDP-MED fast-start rate), the rest hosts that
//! only answer ARP. Both tools sweep at 500 requests/s (arp-scan's default, polyprov's `fast`), 2 attempts, 500 ms
//! timeout, backoff 1.5. Measured: sweep time and hosts found with no loss, hosts found with 10 % of frames dropped
//! at random on the bridge (nftables), polyprov's time to a full inventory (MAC, IP, model, firmware, profile of all
//! 50 phones) against arp-scan's time to a bare MAC/IP list, and polyprov's peak RSS.
//!
//! Then a realistic arm, the way a real site behaves: 120 hosts of which 30 phones whose lldpd sends on its real
//! 30 s interval, each started at a random moment (random phase), and 25 % of frames dropped at random. polyprov
//! runs as it ships (`polite`, fingerprints, waiting for LLDP's model and firmware); arp-scan at its default rate.
//! Besides hosts found and time, each tool's ARP frames on the technician's switch port are captured with tcpdump
//! on the switch side and the most in any one second printed: the figure Dynamic ARP Inspection acts on (15/s).
//!
//! `cargo bench --bench discover` (add `-- --runs N` for more lossy runs, `-- --realistic` for that arm alone).

#[path = "../tests/lab/mod.rs"]
mod lab;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const PHONES: u8 = 50;
const HOSTS: u8 = 200;
const REAL_PHONES: u8 = 30;
const REAL_HOSTS: u8 = 120;

fn ip(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, 10 + i)
}

const VVX_LLDP: &str = "Polycom;VVX-VVX_411;3111-48450-001,1;SIP/6.4.5.1210/12-Feb-21 10:00;UP/6.4.5.1210/12-Feb-21 10:05;";

fn build() -> lab::Lab {
    build_with(HOSTS, PHONES, None)
}

/// `hosts` hosts, the first `phones` of them simulated phones with lldpd: sending every second, or with
/// `Some(interval)` on that interval, each lldpd started at a random moment within it.
fn build_with(hosts: u8, phones: u8, lldp_interval: Option<u32>) -> lab::Lab {
    let mut lab = lab::Lab::new("b");
    let started = Instant::now();
    for i in 0..hosts {
        let phone = i < phones;
        let mac = if phone {
            format!("64:16:7f:00:01:{i:02x}")
        } else {
            format!("02:42:ac:00:01:{i:02x}")
        };
        let ns = lab.host(&format!("h{i}"), &mac, Some(ip(i)));
        if phone {
            let fleet = format!(
                "time-scale = 1.0\n[[phone]]\nprofile = \"poly-vvx-6\"\nfirmware = \"6.4.5.1210\"\nmac = \"{}\"\nmodel = \"VVX 411\"\nip = \"{}\"\nhttps-port = 443\n",
                mac.replace(':', ""),
                ip(i)
            );
            lab.sim(&ns, &format!("sim{i}"), &fleet, ip(i));
            if lldp_interval.is_none() {
                lab.lldpd(
                    &ns,
                    &format!("lldp{i}"),
                    &["-M", "3", "-i", "-S", VVX_LLDP],
                    &format!("VVX411-{}", mac.replace(':', "")),
                );
            }
        }
    }
    if let Some(every) = lldp_interval {
        // Random phase: each phone's first LLDP at a random moment of one interval, then every `every` s.
        let mut order: Vec<(u64, u8)> = (0..phones)
            .map(|i| (pseudo_random(u64::from(i)) % (u64::from(every) * 1000), i))
            .collect();
        order.sort_unstable();
        let begun = Instant::now();
        for (at_ms, i) in order {
            std::thread::sleep(Duration::from_millis(at_ms).saturating_sub(begun.elapsed()));
            let mac = format!("64:16:7f:00:01:{i:02x}");
            let ns = lab.ns(&format!("h{i}"));
            lab.lldpd_every(
                &ns,
                &format!("lldp{i}"),
                &["-M", "3", "-i", "-S", VVX_LLDP],
                &format!("VVX411-{}", mac.replace(':', "")),
                every,
            );
        }
    }
    for i in 0..phones {
        lab.wait_tcp(
            &lab.ns(&format!("h{i}")),
            ip(i),
            443,
            Duration::from_secs(60),
        );
    }
    // Let every lldpd's fast start pass, so phones are in steady state (one frame per second each).
    std::thread::sleep(Duration::from_secs(3));
    eprintln!(
        "lab: {hosts} hosts ({phones} phones) built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    lab
}

/// A fixed pseudo-random number per seed (splitmix64): the same phases run after run.
fn pseudo_random(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// tcpdump on the technician's switch port, counting the ARP frames the laptop sends while `f` runs: how many,
/// and the most in any one second.
fn port_arp<T>(lab: &mut lab::Lab, tag: &str, f: impl FnOnce(&lab::Lab) -> T) -> (T, usize, usize) {
    let pcap = lab.path(&format!("port-{tag}.pcap")).display().to_string();
    lab.capture_port_arp(&pcap);
    let out = f(lab);
    std::thread::sleep(Duration::from_millis(500));
    let times = lab::capture_times(lab, &pcap);
    let (worst, _) = lab::worst_seconds(&times);
    (out, times.len(), worst)
}

struct ArpScan {
    secs: f64,
    found: BTreeSet<String>,
}

fn arp_scan(lab: &lab::Lab) -> ArpScan {
    let t = Instant::now();
    let out = lab.exec(
        &lab.tech(),
        &[
            "arp-scan",
            "--interface",
            "eth0",
            "--bandwidth",
            "256000",
            "--retry",
            "2",
            "--timeout",
            "500",
            "--backoff",
            "1.5",
            "--plain",
            "--quiet",
            "198.18.0.0/24",
        ],
    );
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "arp-scan: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    ArpScan { secs, found }
}

struct Polyprov {
    wall: f64,
    sweep: f64,
    found: BTreeSet<String>,
    full_inventory: Option<f64>,
    rss_kib: u64,
}

fn polyprov(lab: &lab::Lab) -> Polyprov {
    polyprov_at(lab, "fast", PHONES)
}

fn polyprov_at(lab: &lab::Lab, rate: &str, phones: u8) -> Polyprov {
    let t = Instant::now();
    let out = lab.exec(
        &lab.tech(),
        &[
            env!("CARGO_BIN_EXE_polyprov"),
            "discover",
            "--interface",
            "eth0",
            "--cidr",
            "198.18.0.0/24",
            "--rate",
            rate,
            "--no-mdns",
            "--all",
            "--json",
            "--print-resources",
        ],
    );
    let wall = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "polyprov: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let sweep = lines
        .iter()
        .find(|v| v["event"] == "sweep-done")
        .and_then(|v| v["took-ms"].as_f64())
        .unwrap_or(f64::NAN)
        / 1000.0;
    // Hosts whose address was proven at layer 2 (a reply to the sweep or their own ARP).
    let summary = lines
        .iter()
        .find(|v| v["event"] == "summary")
        .expect("summary");
    let found = summary["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            matches!(
                d["device"]["ip"]["source"].as_str(),
                Some("sweep" | "arp" | "http")
            )
        })
        .filter_map(|d| d["device"]["ip"]["value"].as_str().map(String::from))
        .collect();
    // The first moment every phone had MAC, IP, model, firmware and profile, replaying the stream.
    let mut complete = BTreeSet::new();
    let mut full_inventory = None;
    let mut model_at = std::collections::BTreeMap::new();
    for v in lines.iter().filter(|v| v["event"] == "device") {
        let d = &v["device"];
        if !d["model"].is_null() {
            model_at
                .entry(d["mac"].to_string())
                .or_insert_with(|| v["at-ms"].as_u64().unwrap_or(0));
        }
        let full = !d["ip"].is_null()
            && !d["model"].is_null()
            && !d["firmware"].is_null()
            && d["web"]["value"]["profile"].is_string();
        if full {
            complete.insert(d["mac"].to_string());
            if complete.len() == phones as usize && full_inventory.is_none() {
                full_inventory = v["at-ms"].as_f64().map(|ms| ms / 1000.0);
            }
        }
    }
    let mut at: Vec<u64> = model_at.values().copied().collect();
    at.sort_unstable();
    if let (Some(first), Some(last)) = (at.first(), at.last()) {
        eprintln!(
            "model heard (LLDP) for {} phones between {first} and {last} ms after start",
            at.len()
        );
    }
    let rss_kib = lines
        .iter()
        .find_map(|v| v["resources"]["peak-rss-kib"].as_u64())
        .unwrap_or(0);
    Polyprov {
        wall,
        sweep,
        found,
        full_inventory,
        rss_kib,
    }
}

fn main() {
    if !lab::available("bench discover") {
        return;
    }
    let runs: usize = std::env::args()
        .skip_while(|a| a != "--runs")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    if std::env::args().any(|a| a == "--realistic") {
        realistic();
        return;
    }
    let lab = build();
    let expected: BTreeSet<String> = (0..HOSTS).map(|i| ip(i).to_string()).collect();

    // No loss: same rate, same hosts, sweep time and time to a full inventory.
    let a = arp_scan(&lab);
    let p = polyprov(&lab);
    println!("\n== /24 with {HOSTS} hosts ({PHONES} Poly phones), 500 requests/s, no loss");
    println!("{:<44} {:>14} {:>14}", "", "arp-scan", "polyprov");
    println!(
        "{:<44} {:>13.3}s {:>13.3}s",
        "sweep finished (arp-scan: whole run)", a.secs, p.sweep
    );
    println!(
        "{:<44} {:>14} {:>14}",
        "hosts found",
        a.found.len(),
        p.found.len()
    );
    println!(
        "{:<44} {:>14} {:>14}",
        "same hosts as the lab has",
        a.found == expected,
        p.found == expected
    );
    let full = p.full_inventory.unwrap_or(f64::NAN);
    println!(
        "{:<44} {:>13.3}s {:>13.3}s",
        "MAC/IP list (arp-scan) vs full inventory", a.secs, full
    );
    println!(
        "{:<44} {:>14} {:>13.2}x",
        "full inventory / arp-scan's list",
        "",
        full / a.secs
    );
    println!(
        "{:<44} {:>14} {:>13.3}s",
        "polyprov wall time (incl. fingerprints)", "", p.wall
    );
    println!(
        "{:<44} {:>14} {:>11.1} MB",
        "polyprov peak RSS",
        "",
        p.rss_kib as f64 / 1024.0
    );

    // 10 % of frames dropped at random on the bridge: hosts found, run after run.
    lab.lossy(10);
    println!(
        "\n== the same with 10 % of frames dropped at random on the bridge ({runs} runs each)"
    );
    println!(
        "{:<6} {:>15} {:>15} {:>11} {:>15} {:>19}",
        "run",
        "arp-scan found",
        "polyprov found",
        "arp-scan s",
        "polyprov sweep",
        "polyprov inventory"
    );
    let (mut sa, mut sp) = (0, 0);
    for r in 1..=runs {
        let a = arp_scan(&lab);
        let p = polyprov(&lab);
        sa += a.found.len();
        sp += p.found.len();
        println!(
            "{:<6} {:>15} {:>15} {:>10.2}s {:>14.2}s {:>18.2}s",
            r,
            a.found.len(),
            p.found.len(),
            a.secs,
            p.sweep,
            p.full_inventory.unwrap_or(f64::NAN)
        );
    }
    println!("{:<6} {:>15} {:>15}", "total", sa, sp);
    println!(
        "(polyprov gives silent hosts {} more attempts once answers arrive only on retries, so its lossy sweep runs longer)",
        polyprov::discover::sweep::LOSSY_EXTRA
    );
    lab.lossless();
    drop(lab);
    realistic();
}

/// The realistic arm: 120 hosts, 30 phones with LLDP every 30 s at random phase, 25 % loss; polyprov as it
/// ships against arp-scan's default, with the port's ARP rate of each.
fn realistic() {
    let mut lab = build_with(REAL_HOSTS, REAL_PHONES, Some(30));
    let expected = usize::from(REAL_HOSTS);
    lab.lossy(25);
    let (a, a_frames, a_worst) = port_arp(&mut lab, "arp-scan", arp_scan);
    let (p, p_frames, p_worst) = port_arp(&mut lab, "polyprov", |lab| {
        polyprov_at(lab, "polite", REAL_PHONES)
    });
    println!(
        "\n== realistic: {REAL_HOSTS} hosts ({REAL_PHONES} phones, LLDP every 30 s at random phase), 25 % loss"
    );
    println!("{:<44} {:>14} {:>14}", "", "arp-scan", "polyprov");
    println!("{:<44} {:>14} {:>14}", "rate", "500/s", "polite");
    println!(
        "{:<44} {:>14} {:>14}",
        "hosts found",
        format!("{}/{expected}", a.found.len()),
        format!("{}/{expected}", p.found.len())
    );
    println!("{:<44} {:>13.1}s {:>13.1}s", "whole run", a.secs, p.wall);
    println!(
        "{:<44} {:>14} {:>13.1}s",
        "full inventory of the phones (incl. model)",
        "-",
        p.full_inventory.unwrap_or(f64::NAN)
    );
    println!(
        "{:<44} {:>14} {:>14}",
        "ARP frames on the port", a_frames, p_frames
    );
    println!(
        "{:<44} {:>12}/s {:>12}/s",
        "most ARP frames in one second (DAI: 15)", a_worst, p_worst
    );
    lab.lossless();
}

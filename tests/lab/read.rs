//! Reading what the lab's programs produced: captures (per-second ARP counts), `polyprov discover --json` summaries
//! and their devices; and the small builders the discovery labs share (a one-phone fleet file, a discover run).

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use super::{Lab, schema};

/// Timestamps (seconds) of the frames in a capture, read back with tcpdump.
pub fn capture_times(lab: &Lab, pcap: &str) -> Vec<f64> {
    let out = lab.exec(&lab.tech(), &["tcpdump", "-r", pcap, "-tt", "-n"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// The most frames in any one-second window, sliding, and in any whole second of the clock (how a switch's
/// per-interval counter sees them).
pub fn worst_seconds(times: &[f64]) -> (usize, usize) {
    let sliding = (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| **t - times[i] < 1.0)
                .count()
        })
        .max()
        .unwrap_or(0);
    let mut per_second = std::collections::BTreeMap::new();
    for t in times {
        *per_second.entry(*t as u64).or_insert(0usize) += 1;
    }
    (sliding, per_second.values().copied().max().unwrap_or(0))
}

/// Reads `polyprov discover --json` output: the summary line's devices, by MAC.
pub fn summary(stdout: &[u8]) -> serde_json::Value {
    schema::json_lines(&String::from_utf8_lossy(stdout))
        .into_iter()
        .find(|v| v["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary in {}", String::from_utf8_lossy(stdout)))
}

pub fn device<'a>(summary: &'a serde_json::Value, mac: &str) -> Option<&'a serde_json::Value> {
    summary["devices"].as_array()?.iter().find(|d| {
        d["device"]["mac"]
            .as_str()
            .is_some_and(|m| m.eq_ignore_ascii_case(&mac.replace(':', "")))
    })
}

/// A `polyprov sim` fleet file with one phone.
pub fn fleet(profile: &str, firmware: &str, mac: &str, model: &str, at: Ipv4Addr) -> String {
    format!(
        "time-scale = 300.0\n[[phone]]\nprofile = \"{profile}\"\nfirmware = \"{firmware}\"\nmac = \"{}\"\nmodel = \"{model}\"\nip = \"{at}\"\nhttps-port = 443\nhttp-port = 80\n",
        mac.replace(':', "")
    )
}

/// `polyprov ARGS` in the technician's namespace (`ip netns exec` execs it: the child's pid is polyprov's), with
/// the lab phones' admin password in the environment.
pub fn polyprov(lab: &Lab, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", &lab.tech(), env!("CARGO_BIN_EXE_polyprov")])
        .args(args)
        .env("POLYPROV_PASSWORD", "123")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// `polyprov discover --interface eth0 --json ARGS` on the technician's laptop, running.
pub fn discover(lab: &Lab, args: &[&str]) -> std::process::Child {
    polyprov(
        lab,
        &[&["discover", "--interface", "eth0", "--json"], args].concat(),
    )
    .spawn()
    .unwrap()
}

/// A run's output once it ended, which it must have done successfully (its stderr otherwise).
pub fn finished(child: std::process::Child) -> std::process::Output {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A device's field in a summary: its value and who said it.
pub fn field<'a>(
    d: &'a serde_json::Value,
    name: &str,
) -> (&'a serde_json::Value, &'a serde_json::Value) {
    (&d["device"][name]["value"], &d["device"][name]["source"])
}

//! `discover --pcap`: the inventory from a capture recorded in the namespace lab with tcpdump
//! (`fixtures/captures/lab-discovery.pcap`: the lab of tests/discover_lab.rs, during a sweep), without any network.

mod lab;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/captures/lab-discovery.pcap")
}

fn discover(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("polyprov")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("discover")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn summary(out: &std::process::Output) -> serde_json::Value {
    lab::summary(&out.stdout)
}

fn by_mac<'a>(s: &'a serde_json::Value, mac: &str) -> &'a serde_json::Value {
    lab::device(s, mac).unwrap_or_else(|| panic!("{mac} not in {s}"))
}

#[test]
fn a_lab_capture_gives_model_and_firmware_per_phone_from_lldp_cdp_and_dhcp() {
    let out = discover(&["--pcap", fixture().to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(&out);
    let vvx411 = by_mac(&s, "64167F000011");
    assert_eq!(vvx411["device"]["model"]["value"], "VVX 411");
    assert_eq!(vvx411["device"]["model"]["source"], "lldp");
    assert_eq!(vvx411["device"]["firmware"]["value"], "6.4.5.1210");
    assert_eq!(vvx411["device"]["ip"]["value"], "198.18.0.11");
    let vvx250 = by_mac(&s, "64167F000012");
    assert_eq!(vvx250["device"]["model"]["source"], "cdp");
    assert_eq!(vvx250["device"]["model"]["value"], "VVX 250");
    let ccx = by_mac(&s, "482567000013");
    assert_eq!(ccx["device"]["model"]["value"], "CCX 500");
    assert_eq!(ccx["device"]["firmware"]["value"], "8.1.3.1301");
    let booting = by_mac(&s, "64167F000015");
    assert!(booting["device"]["ip"].is_null());
    assert_eq!(booting["provisionable"]["state"], "no-address");
    // Offline there is no web UI to look at: the others are "not checked", never "ready".
    assert_eq!(vvx411["provisionable"]["state"], "not-checked");
    // The printer and the PC answered ARP but are not phones.
    assert_eq!(s["devices"].as_array().unwrap().len(), 5);
    let all = summary(&discover(&[
        "--pcap",
        fixture().to_str().unwrap(),
        "--json",
        "--all",
    ]));
    assert!(all["devices"].as_array().unwrap().len() >= 7, "{all}");
}

#[test]
fn the_summary_table_of_the_lab_capture() {
    let out = discover(&["--pcap", "fixtures/captures/lab-discovery.pcap"]);
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

/// Offline no web UI is looked at, so no phone is ready: `--save` says so, and the file holds only its header.
#[test]
fn saving_a_capture_with_no_ready_phone_says_zero() {
    let dir = tempdir();
    let saved = dir.join("ready.csv");
    let out = discover(&[
        "--pcap",
        fixture().to_str().unwrap(),
        "--save",
        saved.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("0 phones ready to onboard") && !text.contains("written to"),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), "ip,mac\n");
}

/// One MAC form everywhere a person reads: plain by default, the one asked for with `--mac-format`; JSON keeps
/// the plain form tools parse.
#[test]
fn macs_are_shown_in_the_form_asked_for() {
    let capture = fixture();
    let plain = discover(&["--pcap", capture.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&plain.stdout).contains("\n64167F000011 "));
    for (format, text) in [
        ("colon", "64:16:7F:00:00:11"),
        ("dash", "64-16-7F-00-00-11"),
        ("cisco", "6416.7f00.0011"),
    ] {
        let out = discover(&["--pcap", capture.to_str().unwrap(), "--mac-format", format]);
        let table = String::from_utf8_lossy(&out.stdout);
        assert!(table.contains(text), "{format}: {table}");
        let json = summary(&discover(&[
            "--pcap",
            capture.to_str().unwrap(),
            "--json",
            "--mac-format",
            format,
        ]));
        by_mac(&json, "64167F000011");
    }
}

#[test]
fn a_pcapng_capture_reads_like_the_pcap_it_was_converted_from() {
    let dir = tempdir();
    let ng = dir.join("lab.pcapng");
    let mut reader = PcapReader::new(std::fs::File::open(fixture()).unwrap()).unwrap();
    let mut writer = PcapNgWriter::new(std::fs::File::create(&ng).unwrap()).unwrap();
    writer
        .write_pcapng_block(InterfaceDescriptionBlock {
            linktype: pcap_file::DataLink::ETHERNET,
            snaplen: 0xffff,
            options: vec![],
        })
        .unwrap();
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        writer
            .write_pcapng_block(EnhancedPacketBlock {
                interface_id: 0,
                timestamp: p.timestamp,
                original_len: p.orig_len,
                data: p.data,
                options: vec![],
            })
            .unwrap();
    }
    drop(writer);
    let a = summary(&discover(&[
        "--pcap",
        fixture().to_str().unwrap(),
        "--json",
    ]));
    let b = summary(&discover(&["--pcap", ng.to_str().unwrap(), "--json"]));
    let macs = |s: &serde_json::Value| -> Vec<(String, String)> {
        s["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["device"]["mac"].to_string(),
                    d["device"]["model"]["value"].to_string(),
                )
            })
            .collect()
    };
    assert_eq!(macs(&a), macs(&b));
}

#[test]
fn a_truncated_capture_keeps_what_was_read_and_says_so() {
    let dir = tempdir();
    let cut = dir.join("cut.pcap");
    let bytes = std::fs::read(fixture()).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3 + 7]).unwrap();
    let out = discover(&["--pcap", cut.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cut.pcap") && stderr.contains("truncated"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("64167F000011"),
        "what was read is still shown:\n{stdout}"
    );
}

#[test]
fn a_file_that_is_not_a_capture_is_named_with_the_fix() {
    let dir = tempdir();
    let bad = dir.join("notes.txt");
    std::fs::write(&bad, "not a capture at all").unwrap();
    let out = discover(&["--pcap", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("notes.txt") && stderr.contains("tcpdump"),
        "{stderr}"
    );
}

#[test]
fn without_an_interface_discover_refuses_and_lists_the_interfaces() {
    let out = discover(&["--cidr", "198.18.0.0/24"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--interface") && stderr.contains("Interfaces here"),
        "{stderr}"
    );
}

#[test]
fn a_range_larger_than_a_slash_16_needs_the_override() {
    let out = discover(&["--interface", "lo", "--cidr", "198.18.0.0/15"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--allow-large-range"), "{stderr}");
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "polyprov-pcap-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

//! The JSON a program reads from polyprov is one vocabulary: the demo's whole `--json` stream (every event a mixed
//! fleet with faults produces) and its `report.json` match the JSON Schemas generated from the output types, and a
//! phone's result is the same object in the stream and in the report.

mod common;

use std::collections::BTreeSet;

use assert_cmd::Command;

#[test]
fn every_line_of_the_demo_stream_and_its_report_match_the_schema() {
    let out = Command::cargo_bin("polyprov")
        .unwrap()
        .args(["demo", "--json", "--time-scale", "120"])
        .env("POLYPROV_HOME", common::test_home())
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = common::json_lines(&stdout);
    let events: BTreeSet<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    for expected in [
        "note",
        "server-check",
        "probing",
        "certificate",
        "logging-in",
        "identified",
        "plan",
        "saving",
        "saved",
        "rebooting",
        "back",
        "inactive",
        "result",
        "ended",
    ] {
        assert!(
            events.contains(expected),
            "no {expected} line in the demo: {events:?}"
        );
    }
    let ended = lines
        .iter()
        .find(|l| l["event"] == "ended")
        .expect("an ended line");
    let run = std::path::PathBuf::from(ended["dir"].as_str().unwrap());
    let report = common::report_json(&run);
    assert_eq!(report["schema-version"], 1);
    assert_eq!(report["summary"], ended["summary"]);
    assert_eq!(report["run"]["site"], "polyprov demo");
    // The stream's results and the report's phones are the same objects (the times of writing aside).
    let results: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["event"] == "result")
        .map(|l| &l["result"])
        .collect();
    let phones = report["phones"].as_array().unwrap();
    assert_eq!(results.len(), phones.len());
    for p in phones {
        let r = results
            .iter()
            .find(|r| r["target"] == p["target"])
            .unwrap_or_else(|| panic!("no result line for {p:#}"));
        assert_eq!(*r, p, "the stream's result and report.json differ");
        assert!(
            p["mac"]
                .as_str()
                .unwrap()
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
    }
    let _ = std::fs::remove_dir_all(run);
}

#[test]
fn the_schema_command_prints_both_schemas() {
    for (args, title) in [
        (vec!["schema"], "Line"),
        (vec!["schema", "--report"], "ReportFile"),
    ] {
        let out = Command::cargo_bin("polyprov")
            .unwrap()
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success());
        let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(schema["title"], title);
        assert!(jsonschema::validator_for(&schema).is_ok());
    }
}

//! The command line as a person meets it: help text, the simulator's listing, fleet-file errors, the demo.

use assert_cmd::Command;

fn polyprov() -> Command {
    let mut c = Command::cargo_bin("polyprov").expect("binary");
    c.env_remove("POLYPROV_LOG")
        .env_remove("POLYPROV_SIM_PASSWORD");
    c
}

/// The top-level help lists every command with one line each.
#[test]
fn help_lists_the_commands() {
    let out = polyprov().arg("--help").output().unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!("help", String::from_utf8_lossy(&out.stdout));
}

/// `polyprov sim --help` documents every flag with its default.
#[test]
fn sim_help() {
    let out = polyprov().args(["sim", "--help"]).output().unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!("sim-help", String::from_utf8_lossy(&out.stdout));
}

/// `sim --phones 20` serves a mixed fleet of every family, each phone on its own loopback port.
#[test]
fn sim_serves_a_mixed_fleet() {
    let out = polyprov()
        .args(["sim", "--phones", "20", "--duration", "0", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let phones = v["phones"].as_array().unwrap();
    assert_eq!(phones.len(), 20);
    let mut profiles: Vec<&str> = phones
        .iter()
        .map(|p| p["profile"].as_str().unwrap())
        .collect();
    profiles.sort();
    profiles.dedup();
    assert_eq!(
        profiles,
        [
            "poly-ccx",
            "poly-vvx-5",
            "poly-vvx-6",
            "soundpoint-sip3",
            "soundpoint-ucs4"
        ]
    );
    let mut addrs: Vec<String> = phones
        .iter()
        .map(|p| {
            p["https"]
                .as_str()
                .or(p["http"].as_str())
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(addrs.iter().all(|a| a.starts_with("127.0.0.1:")));
    addrs.sort();
    addrs.dedup();
    assert_eq!(addrs.len(), 20, "every phone has its own listener");
    assert!(
        v["control"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
}

/// A fleet file with a mistake is refused with the file, the line and the field.
#[test]
fn bad_fleet_file_names_file_and_line() {
    let dir = std::env::temp_dir().join(format!("polyprov-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fleet.toml");
    std::fs::write(
        &path,
        "[[phone]]\nprofile = \"poly-ccx\"\nfirmware = \"8.1.3.1301\"\nmac = \"48256700000G\"\n",
    )
    .unwrap();
    let out = polyprov()
        .args(["sim", "--fleet"])
        .arg(&path)
        .arg("--duration")
        .arg("0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("fleet.toml") && err.contains("line 4") && err.contains("48256700000G"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A fleet file naming a build without recordings says which fixture is missing.
#[test]
fn unknown_build_is_named() {
    let dir = std::env::temp_dir().join(format!("polyprov-fleet2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fleet.toml");
    std::fs::write(
        &path,
        "[[phone]]\nprofile = \"poly-ccx\"\nfirmware = \"9.9.9\"\nmac = \"482567000001\"\n",
    )
    .unwrap();
    let out = polyprov()
        .args(["sim", "--fleet"])
        .arg(&path)
        .arg("--duration")
        .arg("0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("482567000001") && err.contains("fixtures/poly-ccx/9.9.9/pages.har"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The demo onboards its simulated fleet on loopback and ends with the report table.
#[test]
fn demo_onboards_a_fleet() {
    let out = polyprov()
        .args(["demo", "--time-scale", "600"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("24 simulated phones"), "{text}");
    assert!(
        text.contains("never returns")
            && text.contains("locked")
            && text.contains("soundpoint-sip3"),
        "{text}"
    );
    assert!(text.contains("24 phones: 15 Inactive"), "{text}");
    // The provisioning side's faults end in their named states, each with its fix.
    for state in ["server-unreachable", "config-missing", "server-refused"] {
        assert_eq!(
            text.lines()
                .filter(|l| l.contains(&format!("  {state}  ")))
                .count(),
            1,
            "one {state} phone: {text}"
        );
    }
    assert!(
        text.contains("porv.sim.test"),
        "the mistyped server is named: {text}"
    );
    assert!(text.contains("Reports: "), "{text}");
}

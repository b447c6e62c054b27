//! The report a run leaves: the table on screen, the CSV, and the administrator's MAC lists — snapshots of a
//! fixed set of outcomes, one of each kind.

use polyprov::fleet::targets::Target;
use polyprov::phone::provisioning::Current;
use polyprov::phone::{Outcome, Report, ServerFailure};
use polyprov::report::{self, Row};

fn target(addr: &str, ext: Option<&str>, user: Option<&str>) -> Target {
    let mut t = Target::from_address(addr, false).unwrap();
    t.extension = ext.map(str::to_string);
    t.user = user.map(str::to_string);
    t
}

fn base(
    mac: Option<&str>,
    ip: &str,
    model: Option<&str>,
    fw: (&str, &str),
    outcome: Outcome,
) -> Report {
    let mut r: Report = serde_json::from_value(serde_json::json!({
        "target": format!("https://{ip}/"), "address": ip, "mac": mac, "model": model, "profile": "poly-vvx-6",
        "family": "Poly VVX", "firmware-before": fw.0, "firmware-after": fw.1, "server-before": null,
        "server-after": null, "certificate-sha256": null, "reboots": 0, "password-changed": false,
        "mac-activation-only": false, "below-min-firmware": false, "warnings": [], "elapsed-secs": 0.0,
        "outcome": {"state": "inactive"}
    }))
    .unwrap();
    r.outcome = outcome;
    r
}

fn rows() -> Vec<Row> {
    let http = Current {
        server_type: "HTTP".into(),
        url: String::new(),
        user: String::new(),
    };
    let https = Current {
        server_type: "HTTPS".into(),
        url: "https://prov.example.test/poly/".into(),
        user: String::new(),
    };
    let mut inactive = base(
        Some("64167FA1B645"),
        "198.18.0.10",
        Some("VVX 411"),
        ("6.4.5.1210", "6.4.7.4560"),
        Outcome::Inactive,
    );
    inactive.reboots = 3;
    inactive.elapsed_secs = 612.4;
    inactive.server_before = Some(http.clone());
    inactive.server_after = Some(https.clone());
    inactive.evidence = vec![
        "app log: \"Prov|Starting to provision\"".into(),
        "app log: \"Prov|Finished updating configuration\"".into(),
    ];
    let mut already = base(
        Some("482567A1C802"),
        "198.18.0.11",
        Some("CCX 500"),
        ("8.1.3.1301", "8.1.3.1301"),
        Outcome::AlreadyProvisioned,
    );
    already.server_before = Some(https.clone());
    already.server_after = Some(https);
    let mut ip450 = base(
        Some("0004F2A1A415"),
        "198.18.0.12",
        Some("SoundPoint IP 450"),
        ("4.0.8.1608", "4.0.15.1047"),
        Outcome::Inactive,
    );
    ip450.mac_activation_only = true;
    ip450.below_min_firmware = false;
    ip450.reboots = 2;
    let wrong = base(
        Some("64167FA1B594"),
        "198.18.0.13",
        None,
        ("", ""),
        Outcome::needs_attention(
            "4 password(s) refused; stopped when the phone said one attempt is left so the phone does not lock its web UI. Fix: find the phone's admin password (or reset the phone to factory defaults) and run again",
        ),
    );
    let dead = base(
        Some("64167FA1B595"),
        "198.18.0.14",
        Some("VVX 450"),
        ("5.9.4.3247", "5.9.4.3247"),
        Outcome::failed(
            "the phone went down to reboot and did not come back within 451 s. Fix: check its power and cable, then look for it by MAC (it may have a new address)",
        ),
    );
    let sip3 = base(None, "198.18.0.15", None, ("", ""), Outcome::Unsupported {
        reason: "Polycom SoundPoint IP cannot set the provisioning server from its web UI; nothing was changed".into(),
        fix: Some("set it on the phone or hand it out with DHCP option 160".into()),
    });
    let typo = base(
        Some("64167FA1B596"),
        "198.18.0.16",
        Some("VVX 411"),
        ("6.4.5.1210", "6.4.5.1210"),
        Outcome::server_failed(
            ServerFailure::ServerUnreachable,
            &[
                "Prov|Could not resolve 'porv.example.test'".into(),
                "Prov|Server 'https://porv.example.test/poly/' is unresponsive".into(),
            ],
        ),
    );
    let quiet = base(
        Some("64167FA1B597"),
        "198.18.0.17",
        Some("VVX 250"),
        ("6.4.5.1210", "6.4.5.1210"),
        Outcome::unconfirmed(
            "the phone's log shows no provisioning attempt in the 180 s after its last reboot",
            "look at the phone: the lower-left button should read Inactive (or the service's activation prompt)",
        ),
    );
    vec![
        Row::new(
            &target("198.18.0.10", Some("2001"), Some("alice")),
            &inactive,
        ),
        Row::new(&target("198.18.0.16", None, None), &typo),
        Row::new(&target("198.18.0.17", None, None), &quiet),
        Row::new(&target("198.18.0.11", Some("2002"), None), &already),
        Row::new(&target("198.18.0.12", Some("2003"), Some("lobby")), &ip450),
        Row::new(&target("198.18.0.13", None, None), &wrong),
        Row::new(&target("198.18.0.14", None, None), &dead),
        Row::new(&target("198.18.0.15:8080", None, None), &sip3),
    ]
}

/// The end-of-run table: one line per phone with what to do next (a named failure's fix, "look at the phone" for an
/// unconfirmed one), then the counts.
#[test]
fn table() {
    insta::assert_snapshot!("table", report::table(&rows()));
}

/// The CSV export: every column, errors (with the phone's own log lines) split from their fixes, the evidence.
#[test]
fn csv() {
    insta::assert_snapshot!("csv", report::csv(&rows()).unwrap());
}

/// The administrator's lists: ready phones only, with extension and user, flags where activation needs care.
#[test]
fn activation_lists() {
    let r = rows();
    insta::assert_snapshot!("macs", report::mac_list(&r));
    insta::assert_snapshot!("activation", report::activation_csv(&r).unwrap());
}

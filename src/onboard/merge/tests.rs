//! How runs from many sites become one report: each phone once, under its site, with what the plan knew.

use std::path::PathBuf;

use super::*;

fn row(mac: &str, state: &str, finished: &str) -> Row {
    let text = String::new;
    Row {
        mac: mac.to_string(),
        target: "https://198.18.0.11/".into(),
        ip: "198.18.0.11".into(),
        address: "198.18.0.11".into(),
        model: "VVX 411".into(),
        profile: "poly-vvx-6".into(),
        family: "Poly VVX".into(),
        firmware_before: text(),
        firmware_after: text(),
        server_before: text(),
        server_after: text(),
        state: state.into(),
        reboots: 1,
        duration_secs: 60,
        error: text(),
        fix: text(),
        mac_activation_only: false,
        below_min_firmware: false,
        password_changed: false,
        extension: text(),
        user: text(),
        evidence: text(),
        warnings: text(),
        certificate_sha256: text(),
        started: text(),
        finished: finished.into(),
    }
}

fn run(dir: &str, site: Option<&str>, rows: Vec<Row>) -> RunRows {
    RunRows {
        dir: PathBuf::from(dir),
        site: site.map(String::from),
        rows,
    }
}

fn planned(text: &str) -> Vec<Planned> {
    crate::sites::parse(std::path::Path::new("company.csv"), text, None).unwrap()
}

/// Two sites' runs: each phone under its site, sites in name order.
#[test]
fn each_site_gets_its_phones() {
    let m = merge_rows(
        vec![
            run(
                "paris-run",
                Some("paris"),
                vec![row("64167F000011", "Inactive", "2026-12-02T10:00:00Z")],
            ),
            run(
                "lyon-run",
                Some("lyon"),
                vec![row("64167F000012", "failed", "2026-12-02T10:05:00Z")],
            ),
        ],
        None,
    )
    .unwrap();
    let sites: Vec<&str> = m.sites.iter().map(|s| s.site.as_str()).collect();
    assert_eq!(sites, ["lyon", "paris"]);
    assert_eq!(m.sites[1].rows[0].mac, "64167F000011");
    assert!(m.never_seen.is_empty() && m.unplanned.is_empty());
}

/// A site run twice (the second run finishing what the first could not): the phone appears once, with its newest
/// result.
#[test]
fn a_phone_in_two_runs_keeps_its_newest_result() {
    let m = merge_rows(
        vec![
            run(
                "first",
                Some("paris"),
                vec![row("64167F000011", "interrupted", "2026-12-02T10:00:00Z")],
            ),
            run(
                "second",
                Some("paris"),
                vec![row("64167F000011", "Inactive", "2026-12-02T11:00:00Z")],
            ),
        ],
        None,
    )
    .unwrap();
    assert_eq!(m.rows().count(), 1);
    assert_eq!(m.sites[0].rows[0].state, "Inactive");
    assert_eq!(m.sites[0].runs, vec![PathBuf::from("second")]);
    // Given in the other order, the newer finish still wins.
    let m = merge_rows(
        vec![
            run(
                "second",
                Some("paris"),
                vec![row("64167F000011", "Inactive", "2026-12-02T11:00:00Z")],
            ),
            run(
                "first",
                Some("paris"),
                vec![row("64167F000011", "interrupted", "2026-12-02T10:00:00Z")],
            ),
        ],
        None,
    )
    .unwrap();
    assert_eq!(m.sites[0].rows[0].state, "Inactive");
}

/// With the company plan: the plan's site and extension/user fill in, planned phones no run reached are listed,
/// and phones found but not planned are named.
#[test]
fn the_plan_places_phones_and_names_the_missing_and_the_unplanned() {
    let plan = planned(
        "mac,site,extension,user\n64167F000011,paris,201,Ana Lima\n64167F000013,lyon,301,Marc Roy\n",
    );
    let m = merge_rows(
        vec![
            run(
                "no-name",
                None,
                vec![row("64167F000011", "Inactive", "2026-12-02T10:00:00Z")],
            ),
            run(
                "lyon-run",
                Some("lyon"),
                vec![row("64167F000099", "Inactive", "2026-12-02T10:00:00Z")],
            ),
        ],
        Some(&plan),
    )
    .unwrap();
    let paris = m.sites.iter().find(|s| s.site == "paris").unwrap();
    assert_eq!(
        (
            paris.rows[0].extension.as_str(),
            paris.rows[0].user.as_str()
        ),
        ("201", "Ana Lima")
    );
    assert_eq!(
        m.never_seen
            .iter()
            .map(|p| p.mac.to_string())
            .collect::<Vec<_>>(),
        ["64167F000013"]
    );
    assert_eq!(
        m.unplanned,
        vec![("lyon".to_string(), "64167F000099".to_string())]
    );
}

/// A run that names no site, with a phone the plan does not place, is filed under its directory's name.
#[test]
fn a_run_without_a_site_name_is_named_after_its_directory() {
    let m = merge_rows(
        vec![run(
            "/runs/run-1",
            None,
            vec![row("64167F000011", "Inactive", "")],
        )],
        None,
    )
    .unwrap();
    assert_eq!(m.sites[0].site, "run-1");
}

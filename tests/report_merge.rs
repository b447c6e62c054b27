//! `report --merge`: two sites onboarded as their own runs (`onboard --run`, each with its site file), merged
//! with the company plan into one report — each phone once under its site, the admin's activation CSV with the
//! site column, a page with a section per site, and the planned phone no run reached.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use polyprov::sim::Simulator;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("polyprov-merge-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn polyprov(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_polyprov"));
    c.current_dir(dir)
        .env("POLYPROV_PASSWORD", PASSWORD)
        .env("POLYPROV_HOME", test_home())
        .env_remove("POLYPROV_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Onboards the simulator's phones `which` as site `site` into run directory `site`-run.
fn onboard_site(sim: &Simulator, dir: &Path, site: &str, which: &[usize]) {
    let mut targets = String::from("ip,mac\n");
    for i in which {
        let p = &sim.phones()[*i];
        targets.push_str(&format!("{},{}\n", p.addrs().0.unwrap(), p.mac));
    }
    std::fs::write(dir.join(format!("{site}.csv")), targets).unwrap();
    std::fs::write(
        dir.join(format!("{site}.toml")),
        format!("name = \"{site}\"\n"),
    )
    .unwrap();
    let out = polyprov(dir)
        .args([
            "onboard",
            "--targets",
            &format!("{site}.csv"),
            "--site",
            &format!("{site}.toml"),
            "--run",
            &format!("{site}-run"),
            "--yes",
            "--time-scale",
            "60",
        ])
        .args(server_flags(sim))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sites_merge_into_one_report_with_each_phone_once() {
    let sim = start(
        vec![
            phone("poly-vvx-6", "6.4.5.1210", "64167F000A01"),
            phone("poly-ccx", "8.1.3.1301", "482567000A02"),
            phone("poly-vvx-6", "6.4.5.1210", "64167F000A03"),
        ],
        60.0,
    )
    .await;
    let dir = scratch("two-sites");
    onboard_site(&sim, &dir, "paris", &[0, 1]);
    onboard_site(&sim, &dir, "lyon", &[2]);
    std::fs::write(
        dir.join("company.csv"),
        "mac,site,extension,user\n64167F000A01,paris,201,Ana Lima\n482567000A02,paris,202,\n\
         64167F000A03,lyon,301,Marc Roy\n64167F000A04,lyon,302,Not Plugged\n",
    )
    .unwrap();
    let out = polyprov(&dir)
        .args([
            "report",
            "--merge",
            "paris-run",
            "lyon-run",
            "--plan",
            "company.csv",
            "--out",
            "merged",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("paris: 2 phones: 2 Inactive")
            && stdout.contains("lyon: 1 phone: 1 Inactive")
            && stdout.contains("64167F000A04")
            && stdout.contains("All sites: 3 phones: 3 Inactive"),
        "{stdout}"
    );
    let merged = dir.join("merged");
    let activation = std::fs::read_to_string(merged.join("activation.csv")).unwrap();
    let mut lines = activation.lines();
    assert_eq!(
        lines.next(),
        Some("mac,extension,user,site,model,activate-by-mac-only,firmware-below-minimum")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').take(4).collect()).collect();
    assert_eq!(
        rows,
        vec![
            vec!["64167F000A03", "301", "Marc Roy", "lyon"],
            vec!["482567000A02", "202", "", "paris"],
            vec!["64167F000A01", "201", "Ana Lima", "paris"],
        ],
        "each ready phone once, with the plan's extension and user and its site: {activation}"
    );
    assert_eq!(
        std::fs::read_to_string(merged.join("macs.txt"))
            .unwrap()
            .lines()
            .count(),
        3
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("report.json")).unwrap())
            .unwrap();
    let schema = jsonschema::validator_for(&polyprov::output::merged_schema()).unwrap();
    assert!(schema.is_valid(&json), "{json:#}");
    assert_eq!(json["summary"]["inactive"], 3);
    assert_eq!(json["sites"].as_array().unwrap().len(), 2);
    assert_eq!(json["never-seen"][0]["mac"], "64167F000A04");
    assert_eq!(json["unplanned"].as_array().unwrap().len(), 0);
    let html = std::fs::read_to_string(merged.join("report.html")).unwrap();
    assert!(
        html.contains("id=\"site-paris\"")
            && html.contains("id=\"site-lyon\"")
            && html.contains("Planned, but reached by no run"),
        "a section per site and the missing phone"
    );
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

//! `onboard --plan`: a site's agent follows its slice of the company plan. The planned phones are onboarded with
//! the plan's extension and user; a phone found on the site that the plan does not list is reported as skipped and
//! never contacted (not even a TLS handshake) unless unplanned phones are allowed; a planned phone that is not
//! there is named before the run starts.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;
use polyprov::sim::Simulator;

/// `polyprov onboard --plan PLAN --run RUN …` of every simulated phone, unattended.
fn onboard(sim: &Simulator, dir: &Path, plan: &str, run: &str, extra: &[&str]) -> Output {
    onboard_all(sim, dir)
        .args(["--plan", plan, "--run", run])
        .args(extra)
        .output()
        .unwrap()
}

fn lines_of(out: &Output, event: &str) -> Vec<serde_json::Value> {
    json_lines(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .filter(|l| l["event"] == event)
        .collect()
}

fn rows(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    report["phones"].as_array().unwrap().clone()
}

fn row<'a>(rows: &'a [serde_json::Value], mac: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["mac"] == mac)
        .unwrap_or_else(|| panic!("no row for {mac}: {rows:#?}"))
}

/// Two planned phones go Inactive under the plan's extension and user; the third phone on the segment is skipped
/// as unplanned without a single request reaching it; the planned phone that is not there is named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_decides_which_phones_are_onboarded() {
    let sim = start(
        vec![
            phone("poly-vvx-6", "6.4.5.1210", "64167F000911"),
            phone("poly-ccx", "8.1.3.1301", "482567000912"),
            phone("poly-vvx-6", "6.4.5.1210", "64167F000913"),
        ],
        60.0,
    )
    .await;
    let dir = scratch("plan", "decides");
    std::fs::write(
        dir.join("paris.csv"),
        "mac,site,extension,user,model\n\
         64167F000911,paris,2417,Ada Lovelace,VVX 411\n\
         482567000912,paris,2418,,\n\
         64167F000999,paris,2419,Grace Hopper,\n",
    )
    .unwrap();
    let out = onboard(&sim, &dir, "paris.csv", "run-a", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let warnings: Vec<String> = lines_of(&out, "run-warning")
        .iter()
        .map(|w| w["warning"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        warnings.iter().any(|w| w.starts_with(
            "1 of site paris's 3 planned phone(s) not found here: 64167F000999 (extension 2419)"
        )),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("does not list, left alone") && w.ends_with(": 64167F000913")),
        "{warnings:#?}"
    );
    let ended = &lines_of(&out, "ended")[0];
    assert_eq!(ended["summary"]["inactive"], 2, "{ended:#}");
    assert_eq!(ended["summary"]["skipped"], 1, "{ended:#}");
    assert_eq!(ended["run"]["site"], "paris", "the plan names the site");

    let rows = rows(&dir.join("run-a"));
    let ada = row(&rows, "64167F000911");
    assert_eq!(ada["state"], "Inactive");
    assert_eq!(
        (&ada["extension"], &ada["user"]),
        (&"2417".into(), &"Ada Lovelace".into())
    );
    assert_eq!(row(&rows, "482567000912")["extension"], "2418");
    let stranger = row(&rows, "64167F000913");
    assert_eq!(stranger["state"], "skipped", "{stranger:#}");
    assert!(
        stranger["error"].as_str().unwrap().starts_with(
            "not planned: MAC 64167F000913 is on site paris's network but not in its plan"
        ),
        "{stranger:#}"
    );
    assert!(
        stranger["fix"]
            .as_str()
            .unwrap()
            .contains("--allow-unplanned"),
        "{stranger:#}"
    );
    let untouched = report(&sim, "64167F000913".parse().unwrap()).await;
    assert_eq!(
        untouched["stats"]["requests"], 0,
        "never contacted: {untouched:#}"
    );
    assert_eq!(untouched["stats"]["logins"], 0);
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A site with nothing planned (its file from `plan split` is only a header) onboards nothing; allowing unplanned
/// phones onboards what is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_site_plan_onboards_nothing_unless_unplanned_phones_are_allowed() {
    let sim = start(
        vec![phone("poly-vvx-6", "6.4.5.1210", "64167F000921")],
        60.0,
    )
    .await;
    let m = "64167F000921".parse().unwrap();
    let dir = scratch("plan", "empty");
    std::fs::write(dir.join("lyon.csv"), "mac,site,extension,user,model\n").unwrap();
    let out = onboard(&sim, &dir, "lyon.csv", "run-a", &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ended = &lines_of(&out, "ended")[0];
    assert_eq!(ended["summary"]["skipped"], 1, "{ended:#}");
    assert_eq!(ended["run"]["site"], "lyon", "named after its file");
    assert_eq!(report(&sim, m).await["stats"]["requests"], 0);

    let out = onboard(&sim, &dir, "lyon.csv", "run-b", &["--allow-unplanned"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines_of(&out, "ended")[0]["summary"]["inactive"], 1);
    assert_eq!(report(&sim, m).await["phase"], "inactive");
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

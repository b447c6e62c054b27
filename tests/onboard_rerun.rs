//! `onboard --run DIR`, the entry point automation repeats (an Ansible task run again): the first call starts the
//! run in DIR, a call after the run was killed finishes it without saving any phone twice, and a call after it is
//! done changes nothing. A directory that holds something else is refused.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use polyprov::sim::Simulator;

/// `polyprov onboard --run run-a …` of every simulated phone, unattended, in `dir`.
fn onboard(sim: &Simulator, dir: &Path) -> Command {
    let mut c = onboard_all(sim, dir);
    c.args(["--run", "run-a", "--concurrency", "2"]);
    c
}

/// The journal's lines of one kind of phone event (`saved`).
fn events(dir: &Path, kind: &str) -> usize {
    std::fs::read_to_string(dir.join("run-a/journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["event"]["event"] == kind)
        .count()
}

/// What `ended` says of the run.
fn ended(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    json_lines(&stdout)
        .into_iter()
        .find(|l| l["event"] == "ended")
        .unwrap_or_else(|| {
            panic!(
                "no ended line: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// Started, killed with SIGKILL after a save, called again (the run finishes, nothing saved twice), called once
/// more (nothing changes: no phone is logged into or saved).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_command_finishes_a_killed_run_and_then_changes_nothing() {
    let sim = start(
        vec![
            phone("poly-vvx-6", "6.4.5.1210", "64167F000901"),
            phone("poly-ccx", "8.1.3.1301", "482567000902"),
            phone("poly-vvx-6", "6.4.5.1210", "64167F000903"),
        ],
        60.0,
    )
    .await;
    let dir = scratch("rerun", "killed");
    let mut child = onboard(&sim, &dir).spawn().unwrap();
    let started = Instant::now();
    while events(&dir, "saved") < 1 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no phone saved in time"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // While it runs, the same command again is refused: one process per run.
    let second = onboard(&sim, &dir).output().unwrap();
    assert_eq!(
        second.status.code(),
        Some(4),
        "busy: automation waits and tries again"
    );
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("another polyprov is working on the run"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    child.kill().unwrap();
    let _ = child.wait();
    let saved_before = events(&dir, "saved");
    // The killed run's report, merged, has every phone: the unfinished ones as interrupted, not missing.
    let merged = Command::new(env!("CARGO_BIN_EXE_polyprov"))
        .args(["report", "--merge", "run-a", "--format", "csv"])
        .current_dir(&dir)
        .env("POLYPROV_HOME", test_home())
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&merged.stdout).to_string();
    assert_eq!(
        csv.lines().count(),
        4,
        "{csv}\n{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    assert!(csv.contains(",interrupted,"), "{csv}");
    let finished = std::fs::read_to_string(dir.join("run-a/journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"kind\":\"finished\""))
        .count();
    assert!(
        finished < 3,
        "the first run was cut short ({finished} finished)"
    );

    let again = onboard(&sim, &dir).output().unwrap();
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("already holds a run: resuming it"),
        "said it resumes"
    );
    assert_eq!(ended(&again)["summary"]["inactive"], 3);
    for p in sim.phones() {
        let r = report(&sim, p.mac).await;
        assert_eq!(r["phase"], "inactive", "{r:#}");
        assert_eq!(r["stats"]["conf-changes"], 1, "saved exactly once: {r:#}");
    }
    assert!(events(&dir, "saved") >= saved_before);
    let logins: Vec<serde_json::Value> = {
        let mut v = Vec::new();
        for p in sim.phones() {
            v.push(report(&sim, p.mac).await["stats"]["logins"].clone());
        }
        v
    };
    let saved_after = events(&dir, "saved");

    let third = onboard(&sim, &dir).output().unwrap();
    assert_eq!(
        third.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
    assert_eq!(ended(&third)["summary"]["inactive"], 3);
    assert_eq!(events(&dir, "saved"), saved_after, "nothing saved");
    for (p, before) in sim.phones().iter().zip(&logins) {
        let r = report(&sim, p.mac).await;
        assert_eq!(
            &r["stats"]["logins"], before,
            "not logged into again: {r:#}"
        );
        assert_eq!(r["stats"]["conf-changes"], 1);
    }
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A run directory whose journal was cut short before its first line (killed at once) starts a new run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_without_its_first_line_starts_over() {
    let sim = start(
        vec![phone("poly-vvx-6", "6.4.5.1210", "64167F000905")],
        60.0,
    )
    .await;
    let dir = scratch("rerun", "empty-journal");
    std::fs::create_dir_all(dir.join("run-a")).unwrap();
    std::fs::write(dir.join("run-a/journal.jsonl"), "").unwrap();
    std::fs::write(dir.join("run-a/run.lock"), "").unwrap();
    let out = onboard(&sim, &dir).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ended(&out)["summary"]["inactive"], 1);
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A directory that holds other files is never turned into a run directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_holding_something_else_is_refused() {
    let sim = start(
        vec![phone("poly-vvx-6", "6.4.5.1210", "64167F000904")],
        60.0,
    )
    .await;
    let dir = scratch("rerun", "other");
    std::fs::create_dir_all(dir.join("run-a")).unwrap();
    std::fs::write(dir.join("run-a/notes.txt"), "mine\n").unwrap();
    let out = onboard(&sim, &dir).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not empty and holds no run"), "{stderr}");
    let r = report(&sim, "64167F000904".parse().unwrap()).await;
    assert_eq!(r["stats"]["logins"], 0, "no phone touched");
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

//! Onboarding a batch: a mixed fleet reaching the right final states, a run killed with `kill -9` and resumed
//! without saving any phone twice, Ctrl-C, plain and JSON output, and bad targets/site files. Outcomes are read
//! from the simulator's control endpoint.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use polyprov::sim::{PhoneSpec, Simulator};

/// A URL for runs refused before anything is sent.
const NOWHERE: &str = "https://prov.example.test/poly/";

/// `onboard` of `targets.txt` towards [`NOWHERE`], unattended.
const ONBOARD_NOWHERE: [&str; 6] = [
    "onboard",
    "--targets",
    "targets.txt",
    "--server-url",
    NOWHERE,
    "--yes",
];

/// Six phones across the families, plus a SIP 3.x one.
fn fleet() -> Vec<PhoneSpec> {
    vec![
        phone("poly-ccx", "8.1.3.1301", "482567000601"),
        phone("poly-vvx-6", "6.4.5.1210", "64167F000602"),
        phone("poly-vvx-6", "5.9.4.3247", "64167F000603"),
        phone("poly-vvx-5", "5.6.3.1155", "0004F2000604"),
        phone("soundpoint-ucs4", "4.0.8.1608", "0004F2000605"),
        phone("soundpoint-ucs4", "4.0.15.1047", "0004F2000606"),
        phone("soundpoint-sip3", "3.2.7.0198", "0004F2000607"),
    ]
}

fn targets_file(sim: &Simulator, dir: &Path) -> PathBuf {
    let mut text = String::from("ip,mac,extension\n");
    for (i, p) in sim.phones().iter().enumerate() {
        let (https, http) = p.addrs();
        let addr = https
            .map(|a| a.to_string())
            .or(http.map(|a| format!("http://{a}")))
            .unwrap();
        text.push_str(&format!("{addr},{},{}\n", p.mac, 2001 + i));
    }
    let path = dir.join("targets.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("polyprov-fleet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn polyprov<S: AsRef<std::ffi::OsStr>>(args: &[S], dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_polyprov"));
    c.args(args)
        .current_dir(dir)
        .env("POLYPROV_PASSWORD", PASSWORD)
        .env("POLYPROV_HOME", test_home())
        .env_remove("POLYPROV_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn onboard_args(sim: &Simulator, targets: &str, scale: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "onboard",
        "--targets",
        targets,
        "--yes",
        "--time-scale",
        scale,
        "--state-dir",
        "runs",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(server_flags(sim));
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// The run directory the child created.
fn run_dir(dir: &Path) -> PathBuf {
    let runs = dir.join("runs");
    std::fs::read_dir(&runs)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.is_dir())
        .expect("a run directory")
}

fn journal_lines(dir: &Path) -> Vec<serde_json::Value> {
    let runs = dir.join("runs");
    let Some(run) = std::fs::read_dir(&runs)
        .ok()
        .and_then(|mut r| r.next())
        .and_then(|e| e.ok())
    else {
        return Vec::new();
    };
    std::fs::read_to_string(run.path().join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

async fn wait_child(mut child: Child) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                return child.wait_with_output().unwrap();
            }
            if start.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                return child.wait_with_output().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap()
}

/// Every web-provisionable phone was saved exactly once and is Inactive; the SIP 3.x phone was never logged into.
async fn assert_all_inactive_saved_once(sim: &Simulator) {
    for p in sim.phones() {
        let r = report(sim, p.mac).await;
        if r["profile"] == "soundpoint-sip3" {
            assert_eq!(r["stats"]["logins"], 0, "{r:#}");
            continue;
        }
        assert_eq!(r["phase"], "inactive", "{r:#}");
        assert_eq!(r["stats"]["conf-changes"], 1, "saved exactly once: {r:#}");
        assert_eq!(r["server-name"], sim.prov_url().unwrap().as_str());
    }
}

/// A mixed fleet with the faults of a real site reaches the right final state for every phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_fleet_reaches_the_right_final_states() {
    let mut specs = fleet();
    let mut with = |m: &str, f: fn(&mut PhoneSpec)| {
        f(specs
            .iter_mut()
            .find(|p| p.mac == mac(m))
            .expect("a phone of the fleet"))
    };
    with("64167F000602", |p| p.faults.never_returns = true);
    with("64167F000603", |p| p.password = "someone-elses".into());
    with("0004F2000605", |p| p.faults.locked = true);
    with("0004F2000606", |p| p.faults.busy_secs = 60);
    // The provisioning server's firmware for this VVX is still below the service's minimum.
    with("0004F2000604", |p| p.update_to = Some("5.8.2.4000".into()));
    let sim = start(specs, 300.0).await;
    let dir = scratch("mixed");
    let targets = targets_file(&sim, &dir);
    let child = polyprov(
        &onboard_args(&sim, targets.to_str().unwrap(), "300", &["--json"]),
        &dir,
    )
    .spawn()
    .unwrap();
    let out = wait_child(child).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed phone makes the run exit 1\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The JSON stream: every line is an object.
    let lines = common::json_lines(&stdout);
    assert!(lines.iter().any(|l| l["event"] == "saving"));
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "ended");
    let summary = &last["summary"];
    assert_eq!(summary["inactive"], 4, "{summary}");
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["needs-attention"], 1);
    assert_eq!(summary["unsupported"], 1);
    let states: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| {
            Some((
                l["result"]["mac"].as_str()?.to_string(),
                l["result"]["state"].as_str()?.to_string(),
            ))
        })
        .collect();
    let state = |mac: &str| {
        states
            .iter()
            .find(|(m, _)| m == mac)
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    };
    assert_eq!(state("64167F000602"), "failed");
    assert_eq!(state("64167F000603"), "needs attention");
    assert_eq!(
        state("0004F2000605"),
        "Inactive",
        "the locked phone was waited out"
    );
    assert_eq!(
        state("0004F2000606"),
        "Inactive",
        "the busy phone was retried"
    );
    let wrong = report(&sim, mac("64167F000603")).await;
    assert_eq!(
        wrong["locked-for"],
        serde_json::Value::Null,
        "the agent never locked a phone"
    );
    assert_eq!(report(&sim, mac("64167F000602")).await["phase"], "dead");
    // The files the administrator needs.
    let run = run_dir(&dir);
    let macs = std::fs::read_to_string(run.join("macs.txt")).unwrap();
    assert_eq!(macs.lines().count(), 4, "{macs}");
    assert!(macs.contains("482567000601") && !macs.contains("64167F000603"));
    let activation = std::fs::read_to_string(run.join("activation.csv")).unwrap();
    assert!(
        activation
            .starts_with("mac,extension,user,model,activate-by-mac-only,firmware-below-minimum\n"),
        "{activation}"
    );
    assert!(
        activation.contains("0004F2000604,2004,,"),
        "extension from the targets file: {activation}"
    );
    assert!(
        activation.contains("0004F2000604,2004,,VVX 410,false,true\n"),
        "the 4.0.8 SoundPoint is flagged below the minimum: {activation}"
    );
    let csv = std::fs::read_to_string(run.join("report.csv")).unwrap();
    assert_eq!(csv.lines().count(), 8);
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// `kill -9` in the middle of a run loses nothing that was recorded; `resume` — from another directory, with the
/// password file named relative to the site file — watches the saved phones without saving them again, from what
/// the journal knew of them (model, firmware, reboots), and starts the others over. Output without a terminal is
/// plain timestamped lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_then_resume_saves_nothing_twice() {
    let sim = start(fleet(), 60.0).await;
    let dir = scratch("kill9");
    let targets = targets_file(&sim, &dir);
    std::fs::create_dir_all(dir.join("site")).unwrap();
    std::fs::write(dir.join("site/site.toml"), "password-file = \"pw.txt\"\n").unwrap();
    std::fs::write(dir.join("site/pw.txt"), format!("{PASSWORD}\n")).unwrap();
    let mut child = polyprov(
        &onboard_args(
            &sim,
            targets.to_str().unwrap(),
            "60",
            &["--concurrency", "3", "--site", "site/site.toml"],
        ),
        &dir,
    )
    .env_remove("POLYPROV_PASSWORD")
    .spawn()
    .unwrap();
    let start = Instant::now();
    loop {
        let saved = journal_lines(&dir)
            .iter()
            .filter(|l| l["event"]["event"] == "saved")
            .count();
        if saved >= 2 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no phone saved in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    let out = child.wait_with_output().unwrap();
    let plain = String::from_utf8_lossy(&out.stdout);
    assert!(
        !plain.contains('\u{1b}'),
        "no terminal escapes without a terminal"
    );
    assert!(
        plain.lines().any(|l| l
            .trim_start()
            .split("s  ")
            .next()
            .is_some_and(|t| t.parse::<f64>().is_ok())),
        "timestamped lines: {plain}"
    );
    let finished_before = journal_lines(&dir)
        .iter()
        .filter(|l| l["kind"] == "finished")
        .count();
    assert!(finished_before < 7, "the run was really cut short");

    let run = run_dir(&dir);
    let elsewhere = scratch("kill9-elsewhere");
    let child = polyprov(&["resume", "--run", run.to_str().unwrap()], &elsewhere)
        .env_remove("POLYPROV_PASSWORD")
        .spawn()
        .unwrap();
    let out = wait_child(child).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the SIP 3.x phone needs a person\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("6 Inactive"), "{text}");
    assert_all_inactive_saved_once(&sim).await;
    // What the journal knew before the kill is in the reports: every Inactive phone has its model, and its
    // reboots are counted from the save (each phone of this fleet reboots at least once after it).
    let report = common::report_json(&run);
    let phones = report["phones"].as_array().expect("phones");
    for p in phones.iter().filter(|p| p["state"] == "Inactive") {
        assert_ne!(p["model"], "", "{p:#}");
        assert!(p["reboots"].as_u64() >= Some(1), "{p:#}");
        // When each phone was worked on, UTC: a start before the kill, a finish after the resume.
        let (started, finished) = (
            p["started"].as_str().unwrap(),
            p["finished"].as_str().unwrap(),
        );
        assert!(started.ends_with('Z') && started <= finished, "{p:#}");
    }
    // The run itself: which polyprov, which server, when.
    let meta = &report["run"];
    assert_eq!(meta["polyprov-version"], env!("CARGO_PKG_VERSION"));
    assert!(
        meta["server-url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")),
        "{meta:#}"
    );
    assert!(
        meta["started"].as_str() <= meta["finished"].as_str(),
        "{meta:#}"
    );
    assert!(
        meta["generated"].as_str().is_some_and(|g| g.ends_with('Z')),
        "{meta:#}"
    );

    // The report can be printed again from the journal, naming the run or taking the latest one.
    let out = polyprov(
        &["report", "--run", run.to_str().unwrap(), "--format", "macs"],
        &dir,
    )
    .output()
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 6);
    let latest = polyprov(
        &[
            "report",
            "--latest",
            "--state-dir",
            "runs",
            "--format",
            "macs",
        ],
        &dir,
    )
    .output()
    .unwrap();
    assert_eq!(latest.stdout, out.stdout, "the only run is the latest");
    // `polyprov runs` lists it with its server and how it ended.
    let listed = polyprov(&["runs", "--state-dir", "runs"], &dir)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    let name = run.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        listed.contains(&name) && listed.contains("6 Inactive") && listed.contains("https://"),
        "{listed}"
    );
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&elsewhere).ok();
}

/// Ctrl-C: no new phone starts, the run says how to resume and exits 130; resuming finishes every phone, none
/// saved twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_cleanly_and_resume_finishes() {
    let sim = start(fleet(), 60.0).await;
    let dir = scratch("ctrlc");
    let targets = targets_file(&sim, &dir);
    let child = polyprov(
        &onboard_args(
            &sim,
            targets.to_str().unwrap(),
            "60",
            &["--concurrency", "2"],
        ),
        &dir,
    )
    .spawn()
    .unwrap();
    let start = Instant::now();
    while !journal_lines(&dir)
        .iter()
        .any(|l| l["event"]["event"] == "saved")
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no phone saved in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = wait_child(child).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{text}");
    assert!(
        text.contains("Resume with: polyprov resume --run"),
        "{text}"
    );
    let lines = journal_lines(&dir);
    assert!(lines.iter().any(|l| l["kind"] == "interrupted"));
    let never_started = lines
        .iter()
        .filter(|l| {
            l["kind"] == "finished"
                && l["report"]["outcome"]
                    == serde_json::json!({"state": "interrupted", "saved": false})
        })
        .count();
    assert!(never_started >= 1, "phones not yet started stay pending");

    let run = run_dir(&dir);
    let out = wait_child(
        polyprov(&["resume", "--run", run.to_str().unwrap()], &dir)
            .spawn()
            .unwrap(),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_all_inactive_saved_once(&sim).await;
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// Mistakes in the targets or site file are refused before anything is sent, naming the file and line.
#[test]
fn bad_targets_and_site_files_name_the_line() {
    let dir = scratch("badfiles");
    std::fs::write(dir.join("targets.txt"), "198.18.0.10\n198.18.0.999\n").unwrap();
    let out = polyprov(&ONBOARD_NOWHERE, &dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("targets.txt, line 2") && err.contains("198.18.0.999"),
        "{err}"
    );

    std::fs::write(dir.join("targets.txt"), "198.18.0.10\n").unwrap();
    std::fs::write(
        dir.join("site.toml"),
        "server-url = \"https://p.example.test/\"\n\nconcurrency = \"lots\"\n",
    )
    .unwrap();
    let out = polyprov(
        &[
            "onboard",
            "--site",
            "site.toml",
            "--targets",
            "targets.txt",
            "--yes",
        ],
        &dir,
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("site.toml") && err.contains("line 3") && err.contains("concurrency"),
        "{err}"
    );

    // Values a run cannot use are refused before anything is sent, naming the flag or key.
    std::fs::write(dir.join("site.toml"), "[timeouts]\nreturn-secs = inf\n").unwrap();
    for (extra, said) in [
        (&["--site", "site.toml"][..], "return-secs"),
        (&["--time-scale", "1e-300"][..], "--time-scale"),
        (
            &["--concurrency", "2305843009213693952"][..],
            "--concurrency",
        ),
        (&["--settle-secs", "NaN"][..], "--settle-secs"),
        (&["--search-rate", "0"][..], "--search-rate"),
    ] {
        let mut args = ONBOARD_NOWHERE.to_vec();
        args.extend_from_slice(extra);
        let out = polyprov(&args, &dir).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(said), "{extra:?}: {err}");
    }

    // Without a terminal and without --yes nothing is changed.
    let out = polyprov(
        &[
            "onboard",
            "--targets",
            "targets.txt",
            "--server-url",
            NOWHERE,
            "--skip-server-check",
        ],
        &dir,
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    std::fs::remove_dir_all(&dir).ok();
}

/// A few phones named on the command line (`--target`, repeatable): the plan before the run counts them by family
/// from a look at their login pages (no password sent), names the SIP 3.x phone as hands-on work, and estimates
/// the duration; the dry run then reads both web-provisionable phones.
#[tokio::test(flavor = "multi_thread")]
async fn phones_named_with_target_are_planned_by_family_before_anything_changes() {
    let sim = start(
        vec![
            phone("poly-vvx-6", "6.4.5.1210", "64167F000681"),
            phone("poly-ccx", "8.1.3.1301", "482567000682"),
            phone("soundpoint-sip3", "3.2.7.0198", "0004F2000683"),
        ],
        60.0,
    )
    .await;
    let dir = scratch("target-flag");
    let mut args: Vec<String> = [
        "onboard",
        "--yes",
        "--dry-run",
        "--json",
        "--time-scale",
        "60",
        "--state-dir",
        "runs",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(server_flags(&sim));
    for p in sim.phones() {
        let (https, http) = p.addrs();
        let addr = https
            .map(|a| a.to_string())
            .or(http.map(|a| format!("http://{a}")))
            .unwrap();
        args.extend(["--target".to_string(), addr]);
    }
    let out = wait_child(polyprov(&args, &dir).spawn().unwrap()).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&stdout);
    let plan = &lines
        .iter()
        .find(|l| l["event"] == "run-plan")
        .expect("a plan")["plan"];
    assert_eq!(plan["phones"], 3, "{plan:#}");
    let groups: Vec<(&str, u64)> = plan["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["profile"].as_str().unwrap(), g["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(groups, vec![("poly-ccx", 1), ("poly-vvx-6", 1)]);
    assert_eq!(plan["hands-on"][0]["profile"], "soundpoint-sip3");
    assert!(plan["expected-secs"].as_u64().unwrap() > 0);
    let states: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "result")
        .map(|l| l["result"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "dry run").count(),
        2,
        "{states:?}"
    );
    assert!(states.contains(&"unsupported"), "{states:?}");
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

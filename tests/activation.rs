//! Past Inactive: once the admin has entered a phone's MAC in the admin console (the simulator's control endpoint
//! plays the console, without telling the phone), the agent reboots the phone through its web UI — 8x8's "Reboot
//! the phone" step — and follows it until its line registers (Active), or names `still-inactive` when the MAC was
//! not entered. Checked on the simulator's ground truth.

mod common;

use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use polyprov::phone::activate::activate;
use polyprov::phone::{Event, Job, Outcome, Report, ServerFailure, provision};
use polyprov::profile::ProfileSet;
use polyprov::sim::{PhoneSpec, Simulator};

const SCALE: f64 = 300.0;

fn job(sim: &Simulator) -> Job {
    common::job(sim, &sim.prov_url().unwrap(), SCALE)
}

type Seen = Arc<Mutex<Vec<Event>>>;

fn sink(seen: &Seen) -> impl Fn(Event) + Send + Sync + 'static {
    let seen = seen.clone();
    move |e| seen.lock().unwrap().push(e)
}

/// Onboard the phone to Inactive.
async fn to_inactive(sim: &Simulator, j: &Job) -> Report {
    let profiles = ProfileSet::bundled().unwrap();
    let seen: Seen = Arc::default();
    let r = tokio::time::timeout(
        Duration::from_secs(60),
        provision(j, &profiles, &sink(&seen)),
    )
    .await
    .unwrap();
    assert_eq!(r.outcome, Outcome::Inactive, "{:?}", r.outcome);
    let mac = r.mac.expect("the report names the phone's MAC");
    let truth = report(sim, mac).await;
    assert_eq!(
        truth["phase"], "inactive",
        "the phone itself shows Inactive"
    );
    r
}

/// The admin console saves the MAC without telling the phone.
async fn enter_mac(sim: &Simulator, mac: polyprov::mac::Mac) {
    console_activates(sim, mac, false).await
}

/// The admin console saves the MAC; with `reboot` it also tells the phone to fetch at once (it reboots).
async fn console_activates(sim: &Simulator, mac: polyprov::mac::Mac, reboot: bool) {
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = c
        .post(format!(
            "http://{}/phones/{mac}/activate",
            sim.control_addr()
        ))
        .body(format!(r#"{{"reboot": {reboot}}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
}

fn ccx(ext: &str) -> PhoneSpec {
    let mut s = phone("poly-ccx", "8.1.3.1301", "482567000A01");
    s.extension = Some(ext.into());
    s.activation_update = Some("8.2.2.0100".into());
    s
}

/// MAC entered: the agent's reboot brings the activated configuration (and the firmware the service names after
/// activation); the line registers under its extension; the report says Active with the phone's own evidence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entered_mac_is_rebooted_into_service() {
    let m = mac("482567000A01");
    let sim = start(vec![ccx("2417")], SCALE).await;
    let j = job(&sim);
    let before = to_inactive(&sim, &j).await;
    enter_mac(&sim, m).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        report(&sim, m).await["phase"],
        "inactive",
        "the console does not reboot the phone"
    );
    let profiles = ProfileSet::bundled().unwrap();
    let seen: Seen = Arc::default();
    let after = tokio::time::timeout(
        Duration::from_secs(60),
        activate(&j, &profiles, &before, &sink(&seen)),
    )
    .await
    .unwrap();
    assert_eq!(after.outcome, Outcome::Active, "{:?}", after.outcome);
    assert!(
        after
            .evidence
            .iter()
            .any(|e| e.contains("Sip Register Usr:2417")),
        "{:?}",
        after.evidence
    );
    assert!(seen.lock().unwrap().contains(&Event::RebootRequested));
    let truth = report(&sim, m).await;
    assert_eq!(truth["phase"], "registered");
    assert_eq!(truth["line"]["label"], "2417");
    assert_eq!(truth["firmware"], "8.2.2.0100");
    assert_eq!(
        truth["stats"]["web-reboots"], 1,
        "one reboot, through the web UI"
    );
    assert_eq!(truth["stats"]["conf-changes"], 1, "never saved again");
    assert_eq!(after.firmware_after.as_deref(), Some("8.2.2.0100"));
    sim.shutdown().await;
}

/// The console told the phone to reboot at once, so it is down when activation starts: the agent waits for it to
/// come back (counting the reboot) instead of failing at the refused connection, then goes on to Active.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_rebooting_on_its_own_is_waited_for() {
    let m = mac("482567000A01");
    let sim = start(vec![ccx("2418")], SCALE).await;
    let j = job(&sim);
    let before = to_inactive(&sim, &j).await;
    console_activates(&sim, m, true).await;
    // Down: its web server refuses connections.
    let web = sim.phones()[0].addrs().0.expect("an HTTPS address");
    let start = std::time::Instant::now();
    while tokio::net::TcpStream::connect(web).await.is_ok() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the console's reboot never took the phone down"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let profiles = ProfileSet::bundled().unwrap();
    let seen: Seen = Arc::default();
    let after = tokio::time::timeout(
        Duration::from_secs(60),
        activate(&j, &profiles, &before, &sink(&seen)),
    )
    .await
    .unwrap();
    assert_eq!(after.outcome, Outcome::Active, "{:?}", after.outcome);
    {
        let seen = seen.lock().unwrap();
        let waited = seen
            .iter()
            .position(|e| matches!(e, Event::Rebooting { .. }));
        let asked = seen.iter().position(|e| *e == Event::RebootRequested);
        assert!(
            waited.is_some() && waited < asked,
            "the phone's own reboot is waited for before logging in: {seen:?}"
        );
    }
    assert!(
        after.reboots > before.reboots + 1,
        "its own reboot is counted"
    );
    assert_eq!(
        report(&sim, m).await["phase"],
        "registered",
        "{:?} {:?}",
        seen.lock().unwrap(),
        after.evidence
    );
    sim.shutdown().await;
}

/// MAC not entered: the phone reboots, loads the same configuration, and its line stays unregistered: after the
/// activation window it is `still-inactive`, with the fix naming the admin console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mac_not_entered_is_still_inactive() {
    let m = mac("482567000A01");
    let sim = start(vec![ccx("2418")], SCALE).await;
    let mut j = job(&sim);
    let before = to_inactive(&sim, &j).await;
    j.timing.settle_secs = Some(120.0);
    let profiles = ProfileSet::bundled().unwrap();
    let seen: Seen = Arc::default();
    let after = tokio::time::timeout(
        Duration::from_secs(60),
        activate(&j, &profiles, &before, &sink(&seen)),
    )
    .await
    .unwrap();
    match &after.outcome {
        o @ Outcome::ServerFailed { failure, .. } => {
            assert_eq!(*failure, ServerFailure::StillInactive);
            let text = o.explained().unwrap_or_default();
            assert!(text.contains("admin console"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    let truth = report(&sim, m).await;
    assert_eq!(truth["phase"], "inactive");
    assert_eq!(truth["stats"]["web-reboots"], 1);
    sim.shutdown().await;
}

fn polyprov(args: &[String], dir: &std::path::Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_polyprov"))
        .args(args)
        .current_dir(dir)
        .env("POLYPROV_PASSWORD", PASSWORD)
        .env("POLYPROV_HOME", test_home())
        .env_remove("POLYPROV_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runs")
}

/// A run onboarded to Inactive, then `polyprov activate --run DIR --macs-entered` after the admin entered one of
/// the two MACs: that phone ends Active, the other still-inactive; the reports and the exit code say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activate_a_finished_run() {
    let a = mac("482567000A01");
    let b = mac("64167F000A02");
    let mut other = phone("poly-vvx-6", "6.4.5.1210", "64167F000A02");
    other.extension = Some("2419".into());
    let sim = start(vec![ccx("2417"), other], SCALE).await;
    let dir = std::env::temp_dir().join(format!("polyprov-activate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let targets: String = sim
        .phones()
        .iter()
        .map(|p| format!("{}\n", p.web_addr()))
        .collect();
    std::fs::write(dir.join("targets.txt"), targets).unwrap();
    let mut args: Vec<String> = [
        "onboard",
        "--targets",
        "targets.txt",
        "--yes",
        "--time-scale",
        "300",
        "--state-dir",
        "runs",
        "--settle-secs",
        "120",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(server_flags(&sim));
    let dir2 = dir.clone();
    let out = tokio::task::spawn_blocking(move || polyprov(&args, &dir2))
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let run = std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    enter_mac(&sim, a).await;
    let args = vec![
        "activate".to_string(),
        "--run".into(),
        run.display().to_string(),
        "--macs-entered".into(),
    ];
    let dir2 = dir.clone();
    let out = tokio::task::spawn_blocking(move || polyprov(&args, &dir2))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "one phone is still inactive: {text}"
    );
    assert!(
        text.contains(&a.to_string()) && text.contains(&b.to_string()),
        "{text}"
    );
    let report = common::report_json(&run);
    let state = |m: polyprov::mac::Mac| {
        report["phones"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["mac"] == m.to_string())
            .map(|p| p["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state(a).as_deref(), Some("Active"), "{report:#}");
    assert_eq!(state(b).as_deref(), Some("still-inactive"), "{report:#}");
    assert_eq!(crate::report(&sim, a).await["phase"], "registered");
    assert_eq!(crate::report(&sim, b).await["phase"], "inactive");
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

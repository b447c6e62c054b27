//! Before any phone is touched, the agent checks the provisioning server from its own vantage point: the name
//! (pinned with `--resolve`; reserved names are never looked up), a connection, a TLS handshake verified against
//! the system's roots and `--server-ca`, and a GET of the URL. A real run stops at a failure with the step, reason
//! and fix; a dry run reports it and goes on; `--skip-server-check` skips it and the phone's own evidence decides.

mod common;

use std::process::Output;

use common::*;
use polyprov::sim::{ProvSetup, ServerFaults, SimConfig, Simulator};

async fn polyprov(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_polyprov"))
            .args(&args)
            .env("POLYPROV_PASSWORD", PASSWORD)
            .env("POLYPROV_HOME", test_home())
            .env_remove("POLYPROV_LOG")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("runs")
    })
    .await
    .expect("joins")
}

async fn sim(faults: ServerFaults) -> Simulator {
    let config = SimConfig {
        time_scale: 300.0,
        seed: 7,
        prov: Some(ProvSetup {
            faults,
            ..ProvSetup::default()
        }),
        ..SimConfig::default()
    };
    Simulator::start(
        catalog(),
        vec![phone("poly-vvx-6", "6.4.5.1210", "64167F000901")],
        config,
    )
    .await
    .expect("simulator starts")
}

/// `provision` against the simulated phone with the simulator's server flags, `url` replacing its URL and
/// `drop` removing a flag (and its value).
fn args(sim: &Simulator, url: Option<&str>, drop: &[&str], extra: &[&str]) -> Vec<String> {
    let mut flags = server_flags(sim);
    if let Some(u) = url {
        flags[1] = u.to_string();
    }
    for d in drop {
        if let Some(i) = flags.iter().position(|f| f == d) {
            flags.drain(i..i + 2);
        }
    }
    let mut v = vec![
        "provision".to_string(),
        "--target".into(),
        sim.phones()[0].web_addr().to_string(),
        "--time-scale".into(),
        "300".into(),
    ];
    v.extend(flags);
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The phone was not touched: no login, no save.
async fn untouched(sim: &Simulator) {
    let r = report(sim, mac("64167F000901")).await;
    assert_eq!(r["stats"]["logins"], 0, "{r:#}");
    assert_eq!(r["stats"]["saves"], 0, "{r:#}");
}

/// A mistyped host under a reserved domain is never looked up: the run stops before the phone, naming the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reserved_name_is_never_looked_up_and_stops_the_run() {
    let sim = sim(ServerFaults::default()).await;
    let out = polyprov(args(
        &sim,
        Some("https://does-not-exist.invalid/typo"),
        &[],
        &[],
    ))
    .await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("reserved domain .invalid"), "{text}");
    assert!(
        text.contains("--resolve does-not-exist.invalid:443:ADDR"),
        "{text}"
    );
    assert!(text.contains("Nothing was changed"), "{text}");
    untouched(&sim).await;
}

/// The simulator's name without its pin: refused the same way, not sent to the host's resolver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpinned_test_name_is_refused() {
    let sim = sim(ServerFaults::default()).await;
    let out = polyprov(args(&sim, None, &["--resolve"], &[])).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("reserved domain .test"), "{text}");
    untouched(&sim).await;
}

/// A certificate from a CA the agent was not given: the TLS step fails and names --server-ca.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_ca_names_server_ca() {
    let sim = sim(ServerFaults::default()).await;
    let out = polyprov(args(&sim, None, &["--server-ca"], &[])).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("at the tls step"), "{text}");
    assert!(text.contains("--server-ca FILE"), "{text}");
    untouched(&sim).await;
}

/// An expired server certificate, and a server nothing listens on: each stops the run at its step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_unreachable_servers_stop_the_run() {
    let expired = sim(ServerFaults {
        expired_cert: true,
        ..Default::default()
    })
    .await;
    let out = polyprov(args(&expired, None, &[], &[])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("expired"), "{}", stdout(&out));
    untouched(&expired).await;
    let down = sim(ServerFaults {
        unreachable: true,
        ..Default::default()
    })
    .await;
    let out = polyprov(args(&down, None, &[], &[])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("at the connect step"),
        "{}",
        stdout(&out)
    );
    untouched(&down).await;
}

/// A reachable server is reported with what was verified, and the run goes on to Inactive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_server_is_reported_and_the_run_goes_on() {
    let sim = sim(ServerFaults::default()).await;
    let out = polyprov(args(&sim, None, &[], &[])).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("reachable (prov.sim.test is 127.0.0.1, TLS verified; GET answered HTTP"),
        "{text}"
    );
    assert!(text.contains("result     Inactive"), "{text}");
}

/// In a dry run a failing check is reported and the plan is still shown; nothing is saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_reports_the_check_and_goes_on() {
    let sim = sim(ServerFaults::default()).await;
    let out = polyprov(args(
        &sim,
        Some("https://does-not-exist.invalid/typo"),
        &[],
        &["--dry-run"],
    ))
    .await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("a real run would stop here"), "{text}");
    assert!(text.contains("would set Server Address"), "{text}");
    let r = report(&sim, mac("64167F000901")).await;
    assert_eq!(r["stats"]["saves"], 0);
}

/// With the check skipped (the laptop cannot see the server, the phones can), the phone's own evidence decides:
/// a typo the phone cannot resolve ends as server-unreachable, quoting the phone's log, never Inactive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_check_leaves_the_verdict_to_the_phone() {
    let sim = sim(ServerFaults::default()).await;
    let out = polyprov(args(
        &sim,
        Some("https://does-not-exist.invalid/typo"),
        &[],
        &["--skip-server-check"],
    ))
    .await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("not checked (--skip-server-check)"), "{text}");
    assert!(text.contains("result     server-unreachable"), "{text}");
    assert!(
        text.contains("Could not resolve 'does-not-exist.invalid'"),
        "{text}"
    );
    assert!(!text.contains("result     Inactive"), "{text}");
}

/// A phone given by name is refused at the edge unless names are allowed (resolving sends DNS queries); allowed, a
/// name under a reserved domain is still never looked up: the run says so and names the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_under_a_reserved_name_is_not_looked_up() {
    let args = |extra: &[&str]| {
        let mut v: Vec<String> = [
            "provision",
            "--target",
            "desk-phone.lab.test",
            "--server-url",
            "https://prov.example.test/poly/",
            "--skip-server-check",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let out = polyprov(args(&[])).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("host name") && err.contains("--host-names"),
        "{err}"
    );
    let out = polyprov(args(&["--host-names"])).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("never looked up"), "{text}");
    assert!(text.contains("give the phone by its IP address"), "{text}");
}

/// A server address with a password in it is refused before anything is sent, without repeating the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_the_server_address_is_refused() {
    let sim = sim(ServerFaults::default()).await;
    let url = sim
        .prov_url()
        .unwrap()
        .replace("https://", "https://prov:s3cret@");
    let out = polyprov(args(&sim, Some(&url), &[], &[])).await;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--server-password-file"), "{err}");
    assert!(!err.contains("s3cret") && !stdout(&out).contains("s3cret"));
    untouched(&sim).await;
}

/// A server that demands credentials and refuses the ones given: the check stops the run, naming the server
/// credentials (not the phones' admin password).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_server_credentials_stop_the_run() {
    let config = SimConfig {
        time_scale: 300.0,
        seed: 7,
        prov: Some(ProvSetup {
            credentials: Some(("prov".into(), "right".into())),
            ..ProvSetup::default()
        }),
        ..SimConfig::default()
    };
    let sim = Simulator::start(
        catalog(),
        vec![phone("poly-vvx-6", "6.4.5.1210", "64167F000901")],
        config,
    )
    .await
    .expect("simulator starts");
    let dir = std::env::temp_dir().join(format!("polyprov-server-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pw = dir.join("server-password");
    std::fs::write(&pw, "wrong\n").unwrap();
    let pw = pw.to_string_lossy().into_owned();
    let out = polyprov(args(
        &sim,
        None,
        &[],
        &["--server-user", "prov", "--server-password-file", &pw],
    ))
    .await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("refuses them"), "{text}");
    assert!(text.contains("--server-user"), "{text}");
    untouched(&sim).await;
    let _ = std::fs::remove_dir_all(&dir);
}

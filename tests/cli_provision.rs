//! `polyprov provision` as a technician runs it: phases printed as they happen, a summary, the exit code, the
//! JSON event stream, and passwords only ever from a file or the environment.

mod common;

use std::process::Output;

use common::*;

/// A URL for runs that never reach a save (no simulator behind it).
const NOWHERE: &str = "https://prov.example.test/poly/";

async fn polyprov(args: Vec<String>, password: Option<&str>) -> Output {
    let password = password.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_polyprov"));
        c.args(&args)
            .env_remove("POLYPROV_PASSWORD")
            .env_remove("POLYPROV_LOG")
            .env("POLYPROV_HOME", test_home());
        if let Some(p) = password {
            c.env("POLYPROV_PASSWORD", p);
        }
        c.stdin(std::process::Stdio::null()).output().expect("runs")
    })
    .await
    .expect("joins")
}

fn args(sim: Option<&polyprov::sim::Simulator>, target: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["provision", "--target", target, "--time-scale", "300"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    match sim {
        Some(sim) => v.extend(server_flags(sim)),
        None => v.extend([
            "--server-url".to_string(),
            NOWHERE.to_string(),
            "--skip-server-check".to_string(),
        ]),
    }
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// A fresh phone: every phase is printed, the summary says Inactive, the exit code is 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_prints_phases_and_succeeds() {
    let sim = start(vec![phone("poly-ccx", "8.1.3.1301", "482567000501")], 300.0).await;
    let target = sim.phones()[0].web_addr().to_string();
    let out = polyprov(args(Some(&sim), &target, &[]), Some(PASSWORD)).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for phase in [
        "recognised Poly CCX",
        "logged in",
        "saved (CONF_CHANGE)",
        "rebooting (1)",
        "updating firmware 8.1.3.1301 → 8.2.1.0433",
        "Inactive: ready for activation",
    ] {
        assert!(text.contains(phase), "missing {phase:?} in\n{text}");
    }
    assert!(text.contains("result     Inactive"), "{text}");
    assert!(!text.contains(PASSWORD), "the password is never printed");
    sim.shutdown().await;
}

/// A wrong password: exit code 3 (needs a person) and the fix in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_exits_3_with_the_fix() {
    let sim = start(
        vec![phone("poly-vvx-6", "6.4.5.1210", "64167F000502")],
        300.0,
    )
    .await;
    let target = sim.phones()[0].web_addr().to_string();
    let out = polyprov(args(Some(&sim), &target, &[]), Some("not-it")).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("needs attention") && text.contains("find the phone's admin password"),
        "{text}"
    );
    sim.shutdown().await;
}

/// `--json`: one JSON object per event, then the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_event_stream() {
    let sim = start(
        vec![phone("poly-vvx-6", "6.4.5.1210", "64167F000503")],
        300.0,
    )
    .await;
    let target = sim.phones()[0].web_addr().to_string();
    let out = polyprov(
        args(Some(&sim), &target, &["--json", "--dry-run"]),
        Some(PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let lines = common::json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(lines[0]["event"], "server-check", "{lines:#?}");
    assert_eq!(lines[0]["check"]["result"], "ok", "{lines:#?}");
    assert_eq!(lines[1]["event"], "probing");
    assert!(lines.iter().any(|l| l["event"] == "plan"));
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "result");
    assert_eq!(last["result"]["state"], "dry run");
    assert_eq!(last["result"]["mac"], "64167F000503");
    sim.shutdown().await;
}

/// Without a password file, variable or terminal, the agent refuses and says how to give one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_source_is_refused() {
    let out = polyprov(args(None, "127.0.0.1:9", &[]), None).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--password-file") && err.contains("POLYPROV_PASSWORD"),
        "{err}"
    );
}

/// A search range larger than a /16 is refused before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_search_range_is_refused() {
    let out = polyprov(
        args(None, "127.0.0.1:9", &["--cidr", "127.0.0.0/8"]),
        Some("x"),
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than a /16"));
}

/// An address where nothing answers: failed (exit 1), saying the phone is down or the address wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_phone_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let out = polyprov(args(None, &format!("127.0.0.1:{port}"), &[]), Some("x")).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("refused the connection or is unreachable"),
        "{text}"
    );
}

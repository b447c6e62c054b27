//! Phones whose web server answers slowly (every answer seconds late, as a real phone's does while it boots or
//! provisions): a slow answer is a phone that is up, so a slow phone is followed to the outcome it really reaches,
//! never reported gone. Outcomes are checked on the simulator's ground truth.

mod common;

use common::*;

use polyprov::phone::{Event, Outcome};

/// Phone seconds per wall second, as the provisioning tests run.
const SCALE: f64 = 300.0;

/// Every answer of the phone's web server two seconds late.
const SLOW_MS: u64 = 2000;

/// A phone whose every answer comes two seconds late is provisioned, followed through its reboots and its update,
/// and reported Inactive — which is what it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_phone_is_followed_to_inactive() {
    let m = mac("64167F000901");
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000901");
    spec.faults.slow_ms = SLOW_MS;
    let sim = start(vec![spec], SCALE).await;
    let j = job(&sim, &sim.prov_url().unwrap(), SCALE);
    let (r, events) = provision_with_events(&j).await;
    assert_eq!(r.outcome, Outcome::Inactive, "{:?} {events:#?}", r.outcome);
    let truth = report(&sim, m).await;
    assert_eq!(truth["phase"], "inactive", "{truth:#}");
    assert_eq!(
        r.reboots as u64,
        truth["reboots"].as_u64().unwrap(),
        "every reboot counted, none invented"
    );
    assert_eq!(r.firmware_after.as_deref(), truth["firmware"].as_str());
    assert!(
        !events.iter().any(|e| matches!(e, Event::Moved { .. })),
        "{events:?}"
    );
    sim.shutdown().await;
}

/// "Is the phone up" asked of a phone that accepts the connection but answers later than the agent waits for a
/// request: up. Asked of an address where nothing listens: down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_answer_is_up_and_a_refusal_is_down() {
    use polyprov::phone::client::PhoneClient;
    use polyprov::phone::tls::Trust;
    use std::time::Duration;

    let m = mac("64167F000902");
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000902");
    // Later than the probe's whole wait (its one-second request timeout, floored at the connection's plus five).
    spec.faults.slow_ms = 7000;
    let sim = start(vec![spec], SCALE).await;
    let base = format!("https://{}/", sim.phones()[0].web_addr());
    let request_timeout = Duration::from_secs(1);
    let slow = PhoneClient::new(
        base.parse().unwrap(),
        Trust::PolyPhone(Some(m)),
        request_timeout,
    )
    .unwrap();
    assert_eq!(slow.alive("/login.htm").await, Some(true));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = format!("https://{}/", closed.local_addr().unwrap());
    drop(closed);
    let gone = PhoneClient::new(
        nobody.parse().unwrap(),
        Trust::PolyPhone(Some(m)),
        request_timeout,
    )
    .unwrap();
    assert_eq!(gone.alive("/login.htm").await, Some(false));
    sim.shutdown().await;
}

/// A fleet run in which some phones answer slowly: every phone, slow or not, is reported as what the simulator
/// shows it is — Inactive — and the slow ones are never reported gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_phones_among_normal_ones_in_a_fleet_run() {
    use polyprov::fleet::progress::{Mode, Progress};
    use polyprov::fleet::targets::Target;
    use std::sync::Arc;

    let macs = [
        ("poly-vvx-6", "6.4.5.1210", "64167F000911", true),
        ("poly-vvx-6", "6.4.5.1210", "64167F000912", false),
        ("poly-ccx", "8.1.3.1301", "482567000913", true),
        ("poly-ccx", "8.1.3.1301", "482567000914", false),
        ("poly-vvx-6", "6.4.5.1210", "64167F000915", true),
        ("poly-ccx", "8.1.3.1301", "482567000916", false),
    ];
    let specs = macs
        .iter()
        .map(|(profile, firmware, m, slow)| {
            let mut spec = phone(profile, firmware, m);
            if *slow {
                spec.faults.slow_ms = SLOW_MS;
            }
            spec
        })
        .collect();
    let sim = start(specs, SCALE).await;
    let targets: Vec<Target> = sim
        .phones()
        .iter()
        .map(|p| Target {
            key: p.web_addr().to_string(),
            base: format!("https://{}/", p.web_addr()).parse().unwrap(),
            mac: Some(p.mac),
            extension: None,
            user: None,
            server_url: None,
        })
        .collect();
    let settings = Arc::new(settings(
        &sim,
        &sim.prov_url().unwrap(),
        SCALE,
        macs.len(),
        false,
    ));
    let dir = std::env::temp_dir().join(format!("polyprov-slow-fleet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let journal = Arc::new(polyprov::journal::Journal::open(&dir).unwrap());
    let keys: Vec<String> = targets.iter().map(|t| t.key.clone()).collect();
    journal.started(&keys).unwrap();
    let progress = Arc::new(Progress::new(Mode::Plain, targets.len()));
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let done = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        polyprov::fleet::run_with(
            targets,
            settings,
            Arc::new(catalog().profiles.clone()),
            (journal, progress),
            stop,
            None,
            polyprov::fleet::provisioner(),
        ),
    )
    .await
    .expect("the run finishes");

    assert_eq!(done.len(), macs.len(), "every phone has a row");
    for (target, r) in &done {
        let m = target.mac.unwrap();
        let truth = report(&sim, m).await;
        assert_eq!(
            r.outcome,
            Outcome::Inactive,
            "{m} (slow: {}): {:?}",
            truth["faults"]["slow-ms"],
            r.outcome
        );
        assert_eq!(truth["phase"], "inactive", "{m}: {truth:#}");
        assert_eq!(r.reboots as u64, truth["reboots"].as_u64().unwrap(), "{m}");
    }
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

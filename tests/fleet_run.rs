//! A run as a library call (`fleet::run_with`): every phone ends in the reports, whatever happens to its task, and
//! a phone reached under two addresses is worked on once. Outcomes are checked on the simulator's ground truth.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use polyprov::sim::Simulator;

/// A URL for runs that never save (dry runs).
const NOWHERE: &str = "https://prov.example.test/poly/";

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("polyprov-fleet-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A target for a library-level run: the phone at `addr` over HTTPS.
fn target_at(
    addr: std::net::SocketAddr,
    mac: polyprov::mac::Mac,
) -> polyprov::fleet::targets::Target {
    polyprov::fleet::targets::Target {
        key: addr.to_string(),
        base: format!("https://{addr}/").parse().unwrap(),
        mac: Some(mac),
        extension: None,
        user: None,
        server_url: None,
    }
}

/// A library-level dry run of `targets` (two at once), each phone's work done by `work`; the journal in `dir`.
async fn dry_run_fleet(
    sim: &Simulator,
    targets: Vec<polyprov::fleet::targets::Target>,
    work: polyprov::fleet::Provisioner,
    dir: &Path,
) -> Vec<polyprov::fleet::Done> {
    use polyprov::fleet::progress::{Mode, Progress};
    use std::sync::Arc;
    let settings = Arc::new(settings(sim, NOWHERE, 60.0, 2, true));
    let journal = Arc::new(polyprov::journal::Journal::open(dir).unwrap());
    let keys: Vec<String> = targets.iter().map(|t| t.key.clone()).collect();
    journal.started(&keys).unwrap();
    let progress = Arc::new(Progress::new(Mode::Plain, targets.len()));
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let profiles = Arc::new(catalog().profiles.clone());
    polyprov::fleet::run_with(
        targets,
        settings,
        profiles,
        (journal, progress),
        stop,
        None,
        work,
    )
    .await
}

/// A phone whose work panics (a bug in polyprov) still ends in the reports and the journal, as failed with the
/// panic's message, and the run's exit code says so; the other phones go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_whose_work_panics_is_reported_failed() {
    use polyprov::fleet;
    use polyprov::phone::Outcome;
    use std::sync::Arc;

    let sim = start(
        vec![
            phone("poly-vvx-6", "6.4.5.1210", "64167F000701"),
            phone("poly-ccx", "8.1.3.1301", "482567000702"),
        ],
        60.0,
    )
    .await;
    let targets: Vec<_> = sim
        .phones()
        .iter()
        .map(|p| target_at(p.web_addr(), p.mac))
        .collect();
    let doomed = targets[0].base.clone();
    let real = fleet::provisioner();
    let work: fleet::Provisioner = Arc::new(move |job, profiles, sink| {
        if job.base == doomed {
            Box::pin(async { panic!("injected for the test") })
        } else {
            real(job, profiles, sink)
        }
    });
    let dir = scratch("panic");
    let done = dry_run_fleet(&sim, targets.clone(), work, &dir).await;

    assert_eq!(done.len(), 2, "every phone has a row");
    let row = |key: &str| &done.iter().find(|(t, _)| t.key == key).unwrap().1;
    match &row(&targets[0].key).outcome {
        o @ Outcome::Failed { reason, .. } => assert!(
            reason.contains("panic: injected for the test")
                && o.fix().is_some_and(|f| f.contains("resume")),
            "{o:?}"
        ),
        other => panic!("the panicked phone is {other:?}"),
    }
    assert!(matches!(
        row(&targets[1].key).outcome,
        Outcome::DryRun { .. }
    ));
    assert_eq!(fleet::exit_code(&done), 1);
    let run = polyprov::journal::History::<Vec<String>>::load(&dir).unwrap();
    let recorded = run.phones[&targets[0].key]
        .report
        .as_ref()
        .expect("journaled");
    assert!(matches!(recorded.outcome, Outcome::Failed { .. }));
    assert!(run.finished(&targets[0].key));
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// One phone reached under two addresses in one run (here through a port forward on another loopback address) is
/// logged into once: the second target sees the MAC the first claimed and is skipped, naming the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_phone_under_two_addresses_is_logged_into_once() {
    use polyprov::phone::Outcome;

    let sim = start(
        vec![phone("poly-vvx-6", "6.4.5.1210", "64167F000711")],
        60.0,
    )
    .await;
    let p = &sim.phones()[0];
    let phone_addr = p.web_addr();
    let forward = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let other = forward.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = forward.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(phone_addr).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    let targets = vec![target_at(phone_addr, p.mac), target_at(other, p.mac)];
    let dir = scratch("twice");
    let done = dry_run_fleet(&sim, targets, polyprov::fleet::provisioner(), &dir).await;
    let dry: Vec<_> = done
        .iter()
        .filter(|(_, r)| matches!(r.outcome, Outcome::DryRun { .. }))
        .collect();
    let skipped: Vec<String> = done
        .iter()
        .filter_map(|(_, r)| match &r.outcome {
            Outcome::Skipped { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!((dry.len(), skipped.len()), (1, 1), "{done:?}");
    assert!(
        skipped[0].contains("same phone") && skipped[0].contains(&dry[0].0.base.to_string()),
        "{}",
        skipped[0]
    );
    assert_eq!(report(&sim, p.mac).await["stats"]["logins"], 1);
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A run directory whose journal records a spec no run can use (edited by hand: a concurrency of 2^61) is refused
/// when it is loaded, naming the journal and the setting — never a panic, never a run.
#[test]
fn a_journal_with_an_unusable_spec_is_refused_by_name() {
    let dir = scratch("bad-spec");
    let target = polyprov::fleet::targets::Target::from_address("127.0.0.1:8443", false).unwrap();
    let spec = serde_json::json!({
        "server-type": "https", "server-url": NOWHERE, "server-user": null, "server-password-file": null,
        "password-file": null, "allow-factory-password": false, "new-password-file": null,
        "concurrency": 2305843009213693952u64, "allow": {"macs": [], "ouis": [], "models": []},
        "dry-run": true, "cidr": null, "return-secs": null, "settle-secs": null, "timeout-secs": null,
        "patience-secs": 600, "time-scale": 1.0, "targets": [target],
    });
    let journal = polyprov::journal::Journal::open(&dir).unwrap();
    journal.started(&spec).unwrap();
    drop(journal);
    let e = polyprov::onboard::load(&dir).unwrap_err().to_string();
    assert!(
        e.contains("journal") && e.contains("concurrency 2305843009213693952"),
        "{e}"
    );
    let e = polyprov::onboard::report(&dir).unwrap_err().to_string();
    assert!(e.contains("concurrency"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Before a person says yes, the plan names the phones in service from a read-only login to each: the phone
/// pointed at another provisioning server is found, the fresh one is not, and nothing is written to either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phones_in_service_are_found_before_anything_is_written() {
    let mut elsewhere = phone("poly-vvx-6", "6.4.5.1210", "64167F000B01");
    elsewhere.provisioned = Some(("HTTPS".into(), "https://other.example.test/prov/".into()));
    let fresh = phone("poly-ccx", "8.1.3.1301", "482567000B02");
    let sim = start(vec![elsewhere, fresh], 60.0).await;
    let targets: Vec<_> = sim
        .phones()
        .iter()
        .map(|p| target_at(p.addrs().0.unwrap(), p.mac))
        .collect();
    let settings = settings(&sim, NOWHERE, 60.0, 2, false);
    let profiles = std::sync::Arc::new(catalog().profiles.clone());
    let read = polyprov::onboard::plan::read(&targets, &settings, profiles).await;
    let models: Vec<(&str, &str, usize)> = read
        .models
        .iter()
        .map(|m| (m.model.as_str(), m.firmware.as_str(), m.count))
        .collect();
    assert_eq!(
        models.len(),
        2,
        "one line per model and firmware: {models:?}"
    );
    assert!(
        models
            .iter()
            .any(|(_, fw, n)| *fw == "8.1.3.1301" && *n == 1),
        "{models:?}"
    );
    let found = read.in_service;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, targets[0].key);
    assert!(found[0].1.contains("other.example.test"), "{found:?}");
    for p in sim.phones() {
        assert_eq!(
            report(&sim, p.mac).await["stats"]["saves"],
            0,
            "nothing written"
        );
    }
    sim.shutdown().await;
}

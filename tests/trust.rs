//! Trust on first use: the certificate a phone presented first is remembered by MAC (`known-phones`), and a later
//! different certificate for that MAC — an impostor that copied the phone's subject, or the phone itself after a
//! factory reset — is refused before anything is sent, with both fingerprints and the way to accept a reset.

mod common;

use std::sync::Arc;

use common::*;
use polyprov::phone::known::KnownPhones;
use polyprov::phone::{Event, Job, Outcome, Report};
use polyprov::sim::hostile::Attack;
use polyprov::sim::{Faults, Simulator};

const SCALE: f64 = 300.0;

fn memory(name: &str) -> (std::path::PathBuf, Arc<KnownPhones>) {
    let dir = std::env::temp_dir().join(format!("polyprov-trust-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let known = Arc::new(KnownPhones::in_dir(&dir));
    (dir, known)
}

/// A dry run (log in, read, change nothing) of the simulator's phone, remembering certificates in `known`.
async fn dry_run(sim: &Simulator, known: &Arc<KnownPhones>) -> (Report, Vec<Event>) {
    let mut j: Job = job(sim, "https://prov.example.test/poly/", SCALE);
    j.dry_run = true;
    j.allow_factory = true;
    j.known = Some(known.clone());
    provision_with_events(&j).await
}

/// What the memory said of the certificate, from the run's events.
fn remembered(events: &[Event]) -> Option<bool> {
    events.iter().find_map(|e| match e {
        Event::Certificate { known, .. } => *known,
        _ => None,
    })
}

fn explained(r: &Report) -> String {
    r.outcome.explained().unwrap_or_default()
}

fn assert_dry_run(r: &Report) {
    assert!(
        matches!(r.outcome, Outcome::DryRun { .. }),
        "{}",
        explained(r)
    );
}

/// A simulator with one fresh VVX of this MAC.
async fn vvx(mac_text: &str) -> Simulator {
    start(vec![phone("poly-vvx-6", "6.4.5.1210", mac_text)], SCALE).await
}

/// The first certificate is remembered, the same one is accepted on the next run — also from a restarted simulator,
/// whose phones keep their certificates — and the report carries its fingerprint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_certificate_is_remembered_and_survives_restarts() {
    let m = mac("64167F00B001");
    let (dir, known) = memory("first");
    let sim = vvx("64167F00B001").await;
    let (r, events) = dry_run(&sim, &known).await;
    assert_dry_run(&r);
    assert_eq!(remembered(&events), Some(false), "first seen: {events:?}");
    let fingerprint = r
        .certificate_sha256
        .clone()
        .expect("the report has the fingerprint");
    let pins = known.list().unwrap();
    assert_eq!(pins.len(), 1);
    assert_eq!(
        (pins[0].mac, pins[0].sha256.as_str()),
        (m, fingerprint.as_str())
    );
    let target = polyprov::fleet::targets::Target::from_address(
        &sim.phones()[0].web_addr().to_string(),
        false,
    )
    .unwrap();
    let row = polyprov::report::Row::new(&target, &r);
    assert_eq!(
        row.certificate_sha256, fingerprint,
        "report.csv/json carry it"
    );

    let (again, events) = dry_run(&sim, &known).await;
    assert_dry_run(&again);
    assert_eq!(remembered(&events), Some(true), "{events:?}");
    sim.shutdown().await;

    let restarted = vvx("64167F00B001").await;
    let (r, events) = dry_run(&restarted, &known).await;
    assert_dry_run(&r);
    assert_eq!(
        remembered(&events),
        Some(true),
        "the restarted phone is the one remembered"
    );
    assert_eq!(r.certificate_sha256.as_deref(), Some(fingerprint.as_str()));
    restarted.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A device that copied a known phone's subject is refused in the handshake: it receives not one byte (no
/// password), and the technician reads both fingerprints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impostor_with_a_known_phones_subject_gets_nothing() {
    let m = mac("64167F00B002");
    let (dir, known) = memory("impostor");
    let sim = vvx("64167F00B002").await;
    let (r, _) = dry_run(&sim, &known).await;
    let genuine = r.certificate_sha256.clone().expect("fingerprint");
    sim.shutdown().await;

    // A device that copied the phone's subject (`CN=<MAC>, O=Polycom Inc.`) under its own key.
    let (addr, seen) = polyprov::sim::hostile::serve(Attack::Quiet, m, 666)
        .await
        .unwrap();
    let mut j = job_at(
        format!("https://{addr}/").parse().unwrap(),
        "https://prov.example.test/poly/",
        SCALE,
    );
    j.allow_factory = true;
    j.known = Some(known.clone());
    let (r, _) = provision_with_events(&j).await;
    let text = explained(&r);
    assert!(
        matches!(r.outcome, Outcome::NeedsAttention { .. }),
        "{text}"
    );
    assert!(
        text.contains(&genuine)
            && text.contains("presented a different certificate")
            && text.contains(&addr.to_string())
            && text.contains("known-phones forget 64167F00B002"),
        "{text}"
    );
    let presented = r.certificate_sha256.clone().unwrap_or_default();
    assert!(presented.is_empty() || text.contains(&presented), "{text}");
    assert_eq!(seen.bytes(), 0, "not a byte reached the impostor");
    assert_eq!(
        known.list().unwrap()[0].sha256,
        genuine,
        "the remembered one stays"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// After a factory reset the phone makes a new certificate: it is refused (no login reaches it) until the
/// technician forgets the old one with `polyprov known-phones forget`, then accepted and remembered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_factory_reset_phone_is_refused_until_forgotten() {
    let m = mac("64167F00B003");
    let (dir, known) = memory("reset");
    let sim = vvx("64167F00B003").await;
    let (r, _) = dry_run(&sim, &known).await;
    let before = r.certificate_sha256.clone().expect("fingerprint");
    let logins = report(&sim, m).await["stats"]["logins"].clone();

    let phone = sim.phone(m).expect("the phone");
    phone
        .set_faults(Faults {
            factory_reset: 1,
            ..Faults::default()
        })
        .unwrap();
    let (r, _) = dry_run(&sim, &known).await;
    let text = explained(&r);
    assert!(
        matches!(r.outcome, Outcome::NeedsAttention { .. }),
        "{text}"
    );
    assert!(text.contains(&before), "{text}");
    assert_eq!(
        report(&sim, m).await["stats"]["logins"],
        logins,
        "no login reached the reset phone"
    );

    let bin = assert_cmd::cargo::cargo_bin("polyprov");
    let list = std::process::Command::new(&bin)
        .args(["known-phones", "list"])
        .env("POLYPROV_HOME", &dir)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains("64167F00B003") && listed.contains(&before),
        "{listed}"
    );
    let forget = std::process::Command::new(&bin)
        .args(["known-phones", "forget", "64:16:7f:00:b0:03"])
        .env("POLYPROV_HOME", &dir)
        .output()
        .unwrap();
    assert!(forget.status.success(), "{forget:?}");
    assert!(String::from_utf8_lossy(&forget.stdout).contains("Forgot 64167F00B003"));

    let (r, events) = dry_run(&sim, &known).await;
    assert_dry_run(&r);
    assert_eq!(
        remembered(&events),
        Some(false),
        "a first certificate again"
    );
    let after = r.certificate_sha256.clone().expect("fingerprint");
    assert_ne!(after, before, "the reset made a new certificate");
    assert_eq!(known.list().unwrap()[0].sha256, after);
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

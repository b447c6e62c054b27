//! `provision` against simulated phones of every family, and against every fault a site throws at it. Outcomes
//! are checked on the simulator's control endpoint (what the phone really did), not only on the agent's report.

mod common;

use common::*;

use polyprov::phone::{Event, Job, Outcome, Report};
use polyprov::secret::Secret;
use polyprov::sim::{PhoneSpec, Simulator};

const SCALE: f64 = 300.0;

fn job(sim: &Simulator) -> Job {
    common::job(
        sim,
        &sim.prov_url().expect("the simulated service runs"),
        SCALE,
    )
}

async fn run(job: &Job) -> (Report, Vec<Event>) {
    provision_with_events(job).await
}

fn reason(r: &Report) -> String {
    match &r.outcome {
        Outcome::NeedsAttention { .. } | Outcome::Failed { .. } | Outcome::Unsupported { .. } => {
            r.outcome.explained().unwrap_or_default()
        }
        other => format!("{other:?}"),
    }
}

/// A fresh phone of this build is provisioned once, reboots as its profile says (one reboot, plus the update's),
/// takes its firmware update and ends Inactive — on the phone, not just in the report.
async fn fresh_phone_to_inactive(profile: &str, firmware: &str, mac_text: &str) {
    let m = mac(mac_text);
    let sim = start(vec![phone(profile, firmware, mac_text)], SCALE).await;
    let before = report(&sim, m).await;
    let (r, events) = run(&job(&sim)).await;
    assert_eq!(
        r.outcome,
        Outcome::Inactive,
        "{profile}/{firmware}: {}",
        reason(&r)
    );
    let after = report(&sim, m).await;
    assert_eq!(after["phase"], "inactive", "{after:#}");
    assert_eq!(after["server-type"], "HTTPS");
    assert_eq!(after["server-name"], sim.prov_url().unwrap().as_str());
    assert_eq!(after["stats"]["conf-changes"], 1, "exactly one save");
    assert_eq!(after["session-active"], false, "the agent logged out");
    assert_eq!(
        r.reboots as u64,
        after["reboots"].as_u64().unwrap(),
        "the agent counted every reboot"
    );
    assert_eq!(r.firmware_after.as_deref(), after["firmware"].as_str());
    assert_eq!(r.mac, Some(m));
    let updated = after["firmware-history"].as_array().unwrap().len() > 1;
    if updated {
        assert!(
            after["reboots"].as_u64().unwrap() >= 2,
            "an update adds reboots"
        );
        assert!(
            events.iter().any(|e| matches!(e, Event::Updating { .. })),
            "{events:?}"
        );
        assert_ne!(before["firmware"], after["firmware"]);
    } else {
        assert_eq!(after["reboots"], 1);
    }
    sim.shutdown().await;
}

/// CCX 7.x and 8.x: session login, CSRF, update, Inactive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ccx_fresh_to_inactive() {
    fresh_phone_to_inactive("poly-ccx", "7.3.0.16841", "482567000401").await;
    fresh_phone_to_inactive("poly-ccx", "8.1.3.1301", "482567000402").await;
}

/// VVX 5.9 (no CSRF meta) and 6.4.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vvx6_fresh_to_inactive() {
    fresh_phone_to_inactive("poly-vvx-6", "5.9.4.3247", "64167F000403").await;
    fresh_phone_to_inactive("poly-vvx-6", "6.4.5.1210", "64167F000404").await;
}

/// VVX 5.6: cookie login; the update brings 6.4 and its session login, which the agent recognises mid-way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vvx5_fresh_to_inactive_across_a_login_generation() {
    fresh_phone_to_inactive("poly-vvx-5", "5.6.3.1155", "0004F2000405").await;
}

/// SoundPoint IP on UCS 4.0: auth.htm login; the old build is updated, the current one only reboots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soundpoint_ucs4_fresh_to_inactive() {
    fresh_phone_to_inactive("soundpoint-ucs4", "4.0.8.1608", "0004F2000406").await;
    fresh_phone_to_inactive("soundpoint-ucs4", "4.0.15.1047", "0004F2000407").await;
}

/// SoundPoint SIP 3.x: recognised by its realm, reported unsupported with what to do instead, never logged into.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip3_is_unsupported_and_untouched() {
    let m = mac("0004F2000408");
    let sim = start(
        vec![phone("soundpoint-sip3", "3.2.7.0198", "0004F2000408")],
        SCALE,
    )
    .await;
    let (r, _) = run(&job(&sim)).await;
    assert!(
        matches!(r.outcome, Outcome::Unsupported { .. }),
        "{:?}",
        r.outcome
    );
    assert_eq!(r.outcome.exit_code(), 3);
    assert!(reason(&r).contains("DHCP option 160"), "{}", reason(&r));
    let after = report(&sim, m).await;
    assert_eq!(after["stats"]["logins"], 0);
    assert_eq!(after["stats"]["saves"], 0);
    sim.shutdown().await;
}

/// Already pointed at the server: nothing is written and no reboot is waited for; a second run is a no-op too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn already_provisioned_is_not_written() {
    let m = mac("64167F000409");
    let spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000409").provisioned_here();
    let sim = start(vec![spec], SCALE).await;
    for _ in 0..2 {
        let (r, events) = run(&job(&sim)).await;
        assert_eq!(r.outcome, Outcome::AlreadyProvisioned);
        assert!(events.contains(&Event::AlreadyProvisioned));
    }
    let after = report(&sim, m).await;
    assert_eq!(after["stats"]["saves"], 0);
    assert_eq!(after["reboots"], 0);
    sim.shutdown().await;
}

/// A phone in service — pointed at another server than the one asked for — is left alone and reported with the
/// way to move it; a dry run shows the plan with a warning; `--force` repoints it, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_in_service_is_repointed_only_with_force() {
    let m = mac("64167F000419");
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000419");
    spec.provisioned = Some(("HTTPS".into(), "https://other.example.test/prov/".into()));
    let sim = start(vec![spec], SCALE).await;
    let (r, _) = run(&job(&sim)).await;
    let text = r.outcome.explained().unwrap_or_default();
    assert_eq!(r.outcome.label(), "skipped", "{text}");
    assert!(
        text.contains("in service")
            && text.contains("other.example.test")
            && text.contains("--force"),
        "{text}"
    );
    assert_eq!(
        report(&sim, m).await["stats"]["saves"],
        0,
        "nothing written"
    );

    let mut dry = job(&sim);
    dry.dry_run = true;
    let (r, _) = run(&dry).await;
    assert!(
        matches!(r.outcome, Outcome::DryRun { .. }),
        "{}",
        reason(&r)
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("in service")),
        "{:?}",
        r.warnings
    );

    let mut forced = job(&sim);
    forced.force = true;
    let (r, _) = run(&forced).await;
    assert_eq!(r.outcome, Outcome::Inactive, "{}", reason(&r));
    assert_eq!(
        report(&sim, m).await["stats"]["conf-changes"],
        1,
        "saved once"
    );
    sim.shutdown().await;
}

/// A phone pointed at a server polyprov itself set on it earlier (a first run with a mistyped URL) is not in
/// service: a run repoints it without `--force`, says so, and remembers the new server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_polyprov_set_earlier_is_repointed_without_force() {
    let m = mac("64167F00041A");
    let typo = "https://porv.example.test/prov/";
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F00041A");
    spec.provisioned = Some(("HTTPS".into(), typo.into()));
    let sim = start(vec![spec], SCALE).await;
    let state = std::env::temp_dir().join(format!("polyprov-servers-set-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let known = std::sync::Arc::new(polyprov::phone::known::KnownPhones::in_dir(&state));
    known.remember_server(m, typo);
    let mut j = job(&sim);
    j.known = Some(known.clone());
    let (r, _) = run(&j).await;
    assert_eq!(r.outcome, Outcome::Inactive, "{}", reason(&r));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("set by polyprov") && w.contains("porv.example.test")),
        "{:?}",
        r.warnings
    );
    assert_eq!(
        known.server_set(m).map(|(url, _)| url),
        Some(j.wanted.url.clone()),
        "the server it set now is remembered"
    );
    assert_eq!(report(&sim, m).await["stats"]["conf-changes"], 1);
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(state);
}

/// Wrong passwords: the agent stops when the phone says one attempt is left, so the web UI never locks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_stops_before_lockout() {
    let m = mac("64167F00040A");
    let sim = start(
        vec![phone("poly-vvx-6", "6.4.5.1210", "64167F00040A")],
        SCALE,
    )
    .await;
    let mut j = job(&sim);
    j.passwords = ["a", "b", "c", "d", "e", "f"].map(Secret::new).to_vec();
    let (r, _) = run(&j).await;
    assert!(
        matches!(r.outcome, Outcome::NeedsAttention { .. }),
        "{:?}",
        r.outcome
    );
    assert_eq!(r.outcome.exit_code(), 3);
    assert!(reason(&r).contains("one attempt is left"), "{}", reason(&r));
    let after = report(&sim, m).await;
    assert_eq!(
        after["locked-for"],
        serde_json::Value::Null,
        "the phone is not locked"
    );
    assert_eq!(after["stats"]["failed-logins"], 4);
    sim.shutdown().await;
}

/// On a cookie-login VVX the phone cannot say how many attempts are left: the agent keeps one more in reserve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_on_cookie_phone_keeps_a_reserve() {
    let m = mac("0004F200040B");
    let sim = start(
        vec![phone("poly-vvx-5", "5.6.3.1155", "0004F200040B")],
        SCALE,
    )
    .await;
    let mut j = job(&sim);
    j.passwords = ["a", "b", "c", "d", "e"].map(Secret::new).to_vec();
    let (r, _) = run(&j).await;
    assert!(
        matches!(r.outcome, Outcome::NeedsAttention { .. }),
        "{:?}",
        r.outcome
    );
    let after = report(&sim, m).await;
    assert_eq!(after["locked-for"], serde_json::Value::Null);
    assert_eq!(after["stats"]["failed-logins"], 3);
    sim.shutdown().await;
}

/// A phone locked by someone else's failures: the agent waits the lock out (and says so), then goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_phone_is_waited_out() {
    let mut spec = phone("poly-ccx", "8.1.3.1301", "48256700040C");
    spec.faults.locked = true;
    let sim = start(vec![spec], SCALE).await;
    let mut j = job(&sim);
    j.dry_run = true;
    let (r, events) = run(&j).await;
    assert!(
        matches!(r.outcome, Outcome::DryRun { .. }),
        "{}",
        reason(&r)
    );
    assert!(
        events.iter().any(|e| matches!(e, Event::Locked { .. })),
        "{events:?}"
    );
    sim.shutdown().await;
}

/// Someone has the web UI open: the agent backs off and retries until the session is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_conflict_is_retried() {
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F00040D");
    spec.faults.busy_secs = 40;
    let sim = start(vec![spec], SCALE).await;
    let mut j = job(&sim);
    j.dry_run = true;
    let (r, events) = run(&j).await;
    assert!(
        matches!(r.outcome, Outcome::DryRun { .. }),
        "{}",
        reason(&r)
    );
    assert!(
        events.iter().any(|e| matches!(e, Event::Busy { .. })),
        "{events:?}"
    );
    sim.shutdown().await;
}

/// The connection drops while saving: the agent checks the page, sees the save took, and follows the phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_reset_mid_save() {
    let m = mac("64167F00040E");
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F00040E");
    spec.faults.reset_saves = 1;
    let sim = start(vec![spec], SCALE).await;
    let (r, events) = run(&job(&sim)).await;
    assert_eq!(r.outcome, Outcome::Inactive, "{}", reason(&r));
    assert!(events.contains(&Event::Verified), "{events:?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("dropped during the save"))
    );
    let after = report(&sim, m).await;
    assert_eq!(after["stats"]["conf-changes"], 1, "saved once, never twice");
    assert_eq!(after["stats"]["responses-cut"], 1);
    sim.shutdown().await;
}

/// A certificate that is not a Poly phone's is refused before any request; nothing reaches the phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_certificate_is_refused() {
    let m = mac("64167F000412");
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000412");
    spec.faults.foreign_cert = true;
    let sim = start(vec![spec], SCALE).await;
    let (r, _) = run(&job(&sim)).await;
    assert!(
        matches!(r.outcome, Outcome::NeedsAttention { .. }),
        "{:?}",
        r.outcome
    );
    assert!(reason(&r).contains("not a Poly phone"), "{}", reason(&r));
    assert_eq!(report(&sim, m).await["stats"]["requests"], 0);
    sim.shutdown().await;
}

/// With the MAC known, a phone whose certificate names another MAC is refused: a wrong device at that address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_for_another_mac_is_refused() {
    let sim = start(
        vec![phone("poly-vvx-6", "6.4.5.1210", "64167F000413")],
        SCALE,
    )
    .await;
    let mut j = job(&sim);
    j.expected_mac = Some(mac("64167F0004FF"));
    let (r, _) = run(&j).await;
    assert!(
        reason(&r).contains("64167F000413") && reason(&r).contains("64167F0004FF"),
        "{}",
        reason(&r)
    );
    sim.shutdown().await;
}

/// A dry run logs in, shows the change and leaves the phone exactly as it was (and its web session free).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_changes_nothing() {
    let m = mac("482567000414");
    let sim = start(
        vec![phone("poly-ccx", "7.3.0.16841", "482567000414")],
        SCALE,
    )
    .await;
    let before = report(&sim, m).await;
    let mut j = job(&sim);
    j.dry_run = true;
    let (r, _) = run(&j).await;
    match &r.outcome {
        Outcome::DryRun { changes } => {
            assert!(
                changes.iter().any(|c| c.contains(&sim.prov_url().unwrap())),
                "{changes:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    let after = report(&sim, m).await;
    assert_eq!(after["stats"]["saves"], 0);
    assert_eq!(after["server-name"], before["server-name"]);
    assert_eq!(after["session-active"], false);
    assert_eq!(after["reboots"], 0);
    sim.shutdown().await;
}

/// A phone still on its factory password: with the factory password allowed and a new one given, the agent
/// changes it first (reported, never shown), then provisions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn factory_password_is_replaced() {
    let m = mac("64167F000415");
    let mut spec: PhoneSpec = phone("poly-vvx-6", "6.4.5.1210", "64167F000415");
    spec.password = "456".into();
    let sim = start(vec![spec], SCALE).await;
    let mut j = job(&sim);
    j.allow_factory = true;
    j.new_password = Some(Secret::new("brand-new-pw"));
    let (r, events) = run(&j).await;
    assert_eq!(r.outcome, Outcome::Inactive, "{}", reason(&r));
    assert!(r.password_changed);
    assert!(events.contains(&Event::PasswordChanged));
    assert!(
        !format!("{events:?}{r:?}").contains("brand-new-pw"),
        "the password never appears"
    );
    let after = report(&sim, m).await;
    assert_eq!(after["password-is-factory"], false);
    assert_eq!(after["stats"]["password-changes"], 1);
    sim.shutdown().await;
}

/// Preflight warnings come from the profile: firmware below the service minimum, MAC-only activation models.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_warnings() {
    let mut sp = phone("soundpoint-ucs4", "4.0.8.1608", "0004F2000416");
    sp.model = Some("SoundPoint IP 450".into());
    let sim = start(vec![sp], SCALE).await;
    let mut j = job(&sim);
    j.dry_run = true;
    let (r, _) = run(&j).await;
    let w = r.warnings.join(" | ");
    assert!(w.contains("below the service's minimum 4.0.15.1047"), "{w}");
    assert!(w.contains("only be activated by MAC"), "{w}");
    sim.shutdown().await;
}

/// A CCX that drops connections now and then (as CCX firmware does): the agent retries, never mistakes a dropped
/// connection for a reboot, and counts exactly the reboots the phone made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaky_connections_are_survived() {
    let m = mac("482567000417");
    let mut spec = phone("poly-ccx", "8.1.3.1301", "482567000417");
    spec.faults.reset_rate = 0.15;
    let sim = start(vec![spec], SCALE).await;
    let (r, _) = run(&job(&sim)).await;
    assert_eq!(r.outcome, Outcome::Inactive, "{}", reason(&r));
    let after = report(&sim, m).await;
    assert!(
        after["stats"]["responses-cut"].as_u64().unwrap() > 0,
        "resets happened"
    );
    assert_eq!(r.reboots as u64, after["reboots"].as_u64().unwrap());
    assert_eq!(after["stats"]["conf-changes"], 1);
    sim.shutdown().await;
}

/// A CCX whose login answer is cut off mid-body after it opened the session: the agent ends that session from the
/// answer's headers, logs in again at once (never waits out the session lifetime), and leaves no session open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_login_answer_leaves_no_session() {
    let m = mac("48256700041C");
    let mut spec = phone("poly-ccx", "8.1.3.1301", "48256700041C");
    spec.faults.reset_logins = 1;
    let sim = start(vec![spec], SCALE).await;
    let (r, _) = run(&job(&sim)).await;
    assert_eq!(r.outcome, Outcome::Inactive, "{}", reason(&r));
    let after = report(&sim, m).await;
    assert_eq!(
        after["stats"]["responses-cut"], 1,
        "exactly the login answer"
    );
    assert_eq!(
        after["stats"]["session-conflicts"], 0,
        "the cut login's session was ended before the next login"
    );
    assert_eq!(after["session-active"], false, "no session left open");
    sim.shutdown().await;
}

/// Old firmware that only speaks TLS 1.0: the agent says so and points to --http; over HTTP it then works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_tls_is_explained_and_http_works() {
    let mut spec = phone("poly-vvx-5", "5.6.3.1155", "0004F2000418");
    spec.faults.legacy_tls = true;
    let sim = start(vec![spec], SCALE).await;
    let (r, _) = run(&job(&sim)).await;
    assert!(
        matches!(r.outcome, Outcome::NeedsAttention { .. }),
        "{:?}",
        r.outcome
    );
    assert!(reason(&r).contains("--http"), "{}", reason(&r));
    let mut j = job(&sim);
    let http = sim.phones()[0].addrs().1.expect("VVX 5 serves HTTP");
    j.base = format!("http://{http}/").parse().unwrap();
    j.dry_run = true;
    let (r, _) = run(&j).await;
    assert!(
        matches!(r.outcome, Outcome::DryRun { .. }),
        "{}",
        reason(&r)
    );
    sim.shutdown().await;
}

/// A phone whose web server answers 500 for a moment (still starting) is asked again, then recognised; one that
/// keeps answering 500 is reported as a server error with what to do — never as "not a supported Poly phone".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_before_recognising() {
    let mut passing = phone("poly-vvx-6", "6.4.5.1210", "64167F00041A");
    passing.faults.server_errors = 2;
    let mut stuck = phone("poly-ccx", "8.1.3.1301", "48256700041B");
    stuck.faults.server_errors = 1000;
    for (spec, recovers) in [(passing, true), (stuck, false)] {
        let sim = start(vec![spec], SCALE).await;
        let mut j = job(&sim);
        j.dry_run = true;
        let (r, _) = run(&j).await;
        let why = reason(&r);
        if recovers {
            assert!(matches!(r.outcome, Outcome::DryRun { .. }), "{why}");
        } else {
            assert!(
                why.contains("HTTP 500")
                    && why.contains("wait a minute")
                    && !why.contains("supported"),
                "{why}"
            );
        }
        sim.shutdown().await;
    }
}

/// polyprov remembers its own failed logins per phone across runs: a second run inside the phone's lockout window
/// does not spend the attempt that would lock it (here a VVX on 5.6, which never says how many attempts are left),
/// and says it was polyprov, not someone else. Once the window has passed, the right password works and the
/// memory starts over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_remembered_across_runs() {
    use polyprov::clock::Clock;
    use polyprov::phone::attempts::Attempts;
    use std::sync::Arc;

    let dir = std::env::temp_dir().join(format!("polyprov-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let m = mac("0004F200041C");
    let sim = start(
        vec![phone("poly-vvx-5", "5.6.3.1155", "0004F200041C")],
        SCALE,
    )
    .await;
    let memory = Arc::new(Attempts::in_dir(&dir));
    let mut j = job(&sim);
    j.dry_run = true;
    j.attempts = Some(memory.clone());
    // Our memory counts in real seconds: the phone's 60 s window.
    j.clock = Clock::new(1.0);
    j.passwords = ["wrong-1", "wrong-2", "wrong-3", "wrong-4"]
        .map(Secret::new)
        .to_vec();

    let (first, _) = run(&j).await;
    assert!(
        reason(&first).contains("3 password(s) refused"),
        "{}",
        reason(&first)
    );
    assert_eq!(memory.recent(m, 60.0), 3);

    j.passwords.push(Secret::new(PASSWORD));
    let (second, events) = run(&j).await;
    let why = reason(&second);
    assert!(
        why.contains("polyprov already failed 3 login(s)") && !why.contains("someone else"),
        "{why}"
    );
    assert!(
        !events.iter().any(|e| matches!(e, Event::LoggingIn { .. })),
        "nothing was tried: {events:?}"
    );
    let truth = report(&sim, m).await;
    assert_eq!(truth["stats"]["failed-logins"], 3);
    assert!(truth["locked-for"].is_null(), "{truth}");

    // The window over (a fast clock makes it 6 ms of ours): the right password works and clears the memory.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    j.clock = Clock::new(10_000.0);
    j.passwords = vec![Secret::new(PASSWORD)];
    let (third, _) = run(&j).await;
    assert!(
        matches!(third.outcome, Outcome::DryRun { .. }),
        "{}",
        reason(&third)
    );
    assert_eq!(memory.recent(m, 3600.0), 0);
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

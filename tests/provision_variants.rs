//! polyprov does not depend on the simulator's spelling of things. The same phones, with the details real phones
//! may differ in from the recordings — attribute names in upper or lower case, attributes in reverse order, CRLF
//! line ends and line breaks between attributes, no CSRF meta, a wrong password answered 401 instead of 200, a
//! second session answered 400 or 412 — are provisioned just the same, or refused for the same reason.

mod common;

use common::*;
use polyprov::phone::{Event, Job, Outcome, Report};
use polyprov::secret::Secret;
use polyprov::sim::Simulator;
use polyprov::sim::variant::Variant;

const SCALE: f64 = 300.0;

/// Session-login phones, where the spelling of pages and answers matters most.
const PERSONAS: &[(&str, &str, &str)] = &[
    ("poly-vvx-6", "6.4.5.1210", "64167F00D1"),
    ("poly-vvx-6", "5.9.4.3247", "64167F00D2"),
    ("poly-ccx", "8.1.3.1301", "48256700D3"),
];

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

/// Every persona with this variant: provisioned to Inactive, the phone's own state agreeing.
async fn provisioned_with(variant: Variant, n: u8) {
    for (profile, firmware, prefix) in PERSONAS {
        let m = format!("{prefix}{n:02X}");
        let mut spec = phone(profile, firmware, &m);
        spec.variants = vec![variant];
        let sim = start(vec![spec], SCALE).await;
        let (r, _) = run(&job(&sim)).await;
        assert_eq!(
            r.outcome,
            Outcome::Inactive,
            "{variant:?} on {profile}/{firmware}: {:?}",
            r.outcome
        );
        let truth = report(&sim, mac(&m)).await;
        assert_eq!(
            truth["phase"], "inactive",
            "{variant:?} on {profile}/{firmware}"
        );
        assert_eq!(
            truth["server-name"].as_str(),
            sim.prov_url().as_deref(),
            "{variant:?} on {profile}/{firmware}"
        );
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribute_names_in_upper_case() {
    provisioned_with(Variant::AttributesUpper, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribute_names_in_lower_case() {
    provisioned_with(Variant::AttributesLower, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_in_reverse_order() {
    provisioned_with(Variant::AttributesReversed, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crlf_line_ends_and_line_breaks_between_attributes() {
    provisioned_with(Variant::CrlfSpacing, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_csrf_meta() {
    provisioned_with(Variant::NoCsrfMeta, 5).await;
}

/// A wrong password answered 401 (not 200 `INVALID_LOGIN`): still recognised as a wrong password, never pushed
/// into a lockout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_answered_401() {
    for (profile, firmware, prefix) in PERSONAS {
        let m = format!("{prefix}06");
        let mut spec = phone(profile, firmware, &m);
        spec.variants = vec![Variant::WrongPassword401];
        let sim = start(vec![spec], SCALE).await;
        let mut j = job(&sim);
        j.passwords = ["a", "b", "c", "d", "e", "f"].map(Secret::new).to_vec();
        let (r, _) = run(&j).await;
        assert!(
            matches!(&r.outcome, Outcome::NeedsAttention { reason, .. } if reason.contains("password")),
            "{profile}/{firmware}: {:?}",
            r.outcome
        );
        let truth = report(&sim, mac(&m)).await;
        assert_eq!(
            truth["locked-for"],
            serde_json::Value::Null,
            "{profile}/{firmware}: not locked"
        );
        assert_eq!(truth["stats"]["saves"], 0);
        sim.shutdown().await;
    }
}

/// Someone else's session answered 400 or 412 (not the profile's 406): recognised as a held session and waited
/// out, then provisioned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_session_answered_400_or_412() {
    for (variant, n) in [(Variant::Conflict400, 7u8), (Variant::Conflict412, 8)] {
        let m = format!("64167F00D1{n:02X}");
        let mut spec = phone("poly-vvx-6", "6.4.5.1210", &m);
        spec.variants = vec![variant];
        spec.faults.busy_secs = 40;
        let sim = start(vec![spec], SCALE).await;
        let (r, events) = run(&job(&sim)).await;
        assert_eq!(r.outcome, Outcome::Inactive, "{variant:?}: {:?}", r.outcome);
        assert!(
            events.iter().any(|e| matches!(e, Event::Busy { .. })),
            "{variant:?}: the held session was seen"
        );
        sim.shutdown().await;
    }
}

/// The variants really are what the phone serves: upper-case attribute names on its provisioning page (the live
/// values still filled in), and no CSRF meta on index.htm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_variant_pages_are_served() {
    let m = "64167F00D109";
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", m);
    spec.variants = vec![Variant::AttributesUpper, Variant::NoCsrfMeta];
    let sim = start(vec![spec], SCALE).await;
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let c = client(mac(m));
    let s = login_session(&c, &base, PASSWORD).await;
    assert_eq!(s.csrf, None, "no CSRF meta");
    let page = s.page(&c, "/provConf.htm").await;
    assert!(
        page.contains("PARAMNAME=\"device.prov.serverName\""),
        "{page}"
    );
    assert!(!page.contains("paramName="), "{page}");
    assert!(
        page.contains(" SELECTED=\"selected\""),
        "the current server type is still selected"
    );
    sim.shutdown().await;
}

//! The agent's verdict rests on what the phone shows. Against phones of every web-provisionable family, pointed at
//! a provisioning server that fails in each way a real site's does, `provision` names the failure the phone's own
//! log shows (with its fix), never reports Inactive without evidence, and reports Inactive — with the evidence it
//! used — as soon as the phone shows it loaded the service's configuration. Each row is checked against the
//! simulator's ground truth: what the phone fetched and how that ended.

mod common;

use common::*;
use polyprov::phone::{Event, Job, Outcome, Report, ServerFailure};
use polyprov::sim::{PhoneSpec, ProvSetup, SimConfig, Simulator};

const SCALE: f64 = 300.0;

/// Phones of every family and login generation the web UI can provision.
const FAMILIES: &[(&str, &str, &str)] = &[
    ("poly-ccx", "8.1.3.1301", "482567000801"),
    ("poly-vvx-6", "6.4.5.1210", "64167F000802"),
    ("poly-vvx-6", "5.9.4.3247", "64167F000803"),
    ("poly-vvx-5", "5.6.3.1155", "0004F2000804"),
    ("soundpoint-ucs4", "4.0.15.1047", "0004F2000805"),
];

/// Where the agent points the phone.
enum Url {
    Service,
    Other(&'static str),
}

struct Row {
    /// What the row shows.
    name: &'static str,
    url: Url,
    phone: fn(&mut PhoneSpec),
    service: fn(&mut ProvSetup),
    /// The outcome the agent must report.
    state: &'static str,
    /// Words the agent's reason must contain (the phone's own log line, the fix).
    says: &'static [&'static str],
    /// `provisioning.last` on the simulated phone: what really happened (`server:X`: the server it uses).
    truth: &'static str,
}

fn none(_: &mut PhoneSpec) {}
fn nothing(_: &mut ProvSetup) {}

const ROWS: &[Row] = &[
    Row {
        name: "a mistyped host name",
        url: Url::Other("https://does-not-exist.invalid/typo/"),
        phone: none,
        service: nothing,
        state: "server-unreachable",
        says: &[
            "Could not resolve 'does-not-exist.invalid'",
            "is unresponsive",
            "typos",
        ],
        truth: "dns",
    },
    Row {
        name: "a server nothing listens on (firewall)",
        url: Url::Service,
        phone: none,
        service: |s| s.faults.unreachable = true,
        state: "server-unreachable",
        says: &["Could not connect to", "firewall"],
        truth: "connect",
    },
    Row {
        name: "a certificate the phone does not trust",
        url: Url::Service,
        phone: none,
        service: |s| s.faults.untrusted_cert = true,
        state: "server-unreachable",
        says: &["certificate verify failed"],
        truth: "tls",
    },
    Row {
        name: "a phone clock too wrong for TLS",
        url: Url::Service,
        phone: |p| p.faults.clock_wrong = true,
        service: nothing,
        state: "server-unreachable",
        says: &["not yet valid", "clock"],
        truth: "tls",
    },
    Row {
        name: "a MAC the service does not know (404)",
        url: Url::Service,
        phone: |p| p.enrolled = false,
        service: nothing,
        state: "config-missing",
        says: &["Failed to download file", "admin console"],
        truth: "missing",
    },
    Row {
        name: "wrong server credentials (401)",
        url: Url::Service,
        phone: none,
        service: |s| s.credentials = Some(("poly".into(), "prov-secret".into())),
        state: "server-refused",
        says: &["(HTTP 401)", "server user and password"],
        truth: "refused",
    },
    Row {
        name: "a captive portal instead of the service",
        url: Url::Service,
        phone: none,
        service: |s| s.faults.wrong_content = true,
        state: "config-invalid",
        says: &["Error parsing", "captive portal"],
        truth: "invalid",
    },
    Row {
        name: "a DHCP option 66 that overrides the saved server",
        url: Url::Service,
        phone: |p| p.faults.dhcp_boot_server = Some("http://tftp.lan.test/old/".into()),
        service: nothing,
        state: "server-reverted",
        says: &["http://tftp.lan.test/old/", "Static"],
        truth: "server:http://tftp.lan.test/old/",
    },
];

fn job(sim: &Simulator, url: &str) -> Job {
    common::job(sim, url, SCALE)
}

async fn run(job: &Job) -> (Report, Vec<Event>) {
    provision_with_events(job).await
}

async fn sim_with(spec: PhoneSpec, setup: ProvSetup) -> Simulator {
    let config = SimConfig {
        time_scale: SCALE,
        seed: 7,
        prov: Some(setup),
        ..SimConfig::default()
    };
    Simulator::start(catalog(), vec![spec], config)
        .await
        .expect("simulator starts")
}

fn reason(r: &Report) -> String {
    r.outcome
        .explained()
        .unwrap_or_else(|| format!("{:?}", r.outcome))
}

/// One row on one family: the agent's outcome and reason, the phone's truth, and nothing claimed as Inactive.
async fn check(row: &Row, family: &(&str, &str, &str)) {
    let mut spec = phone(family.0, family.1, family.2);
    (row.phone)(&mut spec);
    let mut setup = ProvSetup::default();
    (row.service)(&mut setup);
    let sim = sim_with(spec, setup).await;
    let url = match row.url {
        Url::Service => sim.prov_url().unwrap(),
        Url::Other(u) => u.to_string(),
    };
    let (r, _) = run(&job(&sim, &url)).await;
    let what = format!("{} on {}/{}", row.name, family.0, family.1);
    assert_eq!(r.outcome.label(), row.state, "{what}: {}", reason(&r));
    assert_eq!(r.outcome.exit_code(), 1, "{what}");
    for word in row.says {
        assert!(
            reason(&r).contains(word),
            "{what}: no {word:?} in {}",
            reason(&r)
        );
    }
    let truth = report(&sim, mac(family.2)).await;
    match row.truth.strip_prefix("server:") {
        Some(server) => assert_eq!(truth["server-in-use"], server, "{what}: {truth:#}"),
        None => assert_eq!(
            truth["provisioning"]["last"], row.truth,
            "{what}: {truth:#}"
        ),
    }
    assert_ne!(truth["phase"], "inactive", "{what}");
    assert_eq!(truth["stats"]["conf-changes"], 1, "{what}: saved once");
    assert_eq!(truth["session-active"], false, "{what}: logged out");
    sim.shutdown().await;
}

async fn rows_on_every_family(rows: std::ops::Range<usize>) {
    for row in &ROWS[rows] {
        for family in FAMILIES {
            check(row, family).await;
        }
    }
}

/// Unreachable servers: a typo, a firewall, an untrusted certificate, a wrong clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_servers_are_named_with_the_phones_own_lines() {
    rows_on_every_family(0..4).await;
}

/// Servers that answer, but not with this phone's configuration: 404, 401, a captive portal, a DHCP override.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_that_refuse_or_miss_are_named() {
    rows_on_every_family(4..ROWS.len()).await;
}

/// The server goes away half-way through the firmware download: update-failed, on every family that updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_update_is_named() {
    for family in FAMILIES.iter().filter(|f| f.1 != "4.0.15.1047") {
        let setup = ProvSetup {
            faults: polyprov::sim::ServerFaults {
                gone_mid_update: true,
                ..Default::default()
            },
            ..ProvSetup::default()
        };
        let sim = sim_with(phone(family.0, family.1, family.2), setup).await;
        let (r, _) = run(&job(&sim, &sim.prov_url().unwrap())).await;
        assert!(
            matches!(
                r.outcome,
                Outcome::ServerFailed {
                    failure: ServerFailure::UpdateFailed,
                    ..
                }
            ),
            "{}: {}",
            family.1,
            reason(&r)
        );
        let truth = report(&sim, mac(family.2)).await;
        assert_eq!(truth["firmware"], family.1, "the firmware stays");
        assert_eq!(truth["provisioning"]["last"], "update-failed");
        sim.shutdown().await;
    }
}

/// A healthy service: Inactive, on the phone and in the report, with the evidence the agent read — the log's
/// finished pass, the provisioning page's `config=` value the service set, the firmware it named — and, where the
/// REST API is on, the line's own label.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_rests_on_the_phones_evidence() {
    for family in FAMILIES {
        let mut spec = phone(family.0, family.1, family.2);
        spec.rest_enabled = true;
        let sim = sim_with(spec, ProvSetup::default()).await;
        let url = sim.prov_url().unwrap();
        let (r, events) = run(&job(&sim, &url)).await;
        let what = format!("{}/{}", family.0, family.1);
        assert_eq!(r.outcome, Outcome::Inactive, "{what}: {}", reason(&r));
        let truth = report(&sim, mac(family.2)).await;
        assert_eq!(truth["phase"], "inactive", "{what}");
        assert_eq!(truth["provisioning"]["last"], "loaded", "{what}");
        let evidence = r.evidence.join("\n");
        assert!(
            evidence.contains("Prov|Finished updating configuration"),
            "{what}: {evidence}"
        );
        assert!(
            evidence.contains(&format!("config={url:?}")),
            "{what}: {evidence}"
        );
        if truth["rest-enabled"] == true {
            assert!(
                evidence.contains("REST lineInfo: line 1 \"Inactive\", unregistered"),
                "{what}: {evidence}"
            );
        }
        if truth["firmware"] != family.1 {
            assert!(
                evidence.contains("the update the server named"),
                "{what}: {evidence}"
            );
        }
        assert!(
            events.iter().any(|e| matches!(e, Event::Inactive { .. })),
            "{what}"
        );
        sim.shutdown().await;
    }
}

/// The agent stops waiting as soon as the phone shows it: it reports Inactive within a few polls of the moment the
/// phone settled, not a quiet window later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_is_reported_as_soon_as_it_shows() {
    let sim = sim_with(
        phone("poly-vvx-6", "6.4.5.1210", "64167F000810"),
        ProvSetup::default(),
    )
    .await;
    let mut j = job(&sim, &sim.prov_url().unwrap());
    let window = 600.0;
    j.timing.settle_secs = Some(window);
    let (r, _) = run(&j).await;
    let returned = tokio::time::Instant::now();
    assert_eq!(r.outcome, Outcome::Inactive, "{}", reason(&r));
    let settled = sim.phones()[0]
        .with(|p| p.inactive_at)
        .expect("the phone settled");
    // Both moments on the wall clock, turned into phone seconds: a waited-out window would be 600 of them.
    let lag = returned.saturating_duration_since(settled).as_secs_f64() * SCALE;
    assert!(
        lag < window / 2.0,
        "reported {lag:.0} phone seconds after the phone settled"
    );
    sim.shutdown().await;
}

/// A phone that already has the service's server saved but whose last pass failed (the service does not know its
/// MAC): nothing is written, and the agent names the failure from the phone's log instead of calling it provisioned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn already_saved_but_failing_is_named_not_provisioned() {
    let m = mac("64167F000812");
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000812").provisioned_here();
    spec.enrolled = false;
    let sim = sim_with(spec, ProvSetup::default()).await;
    let (r, events) = run(&job(&sim, &sim.prov_url().unwrap())).await;
    assert!(
        matches!(
            r.outcome,
            Outcome::ServerFailed {
                failure: ServerFailure::ConfigMissing,
                ..
            }
        ),
        "{:?}",
        r.outcome
    );
    assert!(!events.contains(&Event::AlreadyProvisioned));
    let truth = report(&sim, m).await;
    assert_eq!(truth["phase"], "provisioning-failed");
    assert_eq!(truth["stats"]["saves"], 0, "nothing written");
    sim.shutdown().await;
}

/// Already pointed at the service, loaded and showing it: "already provisioned", with the evidence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn already_provisioned_rests_on_the_phones_evidence() {
    let spec = phone("poly-ccx", "8.1.3.1301", "482567000813").provisioned_here();
    let sim = sim_with(spec, ProvSetup::default()).await;
    let url = sim.prov_url().unwrap();
    let (r, _) = run(&job(&sim, &url)).await;
    assert_eq!(r.outcome, Outcome::AlreadyProvisioned, "{}", reason(&r));
    let evidence = r.evidence.join("\n");
    assert!(
        evidence.contains("Prov|Finished updating configuration"),
        "{evidence}"
    );
    assert!(evidence.contains(&format!("config={url:?}")), "{evidence}");
    sim.shutdown().await;
}

/// A service that pushes its own admin password: the password that worked before the save is refused after it;
/// the agent tries it once (never toward a lockout), and since it cannot read the evidence it reports
/// unconfirmed — saying what the refusal suggests — not Inactive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_changed_by_the_service_is_unconfirmed_not_inactive() {
    let m = mac("64167F000811");
    let setup = ProvSetup {
        admin_password: Some("cloud-set-pw".into()),
        ..ProvSetup::default()
    };
    let sim = sim_with(phone("poly-vvx-6", "6.4.5.1210", "64167F000811"), setup).await;
    let mut j = job(&sim, &sim.prov_url().unwrap());
    j.timing.settle_secs = Some(60.0);
    let (r, _) = run(&j).await;
    assert!(
        matches!(r.outcome, Outcome::Unconfirmed { .. }),
        "{:?}",
        r.outcome
    );
    assert_eq!(r.outcome.exit_code(), 3);
    let why = reason(&r);
    assert!(why.contains("refused after the save"), "{why}");
    assert!(why.contains("should read Inactive"), "{why}");
    let truth = report(&sim, m).await;
    assert_eq!(truth["phase"], "inactive", "the phone did settle");
    assert_eq!(truth["locked-for"], serde_json::Value::Null, "never locked");
    let failed = truth["stats"]["failed-logins"]
        .as_u64()
        .expect("the simulator counts failed logins");
    assert!(failed <= 1, "{failed} failed logins");
}

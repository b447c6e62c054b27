//! Phone behaviour as a table: each line is one phone — its family and firmware, the fault it shows — and the
//! outcome a run must report for it, checked against the simulator's ground truth. All of them are onboarded
//! together, as one run through the library (`onboard::start`), so each verdict also holds with the others'
//! faults going on around it. Phones are picked by what they are (their MAC), never by position.

mod common;

use std::sync::Arc;

use common::*;
use polyprov::fleet::targets::Target;
use polyprov::mac::Mac;
use polyprov::onboard::{self, RunSpec};
use polyprov::sim::{PhoneSpec, ProvSetup, SimConfig, Simulator};

/// Phone seconds per wall second.
const SCALE: f64 = 300.0;

/// One phone of the table.
struct Scenario {
    /// What the phone is and does, in words.
    name: &'static str,
    profile: &'static str,
    firmware: &'static str,
    fault: fn(&mut PhoneSpec),
    /// The state the report must show (its label).
    outcome: &'static str,
    /// The simulator's own phase for it afterwards, where the fault makes it certain.
    truth: Option<&'static str>,
    /// How often the run may have saved its provisioning server (0: never touched, 1: exactly once).
    saves: u64,
}

fn none(_: &mut PhoneSpec) {}

#[rustfmt::skip]
const SCENARIOS: &[Scenario] = &[
    Scenario { name: "a fresh CCX",                          profile: "poly-ccx",        firmware: "8.1.3.1301",  fault: none,                                              outcome: "Inactive",           truth: Some("inactive"),            saves: 1 },
    Scenario { name: "a fresh VVX on 6.4",                   profile: "poly-vvx-6",      firmware: "6.4.5.1210",  fault: none,                                              outcome: "Inactive",           truth: Some("inactive"),            saves: 1 },
    Scenario { name: "a fresh VVX on 5.9",                   profile: "poly-vvx-6",      firmware: "5.9.4.3247",  fault: none,                                              outcome: "Inactive",           truth: Some("inactive"),            saves: 1 },
    Scenario { name: "a VVX on 5.6 (Basic-auth generation)", profile: "poly-vvx-5",      firmware: "5.6.3.1155",  fault: none,                                              outcome: "Inactive",           truth: Some("inactive"),            saves: 1 },
    Scenario { name: "a SoundPoint on UCS 4.0.15",           profile: "soundpoint-ucs4", firmware: "4.0.15.1047", fault: none,                                              outcome: "Inactive",           truth: Some("inactive"),            saves: 1 },
    Scenario { name: "a SoundPoint on SIP 3.x",              profile: "soundpoint-sip3", firmware: "3.2.7.0198",  fault: none,                                              outcome: "unsupported",        truth: Some("unprovisioned"),       saves: 0 },
    Scenario { name: "someone else's admin password",        profile: "poly-vvx-6",      firmware: "6.4.5.1210",  fault: |p| p.password = "someone-elses".into(),           outcome: "needs attention",    truth: Some("unprovisioned"),       saves: 0 },
    Scenario { name: "a web UI locked by someone's logins",  profile: "soundpoint-ucs4", firmware: "4.0.8.1608",  fault: |p| p.faults.locked = true,                        outcome: "Inactive",           truth: Some("inactive"),            saves: 1 },
    Scenario { name: "someone else in the web UI for 60 s",  profile: "soundpoint-ucs4", firmware: "4.0.15.1047", fault: |p| p.faults.busy_secs = 60,                     outcome: "Inactive",           truth: Some("inactive"),            saves: 1 },
    Scenario { name: "the save's answer cut off",            profile: "poly-vvx-6",      firmware: "6.4.5.1210",  fault: |p| p.faults.reset_saves = 1,                      outcome: "Inactive",           truth: Some("inactive"),            saves: 1 },
    Scenario { name: "two server errors, then well",         profile: "poly-ccx",        firmware: "8.1.3.1301",  fault: |p| p.faults.server_errors = 2,                    outcome: "Inactive",           truth: Some("inactive"),            saves: 1 },
    Scenario { name: "answers slowly (300 ms each)",         profile: "poly-vvx-6",      firmware: "5.9.4.3247",  fault: |p| p.faults.slow_ms = 300,                        outcome: "Inactive",           truth: Some("inactive"),            saves: 1 },
    Scenario { name: "a certificate that is not a Poly one", profile: "poly-vvx-6",      firmware: "6.4.5.1210",  fault: |p| p.faults.foreign_cert = true,                  outcome: "needs attention",    truth: Some("unprovisioned"),       saves: 0 },
    Scenario { name: "never comes back from its reboot",     profile: "poly-vvx-6",      firmware: "6.4.5.1210",  fault: |p| p.faults.never_returns = true,                 outcome: "failed",             truth: Some("dead"),                saves: 1 },
    Scenario { name: "a firmware update that loops",         profile: "poly-ccx",        firmware: "8.1.3.1301",  fault: |p| p.faults.update_loop = true,                   outcome: "failed",             truth: None,                        saves: 1 },
    Scenario { name: "a clock too wrong for TLS",            profile: "poly-vvx-6",      firmware: "6.4.5.1210",  fault: |p| p.faults.clock_wrong = true,                   outcome: "server-unreachable", truth: Some("provisioning-failed"), saves: 1 },
    Scenario { name: "a MAC the service does not know",      profile: "poly-ccx",        firmware: "8.1.3.1301",  fault: |p| p.enrolled = false,                            outcome: "config-missing",     truth: Some("provisioning-failed"), saves: 1 },
];

/// The MAC of scenario `i`: a Poly OUI of its family, and the scenario's number.
fn mac_of(i: usize, profile: &str) -> Mac {
    let oui = match profile {
        "poly-ccx" => "482567",
        "poly-vvx-6" => "64167F",
        _ => "0004F2",
    };
    mac(&format!("{oui}00{:04X}", 0x0900 + i))
}

async fn simulator() -> Simulator {
    let specs = SCENARIOS
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut spec = phone(s.profile, s.firmware, &mac_of(i, s.profile).to_string());
            (s.fault)(&mut spec);
            spec
        })
        .collect();
    let config = SimConfig {
        time_scale: SCALE,
        seed: 7,
        prov: Some(ProvSetup::default()),
        ..SimConfig::default()
    };
    Simulator::start(catalog(), specs, config)
        .await
        .expect("simulator starts")
}

/// The run's spec: every phone of the simulator, by address and MAC, pointed at its provisioning service.
fn spec(sim: &Simulator) -> RunSpec {
    let targets = sim
        .phones()
        .iter()
        .map(|p| {
            let (https, http) = p.addrs();
            let mut t = match (https, http) {
                (Some(a), _) => Target::from_address(&a.to_string(), false),
                (_, Some(a)) => Target::from_address(&a.to_string(), true),
                _ => panic!("phone {} serves no web UI", p.mac),
            }
            .expect("target");
            t.mac = Some(p.mac);
            t
        })
        .collect();
    RunSpec {
        server_type: "HTTPS".into(),
        server_url: sim.prov_url().expect("provisioning service"),
        server_user: None,
        server_password_file: None,
        password_file: None,
        allow_factory_password: false,
        new_password_file: None,
        concurrency: 8,
        allow: Default::default(),
        site: None,
        operator: None,
        dry_run: false,
        force: false,
        cidr: None,
        return_secs: None,
        settle_secs: None,
        timeout_secs: None,
        patience_secs: onboard::spec::DEFAULT_PATIENCE_SECS,
        time_scale: SCALE,
        search_rate: onboard::spec::DEFAULT_SEARCH_RATE,
        resolve: sim.prov_pin().into_iter().collect(),
        server_ca: None,
        skip_server_check: true,
        server_checks: Vec::new(),
        plan: None,
        targets,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_phone_of_the_table_ends_as_specified() {
    let sim = simulator().await;
    let spec = spec(&sim);
    spec.check().expect("a valid spec");
    let settings = settings(&sim, &spec.server_url, SCALE, spec.concurrency, false);
    let state = std::env::temp_dir().join(format!("polyprov-scenarios-{}", std::process::id()));
    let dir = onboard::new_run_dir(&state).expect("run directory");
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let profiles = Arc::new(catalog().profiles.clone());
    let ended = onboard::start(
        &dir,
        &spec,
        settings,
        profiles,
        polyprov::fleet::progress::Mode::Plain,
        stop,
    )
    .await
    .expect("the run ends");

    assert_eq!(ended.done.len(), SCENARIOS.len(), "every phone has a row");
    let mut wrong = Vec::new();
    for (i, s) in SCENARIOS.iter().enumerate() {
        let m = mac_of(i, s.profile);
        let Some((_, r)) = ended.done.iter().find(|(t, _)| t.mac == Some(m)) else {
            wrong.push(format!("{}: no report", s.name));
            continue;
        };
        let truth = report(&sim, m).await;
        let got = r.outcome.label();
        if got != s.outcome {
            wrong.push(format!(
                "{}: reported {got} ({}), expected {}",
                s.name,
                r.outcome.explained().unwrap_or_default(),
                s.outcome
            ));
        }
        if let Some(phase) = s.truth
            && truth["phase"] != phase
        {
            wrong.push(format!(
                "{}: the simulator shows {}, expected {phase}",
                s.name, truth["phase"]
            ));
        }
        if truth["stats"]["conf-changes"].as_u64() != Some(s.saves) {
            wrong.push(format!(
                "{}: saved {} time(s), expected {}",
                s.name, truth["stats"]["conf-changes"], s.saves
            ));
        }
        if !truth["locked-for"].is_null() {
            wrong.push(format!("{}: the run locked its web UI", s.name));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The journal holds the same run: reported again from it, every row is the same.
    let again = onboard::report(&dir).expect("report from the journal");
    assert_eq!(again.rows, ended.rows);
    sim.shutdown().await;
    std::fs::remove_dir_all(&state).ok();
}

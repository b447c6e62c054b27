//! Phones whose reboots do not bring them back where they were: never back, rebooting in an update loop, back on a
//! new address (found by its certificate's MAC in the range, or heard by live discovery), or back in the voice VLAN
//! the agent's interface is not on.

mod common;

use common::*;

use polyprov::phone::locate::{Heard, Whereabouts};
use polyprov::phone::{Event, Job, Outcome, Report};
use polyprov::sim::Simulator;

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

/// A phone that never returns from its reboot ends as a named failure once its return window is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_that_never_returns_is_named() {
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F00040F");
    spec.faults.never_returns = true;
    let sim = start(vec![spec], SCALE).await;
    let (r, _) = run(&job(&sim)).await;
    assert!(
        matches!(r.outcome, Outcome::Failed { .. }),
        "{:?}",
        r.outcome
    );
    assert!(reason(&r).contains("did not come back"), "{}", reason(&r));
    assert_eq!(r.outcome.exit_code(), 1);
    sim.shutdown().await;
}

/// Reboot after reboot: the agent names the update loop instead of waiting forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_loop_is_named() {
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000410");
    spec.faults.update_loop = true;
    let sim = start(vec![spec], SCALE).await;
    let (r, _) = run(&job(&sim)).await;
    assert!(reason(&r).contains("update loop"), "{}", reason(&r));
    sim.shutdown().await;
}

/// The phone comes back on a new address: found again by its certificate's MAC within the range the user named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_address_is_found_by_mac() {
    let m = mac("64167F000411");
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000411");
    spec.faults.new_ip = Some("127.0.0.206".parse().unwrap());
    let sim = start(vec![spec], SCALE).await;
    let mut j = job(&sim);
    j.search_range = Some("127.0.0.200/29".parse().unwrap());
    j.search_rate = 200;
    let (r, events) = run(&j).await;
    assert_eq!(r.outcome, Outcome::Inactive, "{} {events:?}", reason(&r));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Moved { to, .. } if to == "127.0.0.206")),
        "{events:?}"
    );
    assert_eq!(r.address, "127.0.0.206");
    assert_eq!(report(&sim, m).await["phase"], "inactive");
    sim.shutdown().await;
}

/// The phone comes back on a new address and announces it (DHCP, gratuitous ARP): live discovery heard it, so it
/// is found at once without probing any range.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_address_heard_by_live_discovery_is_used_first() {
    let m = mac("64167F000413");
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000413");
    spec.faults.new_ip = Some("127.0.0.207".parse().unwrap());
    let sim = start(vec![spec], SCALE).await;
    let mut j = job(&sim);
    j.search_range = None;
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    j.heard = Some(Heard(std::sync::Arc::new(move |who| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        (who == m).then(|| Whereabouts {
            ip: Some("127.0.0.207".parse().unwrap()),
            other_vlan: None,
        })
    })));
    let (r, _) = run(&j).await;
    assert_eq!(r.outcome, Outcome::Inactive, "{}", reason(&r));
    assert_eq!(r.address, "127.0.0.207");
    assert!(asked.load(std::sync::atomic::Ordering::SeqCst) > 0);
    sim.shutdown().await;
}

/// The phone comes back in the voice VLAN (the switch moved it there after its first boot), heard tagged at an
/// address that does not answer from here: the run says which VLAN, where, and how to onboard from it, and does
/// not call the phone Inactive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_back_on_a_vlan_out_of_reach_is_named_with_the_fix() {
    let m = mac("64167F000414");
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000414");
    spec.faults.new_ip = Some("127.0.0.208".parse().unwrap());
    let sim = start(vec![spec], SCALE).await;
    let mut j = job(&sim);
    j.search_range = None;
    j.heard = Some(Heard(std::sync::Arc::new(move |who| {
        (who == m).then(|| Whereabouts {
            ip: Some("127.0.0.209".parse().unwrap()),
            other_vlan: Some(20),
        })
    })));
    let (r, _) = run(&j).await;
    assert_ne!(r.outcome, Outcome::Inactive);
    let told: Vec<&String> = r
        .warnings
        .iter()
        .filter(|w| w.contains("came back on VLAN 20"))
        .collect();
    assert_eq!(told.len(), 1, "said once: {:?}", r.warnings);
    assert!(
        told[0].contains("at 127.0.0.209") && told[0].contains("--interface IF.20"),
        "{}",
        told[0]
    );
    assert!(reason(&r).contains("did not come back"), "{}", reason(&r));
    sim.shutdown().await;
}

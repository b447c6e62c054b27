//! Devices that pose as phones and attack the agent: each answers with a Poly-looking certificate
//! (`CN=<MAC>, O=Polycom Inc.`, as a real phone's) and then breaks a budget. The agent reports each by address,
//! sends it no credential — not then, not later — and stays small and quick. (Figures belong in benchmarks; these
//! tests assert outcomes.)

mod common;

use common::*;
use polyprov::phone::{Event, Outcome, Report};
use polyprov::sim::hostile::{Attack, Seen};

/// A device on loopback answering every request with `attack`, with phone `mac`'s subject.
async fn hostile(attack: Attack, mac: &str) -> (std::net::SocketAddr, std::sync::Arc<Seen>) {
    polyprov::sim::hostile::serve(attack, mac.parse().unwrap(), 666)
        .await
        .unwrap()
}

/// Onboard the device at `addr` as a phone with the test password.
async fn onboard(addr: std::net::SocketAddr) -> Report {
    let mut job = job_at(
        format!("https://{addr}/").parse().unwrap(),
        "https://prov.example.test/poly/",
        60.0,
    );
    job.allow_factory = true;
    let profiles = catalog().profiles.clone();
    let sink = |_: Event| {};
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        polyprov::phone::provision(&job, &profiles, &sink),
    )
    .await
    .expect("a hostile device never holds the agent")
}

/// The device is reported as what it did, by address, and got no credential.
fn assert_refused(r: &Report, addr: std::net::SocketAddr, said: &str, seen: &Seen) {
    let text = r.outcome.explained().unwrap_or_default();
    assert!(
        matches!(r.outcome, Outcome::NeedsAttention { .. }),
        "{:?}",
        r.outcome
    );
    assert!(
        text.contains(said) && text.contains(&addr.to_string()),
        "{text}"
    );
    assert_eq!(
        seen.credentials(),
        0,
        "no credential reaches a device that broke a budget"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_answer_is_cut_at_the_cap_and_gets_no_password() {
    let (addr, credentials) = hostile(Attack::EndlessBody, "64167F00A001").await;
    let r = onboard(addr).await;
    assert_refused(&r, addr, "answer too large", &credentials);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gigabyte_content_length_is_refused_unread() {
    let (addr, credentials) = hostile(Attack::HugeLength, "64167F00A002").await;
    let r = onboard(addr).await;
    assert_refused(&r, addr, "answer too large", &credentials);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_nested_sixty_thousand_deep_is_refused_unparsed() {
    let (addr, credentials) = hostile(Attack::DeepPage, "64167F00A003").await;
    let r = onboard(addr).await;
    assert_refused(&r, addr, "page too deep", &credentials);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_without_end_are_cut_at_the_head_limit() {
    let (addr, seen) = hostile(Attack::HeaderFlood, "64167F00A005").await;
    let r = onboard(addr).await;
    assert_refused(&r, addr, "answer headers too large", &seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_headers_are_refused() {
    let (addr, seen) = hostile(Attack::ManyHeaders, "64167F00A006").await;
    let r = onboard(addr).await;
    assert_refused(&r, addr, "over 64 headers", &seen);
}

/// In one batch with two deep-page devices a healthy phone is onboarded as if they were not there: their pages are
/// refused by the budget and parsing runs off the async workers, so nothing of theirs stalls its requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deep_pages_in_the_batch_do_not_hold_back_a_healthy_phone() {
    let sim = start(
        vec![phone("poly-vvx-6", "6.4.5.1210", "64167F00A007")],
        300.0,
    )
    .await;
    let mut healthy = job(&sim, "https://prov.example.test/poly/", 300.0);
    healthy.dry_run = true;
    let (a, seen_a) = hostile(Attack::DeepPage, "64167F00A008").await;
    let (b, seen_b) = hostile(Attack::DeepPage, "64167F00A009").await;
    let ((r, _), ra, rb) = tokio::join!(provision_with_events(&healthy), onboard(a), onboard(b));
    assert!(
        matches!(r.outcome, Outcome::DryRun { .. }),
        "{:?}",
        r.outcome
    );
    assert_refused(&ra, a, "page too deep", &seen_a);
    assert_refused(&rb, b, "page too deep", &seen_b);
    sim.shutdown().await;
}

/// A device that reports a model string made of a spreadsheet formula and terminal escape sequences: the report
/// keeps what it said, the table shows it as inert text, and the CSV cell is no formula.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_device_says_is_shown_never_obeyed() {
    let evil = "=HYPERLINK(\"https://evil.test\",\"VVX\")\u{1b}]0;owned\u{7}\u{1b}[2J";
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F00A004");
    spec.model = Some(evil.into());
    let sim = start(vec![spec], 300.0).await;
    let mut j = job(&sim, "https://prov.example.test/poly/", 300.0);
    j.dry_run = true;
    let (r, _) = provision_with_events(&j).await;
    assert!(
        r.model.as_deref().is_some_and(|m| m.contains("HYPERLINK")),
        "the report keeps what the phone said: {:?}",
        r.model
    );
    let target = polyprov::fleet::targets::Target::from_address(
        &sim.phones()[0].web_addr().to_string(),
        false,
    )
    .unwrap();
    let row = polyprov::report::Row::new(&target, &r);
    let table = polyprov::report::table(std::slice::from_ref(&row));
    assert!(
        !table.chars().any(|c| c.is_control() && c != '\n'),
        "{table:?}"
    );
    let csv = polyprov::report::csv(&[row]).unwrap();
    assert!(
        csv.contains("'=HYPERLINK") && !csv.contains('\u{1b}'),
        "{csv}"
    );
    sim.shutdown().await;
}

/// `polyprov provision` under a 1 GiB address-space limit (`ulimit -v`) against each attack: it names the device
/// and exits as a run that needs attention does (3), never killed — before the caps, the endless answer alone grew
/// past 4.7 GB until allocation failed. (The peak memory and time each costs are in `cargo bench --bench hostile`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_memory_ulimit_the_agent_outlives_every_attack() {
    for (attack, mac, said) in [
        (Attack::EndlessBody, "64167F00A011", "answer too large"),
        (Attack::HugeLength, "64167F00A012", "answer too large"),
        (Attack::DeepPage, "64167F00A013", "page too deep"),
        (
            Attack::HeaderFlood,
            "64167F00A014",
            "answer headers too large",
        ),
    ] {
        let (addr, seen) = hostile(attack, mac).await;
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("bash")
                .args([
                    "-c",
                    "ulimit -v 1048576 && exec \"$0\" \"$@\"",
                    env!("CARGO_BIN_EXE_polyprov"),
                    "provision",
                    "--target",
                    &format!("https://{addr}/"),
                    "--server-url",
                    "https://prov.example.test/poly/",
                    "--skip-server-check",
                    "--allow-factory-password",
                ])
                .env("POLYPROV_PASSWORD", PASSWORD)
                .env("POLYPROV_HOME", test_home())
                // The limit is on address space: keep glibc from reserving 64 MiB per thread on many-core hosts.
                .env("MALLOC_ARENA_MAX", "2")
                .env_remove("POLYPROV_LOG")
                .stdin(std::process::Stdio::null())
                .output()
                .expect("bash runs")
        })
        .await
        .expect("joins");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out.status.code(),
            Some(3),
            "{attack:?}: {:?} (no code: killed by a signal)\n{text}",
            out.status
        );
        assert!(
            text.contains(said) && text.contains(&addr.to_string()),
            "{attack:?}: {text}"
        );
        assert_eq!(seen.credentials(), 0, "{attack:?}: no credential sent");
    }
}

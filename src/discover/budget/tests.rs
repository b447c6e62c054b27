use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The most instants of `frames` in any one-second window.
fn worst_second(frames: &[Instant]) -> usize {
    let mut sorted = frames.to_vec();
    sorted.sort();
    (0..sorted.len())
        .map(|i| {
            sorted[i..]
                .iter()
                .take_while(|t| t.saturating_duration_since(sorted[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn a_sweep_asking_as_fast_as_it_can_stays_under_the_cap() {
    let budget = PortBudget::polite();
    let t0 = Instant::now();
    let mut sent = Vec::new();
    for step in 0..5000u64 {
        let now = t0 + ms(step);
        if budget.try_send(now).is_ok() {
            sent.push(now);
        }
    }
    assert!(
        worst_second(&sent) <= POLITE_CAP as usize,
        "{}",
        worst_second(&sent)
    );
    // and it is not starved either: all but the two slots kept for a resolution, five seconds long
    assert!(
        sent.len() >= 5 * (POLITE_CAP as usize - 2) - 1,
        "{}",
        sent.len()
    );
}

#[test]
fn when_full_the_budget_says_when_the_oldest_frame_leaves_the_window() {
    let budget = PortBudget::new(Some(5));
    let t0 = Instant::now();
    // The sweep may fill all but the two slots kept for a resolution.
    for i in 0..3 {
        budget.try_send(t0 + ms(i * 10)).unwrap();
    }
    assert_eq!(budget.try_send(t0 + ms(100)), Err(t0 + ms(1000)));
    assert!(budget.try_send(t0 + ms(1000)).is_ok());
}

#[test]
fn a_connection_reserves_the_kernels_request_and_its_retry_until_the_reply_is_heard() {
    let budget = PortBudget::new(Some(6));
    let t0 = Instant::now();
    budget.try_resolve(ip(11), t0).unwrap();
    // request + retry slot held: two of the sweep's four
    budget.try_send(t0).unwrap();
    budget.try_send(t0).unwrap();
    assert!(budget.try_send(t0).is_err(), "the retry slot is held");
    // the kernel's request leaves (matched, not counted twice) and the phone answers
    budget.saw_own(ip(11), t0 + ms(1));
    budget.saw_reply(ip(11), t0 + ms(2));
    assert!(
        budget.try_send(t0 + ms(3)).is_ok(),
        "the retry slot is free"
    );
    assert_eq!(budget.counted().0, 4);
}

#[test]
fn an_address_that_just_answered_costs_nothing_to_connect_to_again() {
    let budget = PortBudget::new(Some(2));
    let t0 = Instant::now();
    budget.try_resolve(ip(11), t0).unwrap();
    budget.saw_own(ip(11), t0);
    budget.saw_reply(ip(11), t0 + ms(1));
    // The window is full of the first request, yet the second connection (plain HTTP after HTTPS) fits.
    assert!(budget.try_resolve(ip(11), t0 + ms(500)).is_ok());
    assert_eq!(budget.counted().0, 1);
    // After the kernel may have forgotten it, it costs a request again.
    assert!(
        budget
            .try_resolve(ip(11), t0 + Duration::from_secs(20))
            .is_ok()
    );
    assert_eq!(budget.counted().0, 2);
}

#[test]
fn frames_nobody_announced_are_counted_when_seen() {
    let budget = PortBudget::new(Some(5));
    let t0 = Instant::now();
    // The kernel answering a phone's request for us, twice.
    budget.saw_own(ip(21), t0);
    budget.saw_own(ip(22), t0);
    budget.try_send(t0).unwrap();
    assert!(budget.try_send(t0).is_err());
    assert_eq!(budget.counted(), (3, 3));
}

#[test]
fn without_a_listener_a_resolution_holds_its_retry_for_the_kernels_three_seconds() {
    let budget = PortBudget::new(Some(3));
    let t0 = Instant::now();
    budget.try_resolve(ip(11), t0).unwrap();
    // Its request left the window, but the slot for the kernel's retry is still held.
    assert!(budget.try_send(t0 + ms(1500)).is_err());
    assert!(budget.try_send(t0 + ms(3000)).is_ok());
}

#[test]
fn a_risky_rate_lifts_the_cap_but_frames_are_still_counted() {
    let budget = PortBudget::new(None);
    let t0 = Instant::now();
    for _ in 0..100 {
        budget.try_send(t0).unwrap();
    }
    assert_eq!(budget.counted(), (100, 100));
}

/// What the kernel of the technician's laptop does: for each reserved connection, a request at once and — while
/// no reply comes — a retry each second, up to three requests.
#[derive(Debug, Clone)]
enum Act {
    Sweep,
    Connect(u8),
    Wait(u16),
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        4 => Just(Act::Sweep),
        3 => (1u8..40).prop_map(Act::Connect),
        3 => (1u16..400).prop_map(Act::Wait),
    ]
}

proptest! {
    /// Whatever the sweep and the connections ask, and whichever replies are lost, the frames that really leave
    /// the port — sweep requests, the kernel's requests and retries — never exceed the cap in any one second.
    #[test]
    fn the_port_never_sees_more_than_the_cap_in_any_second(
        acts in proptest::collection::vec(act(), 1..300),
        lost in proptest::collection::vec(any::<bool>(), 40),
        listening in any::<bool>(),
        cap in 3u32..16,
    ) {
        let budget = PortBudget::new(Some(cap));
        let t0 = Instant::now();
        let mut now = t0;
        let mut wire: Vec<Instant> = Vec::new();
        // kernel retries due: (when, address, requests so far)
        let mut kernel: Vec<(Instant, u8, u8)> = Vec::new();
        let step = |now: Instant, kernel: &mut Vec<(Instant, u8, u8)>, wire: &mut Vec<Instant>| {
            // replay every kernel event due by `now`, in time order
            loop {
                kernel.sort();
                let Some(&(at, host, n)) = kernel.first().filter(|k| k.0 <= now) else { break };
                kernel.remove(0);
                wire.push(at);
                if listening {
                    budget.saw_own(ip(host), at);
                }
                if !lost[host as usize] {
                    if listening {
                        budget.saw_reply(ip(host), at);
                    }
                } else if n < 3 {
                    kernel.push((at + Duration::from_secs(1), host, n + 1));
                }
            }
        };
        for a in acts {
            match a {
                Act::Sweep => {
                    if budget.try_send(now).is_ok() {
                        wire.push(now);
                    }
                }
                Act::Connect(host) => {
                    let fresh = budget.state().fresh.contains_key(&ip(host))
                        || budget.state().resolving.contains_key(&ip(host))
                        || kernel.iter().any(|k| k.1 == host);
                    if budget.try_resolve(ip(host), now).is_ok() && !fresh {
                        kernel.push((now, host, 1));
                    }
                }
                Act::Wait(n) => now += ms(u64::from(n)),
            }
            step(now, &mut kernel, &mut wire);
        }
        step(now + Duration::from_secs(5), &mut kernel, &mut wire);
        prop_assert!(worst_second(&wire) <= cap as usize, "{} > {cap}", worst_second(&wire));
    }
}

#[test]
fn traffic_from_an_address_means_the_kernel_knows_it() {
    let budget = PortBudget::new(Some(3));
    let t0 = Instant::now();
    budget.try_resolve(ip(12), t0).unwrap();
    assert!(
        budget.try_resolve(ip(13), t0).is_err(),
        "the window is full"
    );
    // Yet a phone that just sent us a packet costs nothing to connect to.
    budget.saw_traffic(ip(11), t0);
    assert!(budget.try_resolve(ip(11), t0 + ms(10)).is_ok());
    // One gone quiet (rebooting) costs a resolution again.
    assert!(
        budget
            .try_resolve(ip(11), t0 + Duration::from_secs(16))
            .is_ok()
    );
    assert_eq!(budget.counted().0, 2);
}

#[test]
fn loopback_is_never_resolved_with_arp() {
    let budget = PortBudget::new(Some(2));
    let t0 = Instant::now();
    for _ in 0..10 {
        assert!(budget.try_resolve(Ipv4Addr::LOCALHOST, t0).is_ok());
    }
    assert_eq!(budget.counted().0, 0);
}

//! The sweep's schedule, driven by a fake clock: pacing, retries only for the silent, backoff, and the end.

use super::*;

fn ips(n: u8) -> Vec<Ipv4Addr> {
    (1..=n).map(|i| Ipv4Addr::new(198, 18, 0, i)).collect()
}

/// Runs a sweep to the end with a clock that jumps to each wake-up; `answers` reply instantly.
fn drive(sweep: &mut Sweep, answers: &[Ipv4Addr]) -> Vec<(Duration, Ipv4Addr)> {
    let start = Instant::now();
    let mut now = start;
    let mut sends = Vec::new();
    for _ in 0..100_000 {
        match sweep.next(now) {
            Step::Send(ip) => {
                sends.push((now - start, ip));
                if answers.contains(&ip) {
                    sweep.answered(ip);
                }
            }
            Step::Wait(at) => {
                assert!(at > now, "a wait must move time forward");
                now = at;
            }
            Step::Done => return sends,
        }
    }
    panic!("the sweep never ended");
}

#[test]
fn the_default_rate_stays_under_dynamic_arp_inspections_15_per_second() {
    let rate: Rate = "polite".parse().unwrap();
    assert_eq!(rate, POLITE);
    assert!(rate.per_sec < 15);
    let mut sweep = Sweep::new(ips(40), POLITE);
    let sends = drive(&mut sweep, &[]);
    // In every one-second window there are at most `per_sec` requests.
    for (i, (t, _)) in sends.iter().enumerate() {
        let in_window = sends[i..]
            .iter()
            .take_while(|(u, _)| *u < *t + Duration::from_secs(1))
            .count();
        assert!(in_window <= 10, "{in_window} requests within 1 s of {t:?}");
    }
}

#[test]
fn hosts_that_answer_are_asked_once_and_silent_ones_as_often_as_the_profile_says() {
    let targets = ips(10);
    let answering = &targets[..6];
    let mut sweep = Sweep::new(targets.clone(), FAST);
    let sends = drive(&mut sweep, answering);
    for ip in &targets {
        let n = sends.iter().filter(|(_, s)| s == ip).count();
        let want = if answering.contains(ip) { 1 } else { 2 };
        assert_eq!(n, want, "{ip}");
    }
    assert_eq!(sweep.silent().len(), 4);
    assert_eq!(sweep.answers(), 6);
}

#[test]
fn a_retry_waits_for_the_timeout_and_the_end_waits_for_the_backed_off_one() {
    let one = ips(1);
    let mut sweep = Sweep::new(one, FAST);
    let start = Instant::now();
    assert_eq!(sweep.next(start), Step::Send(Ipv4Addr::new(198, 18, 0, 1)));
    // Nothing more until the first 500 ms timeout.
    assert_eq!(
        sweep.next(start),
        Step::Wait(start + Duration::from_millis(500))
    );
    let t1 = start + Duration::from_millis(500);
    assert_eq!(sweep.next(t1), Step::Send(Ipv4Addr::new(198, 18, 0, 1)));
    // The second attempt waits 1.5 times as long before the host is given up on.
    assert_eq!(sweep.next(t1), Step::Wait(t1 + Duration::from_millis(750)));
    assert_eq!(sweep.next(t1 + Duration::from_millis(750)), Step::Done);
}

#[test]
fn a_reply_between_attempts_cancels_the_retry() {
    let mut sweep = Sweep::new(ips(1), FAST);
    let start = Instant::now();
    assert!(matches!(sweep.next(start), Step::Send(_)));
    assert!(sweep.answered(Ipv4Addr::new(198, 18, 0, 1)));
    assert_eq!(sweep.next(start + Duration::from_secs(1)), Step::Done);
    assert_eq!(sweep.requests_sent(), 1);
}

#[test]
fn a_whole_slash_24_takes_what_the_formula_says() {
    let targets: Vec<Ipv4Addr> = (0..=255).map(|i| Ipv4Addr::new(198, 18, 0, i)).collect();
    let mut sweep = Sweep::new(targets, FAST);
    let sends = drive(&mut sweep, &[]);
    assert_eq!(sends.len(), 512);
    let last = sends.last().unwrap().0;
    // 512 requests at 2 ms: the last goes out just after 1 s; the expected total adds the 750 ms timeout.
    assert!(
        last >= Duration::from_millis(1020) && last < Duration::from_millis(1100),
        "{last:?}"
    );
    let expected = FAST.expected(256);
    assert!(expected > Duration::from_millis(1700) && expected < Duration::from_millis(1800));
}

#[test]
fn rates_are_profiles_or_bounded_numbers() {
    assert_eq!("fast".parse::<Rate>().unwrap().per_sec, 500);
    assert_eq!("BRISK".parse::<Rate>().unwrap().per_sec, 200);
    let custom: Rate = "8".parse().unwrap();
    assert_eq!(custom.per_sec, 8);
    assert!(!custom.is_risky());
    // Between the polite budget's sweep share and DAI's limit there is no room for the kernel's ARP.
    for squeezed in ["11", "14"] {
        let e = squeezed.parse::<Rate>().unwrap_err().to_string();
        assert!(e.contains("--rate 10") && e.contains("15"), "{e}");
    }
    assert!("50/s".parse::<Rate>().unwrap().is_risky());
    for bad in ["0", "2001", "quick", ""] {
        let e = bad.parse::<Rate>().unwrap_err().to_string();
        assert!(e.contains("polite"), "{e}");
    }
}

#[test]
fn answers_on_second_attempts_reveal_loss_and_silent_hosts_get_more_attempts() {
    // Ten hosts answer, but only to their second request (their first was lost); ten never answer.
    let targets = ips(20);
    let (answering, silent) = targets.split_at(10);
    let mut sweep = Sweep::new(targets.clone(), FAST);
    let start = Instant::now();
    let mut now = start;
    let mut sends = Vec::new();
    loop {
        match sweep.next(now) {
            Step::Send(ip) => {
                let n = sends.iter().filter(|s| **s == ip).count();
                sends.push(ip);
                if answering.contains(&ip) && n == 1 {
                    sweep.answered(ip);
                }
            }
            Step::Wait(at) => now = at,
            Step::Done => break,
        }
    }
    assert!(sweep.is_lossy());
    for ip in silent {
        assert_eq!(
            sends.iter().filter(|s| *s == ip).count(),
            4,
            "{ip}: 2 + LOSSY_EXTRA attempts"
        );
    }
}

#[test]
fn a_clean_link_never_earns_extra_attempts() {
    let targets = ips(20);
    let mut sweep = Sweep::new(targets.clone(), FAST);
    let sends = drive(&mut sweep, &targets[..10]);
    assert!(!sweep.is_lossy());
    assert_eq!(sends.len(), 10 + 10 * 2);
}

#[test]
fn on_a_lossy_link_the_announced_limit_counts_the_extra_attempts() {
    // The case: a /24 at the polite rate announced 51.5 s and took 69-77 s at 25 % loss.
    let clean = POLITE.expected(254);
    let lossy = POLITE.expected_lossy(254);
    assert!(
        clean.as_secs_f64() > 51.0 && clean.as_secs_f64() < 52.0,
        "{clean:?}"
    );
    assert!(lossy.as_secs_f64() > 101.0, "{lossy:?}");
}

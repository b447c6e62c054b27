//! The active ARP sweep's schedule, free of any socket: which address to ask next and when, paced to a rate, with
//! a per-host timeout that grows by a backoff factor, further attempts only for hosts that have not answered,
//! and replies matched as they arrive (arp-scan's algorithm, `discovery.md` §4.1). One addition: when answers
//! come in on second attempts (the first request or its reply was lost), the link is lossy, so hosts still silent
//! get up to [`LOSSY_EXTRA`] more attempts; on a clean link that never happens and the sweep ends when arp-scan's does. The default profile stays
//! under Cisco Dynamic ARP Inspection's default limit of 15 ARP packets/s on an untrusted port, past which the
//! switch err-disables the technician's port; faster profiles are opt-in.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// How fast and how persistently to ask.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub name: &'static str,
    /// Requests per second (first attempts and retries together).
    pub per_sec: u32,
    /// Attempts per host, the first included.
    pub attempts: u32,
    /// Time to wait for a reply to the first attempt.
    pub timeout: Duration,
    /// Each further attempt waits this many times longer.
    pub backoff: f64,
    /// What the rate risks on a customer's switch.
    pub risk: &'static str,
}

/// Under DAI's 15 requests/s: safe on every switch port. The default.
pub const POLITE: Rate = Rate {
    name: "polite",
    per_sec: 10,
    attempts: 2,
    timeout: Duration::from_millis(500),
    backoff: 1.5,
    risk: "none: stays under Cisco Dynamic ARP Inspection's default 15 ARP/s per port",
};

/// 200 requests/s: a /24 in about 2 s.
pub const BRISK: Rate = Rate {
    name: "brisk",
    per_sec: 200,
    attempts: 2,
    timeout: Duration::from_millis(500),
    backoff: 1.5,
    risk: "exceeds Dynamic ARP Inspection's 15 ARP/s: on a switch with DAI the port is err-disabled \
           (cut off until an admin re-enables it); use only where DAI is off",
};

/// arp-scan's default 500 requests/s (256 kbit/s).
pub const FAST: Rate = Rate {
    name: "fast",
    per_sec: 500,
    attempts: 2,
    timeout: Duration::from_millis(500),
    backoff: 1.5,
    risk: "arp-scan's rate, 33x Dynamic ARP Inspection's 15 ARP/s: on a switch with DAI the port is \
           err-disabled; storm control may drop broadcasts; use only where DAI is off",
};

pub const PROFILES: [Rate; 3] = [POLITE, BRISK, FAST];

/// Extra attempts for silent hosts once the link has shown it loses frames.
pub const LOSSY_EXTRA: u32 = 2;

/// The highest custom rate accepted.
pub const MAX_PER_SEC: u32 = 2000;

/// A rate the user asked for that is not a profile or a sane number.
#[derive(Debug, Clone, thiserror::Error)]
#[error("--rate {given:?} {why}")]
pub struct RateError {
    pub given: String,
    pub why: String,
}

impl RateError {
    fn unknown(given: &str) -> RateError {
        RateError {
            given: given.into(),
            why: format!(
                "is neither a profile (polite: 10/s, the default; brisk: 200/s; fast: 500/s) nor a number of requests per second from 1 to {MAX_PER_SEC}"
            ),
        }
    }
}

/// The most sweep requests a second the polite port budget leaves room for (two of its slots are kept for the
/// kernel's ARP when a web UI is opened).
pub const POLITE_MAX: u32 = super::budget::POLITE_CAP - 2;

impl std::str::FromStr for Rate {
    type Err = RateError;
    fn from_str(s: &str) -> Result<Rate, RateError> {
        if let Some(p) = PROFILES.iter().find(|p| p.name.eq_ignore_ascii_case(s)) {
            return Ok(*p);
        }
        let n: u32 = s
            .trim_end_matches("/s")
            .parse()
            .map_err(|_| RateError::unknown(s))?;
        if n == 0 || n > MAX_PER_SEC {
            return Err(RateError::unknown(s));
        }
        if n > POLITE_MAX && n < 15 {
            return Err(RateError {
                given: s.into(),
                why: format!(
                    "would sweep faster than the polite budget allows yet slower than a risky rate: under Dynamic \
                     ARP Inspection's 15/s the port also carries the kernel's ARP for every web UI opened, so a \
                     polite sweep asks at most {POLITE_MAX}/s. Use --rate {POLITE_MAX} (or less), or 15 and up where \
                     DAI is off"
                ),
            });
        }
        Ok(Rate {
            name: "custom",
            per_sec: n,
            risk: if n < 15 { POLITE.risk } else { FAST.risk },
            ..POLITE
        })
    }
}

impl Rate {
    /// Time between two requests.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(self.per_sec.max(1)))
    }

    /// Whether the rate could trip Dynamic ARP Inspection.
    pub fn is_risky(&self) -> bool {
        self.per_sec >= 15
    }

    /// The port's ARP budget this rate keeps (every ARP frame the run causes, per second): the polite cap for
    /// rates that respect Dynamic ARP Inspection, none for the risky ones the user chose knowingly.
    pub fn port_cap(&self) -> Option<u32> {
        (!self.is_risky()).then_some(super::budget::POLITE_CAP)
    }

    /// The longest a sweep of `hosts` can take when nobody answers: every attempt paced, plus the last timeout
    /// (arp-scan's `n×i + t` per pass).
    pub fn expected(&self, hosts: usize) -> Duration {
        self.with_attempts(hosts, self.attempts)
    }

    /// The longest a sweep of `hosts` can take on a link that loses frames, where silent hosts get
    /// [`LOSSY_EXTRA`] more attempts (the clean figure of [`Rate::expected`] is exceeded then).
    pub fn expected_lossy(&self, hosts: usize) -> Duration {
        self.with_attempts(hosts, self.attempts + LOSSY_EXTRA)
    }

    fn with_attempts(&self, hosts: usize, attempts: u32) -> Duration {
        let sends = hosts as f64 * f64::from(attempts.max(1));
        let mut last_timeout = self.timeout.as_secs_f64();
        for _ in 1..attempts {
            last_timeout *= self.backoff;
        }
        Duration::from_secs_f64(sends * self.interval().as_secs_f64() + last_timeout)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Retry {
    due: Instant,
    ip: Ipv4Addr,
    sent: u32,
    timeout_ms: u64,
}

/// The sweep's state. Feed it time with [`Sweep::next`] and replies with [`Sweep::answered`].
#[derive(Debug)]
pub struct Sweep {
    rate: Rate,
    fresh: VecDeque<Ipv4Addr>,
    retries: BinaryHeap<Reverse<Retry>>,
    answered: HashSet<Ipv4Addr>,
    /// Attempts sent per address.
    attempts: HashMap<Ipv4Addr, u32>,
    /// Answers that came only after a further attempt: evidence of loss.
    late: usize,
    next_send: Option<Instant>,
    sent: u64,
    silent: Vec<Ipv4Addr>,
}

/// What the sweep wants now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send a request for this address now.
    Send(Ipv4Addr),
    /// Nothing to send before this instant.
    Wait(Instant),
    /// Every host answered or used up its attempts.
    Done,
}

impl Sweep {
    pub fn new(targets: impl IntoIterator<Item = Ipv4Addr>, rate: Rate) -> Sweep {
        Sweep {
            rate,
            fresh: targets.into_iter().collect(),
            retries: BinaryHeap::new(),
            answered: HashSet::new(),
            attempts: HashMap::new(),
            late: 0,
            next_send: None,
            sent: 0,
            silent: Vec::new(),
        }
    }

    /// The next thing to do at `now`. A `Send` is recorded as sent at `now`. First attempts go out in order
    /// before any retry (arp-scan's cursor order: the first pass ends as early as the rate allows); then every
    /// host whose timeout expired without an answer is asked again, until its attempts are used up.
    pub fn next(&mut self, now: Instant) -> Step {
        let pace = self.next_send.filter(|at| *at > now);
        let (ip, sent, timeout_ms) = if let Some(ip) = self.fresh.front().copied() {
            if let Some(at) = pace {
                return Step::Wait(at);
            }
            self.fresh.pop_front();
            (ip, 0, self.rate.timeout.as_millis() as u64)
        } else {
            loop {
                let Some(Reverse(r)) = self.retries.peek().copied() else {
                    return Step::Done;
                };
                if self.answered.contains(&r.ip) {
                    self.retries.pop();
                } else if r.due > now {
                    return Step::Wait(pace.map_or(r.due, |p| p.max(r.due)));
                } else if r.sent >= self.attempt_limit() {
                    self.retries.pop();
                    self.silent.push(r.ip);
                } else if let Some(at) = pace {
                    return Step::Wait(at);
                } else {
                    self.retries.pop();
                    break (r.ip, r.sent, r.timeout_ms);
                }
            }
        };
        let timeout_ms = if sent == 0 {
            timeout_ms
        } else {
            (timeout_ms as f64 * self.rate.backoff) as u64
        };
        self.retries.push(Reverse(Retry {
            due: now + Duration::from_millis(timeout_ms),
            ip,
            sent: sent + 1,
            timeout_ms,
        }));
        // Pace from the planned instant, not from now, so the rate holds; never burst to catch up.
        let interval = self.rate.interval();
        let planned = self.next_send.unwrap_or(now) + interval;
        self.next_send = Some(if planned + interval < now {
            now + interval
        } else {
            planned
        });
        self.sent += 1;
        self.attempts.insert(ip, sent + 1);
        Step::Send(ip)
    }

    /// A reply arrived from `ip`; returns true the first time.
    pub fn answered(&mut self, ip: Ipv4Addr) -> bool {
        let first = self.answered.insert(ip);
        if first && self.attempts.get(&ip).is_some_and(|n| *n > 1) {
            self.late += 1;
        }
        first
    }

    /// Whether the sweep has asked `ip` (a reply from an address it never asked answers nothing).
    pub fn asked(&self, ip: Ipv4Addr) -> bool {
        self.attempts.contains_key(&ip)
    }

    /// Whether answers show the link losing frames: some came only after a retry (at least 1 in 50).
    pub fn is_lossy(&self) -> bool {
        self.late > 0 && self.late * 50 >= self.answered.len()
    }

    fn attempt_limit(&self) -> u32 {
        if self.is_lossy() {
            self.rate.attempts + LOSSY_EXTRA
        } else {
            self.rate.attempts
        }
    }

    pub fn requests_sent(&self) -> u64 {
        self.sent
    }

    pub fn answers(&self) -> usize {
        self.answered.len()
    }

    /// Addresses that used up every attempt without an answer.
    pub fn silent(&self) -> &[Ipv4Addr] {
        &self.silent
    }
}

#[cfg(test)]
mod tests;

//! The switch port's ARP budget: every ARP frame this run causes on the technician's port, counted in one sliding
//! second and kept under a cap. Cisco Dynamic ARP Inspection counts every ARP frame arriving on an untrusted port
//! (15/s by default) and err-disables the port above it, whoever built the frame; so the budget covers both the
//! sweep's requests and the requests the kernel sends to resolve each address polyprov connects to (a
//! fingerprint, a search for a phone that moved).
//!
//! - A sweep request is taken from the budget as it is sent ([`PortBudget::try_send`]).
//! - A connection that may make the kernel resolve an address first reserves a *resolution*
//!   ([`PortBudget::resolve`]): the kernel's first request counts at once, and until the address's reply is heard
//!   one more slot stays held for the kernel's retry (Linux asks up to `mcast_solicit` = 3 times, one second apart,
//!   so at most one retry falls in any second). An address whose reply was heard a moment ago is in the kernel's
//!   table and costs nothing.
//! - Every request of a phone client of `onboard --interface` is paced the same way ([`crate::phone::client`]):
//!   an address the listener heard from a moment ago — an ARP reply, or IPv4 traffic to us
//!   ([`PortBudget::saw_traffic`]), which keeps the kernel's entry confirmed — costs nothing; one gone quiet (a
//!   phone rebooting) costs a resolution like any other.
//! - The listener reports the ARP frames it sees leave the interface ([`PortBudget::saw_own`]): the kernel's
//!   requests (matched to their reservation, never counted twice), its retries, its replies to other hosts, its
//!   reachability probes. A packet socket never sees its own sends, so the sweep's requests are counted only once.
//!   Without a listener (a run with no `--interface`) nothing is matched: every reservation holds its slots for
//!   the kernel's full three seconds.
//!
//! The default cap, [`POLITE_CAP`], leaves room under DAI's 15/s for frames nobody could announce in advance (the
//! kernel answering a phone's request for us); risky sweep rates (`brisk`, `fast`) lift the cap, as the user chose.

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// ARP frames per second the polite budget allows on the port, everything included.
pub const POLITE_CAP: u32 = 12;
/// Dynamic ARP Inspection's default limit on an untrusted port, per second.
pub const DAI_LIMIT: u32 = 15;
/// The sliding window DAI counts over.
const WINDOW: Duration = Duration::from_secs(1);
/// How long the kernel may keep resolving one address: `mcast_solicit` (3) × `retrans_time` (1 s).
const RESOLVING: Duration = Duration::from_secs(3);
/// An address whose reply we heard stays in the kernel's neighbour table at least this long (half of
/// `base_reachable_time`, 30 s): connecting again costs no ARP.
const FRESH: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy)]
struct Frame {
    at: Instant,
    /// The address a reservation was for, until the listener sees the kernel's request for it.
    reserved_for: Option<Ipv4Addr>,
}

#[derive(Debug, Default)]
struct State {
    /// Frames counted in the last second, oldest first.
    recent: VecDeque<Frame>,
    /// Addresses the kernel may still be resolving, with the instant it gives up.
    resolving: HashMap<Ipv4Addr, Instant>,
    /// Addresses whose reply we heard, with the instant.
    fresh: HashMap<Ipv4Addr, Instant>,
    /// Every frame counted so far, and the most counted in one window.
    total: u64,
    peak: u32,
}

impl State {
    fn prune(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|f| now.saturating_duration_since(f.at) >= WINDOW)
        {
            self.recent.pop_front();
        }
        self.resolving.retain(|_, until| *until > now);
        if self.fresh.len() > 4096 {
            self.fresh
                .retain(|_, at| now.saturating_duration_since(*at) < FRESH);
        }
    }

    /// Frames that count against the window now: those sent in it and one retry per address still resolving.
    fn load(&self) -> u32 {
        (self.recent.len() + self.resolving.len()) as u32
    }

    fn count(&mut self, frame: Frame) {
        self.recent.push_back(frame);
        self.total += 1;
        self.peak = self.peak.max(self.recent.len() as u32);
    }

    /// When the window will have room for `n` more, given what it holds now.
    fn room_at(&self, now: Instant, n: u32, cap: u32) -> Instant {
        let over = (self.load() + n).saturating_sub(cap) as usize;
        match self.recent.get(over.saturating_sub(1)) {
            Some(f) if over > 0 && over <= self.recent.len() => f.at + WINDOW,
            // The room is held by resolutions: look again shortly.
            _ => now + Duration::from_millis(50),
        }
    }
}

/// One port's ARP budget, shared by everything a run sends or causes.
#[derive(Debug)]
pub struct PortBudget {
    /// `None`: no cap (a risky rate the user chose); frames are still counted.
    cap: Option<u32>,
    state: Mutex<State>,
    /// Whether a listener reports what leaves the port (live discovery on the interface).
    watched: std::sync::atomic::AtomicBool,
}

impl PortBudget {
    pub fn new(cap: Option<u32>) -> PortBudget {
        PortBudget {
            // Room for a sweep request beside a resolution.
            cap: cap.map(|c| c.max(3)),
            state: Mutex::new(State::default()),
            watched: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The polite budget: [`POLITE_CAP`] ARP frames per second on the port.
    pub fn polite() -> PortBudget {
        PortBudget::new(Some(POLITE_CAP))
    }

    pub fn cap(&self) -> Option<u32> {
        self.cap
    }

    /// Live discovery's listener reports to this budget from now on.
    pub fn watch(&self) {
        self.watched
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether a listener reports to it: only then can it tell an address the kernel knows from one it must
    /// resolve, so only then are ordinary requests paced (without one, each would hold its slots for the kernel's
    /// full three seconds).
    pub fn is_watched(&self) -> bool {
        self.watched.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one frame for a request the caller sends itself (the sweep), or says when to ask again.
    pub fn try_send(&self, now: Instant) -> Result<(), Instant> {
        let mut s = self.state();
        self.sweep_room(&mut s, now)?;
        s.count(Frame {
            at: now,
            reserved_for: None,
        });
        Ok(())
    }

    /// Whether a request the caller sends itself would fit now (see [`PortBudget::try_send`]); takes nothing.
    pub fn room(&self, now: Instant) -> Result<(), Instant> {
        self.sweep_room(&mut self.state(), now)
    }

    /// The sweep's share of the window: two slots stay free for a resolution, so the sweep never starves the
    /// fingerprints.
    fn sweep_room(&self, s: &mut State, now: Instant) -> Result<(), Instant> {
        s.prune(now);
        match self.cap {
            Some(cap) if s.load() + 1 > cap - 2 => Err(s.room_at(now, 3, cap)),
            _ => Ok(()),
        }
    }

    /// Reserves what connecting to `ip` may cost (see the module's doc), or says when to ask again.
    pub fn try_resolve(&self, ip: Ipv4Addr, now: Instant) -> Result<(), Instant> {
        if ip.is_loopback() {
            return Ok(()); // never resolved with ARP
        }
        let mut s = self.state();
        s.prune(now);
        if s.resolving.contains_key(&ip)
            || s.fresh
                .get(&ip)
                .is_some_and(|at| now.saturating_duration_since(*at) < FRESH)
        {
            return Ok(());
        }
        if let Some(cap) = self.cap {
            if s.load() + 2 > cap {
                return Err(s.room_at(now, 2, cap));
            }
        }
        s.count(Frame {
            at: now,
            reserved_for: Some(ip),
        });
        s.resolving.insert(ip, now + RESOLVING);
        Ok(())
    }

    /// Waits until connecting to `ip` fits in the budget, and reserves it.
    pub async fn resolve(&self, ip: Ipv4Addr) {
        loop {
            match self.try_resolve(ip, Instant::now()) {
                Ok(()) => return,
                Err(at) => {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
                }
            }
        }
    }

    /// The listener saw an ARP frame leave this interface, asking for (or answering) `target`: the kernel's
    /// request a reservation announced is not counted again; anything else is counted now.
    pub fn saw_own(&self, target: Ipv4Addr, now: Instant) {
        let mut s = self.state();
        s.prune(now);
        // The kernel's request a reservation announced: counted once, at the moment it really left.
        if let Some(i) = s.recent.iter().position(|f| f.reserved_for == Some(target)) {
            s.recent.remove(i);
            s.recent.push_back(Frame {
                at: now,
                reserved_for: None,
            });
            return;
        }
        s.count(Frame {
            at: now,
            reserved_for: None,
        });
    }

    /// The listener heard `ip` answer us: the kernel has it now, its resolution is over.
    pub fn saw_reply(&self, ip: Ipv4Addr, now: Instant) {
        let mut s = self.state();
        if s.resolving.remove(&ip).is_some() {
            s.fresh.insert(ip, now);
        }
    }

    /// The listener saw an IPv4 packet from `ip` addressed to us: the kernel has `ip` in its neighbour table and
    /// the traffic keeps it confirmed, so connecting to it costs no ARP now.
    pub fn saw_traffic(&self, ip: Ipv4Addr, now: Instant) {
        let mut s = self.state();
        s.resolving.remove(&ip);
        s.fresh.insert(ip, now);
    }

    /// Frames counted so far, and the most in any one second.
    pub fn counted(&self) -> (u64, u32) {
        let s = self.state();
        (s.total, s.peak)
    }
}

#[cfg(test)]
mod tests;

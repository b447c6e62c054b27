//! The live engine: one raw channel on the named interface, listened to from the first millisecond (ARP, DHCP,
//! LLDP, CDP that phones send anyway) while the paced ARP sweep asks the named range, mDNS browses briefly, and
//! every Poly candidate that shows an address inside the range is fingerprinted over HTTP(S) as soon as it does,
//! with bounded concurrency. Everything lands in one shared [`Inventory`]; each visible change is handed to the
//! caller at once so the display streams. Every ARP frame the run causes on the port — the sweep's, and the
//! kernel's for each fingerprint's connection — comes out of one [`PortBudget`], which the listener keeps honest by
//! counting what leaves. After the sweep and fingerprints, a run with a range listens on (up to
//! `Plan::identity_wait`) only while a candidate has not said its model and firmware. Without a range, nothing is
//! sent at all: no sweep, no mDNS query, no HTTP request. In background mode (`onboard`) it keeps listening until told to stop, so a phone that moves to
//! another address after a reboot is found again by its MAC.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use ipnet::Ipv4Net;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use super::budget::PortBudget;
use super::inventory::{Change, Device, Inventory};
use super::link::Link;
use super::packet::{Groups, PacketSocket, Passive};
use super::sighting::{self, Sighting, Source};
use super::sweep::{Rate, Step, Sweep};
use super::vlan::Segment;
use super::{DiscoverError, fingerprint, mdns};
use crate::mac::Mac;
use crate::profile::ProfileSet;
use crate::wire::{self, arp};

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub link: Link,
    /// The range the user named: the sweep asks it, and only addresses inside it are fingerprinted. `None`:
    /// listen only, send nothing.
    pub range: Option<Ipv4Net>,
    /// The sweep's addresses (from [`super::targets`], which enforces the /16 limit).
    pub targets: Vec<Ipv4Addr>,
    pub rate: Rate,
    /// Keep listening at least this long (LLDP needs ~35 s to hear every phone once).
    pub listen: Duration,
    /// Then keep listening up to this long after the start while a candidate in the range has not said its model
    /// or firmware (phones announce them by LLDP every 30 s; a fast sweep ends before most have). Zero: don't.
    pub identity_wait: Duration,
    /// Browse mDNS this long (only with a range).
    pub mdns: Option<Duration>,
    /// Fingerprint candidates' web UIs (only with a range).
    pub fingerprint: bool,
    pub fingerprint_concurrency: usize,
    pub web_timeout: Duration,
    /// What passive listening asks of the interface: the LLDP and CDP groups, and promiscuous mode (every VLAN's
    /// tagged frames on NICs that filter VLANs otherwise).
    pub passive: Passive,
    /// Keep listening after everything else is done, until `stop` turns true (`onboard`).
    pub background: bool,
    /// The port's ARP budget: the sweep and the fingerprints' connections take from it, and the listener counts
    /// every ARP frame the kernel sends for us. Shared with whatever else the run connects to (`onboard`).
    pub budget: Arc<PortBudget>,
}

/// What the engine reports while it runs.
#[derive(Debug, Clone)]
pub enum Update {
    /// A device appeared or one of its visible fields changed; `at` is the time since the start.
    Device {
        change: Change,
        device: Box<Device>,
        at: Duration,
    },
    /// The sweep ended.
    SweepDone {
        sent: u64,
        answers: usize,
        took: Duration,
    },
    /// Something worth a line that is not an error (mDNS could not start, a send failed and was retried).
    Note(String),
}

/// Figures of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub frames: u64,
    pub sightings: u64,
    pub sweep_sent: u64,
    pub sweep_answers: usize,
    pub sweep_took: Option<Duration>,
    pub fingerprints: usize,
    pub mdns_instances: usize,
    pub elapsed: Duration,
    /// ARP frames the run caused on the port (the sweep's and the kernel's), and the most in any one second.
    pub port_arp: u64,
    pub port_arp_peak: u32,
}

enum Heard {
    Sighting(Box<Sighting>),
    SweepDone {
        sent: u64,
        answers: usize,
        took: Duration,
    },
    MdnsDone(Result<usize, String>),
    Note(String),
    ChannelLost(String),
}

/// Runs discovery until the sweep, the fingerprints, the mDNS browse and the listening window are all done (in
/// background mode: until `stop` turns true), or until `stop` turns true (Ctrl-C).
pub async fn run(
    plan: Plan,
    profiles: Arc<ProfileSet>,
    inventory: Arc<Mutex<Inventory>>,
    stop: Option<watch::Receiver<bool>>,
    mut on: impl FnMut(Update),
) -> Result<Stats, DiscoverError> {
    let start = Instant::now();
    let socket = Arc::new(plan.link.open(plan.passive)?);
    plan.budget.watch();
    let (heard_tx, mut heard) = mpsc::unbounded_channel::<Heard>();
    for note in listening_notes(&plan.link.name, socket.groups()) {
        let _ = heard_tx.send(Heard::Note(note));
    }
    let halt = Arc::new(AtomicBool::new(false));
    let frames = Arc::new(AtomicU64::new(0));
    let sending = plan.range.is_some() && !plan.targets.is_empty();
    let sweep = Arc::new(Mutex::new(Sweep::new(
        if sending {
            plan.targets.clone()
        } else {
            Vec::new()
        },
        plan.rate,
    )));
    let own = plan.link.mac;

    let listener = {
        let ear = Ear {
            own,
            halt: halt.clone(),
            frames: frames.clone(),
            sweep: sweep.clone(),
            budget: plan.budget.clone(),
            out: heard_tx.clone(),
            home_vlan: plan.link.vlan,
        };
        let socket = socket.clone();
        std::thread::Builder::new()
            .name("discover-listen".into())
            .spawn(move || listen(&socket, ear))
            .map_err(|source| DiscoverError::Channel {
                interface: plan.link.name.clone(),
                source,
            })?
    };
    let sender = if sending {
        let (halt, sweep, heard_tx) = (halt.clone(), sweep.clone(), heard_tx.clone());
        let budget = plan.budget.clone();
        let from = plan.link.reach(plan.range).sender();
        Some(
            std::thread::Builder::new()
                .name("discover-sweep".into())
                .spawn(move || send(&socket, own, from, halt, sweep, budget, heard_tx))
                .map_err(|source| DiscoverError::Channel {
                    interface: plan.link.name.clone(),
                    source,
                })?,
        )
    } else {
        None
    };
    let mut mdns_running = false;
    if let (Some(window), true) = (plan.mdns, plan.range.is_some()) {
        let (name, heard_tx) = (plan.link.name.clone(), heard_tx.clone());
        mdns_running = std::thread::Builder::new()
            .name("discover-mdns".into())
            .spawn(move || {
                let tx = heard_tx.clone();
                let r = mdns::browse(&name, window, |s| {
                    let _ = tx.send(Heard::Sighting(Box::new(s)));
                });
                let _ = heard_tx.send(Heard::MdnsDone(r));
            })
            .is_ok();
    }
    drop(heard_tx);

    let mut stats = Stats::default();
    let mut sweep_running = sending;
    let mut probes: JoinSet<Sighting> = JoinSet::new();
    let limit = Arc::new(Semaphore::new(plan.fingerprint_concurrency.max(1)));
    let mut probed: HashSet<(Mac, Ipv4Addr)> = HashSet::new();
    let listen_until = tokio::time::Instant::from_std(start + plan.listen);
    let identity_until = tokio::time::Instant::from_std(start + plan.identity_wait);
    let mut stop = stop;
    let mut lost = None;
    let mut told_waiting = false;
    loop {
        let now = tokio::time::Instant::now();
        let listened = now >= listen_until;
        if !plan.background && !sweep_running && !mdns_running && probes.is_empty() && listened {
            let unnamed = if now < identity_until {
                unnamed(&inventory, plan.range)
            } else {
                0
            };
            if unnamed == 0 {
                break;
            }
            if !told_waiting {
                told_waiting = true;
                on(Update::Note(format!(
                    "{unnamed} phone(s) have not said their model or firmware yet: listening up to {} s in all for \
                     their LLDP (sent every 30 s); --passive 0 skips this",
                    plan.identity_wait.as_secs()
                )));
            }
        }
        if stop.as_ref().is_some_and(|s| *s.borrow()) {
            break;
        }
        let stopped = async {
            match stop.as_mut() {
                Some(s) => {
                    let _ = s.changed().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let sighting = tokio::select! {
            h = heard.recv() => match h {
                Some(Heard::Sighting(s)) => Some(*s),
                Some(Heard::SweepDone { sent, answers, took }) => {
                    sweep_running = false;
                    stats.sweep_sent = sent;
                    stats.sweep_answers = answers;
                    stats.sweep_took = Some(took);
                    on(Update::SweepDone { sent, answers, took });
                    None
                }
                Some(Heard::MdnsDone(r)) => {
                    mdns_running = false;
                    match r {
                        Ok(n) => stats.mdns_instances = n,
                        Err(e) => on(Update::Note(format!("{e}; continuing without mDNS"))),
                    }
                    None
                }
                Some(Heard::Note(n)) => { on(Update::Note(n)); None }
                Some(Heard::ChannelLost(e)) => { lost = Some(e); break; }
                None => break,
            },
            Some(done) = probes.join_next(), if !probes.is_empty() => {
                stats.fingerprints += 1;
                done.ok()
            }
            _ = tokio::time::sleep_until(listen_until), if !listened => None,
            _ = tokio::time::sleep_until(identity_until), if told_waiting && now < identity_until => None,
            _ = stopped => None,
        };
        let Some(s) = sighting else { continue };
        stats.sightings += 1;
        let (change, device) = {
            let mut inv = inventory.lock().unwrap_or_else(|p| p.into_inner());
            let change = inv.merge(s);
            let mac = match change {
                Change::New(m) | Change::Updated(m) => Some(m),
                Change::None => None,
            };
            (change, mac.and_then(|m| inv.get(m).cloned()))
        };
        let Some(device) = device else { continue };
        on(Update::Device {
            change,
            device: Box::new(device.clone()),
            at: start.elapsed(),
        });
        // Fingerprint a candidate once per address it shows inside the named range.
        if let (true, Some(range), Some(ip)) = (
            plan.fingerprint,
            plan.range,
            device.ip.as_ref().map(|f| f.value),
        ) {
            if device.is_poly() && range.contains(&ip) && probed.insert((device.mac, ip)) {
                let (profiles, limit, timeout, budget) = (
                    profiles.clone(),
                    limit.clone(),
                    plan.web_timeout,
                    plan.budget.clone(),
                );
                probes.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    // The kernel resolves the address before connecting: that ARP counts on the port too.
                    budget.resolve(ip).await;
                    fingerprint::probe(device.mac, ip, &profiles, timeout).await
                });
            }
        }
    }
    halt.store(true, Ordering::SeqCst);
    probes.abort_all();
    let join = tokio::task::spawn_blocking(move || {
        let _ = listener.join();
        if let Some(s) = sender {
            let _ = s.join();
        }
    });
    let _ = join.await;
    stats.frames = frames.load(Ordering::Relaxed);
    stats.elapsed = start.elapsed();
    (stats.port_arp, stats.port_arp_peak) = plan.budget.counted();
    if let Some(e) = lost {
        return Err(DiscoverError::Channel {
            interface: plan.link.name,
            source: std::io::Error::other(e),
        });
    }
    Ok(stats)
}

/// What the technician should know when the interface refused part of passive listening.
fn listening_notes(interface: &str, groups: &Groups) -> Vec<String> {
    let mut notes = Vec::new();
    let promiscuous = matches!(groups.promiscuous, Some(Ok(())));
    if let (Some(Err(why)), false) = (&groups.groups, promiscuous) {
        notes.push(format!(
            "{interface} refused the LLDP/CDP multicast groups ({why}): LLDP and CDP are heard only if the network \
             card passes them anyway"
        ));
    }
    if let Some(Err(why)) = &groups.promiscuous {
        notes.push(format!(
            "{interface} refused promiscuous mode ({why}): on network cards that filter VLANs in hardware, phones in \
             a VLAN this host has no interface on (the voice VLAN) may not be heard at all"
        ));
    }
    notes
}

/// Poly candidates inside the range that answered there but have not said their model or firmware.
fn unnamed(inventory: &Mutex<Inventory>, range: Option<Ipv4Net>) -> usize {
    let Some(range) = range else { return 0 };
    let inv = inventory.lock().unwrap_or_else(|p| p.into_inner());
    inv.listed(false)
        .filter(|d| d.ip.as_ref().is_some_and(|f| range.contains(&f.value)))
        .filter(|d| d.model.is_none() || d.firmware.is_none())
        .count()
}

/// The sender of an IPv4 packet addressed to `own` (unicast to us: the kernel has that sender's address).
fn ipv4_to(frame: &[u8], own: Mac) -> Option<Ipv4Addr> {
    let view = wire::EthernetFrame::new_checked(frame).ok()?;
    if view.dst() != own || view.ethertype() != wire::EtherType::Ipv4 {
        return None;
    }
    let src: [u8; 4] = view.payload().get(12..16)?.try_into().ok()?;
    Some(Ipv4Addr::from(src))
}

/// What the listener thread shares with the rest of the run.
struct Ear {
    own: Mac,
    halt: Arc<AtomicBool>,
    frames: Arc<AtomicU64>,
    sweep: Arc<Mutex<Sweep>>,
    budget: Arc<PortBudget>,
    out: mpsc::UnboundedSender<Heard>,
    /// The interface's own VLAN, when it is a VLAN subinterface: untagged frames travelled in it.
    home_vlan: Option<u16>,
}

/// The listener thread: every frame, from the first millisecond, with its VLAN tag. ARP frames leaving this
/// interface (the kernel's, never the sweep's own: a packet socket does not see its sends) count against the
/// port's budget; ARP replies to us for addresses the sweep asked answer it.
fn listen(socket: &PacketSocket, ear: Ear) {
    let mut buf = PacketSocket::buffer();
    while !ear.halt.load(Ordering::Relaxed) {
        let received = match socket.recv(&mut buf) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                let _ = ear.out.send(Heard::ChannelLost(e.to_string()));
                return;
            }
        };
        let frame = received.frame;
        ear.frames.fetch_add(1, Ordering::Relaxed);
        if let Ok(f) = arp::parse_frame(frame) {
            if f.ethernet.src == ear.own || received.outgoing {
                ear.budget.saw_own(f.arp.target_ip, Instant::now());
            } else if f.arp.operation == arp::Operation::Reply && f.arp.target_mac == ear.own {
                ear.budget.saw_reply(f.arp.sender_ip, Instant::now());
            }
        } else if let Some(ip) = ipv4_to(frame, ear.own) {
            ear.budget.saw_traffic(ip, Instant::now());
        }
        if received.outgoing {
            continue; // the host's own frames say nothing about other devices
        }
        let Some(mut s) = sighting::from_frame(frame, SystemTime::now(), Some(ear.own)) else {
            continue;
        };
        if let Some(Segment::Ours { vlan }) = &mut s.segment {
            *vlan = ear.home_vlan;
        }
        // A reply to us answers the sweep only for an address it asked; any other is the device's own ARP.
        if let (Source::Sweep, Some(ip)) = (s.source, s.ip) {
            let mut sweep = ear.sweep.lock().unwrap_or_else(|p| p.into_inner());
            if sweep.asked(ip) {
                sweep.answered(ip);
            } else {
                s.source = Source::Arp;
            }
        }
        if ear.out.send(Heard::Sighting(Box::new(s))).is_err() {
            return;
        }
    }
}

/// The sweep thread: paced raw ARP requests from our own MAC and address, never through the OS neighbour table.
fn send(
    socket: &PacketSocket,
    own: Mac,
    from: Ipv4Addr,
    halt: Arc<AtomicBool>,
    sweep: Arc<Mutex<Sweep>>,
    budget: Arc<PortBudget>,
    out: mpsc::UnboundedSender<Heard>,
) {
    let start = Instant::now();
    let mut buf = [0u8; wire::ETHERNET_MIN_FRAME_LEN];
    let mut failures = 0u32;
    while !halt.load(Ordering::Relaxed) {
        // Room on the port first, so the sweep's reply timers start when its request really leaves.
        if let Err(at) = budget.room(Instant::now()) {
            let wait = at.saturating_duration_since(Instant::now());
            std::thread::sleep(wait.clamp(Duration::from_millis(1), Duration::from_millis(50)));
            continue;
        }
        let step = sweep
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next(Instant::now());
        match step {
            Step::Send(ip) => {
                // Take the slot (a resolution may have taken the room since: then wait a moment more).
                while let Err(at) = budget.try_send(Instant::now()) {
                    if halt.load(Ordering::Relaxed) {
                        break;
                    }
                    let wait = at.saturating_duration_since(Instant::now());
                    std::thread::sleep(
                        wait.clamp(Duration::from_millis(1), Duration::from_millis(50)),
                    );
                }
                if halt.load(Ordering::Relaxed) {
                    break;
                }
                let request = arp::ArpRepr::request(own, from, ip);
                let Ok(n) = request.emit_frame(wire::BROADCAST, &mut buf) else {
                    continue;
                };
                // A full send queue (ENOBUFS) is retried a few times, as arp-scan does.
                for attempt in 0..20 {
                    match socket.send(&buf[..n]) {
                        Ok(()) => break,
                        Err(e) if attempt < 19 => {
                            tracing::debug!("ARP request to {ip}: {e}; retrying");
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(e) => {
                            failures += 1;
                            if failures == 1 {
                                let _ = out.send(Heard::Note(format!(
                                    "could not send an ARP request for {ip}: {e}"
                                )));
                            }
                        }
                    }
                }
            }
            Step::Wait(at) => {
                let wait = at.saturating_duration_since(Instant::now());
                std::thread::sleep(wait.min(Duration::from_millis(50)));
            }
            Step::Done => break,
        }
    }
    let s = sweep.lock().unwrap_or_else(|p| p.into_inner());
    let _ = out.send(Heard::SweepDone {
        sent: s.requests_sent(),
        answers: s.answers(),
        took: start.elapsed(),
    });
}

//! The inventory: every device heard, keyed by MAC, each field with the source that said it and when.
//! Sightings merge by precedence, then freshness: an IP proven at layer 2 (ARP, the sweep, a web server that
//! answered with a certificate naming this MAC) beats one a device merely announced (LLDP management address),
//! which beats one it asked for (DHCP) or that CDP carried, which beats an mDNS record; among equals the newest
//! wins, so a phone that moved after a reboot is followed. Model and firmware come from what the phone says of
//! itself (LLDP, CDP, DHCP vendor class), newest first, so a firmware update shows. Sightings without a MAC
//! (mDNS) wait by IP until ARP names the MAC. Two MACs answering ARP for one address within
//! [`CONFLICT_WINDOW`] are an address conflict: both are marked with the evidence, and neither is ever ready
//! (which of them a connection reaches is chance).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::oui::Ouis;
use super::sighting::{Sighting, Source, Web};
use super::vlan::Segment;
use crate::mac::Mac;

/// One field's value, who said it and when.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Fact<T> {
    pub value: T,
    pub source: Source,
    #[serde(with = "super::time_serde")]
    #[schemars(with = "String")]
    pub seen: SystemTime,
}

/// How much each source's word is worth for one field (higher wins; ties go to the newest).
#[derive(Debug, Clone, Copy)]
enum Field {
    Ip,
    Identity,
    Hostname,
    Segment,
}

fn rank(field: Field, source: Source) -> u8 {
    use Source::*;
    match (field, source) {
        (Field::Ip, Arp | Sweep | Http) => 3,
        (Field::Ip, Lldp) => 2,
        (Field::Ip, Dhcp | Cdp) => 1,
        (Field::Identity, Lldp | Cdp | Dhcp) => 2,
        (Field::Hostname, Dhcp) => 3,
        (Field::Hostname, Mdns) => 2,
        (Field::Hostname, Lldp | Cdp) => 1,
        // ARP and DHCP travel in the VLAN the device's IP lives in; LLDP and CDP are link-local, and a phone may send
        // them in either VLAN, so they only say where a device is when nothing better has.
        (Field::Segment, Arp | Sweep | Dhcp) => 2,
        (Field::Segment, Lldp | Cdp) => 1,
        _ => 0,
    }
}

fn set<T: PartialEq>(
    slot: &mut Option<Fact<T>>,
    field: Field,
    value: Option<T>,
    source: Source,
    at: SystemTime,
) {
    let Some(value) = value else { return };
    let better = match slot {
        None => true,
        Some(old) => {
            let (new_rank, old_rank) = (rank(field, source), rank(field, old.source));
            new_rank > old_rank || (new_rank == old_rank && at >= old.seen)
        }
    };
    if better {
        *slot = Some(Fact {
            value,
            source,
            seen: at,
        });
    }
}

/// Whether a device can be onboarded now, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "state", content = "detail", rename_all = "kebab-case")]
pub enum Readiness {
    /// Its web UI matched a profile that provisions over the web, at a known address.
    Ready,
    /// The profile has no web provisioning (SoundPoint SIP 3.x); what to do instead.
    NotWeb(String),
    /// Heard only through frames that carry no address yet (LLDP before DHCP, a DHCP DISCOVER).
    NoAddress,
    /// Its web UI was not checked, and why: [`NOT_PROBED`] unless the run knows better (see
    /// [`Readiness::unchecked_because`]: an interface without an IPv4 address, a passive run).
    NotChecked(String),
    /// Its web UI did not answer or was not recognised.
    Web(String),
    /// Another device answers ARP for its address too: whichever a connection reaches is chance.
    Conflict(String),
    /// Heard only on a VLAN the interface is not on (its frames arrive tagged), so its web UI is out of reach.
    OtherVlan(u16),
    /// No Poly evidence at all (listed with `--all` only).
    NotPoly,
}

/// Why a web UI was not checked, when the inventory alone is all that is known.
pub const NOT_PROBED: &str = "web UI not probed (passive run or outside --cidr)";

impl Readiness {
    /// The same judgement, with `why` as the reason a web UI was not checked (the run knows it: no IPv4 address on
    /// the interface, a passive run).
    pub fn unchecked_because(self, why: &str) -> Readiness {
        match self {
            Readiness::NotChecked(_) => Readiness::NotChecked(why.into()),
            other => other,
        }
    }

    /// One line for the summary's last column.
    pub fn describe(&self) -> String {
        match self {
            Readiness::Ready => "yes".into(),
            Readiness::NotWeb(instead) => format!("no: no web provisioning; {instead}"),
            Readiness::NoAddress => {
                "not yet: no IP address (booting? heard by LLDP/DHCP only)".into()
            }
            Readiness::NotChecked(why) => format!("not checked: {why}"),
            Readiness::Web(why) => format!("no: {why}"),
            Readiness::Conflict(why) => format!("no: address conflict: {why}"),
            Readiness::OtherVlan(vlan) => format!(
                "not reachable: on VLAN {vlan}, which this interface is not on (its frames arrive tagged)"
            ),
            Readiness::NotPoly => "no: not a Poly phone".into(),
        }
    }
}

/// Everything known about one MAC.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Device {
    pub mac: Mac,
    /// The vendor its OUI is registered to, when it is a Poly candidate prefix.
    pub oui_vendor: Option<String>,
    pub ip: Option<Fact<Ipv4Addr>>,
    pub hostname: Option<Fact<String>>,
    pub manufacturer: Option<Fact<String>>,
    pub model: Option<Fact<String>>,
    pub firmware: Option<Fact<String>>,
    pub part_number: Option<Fact<String>>,
    /// The voice VLAN it advertises (a switch's LLDP-MED network policy or CDP VoIP VLAN reply; a phone's own
    /// policy).
    pub voice_vlan: Option<Fact<u16>>,
    /// The segment its latest frame travelled in: a phone that moves to the voice VLAN after a reboot shows it.
    pub segment: Option<Fact<Segment>>,
    /// When it last moved to another segment: looks begun before that (a fingerprint) are stale.
    #[serde(skip)]
    #[schemars(skip)]
    moved_at: Option<SystemTime>,
    pub web: Option<Fact<Web>>,
    /// Other devices answering ARP for this device's address, with the evidence.
    pub conflict: Option<Conflict>,
    /// The self-descriptions as sent, per source (`Polycom;VVX-VVX_411;…`, `Polycom VVX 250`).
    pub raw: BTreeMap<Source, String>,
    pub services: BTreeSet<String>,
    pub sources: BTreeSet<Source>,
    #[serde(with = "super::time_serde")]
    #[schemars(with = "String")]
    pub first_seen: SystemTime,
    #[serde(with = "super::time_serde")]
    #[schemars(with = "String")]
    pub last_seen: SystemTime,
}

impl Device {
    fn new(mac: Mac, at: SystemTime, ouis: &Ouis) -> Device {
        Device {
            mac,
            oui_vendor: ouis.vendor(mac).map(String::from),
            ip: None,
            hostname: None,
            manufacturer: None,
            model: None,
            firmware: None,
            part_number: None,
            voice_vlan: None,
            segment: None,
            moved_at: None,
            web: None,
            conflict: None,
            raw: BTreeMap::new(),
            services: BTreeSet::new(),
            sources: BTreeSet::new(),
            first_seen: at,
            last_seen: at,
        }
    }

    fn absorb(&mut self, mut s: Sighting) {
        let (src, at) = (s.source, s.at);
        self.sources.insert(src);
        self.first_seen = self.first_seen.min(at);
        self.last_seen = self.last_seen.max(at);
        if self.moves_segment(s.segment, s.ip, src, at) {
            // A phone that moved to another VLAN (the voice VLAN, after its first boot) left its address and web UI
            // behind: an address proven in one VLAN says nothing about the other.
            self.ip = None;
            self.web = None;
            self.moved_at = Some(at);
        }
        if self.moved_at.is_some_and(|m| at < m) {
            // A look begun before the move (a fingerprint of the old address) no longer says where it is.
            s.ip = None;
            s.web = None;
        }
        set(&mut self.ip, Field::Ip, s.ip, src, at);
        set(&mut self.hostname, Field::Hostname, s.hostname, src, at);
        set(
            &mut self.manufacturer,
            Field::Identity,
            s.manufacturer,
            src,
            at,
        );
        set(&mut self.model, Field::Identity, s.model, src, at);
        set(&mut self.firmware, Field::Identity, s.firmware, src, at);
        set(
            &mut self.part_number,
            Field::Identity,
            s.part_number,
            src,
            at,
        );
        set(&mut self.voice_vlan, Field::Identity, s.voice_vlan, src, at);
        set(&mut self.segment, Field::Segment, s.segment, src, at);
        if let Some(web) = s.web {
            self.web = Some(Fact {
                value: web,
                source: src,
                seen: at,
            });
        }
        if let Some(raw) = s.raw {
            self.raw.insert(src, raw);
        }
        self.services.extend(s.services);
    }

    /// Whether this sighting says the device is now on another segment than the one known (a newer ARP or DHCP
    /// frame from another VLAN).
    /// Both frames must be ARP or DHCP (LLDP and CDP are link-local and may come in either VLAN), and a frame that
    /// shows the same address again moves nothing.
    fn moves_segment(
        &self,
        segment: Option<Segment>,
        ip: Option<Ipv4Addr>,
        source: Source,
        at: SystemTime,
    ) -> bool {
        let strong = |s: Source| rank(Field::Segment, s) >= 2;
        match (&self.segment, segment) {
            (Some(old), Some(new)) => {
                old.value != new
                    && strong(source)
                    && strong(old.source)
                    && at >= old.seen
                    && (ip.is_none() || ip != self.ip.as_ref().map(|f| f.value))
            }
            _ => false,
        }
    }

    /// What makes this a Poly phone candidate, one phrase per piece of evidence.
    pub fn evidence(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(v) = &self.oui_vendor {
            out.push(format!("OUI {} ({v})", self.mac.oui()));
        }
        if let Some(m) = self
            .manufacturer
            .as_ref()
            .filter(|m| is_poly_name(&m.value))
        {
            out.push(format!("{} says {}", m.source, m.value));
        }
        if let Some(web) = &self.web {
            let w = &web.value;
            if w.cert_o.as_deref().is_some_and(is_poly_name)
                && w.cert_cn.as_deref() == Some(self.mac.to_string().as_str())
            {
                out.push("certificate CN=MAC, O=Polycom".into());
            }
            if let Some(p) = &w.profile {
                out.push(format!("web UI matches {p}"));
            }
        }
        out
    }

    pub fn is_poly(&self) -> bool {
        !self.evidence().is_empty()
    }

    /// Whether it can be onboarded now.
    pub fn readiness(&self) -> Readiness {
        if !self.is_poly() {
            return Readiness::NotPoly;
        }
        if let Some(c) = &self.conflict {
            return Readiness::Conflict(c.describe());
        }
        if let (Some(Segment::Tagged { vlan, .. }), false) = (
            self.segment.as_ref().map(|f| f.value),
            self.web.as_ref().is_some_and(|w| w.value.answered()),
        ) {
            return Readiness::OtherVlan(vlan);
        }
        let Some(web) = &self.web else {
            return if self.ip.is_none() {
                Readiness::NoAddress
            } else {
                Readiness::NotChecked(NOT_PROBED.into())
            };
        };
        let w = &web.value;
        match (&w.profile, &w.problem) {
            (Some(_), _) if !w.web_provisioning => Readiness::NotWeb(
                w.instead
                    .clone()
                    .unwrap_or_else(|| "set the server on the phone's menu".into()),
            ),
            // Ready means the provisioning run will trust it: over HTTPS the certificate must be this phone's
            // (CN = this MAC, O = Polycom), the same judgement the run makes before sending a password.
            (Some(_), None) if w.url.starts_with("https://") => {
                let info = crate::phone::tls::CertInfo {
                    common_name: w.cert_cn.clone().unwrap_or_default(),
                    organization: w.cert_o.clone().unwrap_or_default(),
                    sha256: String::new(),
                };
                match crate::phone::tls::judge(
                    &info,
                    crate::phone::tls::Trust::PolyPhone(Some(self.mac)),
                ) {
                    Ok(()) => Readiness::Ready,
                    Err(why) => Readiness::Web(why),
                }
            }
            (Some(_), None) => Readiness::Ready,
            (_, Some(problem)) => Readiness::Web(problem.clone()),
            (None, None) => Readiness::Web("web UI not recognised".into()),
        }
    }

    /// The fields a person watching the stream cares about; a change here is worth a new line.
    fn visible(&self) -> impl PartialEq + use<> {
        (
            self.ip.as_ref().map(|f| f.value),
            self.model.as_ref().map(|f| f.value.clone()),
            self.firmware.as_ref().map(|f| f.value.clone()),
            self.web
                .as_ref()
                .and_then(|w| w.value.profile.clone())
                .or_else(|| self.web.as_ref().and_then(|w| w.value.problem.clone())),
            self.sources.clone(),
            self.hostname.as_ref().map(|f| f.value.clone()),
            self.conflict.as_ref().map(|c| c.others.clone()),
            self.segment.as_ref().map(|f| f.value),
        )
    }
}

/// Two claims of one address closer than this are a conflict, not a new lease (a DHCP server does not hand an
/// address to another device within a minute of the last one using it).
pub const CONFLICT_WINDOW: Duration = Duration::from_secs(60);

/// An address more than one device answers ARP for.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Conflict {
    pub ip: Ipv4Addr,
    /// The other devices claiming it.
    pub others: Vec<Mac>,
    /// Each device's latest claim: `64167f000011 answered ARP (sweep) at 2026-12-02T16:00:01.234Z`.
    pub evidence: Vec<String>,
}

impl Conflict {
    pub fn describe(&self) -> String {
        let others: Vec<String> = self.others.iter().map(|m| m.shown()).collect();
        format!(
            "{} is also answered for by {} ({}); a connection reaches either one. Fix: give each device its own \
             address (the duplicate is often a static address or a second DHCP server), then discover again",
            self.ip,
            others.join(", "),
            self.evidence.join("; ")
        )
    }
}

fn is_poly_name(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    n.starts_with("polycom") || n == "poly" || n.starts_with("poly ")
}

/// What a merge changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A device not seen before.
    New(Mac),
    /// A device whose visible fields changed.
    Updated(Mac),
    /// Nothing visible changed (a repeated ARP, an LLDP refresh), or the sighting waits for its MAC.
    None,
}

/// Every device heard so far.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    devices: BTreeMap<Mac, Device>,
    by_ip: HashMap<Ipv4Addr, Mac>,
    /// Sightings without a MAC (mDNS), waiting for ARP to name the MAC behind their address.
    waiting: HashMap<Ipv4Addr, Vec<Sighting>>,
    /// Who answered ARP for each address, and the latest time and source of each MAC's claim.
    claims: HashMap<Ipv4Addr, BTreeMap<Mac, (SystemTime, Source)>>,
    ouis: Ouis,
}

impl Inventory {
    pub fn new(ouis: Ouis) -> Inventory {
        Inventory {
            ouis,
            ..Inventory::default()
        }
    }

    /// Merges one sighting; says what changed, so a live display prints only news.
    pub fn merge(&mut self, s: Sighting) -> Change {
        let mac = match (s.mac, s.ip) {
            (Some(mac), _) => mac,
            (None, Some(ip)) => match self.by_ip.get(&ip) {
                Some(mac) => *mac,
                None => {
                    self.waiting.entry(ip).or_default().push(s);
                    return Change::None;
                }
            },
            (None, None) => return Change::None,
        };
        let at = s.at;
        let claim = match (s.source, s.ip) {
            (Source::Arp | Source::Sweep, Some(ip)) => Some((ip, s.source)),
            _ => None,
        };
        let ouis = &self.ouis;
        let mut is_new = false;
        let device = self.devices.entry(mac).or_insert_with(|| {
            is_new = true;
            Device::new(mac, at, ouis)
        });
        let before = device.visible();
        let old_ip = device.ip.as_ref().map(|f| f.value);
        device.absorb(s);
        let after_ip = device.ip.as_ref().map(|f| f.value);
        if let Some((ip, source)) = claim {
            self.claims.entry(ip).or_default().insert(mac, (at, source));
        }
        let mut recheck: Vec<Ipv4Addr> = claim.map(|c| c.0).into_iter().collect();
        if after_ip != old_ip {
            recheck.extend(old_ip);
        }
        for ip in recheck {
            self.recheck(ip);
        }
        let changed = self
            .devices
            .get(&mac)
            .is_some_and(|d| d.visible() != before);
        if after_ip != old_ip {
            if let Some(old) = old_ip {
                if self.by_ip.get(&old) == Some(&mac) {
                    self.by_ip.remove(&old);
                }
            }
            if let Some(ip) = after_ip {
                self.by_ip.insert(ip, mac);
                for waiting in self.waiting.remove(&ip).unwrap_or_default() {
                    self.merge(Sighting {
                        mac: Some(mac),
                        ..waiting
                    });
                }
            }
        }
        match (is_new, changed) {
            (true, _) => Change::New(mac),
            (false, true) => Change::Updated(mac),
            (false, false) => Change::None,
        }
    }

    /// Marks (or clears) the conflict over `ip`: every device whose address is `ip` now and who answered ARP
    /// for it within [`CONFLICT_WINDOW`] of the latest answer.
    fn recheck(&mut self, ip: Ipv4Addr) {
        let Some(claims) = self.claims.get(&ip) else {
            return;
        };
        let latest = claims.values().map(|c| c.0).max();
        let holding: Vec<(Mac, SystemTime, Source)> = claims
            .iter()
            .filter(|(mac, (at, _))| {
                latest.is_some_and(|l| l.duration_since(*at).unwrap_or_default() <= CONFLICT_WINDOW)
                    && self
                        .devices
                        .get(mac)
                        .and_then(|d| d.ip.as_ref())
                        .is_some_and(|f| f.value == ip)
            })
            .map(|(mac, (at, source))| (*mac, *at, *source))
            .collect();
        let evidence: Vec<String> = holding
            .iter()
            .map(|(mac, at, source)| {
                format!(
                    "{} answered ARP ({source}) at {}",
                    mac.shown(),
                    crate::clock::iso8601(*at)
                )
            })
            .collect();
        // Only a device that claimed `ip` can hold a conflict over it.
        let claimers: Vec<Mac> = claims.keys().copied().collect();
        for m in claimers {
            let Some(d) = self.devices.get_mut(&m) else {
                continue;
            };
            let involved = holding.iter().any(|h| h.0 == d.mac);
            if involved && holding.len() > 1 {
                d.conflict = Some(Conflict {
                    ip,
                    others: holding
                        .iter()
                        .map(|h| h.0)
                        .filter(|m| *m != d.mac)
                        .collect(),
                    evidence: evidence.clone(),
                });
            } else if d.conflict.as_ref().is_some_and(|c| c.ip == ip) {
                d.conflict = None;
            }
        }
    }

    /// Addresses more than one device answers for now.
    pub fn conflicts(&self) -> impl Iterator<Item = &Device> {
        self.devices.values().filter(|d| d.conflict.is_some())
    }

    pub fn get(&self, mac: Mac) -> Option<&Device> {
        self.devices.get(&mac)
    }

    /// The device at an address, by its freshest IP.
    pub fn at(&self, ip: Ipv4Addr) -> Option<&Device> {
        self.by_ip.get(&ip).and_then(|m| self.devices.get(m))
    }

    /// Every device, by MAC.
    pub fn devices(&self) -> impl Iterator<Item = &Device> {
        self.devices.values()
    }

    /// Poly candidates only (everything with `all`).
    pub fn listed(&self, all: bool) -> impl Iterator<Item = &Device> {
        self.devices.values().filter(move |d| all || d.is_poly())
    }

    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }
}

#[cfg(test)]
mod tests;

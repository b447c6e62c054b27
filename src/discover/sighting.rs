//! One thing heard or learned about one device: the typed record every discovery source (passive frames, the
//! sweep's ARP replies, mDNS, the HTTP fingerprint, a capture file) produces and the inventory merges by MAC.
//! [`from_frame`] turns a raw Ethernet frame into a sighting with the `wire` parsers; frames that are not ARP,
//! DHCP, LLDP or CDP, or that do not parse, give `None` (a capture is full of traffic that is not ours to read).

use std::net::Ipv4Addr;
use std::time::SystemTime;

use serde::Serialize;

use super::vlan::Segment;
use crate::mac::Mac;
use crate::wire::{self, EtherType, arp, cdp, dhcp, lldp};

/// Where a fact came from. Ordered by how much an IP address from it is worth (see `inventory`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// An ARP frame the device sent on its own (gratuitous, or asking for someone).
    Arp,
    /// The device's reply to our ARP sweep.
    Sweep,
    /// A DHCP DISCOVER/REQUEST it broadcast (vendor class, requested address, host name).
    Dhcp,
    /// An LLDP(-MED) frame it sent.
    Lldp,
    /// A CDP frame it sent.
    Cdp,
    /// An mDNS answer (host name, services).
    Mdns,
    /// Its web server: certificate, Server header, login page, login script.
    Http,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Arp => "arp",
            Source::Sweep => "sweep",
            Source::Dhcp => "dhcp",
            Source::Lldp => "lldp",
            Source::Cdp => "cdp",
            Source::Mdns => "mdns",
            Source::Http => "http",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a web server showed without a password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Web {
    /// `https://198.18.0.11/` (or `http://` where only HTTP answered).
    pub url: String,
    /// The device profile it matched, if any.
    pub profile: Option<String>,
    /// That profile's login generation (`session-csrf`, `authorization-cookie`, `auth-htm`, `http-401`).
    pub generation: Option<String>,
    /// Whether the profile can be provisioned through the web UI; the reason and the way instead when not.
    pub web_provisioning: bool,
    pub instead: Option<String>,
    pub server: Option<String>,
    pub login_title: Option<String>,
    /// Certificate subject: CN (a Poly phone's MAC) and O (`Polycom Inc.`).
    pub cert_cn: Option<String>,
    pub cert_o: Option<String>,
    /// Why the web UI could not be read or recognised.
    pub problem: Option<String>,
}

/// One observation of one device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sighting {
    /// `None` for sources that carry no MAC (mDNS): joined to a device by IP.
    pub mac: Option<Mac>,
    pub source: Source,
    #[serde(with = "crate::discover::time_serde")]
    pub at: SystemTime,
    pub ip: Option<Ipv4Addr>,
    pub hostname: Option<String>,
    /// `Polycom`, `Poly`: what the device said it is.
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub part_number: Option<String>,
    /// The voice VLAN from an LLDP-MED network policy.
    pub voice_vlan: Option<u16>,
    /// The segment the frame travelled in (frames only): its VLAN tag, or untagged on the interface's own.
    pub segment: Option<Segment>,
    /// The string the model and firmware were read from, kept as sent (`Polycom;VVX-VVX_411;…`).
    pub raw: Option<String>,
    /// mDNS service instances seen (`Poly CCX 500._http._tcp.local.`).
    pub services: Vec<String>,
    pub web: Option<Web>,
}

impl Web {
    /// Whether a web server answered at all (a certificate, a Server header, a page), not only a failed look.
    pub fn answered(&self) -> bool {
        self.profile.is_some()
            || self.server.is_some()
            || self.login_title.is_some()
            || self.cert_cn.is_some()
    }
}

impl Sighting {
    pub fn new(mac: Option<Mac>, source: Source, at: SystemTime) -> Sighting {
        Sighting {
            mac,
            source,
            at,
            ip: None,
            hostname: None,
            manufacturer: None,
            model: None,
            firmware: None,
            part_number: None,
            voice_vlan: None,
            segment: None,
            raw: None,
            services: Vec::new(),
            web: None,
        }
    }
}

/// A usable unicast IPv4 address (not 0.0.0.0, broadcast, multicast or loopback).
fn usable(ip: Ipv4Addr) -> Option<Ipv4Addr> {
    (!ip.is_unspecified() && !ip.is_broadcast() && !ip.is_multicast() && !ip.is_loopback())
        .then_some(ip)
}

fn usable_mac(mac: Mac) -> Option<Mac> {
    // Group (multicast/broadcast) and all-zero MACs never name a device.
    (mac.0[0] & 1 == 0 && mac.0 != [0; 6]).then_some(mac)
}

/// Reads a frame as a sighting. `own` is the agent's MAC: its own frames (the sweep's requests) are skipped, and
/// ARP replies addressed to it are answers to the sweep.
pub fn from_frame(frame: &[u8], at: SystemTime, own: Option<Mac>) -> Option<Sighting> {
    let ethernet = wire::EthernetFrame::new_checked(frame).ok()?;
    let src = ethernet.src();
    if Some(src) == own {
        return None;
    }
    let mut s = match ethernet.ethertype() {
        EtherType::Arp => from_arp(frame, at, own),
        EtherType::Ipv4 => from_dhcp(frame, at),
        EtherType::Lldp => from_lldp(frame, at),
        EtherType::Length(_) => from_cdp(frame, at),
        _ => None,
    }?;
    s.segment = Some(segment(&ethernet));
    Some(s)
}

/// The frame's segment as the interface sees it: a priority tag (VLAN 0) is the untagged VLAN.
fn segment<T: AsRef<[u8]>>(frame: &wire::EthernetFrame<T>) -> Segment {
    let outer = frame.outer_vlan().map(|t| t.id).filter(|id| *id != 0);
    match (frame.vlan().map(|t| t.id).filter(|id| *id != 0), outer) {
        (Some(vlan), outer) => Segment::Tagged { vlan, outer },
        // Priority-tagged inside a service tag: untagged within that service VLAN.
        (None, Some(vlan)) => Segment::Tagged { vlan, outer: None },
        (None, None) => Segment::Ours { vlan: None },
    }
}

fn from_arp(frame: &[u8], at: SystemTime, own: Option<Mac>) -> Option<Sighting> {
    let f = arp::parse_frame(frame).ok()?;
    let mac = usable_mac(f.arp.sender_mac)?;
    let is_answer_to_us =
        f.arp.operation == arp::Operation::Reply && own.is_some_and(|m| f.arp.target_mac == m);
    let source = if is_answer_to_us {
        Source::Sweep
    } else {
        Source::Arp
    };
    let mut s = Sighting::new(Some(mac), source, at);
    s.ip = usable(f.arp.sender_ip);
    Some(s)
}

fn from_dhcp(frame: &[u8], at: SystemTime) -> Option<Sighting> {
    let f = dhcp::parse_frame(frame).ok()?;
    let d = f.dhcp;
    let mut s = Sighting::new(Some(usable_mac(d.client_mac)?), Source::Dhcp, at);
    s.ip = usable(d.ciaddr).or(d.requested_ip.and_then(usable));
    s.hostname = d.host_name.clone().filter(|h| !h.is_empty());
    if let Some(poly) = d.poly() {
        s.manufacturer = poly.company.clone();
        s.model = poly.model();
        s.firmware = poly.firmware();
        s.part_number = poly.part_number.clone();
        s.raw = poly.part.clone();
    }
    Some(s)
}

fn from_lldp(frame: &[u8], at: SystemTime) -> Option<Sighting> {
    let f = lldp::parse_frame(frame).ok()?;
    let l = &f.lldp;
    let mac = l
        .phone_mac()
        .and_then(usable_mac)
        .or_else(|| usable_mac(f.ethernet.src))?;
    let mut s = Sighting::new(Some(mac), Source::Lldp, at);
    s.ip = l.ipv4().and_then(usable);
    s.hostname = l.system_name.clone().filter(|n| !n.is_empty());
    s.raw = l.system_description.clone();
    let inventory = &l.med.inventory;
    if let Some(poly) = l.poly() {
        s.manufacturer = Some(poly.manufacturer.clone());
        s.model = Some(poly.model.clone());
        s.firmware = poly.firmware().map(String::from);
        s.part_number = poly.part_number.clone();
    } else {
        s.manufacturer = inventory.manufacturer.clone();
        s.model = inventory
            .model
            .clone()
            .map(|m| wire::poly::poly_model_name(&m));
        s.firmware = inventory.software_revision.clone();
    }
    s.voice_vlan = l
        .med
        .network_policies
        .iter()
        .find(|p| p.application == lldp::MedApplication::Voice && !p.unknown_policy)
        // An untagged or priority-tagged policy (VLAN 0) names no voice VLAN.
        .filter(|p| p.tagged && p.vlan_id != 0)
        .map(|p| p.vlan_id);
    Some(s)
}

fn from_cdp(frame: &[u8], at: SystemTime) -> Option<Sighting> {
    let f = cdp::parse_frame(frame).ok()?;
    let c = &f.cdp;
    let mut s = Sighting::new(Some(usable_mac(f.ethernet.src)?), Source::Cdp, at);
    s.ip = c.addresses.iter().find_map(|a| match a {
        cdp::CdpAddress::Ipv4(ip) => usable(*ip),
        _ => None,
    });
    s.hostname = c.device_id.clone().filter(|d| !d.is_empty());
    s.raw = c.platform.clone();
    // A switch tells the phone its voice VLAN in a VoIP VLAN reply.
    s.voice_vlan = c.voice_vlan.filter(|v| *v != 0);
    if let Some(poly) = c.poly() {
        s.manufacturer = c
            .platform
            .as_deref()
            .and_then(|p| p.split_whitespace().next())
            .map(String::from);
        s.model = Some(poly.model);
        s.firmware = poly.firmware;
    }
    Some(s)
}

#[cfg(test)]
mod tests;

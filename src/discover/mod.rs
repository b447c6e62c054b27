//! Discovery: finding the Poly phones on the technician's LAN and what they are. It owns everything from raw
//! frames to the inventory `onboard` starts from:
//! - [`sighting`]: one typed observation (ARP, DHCP, LLDP, CDP frames via [`crate::wire`]; mDNS; the web UI);
//! - [`inventory`]: sightings merged by MAC, every field with its source and time, and whether each phone is ready;
//! - [`oui`]: which MAC prefixes mark a candidate;
//! - [`sweep`]: the paced ARP sweep's schedule and rate profiles (polite by default: under DAI's 15/s);
//! - [`budget`]: the port's ARP budget, one sliding second shared by the sweep and every connection whose ARP
//!   the kernel sends (fingerprints, searches for moved phones), counted as the listener sees the frames leave;
//! - [`link`]: the interface, its VLAN, and the privilege check;
//! - [`packet`]: the raw AF_PACKET socket the sweep and the passive listener share (VLAN tags, LLDP/CDP groups;
//!   the crate's only `unsafe` code);
//! - [`vlan`]: which VLAN each device was heard in, the voice VLANs switches advertise, and the fix when phones
//!   are on a VLAN the interface is not on;
//! - [`live`]: the engine that runs them together, with mDNS ([`mdns`]) and the HTTP fingerprint
//!   ([`fingerprint`]), streaming updates as they arrive;
//! - [`pcap`]: the same inventory from a capture file, touching no network.
//!
//! Network safety: nothing is sent unless the caller named the interface and the range (`Plan::range`); without
//! a range discovery only listens. The range is checked here (at most a /16 unless overridden), not in the CLI.

pub mod budget;
pub mod fingerprint;
pub mod inventory;
pub mod link;
pub mod live;
pub mod mdns;
pub mod oui;
pub mod packet;
pub mod pcap;
pub mod sighting;
pub mod sweep;
pub mod vlan;

pub use inventory::{Change, Device, Fact, Inventory, Readiness};
pub use live::{Plan, Stats, Update};
pub use sighting::{Sighting, Source, Web};

use ipnet::Ipv4Net;

/// Why discovery could not run.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error(
        "discover needs the interface to listen and send on: --interface IF (nothing is sent on a network you did not name). Interfaces here: {available}"
    )]
    NoInterface { available: String },
    #[error("there is no interface {name:?}. Fix: use one of: {available}")]
    NoSuchInterface { name: String, available: String },
    #[error(
        "interface {name} is down. Fix: plug in the cable or `ip link set {name} up`, then run again"
    )]
    InterfaceDown { name: String },
    #[error(
        "interface {name} is up but has no link (no carrier): nothing was sent. Fix: check the cable, that the switch port is enabled, and that the other end is on; `ip link show {name}` says NO-CARRIER until it is, then run again"
    )]
    NoCarrier { name: String },
    #[error(
        "interface {name} has no IPv4 address, so the phones' web UIs cannot be reached from it and nothing can be onboarded. Fix: give {name} an address in the phones' subnet (DHCP, or `sudo ip addr add ADDRESS/PREFIX dev {name}`), or name the interface that has one"
    )]
    NoIpv4 { name: String },
    #[error(
        "{range} is not on {name}'s network (its addresses: {addresses}): phones there may answer ARP on this segment, but web connections to them are routed away from {name}, so they cannot be onboarded from here. Fix: use the interface on that network, or add an address in that subnet (`sudo ip addr add ADDRESS/PREFIX dev {name}`)"
    )]
    OffLink {
        range: Ipv4Net,
        name: String,
        addresses: String,
    },
    #[error(
        "interface {name} has no MAC address (not an Ethernet interface?). Fix: name the wired interface the phones are on"
    )]
    NotEthernet { name: String },
    #[error(
        "range {range} has {hosts} addresses, more than a /16 (65,536). Sweeping it takes long and floods the LAN with broadcasts. Fix: give the phones' subnet, or add --allow-large-range if you really mean it"
    )]
    RangeTooLarge { range: Ipv4Net, hosts: u64 },
    #[error("{0}")]
    NoPrivilege(String),
    #[error("cannot open a raw socket on {interface}: {source}")]
    Channel {
        interface: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Pcap(#[from] pcap::PcapError),
}

/// The largest range swept without an explicit override: a /16.
pub const MAX_HOSTS: u64 = 1 << 16;

/// The addresses a range sweeps: every host address (network and broadcast excluded where the prefix has them);
/// refused above a /16 unless `allow_large`.
pub fn targets(
    range: Ipv4Net,
    allow_large: bool,
) -> Result<Vec<std::net::Ipv4Addr>, DiscoverError> {
    let hosts = 1u64 << (32 - u32::from(range.prefix_len()));
    if hosts > MAX_HOSTS && !allow_large {
        return Err(DiscoverError::RangeTooLarge { range, hosts });
    }
    Ok(range.hosts().collect())
}

/// Timestamps as RFC 3339 UTC with milliseconds.
pub(crate) mod time_serde {
    use std::time::SystemTime;

    pub fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::clock::iso8601(*t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slash_16_is_swept_and_anything_larger_needs_the_override() {
        let slash16: Ipv4Net = "198.18.0.0/16".parse().unwrap();
        assert_eq!(targets(slash16, false).unwrap().len(), 65_534);
        let slash15: Ipv4Net = "198.18.0.0/15".parse().unwrap();
        let e = targets(slash15, false).unwrap_err().to_string();
        assert!(e.contains("--allow-large-range"), "{e}");
        assert_eq!(targets(slash15, true).unwrap().len(), 131_070);
        let one: Ipv4Net = "198.18.0.7/32".parse().unwrap();
        assert_eq!(
            targets(one, false).unwrap(),
            vec!["198.18.0.7".parse::<std::net::Ipv4Addr>().unwrap()]
        );
    }
}

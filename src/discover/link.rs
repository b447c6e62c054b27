//! The technician's interface: finding it by name, checking the privilege raw frames need (CAP_NET_RAW on Linux)
//! with the exact fix when it is missing, and opening the AF_PACKET channel through pnet. The channel is
//! promiscuous only while passive listening is asked for, because LLDP and CDP go to multicast addresses a NIC
//! filters out otherwise; the sweep alone needs no promiscuous mode (replies are unicast to us).

use std::net::Ipv4Addr;
use std::time::Duration;

use pnet::datalink::{self, Channel, DataLinkReceiver, DataLinkSender, NetworkInterface};

use super::DiscoverError;
use crate::mac::Mac;

/// The two halves of a raw channel: frames out (the sweep), frames in (the listener).
pub type RawChannel = (Box<dyn DataLinkSender>, Box<dyn DataLinkReceiver>);

/// A named Ethernet interface with its MAC and first IPv4 address.
#[derive(Debug, Clone)]
pub struct Link {
    pub name: String,
    pub mac: Mac,
    /// Our address and prefix there; the sweep asks from 0.0.0.0 (an RFC 5227 probe) when there is none.
    pub ipv4: Option<(Ipv4Addr, u8)>,
    iface: NetworkInterface,
}

/// `eth0 (02:00:00:00:00:01, 198.18.0.1/24), wlan0 (…)`: what `discover` lists when no interface was named.
pub fn describe_all() -> String {
    let list: Vec<String> = datalink::interfaces()
        .iter()
        .filter(|i| !i.is_loopback())
        .map(|i| {
            let v4: Vec<String> = i
                .ips
                .iter()
                .filter(|n| n.is_ipv4())
                .map(|n| format!("{}/{}", n.ip(), n.prefix()))
                .collect();
            let mac = i
                .mac
                .map(|m| m.to_string())
                .unwrap_or_else(|| "no MAC".into());
            let state = if i.is_up() { "" } else { ", down" };
            format!(
                "{} ({mac}{}{state})",
                i.name,
                if v4.is_empty() {
                    String::new()
                } else {
                    format!(", {}", v4.join(" "))
                }
            )
        })
        .collect();
    if list.is_empty() {
        "(none but loopback)".into()
    } else {
        list.join("; ")
    }
}

impl Link {
    /// The interface called `name`, up and with a MAC.
    pub fn find(name: &str) -> Result<Link, DiscoverError> {
        let iface = datalink::interfaces()
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| DiscoverError::NoSuchInterface {
                name: name.into(),
                available: describe_all(),
            })?;
        if !iface.is_up() {
            return Err(DiscoverError::InterfaceDown { name: name.into() });
        }
        let mac = iface
            .mac
            .map(|m| Mac(m.octets()))
            .filter(|m| m.0 != [0; 6])
            .ok_or_else(|| DiscoverError::NotEthernet { name: name.into() })?;
        let ipv4 = iface.ips.iter().find_map(|n| match n.ip() {
            std::net::IpAddr::V4(ip) => Some((ip, n.prefix())),
            _ => None,
        });
        Ok(Link {
            name: name.into(),
            mac,
            ipv4,
            iface,
        })
    }

    /// Our subnet on this interface (`198.18.0.0/24`), the range a technician usually means.
    pub fn subnet(&self) -> Option<ipnet::Ipv4Net> {
        let (ip, prefix) = self.ipv4?;
        ipnet::Ipv4Net::new(ip, prefix).ok().map(|n| n.trunc())
    }

    /// Opens the raw channel. `promiscuous` for the passive LLDP/CDP listener.
    pub fn open(&self, promiscuous: bool) -> Result<RawChannel, DiscoverError> {
        privilege(&self.name)?;
        let config = datalink::Config {
            read_timeout: Some(Duration::from_millis(50)),
            read_buffer_size: 65536,
            promiscuous,
            ..datalink::Config::default()
        };
        match datalink::channel(&self.iface, config) {
            Ok(Channel::Ethernet(tx, rx)) => Ok((tx, rx)),
            Ok(_) => Err(DiscoverError::NotEthernet {
                name: self.name.clone(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                Err(DiscoverError::NoPrivilege(fix(&self.name)))
            }
            Err(source) => Err(DiscoverError::Channel {
                interface: self.name.clone(),
                source,
            }),
        }
    }
}

/// Whether this process holds CAP_NET_RAW: `Effective`, only `Permitted` (raisable, as after
/// `setcap cap_net_raw+p`), or `Missing`; read from `/proc/self/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawAccess {
    Effective,
    Permitted,
    Missing,
}

const CAP_NET_RAW: u32 = 13;

/// Reads CapEff/CapPrm lines of a `/proc/<pid>/status` text.
pub fn raw_access(status: &str) -> RawAccess {
    let mask = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    let bit = 1u64 << CAP_NET_RAW;
    if mask("CapEff:") & bit != 0 {
        RawAccess::Effective
    } else if mask("CapPrm:") & bit != 0 {
        RawAccess::Permitted
    } else {
        RawAccess::Missing
    }
}

/// The exact fix for a missing privilege.
pub fn fix(interface: &str) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "polyprov".into());
    format!(
        "listening and sending ARP on {interface} need raw sockets (CAP_NET_RAW), which this process does not have. \
         Fix: `sudo setcap cap_net_raw+p {exe}` once (again after every upgrade; polyprov raises it only while it \
         runs), or run polyprov with sudo. Under systemd: AmbientCapabilities=CAP_NET_RAW. \
         To work without it, capture with tcpdump and use `polyprov discover --pcap FILE`"
    )
}

/// Makes sure CAP_NET_RAW is effective: raises it from the permitted set where `setcap +p` put it.
fn privilege(interface: &str) -> Result<(), DiscoverError> {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Ok(()); // not Linux procfs: the channel's own error will say
    };
    match raw_access(&status) {
        RawAccess::Effective => Ok(()),
        RawAccess::Permitted => {
            caps::raise(None, caps::CapSet::Effective, caps::Capability::CAP_NET_RAW)
                .map_err(|_| DiscoverError::NoPrivilege(fix(interface)))
        }
        RawAccess::Missing => Err(DiscoverError::NoPrivilege(fix(interface))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_net_raw_is_read_from_proc_status() {
        let root = "Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n";
        assert_eq!(raw_access(root), RawAccess::Effective);
        let setcap = "CapPrm:\t0000000000002000\nCapEff:\t0000000000000000\n";
        assert_eq!(raw_access(setcap), RawAccess::Permitted);
        let user = "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n";
        assert_eq!(raw_access(user), RawAccess::Missing);
        assert_eq!(raw_access("garbage"), RawAccess::Missing);
    }

    #[test]
    fn the_fix_names_setcap_and_sudo() {
        let f = fix("eth0");
        assert!(
            f.contains("setcap cap_net_raw+p") && f.contains("sudo") && f.contains("--pcap"),
            "{f}"
        );
    }
}

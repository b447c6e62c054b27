//! Finding a phone again by MAC after it came back on another address (a new DHCP lease after a reboot): first
//! the system's neighbour table, then — only within a range the user named — a gentle, rate-limited look at
//! each address's certificate, whose subject names the phone's MAC.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;

use super::tls::{PhoneVerifier, Trust};
use crate::mac::Mac;

/// Where discovery last heard a MAC, when discovery keeps listening during the run (`onboard --interface`): the
/// freshest ARP, DHCP or LLDP address of that MAC, and the VLAN when its frames arrive tagged. A new lease is
/// announced by the phone itself (DHCP, gratuitous ARP), so this finds a moved phone without probing anything —
/// in the voice VLAN too, when the agent can reach that VLAN (a VLAN subinterface, or a route to it).
#[derive(Clone)]
pub struct Heard(pub std::sync::Arc<dyn Fn(Mac) -> Option<Whereabouts> + Send + Sync>);

/// What live discovery last heard of one MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whereabouts {
    /// Its freshest address, when it has one.
    pub ip: Option<IpAddr>,
    /// The VLAN its frames reach the interface tagged with: one the agent's interface is not on.
    pub other_vlan: Option<u16>,
}

impl Heard {
    /// What was heard of `mac`.
    pub fn of(&self, mac: Mac) -> Option<Whereabouts> {
        (self.0)(mac)
    }
}

/// Why a phone heard again cannot be followed: it came back on a VLAN the agent's interface is not on, and nothing
/// answered at the address it announced there (no VLAN subinterface, no route).
pub fn unreachable_vlan(vlan: u16, ip: Option<IpAddr>) -> String {
    let at = ip.map_or(String::new(), |ip| format!(" at {ip}"));
    format!(
        "the phone came back on VLAN {vlan}{at} (its frames reach the agent's interface tagged: phones move to the \
         voice VLAN that LLDP-MED, CDP or DHCP names), which the agent's interface is not on, and it did not answer \
         there. Fix: onboard from \
         VLAN {vlan}: a VLAN subinterface (`sudo ip link add link IF name IF.{vlan} type vlan id {vlan}`, an address \
         on it, then `--interface IF.{vlan}`), or a host on that VLAN; the phone's own progress is not affected"
    )
}

impl std::fmt::Debug for Heard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Heard(live discovery)")
    }
}

/// Where to look.
#[derive(Debug, Clone)]
pub struct Search {
    pub mac: Mac,
    /// The phone's web port (unchanged by a new lease).
    pub port: u16,
    pub https: bool,
    /// A range the user named (`--cidr`); without one only the neighbour table is read.
    pub range: Option<IpNet>,
    /// Addresses probed per second.
    pub rate: u32,
    /// Live discovery's view, asked first.
    pub heard: Option<Heard>,
    /// The certificates phones presented first: an address is the phone's only if it presents its own.
    pub known: Option<std::sync::Arc<super::known::KnownPhones>>,
    /// The port's ARP budget (`onboard --interface`, or a range to search): each address looked at may make the
    /// kernel send ARP requests, which count on the switch port like the sweep's.
    pub arp: Option<std::sync::Arc<crate::discover::budget::PortBudget>>,
}

/// Parse `/proc/net/arp` text: the address whose hardware address is `mac`.
pub fn neighbour_lookup(table: &str, mac: Mac) -> Option<IpAddr> {
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (ip, hw) = (cols.first()?, cols.get(3)?);
        (hw.parse::<Mac>().ok()? == mac)
            .then(|| ip.parse().ok())
            .flatten()
    })
}

/// Parse `/proc/net/arp` text the other way: the hardware address of `ip` (complete entries only: flags 0x2).
pub fn neighbour_mac(table: &str, ip: IpAddr) -> Option<Mac> {
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (addr, flags, hw) = (cols.first()?, cols.get(2)?, cols.get(3)?);
        (addr.parse::<IpAddr>().ok()? == ip && *flags != "0x0")
            .then(|| hw.parse::<Mac>().ok())
            .flatten()
            .filter(|m| m.0 != [0; 6])
    })
}

/// The MAC this machine's neighbour table holds for `ip` (read locally: nothing is sent).
pub fn neighbour_mac_of(ip: IpAddr) -> Option<Mac> {
    neighbour_mac(&std::fs::read_to_string("/proc/net/arp").ok()?, ip)
}

/// Look for the phone; `skip` is the address it left.
pub async fn find(search: &Search, skip: IpAddr) -> Option<IpAddr> {
    if let Some(heard) = &search.heard {
        if let Some(ip) = heard
            .of(search.mac)
            .and_then(|w| w.ip)
            .filter(|ip| *ip != skip)
        {
            if certificate_names(search, ip).await {
                return Some(ip);
            }
        }
    }
    if let Ok(table) = std::fs::read_to_string("/proc/net/arp") {
        if let Some(ip) = neighbour_lookup(&table, search.mac).filter(|ip| *ip != skip) {
            if certificate_names(search, ip).await {
                return Some(ip);
            }
        }
    }
    // Over plain HTTP an open port proves nothing about who answers (and the admin credentials would follow):
    // only a certificate naming the MAC identifies the phone, so without TLS the range is not searched.
    let range = search.range.filter(|_| search.https)?;
    let pause = Duration::from_secs_f64(1.0 / f64::from(search.rate.max(1)));
    let mut probes = tokio::task::JoinSet::new();
    for ip in range.hosts().filter(|ip| *ip != skip) {
        // Wait for the port's budget here, not in the task: a backlog of waiting probes would only grow.
        if let (Some(budget), IpAddr::V4(v4)) = (&search.arp, ip) {
            budget.resolve(v4).await;
        }
        let s = search.clone();
        probes.spawn(async move { certificate_names(&s, ip).await.then_some(ip) });
        tokio::time::sleep(pause).await;
        while let Some(done) = probes.try_join_next() {
            if let Ok(Some(ip)) = done {
                return Some(ip);
            }
        }
    }
    while let Some(done) = probes.join_next().await {
        if let Ok(Some(ip)) = done {
            return Some(ip);
        }
    }
    None
}

/// Whether `ip` serves a certificate naming the phone's MAC (plain HTTP: whether the port answers, which is only
/// used for an address the neighbour table gave for that MAC).
async fn certificate_names(search: &Search, ip: IpAddr) -> bool {
    if let (Some(budget), IpAddr::V4(v4)) = (&search.arp, ip) {
        budget.resolve(v4).await;
    }
    let addr = SocketAddr::new(ip, search.port);
    let Ok(Ok(tcp)) = tokio::time::timeout(
        Duration::from_millis(800),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    else {
        return false;
    };
    if !search.https {
        return true;
    }
    crate::init_tls();
    let verifier =
        PhoneVerifier::remembering(Trust::PolyPhone(Some(search.mac)), search.known.clone());
    let Ok(config) = verifier.client_config() else {
        return false;
    };
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let name = rustls::pki_types::ServerName::IpAddress(ip.into());
    matches!(
        tokio::time::timeout(Duration::from_secs(2), connector.connect(name, tcp)).await,
        Ok(Ok(_))
    )
}

/// A range may be searched for a moved phone only up to a /16 (IPv4) or a /112 (IPv6): beyond that, name a smaller
/// one (the phones' own subnet).
pub fn check_search_range(range: &IpNet) -> Result<(), String> {
    let (len, max) = match range {
        IpNet::V4(n) => (n.prefix_len(), 16),
        IpNet::V6(n) => (n.prefix_len(), 112),
    };
    if len < max {
        return Err(format!(
            "--cidr {range} is larger than a /{max}; name a smaller range (the phones' own subnet)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The neighbour table's hardware column is matched in any spelling.
    #[test]
    fn neighbour_table() {
        let table = "IP address       HW type     Flags       HW address            Mask     Device\n\
                     198.18.0.23      0x1         0x2         64:16:7f:a1:b6:45     *        eth0\n\
                     198.18.0.1       0x1         0x2         02:00:00:00:00:01     *        eth0\n";
        let mac: Mac = "64167FA1B645".parse().unwrap();
        assert_eq!(
            neighbour_lookup(table, mac),
            Some("198.18.0.23".parse().unwrap())
        );
        assert_eq!(
            neighbour_lookup(table, "0004F2000000".parse().unwrap()),
            None
        );
        assert_eq!(neighbour_lookup("garbage", mac), None);
    }

    /// And the other way: an address's MAC, from complete entries only.
    #[test]
    fn neighbour_mac_of_an_address() {
        let table = "IP address       HW type     Flags       HW address            Mask     Device\n\
                     198.18.0.23      0x1         0x2         64:16:7f:a1:b6:45     *        eth0\n\
                     198.18.0.24      0x1         0x0         00:00:00:00:00:00     *        eth0\n";
        assert_eq!(
            neighbour_mac(table, "198.18.0.23".parse().unwrap()),
            Some("64167FA1B645".parse().unwrap())
        );
        assert_eq!(neighbour_mac(table, "198.18.0.24".parse().unwrap()), None);
        assert_eq!(neighbour_mac(table, "198.18.0.25".parse().unwrap()), None);
        assert_eq!(
            neighbour_mac("garbage", "198.18.0.23".parse().unwrap()),
            None
        );
    }
}

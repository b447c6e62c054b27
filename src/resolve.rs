//! Name resolution without surprises, for the agent and for simulated phones alike.
//!
//! - A [`Pin`] is curl's `--resolve NAME:PORT:ADDR`: the name is answered from the pin and never looked up.
//! - Names under the domains RFC 2606 and RFC 6761 reserve (`.test`, `.invalid`, `.example`, `.localhost`,
//!   `example.com/net/org`) can never be real provisioning servers: they are never sent to a resolver, and the error
//!   says to pin them.
//! - A [`Resolver`] answers pins first; anything else goes to the system resolver only when it is allowed to
//!   (the agent in real use). Simulated phones resolve through the simulator's own table and nothing else, so no
//!   test ever makes the host send a DNS query.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

/// `NAME:PORT:ADDR` — answer `NAME` (for connections to `PORT`) with `ADDR`, as curl's `--resolve` does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pin {
    pub name: String,
    /// `None` (written `*`) pins the name for every port.
    pub port: Option<u16>,
    pub addr: IpAddr,
}

/// A `--resolve` value that is not `NAME:PORT:ADDR`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not NAME:PORT:ADDR ({problem}); e.g. prov.example.test:443:198.18.0.5")]
pub struct PinError {
    pub given: String,
    pub problem: String,
}

impl FromStr for Pin {
    type Err = PinError;

    fn from_str(s: &str) -> Result<Pin, PinError> {
        let bad = |problem: &str| PinError {
            given: s.to_string(),
            problem: problem.to_string(),
        };
        let mut parts = s.splitn(3, ':');
        let (Some(name), Some(port), Some(addr)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("three parts separated by ':' are needed"));
        };
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(bad("the name must be a host name"));
        }
        let port = match port.trim() {
            "*" => None,
            p => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad("the port must be 1–65535 or *"))?,
            ),
        };
        let addr = addr.trim().trim_start_matches('[').trim_end_matches(']');
        let addr = addr
            .parse::<IpAddr>()
            .map_err(|_| bad("the address must be an IP address"))?;
        Ok(Pin { name, port, addr })
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let port = self.port.map_or("*".to_string(), |p| p.to_string());
        match self.addr {
            IpAddr::V6(a) => write!(f, "{}:{port}:[{a}]", self.name),
            IpAddr::V4(a) => write!(f, "{}:{port}:{a}", self.name),
        }
    }
}

impl TryFrom<String> for Pin {
    type Error = PinError;
    fn try_from(s: String) -> Result<Pin, PinError> {
        s.parse()
    }
}

impl From<Pin> for String {
    fn from(p: Pin) -> String {
        p.to_string()
    }
}

/// The reserved domain a name falls under, if any (RFC 2606 §2–3, RFC 6761 §6).
pub fn reserved(name: &str) -> Option<&'static str> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    for tld in ["test", "invalid", "example", "localhost"] {
        if name == tld || name.ends_with(&format!(".{tld}")) {
            return Some(match tld {
                "test" => ".test",
                "invalid" => ".invalid",
                "example" => ".example",
                _ => ".localhost",
            });
        }
    }
    for sld in ["example.com", "example.net", "example.org"] {
        if name == sld || name.ends_with(&format!(".{sld}")) {
            return Some(match sld {
                "example.com" => "example.com",
                "example.net" => "example.net",
                _ => "example.org",
            });
        }
    }
    None
}

/// Why a name has no address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "{name} is under the reserved domain {domain} (RFC 2606/6761), so it is never looked up"
    )]
    Reserved { name: String, domain: &'static str },
    #[error("{name}: no address is known for this name")]
    Unknown { name: String },
    #[error("{name}: the name does not resolve ({reason})")]
    Lookup { name: String, reason: String },
}

/// Answers names from pins, then (when allowed) from the system resolver.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    /// Name → address, for every port (the pins already filtered to the connection's port).
    table: BTreeMap<String, IpAddr>,
    /// Ask the system resolver for names that are neither pinned nor reserved.
    system: bool,
}

impl Resolver {
    /// A resolver that knows only `table` and never asks the system (simulated phones).
    pub fn closed(table: BTreeMap<String, IpAddr>) -> Resolver {
        Resolver {
            table: table
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            system: false,
        }
    }

    /// The agent's resolver for connections to `port`: the pins for that port (or `*`), then the system resolver
    /// for names that are not reserved.
    pub fn pinned(pins: &[Pin], port: u16) -> Resolver {
        let mut table = BTreeMap::new();
        // Port-specific pins win over `*`.
        for p in pins.iter().filter(|p| p.port.is_none()) {
            table.insert(p.name.clone(), p.addr);
        }
        for p in pins.iter().filter(|p| p.port == Some(port)) {
            table.insert(p.name.clone(), p.addr);
        }
        Resolver {
            table,
            system: true,
        }
    }

    /// The address of `name`, without any network traffic unless the system resolver is allowed and needed.
    pub async fn lookup(&self, name: &str) -> Result<IpAddr, ResolveError> {
        let key = name.trim_end_matches('.').to_ascii_lowercase();
        if let Ok(ip) = key.trim_matches(['[', ']']).parse::<IpAddr>() {
            return Ok(ip);
        }
        if let Some(ip) = self.table.get(&key) {
            return Ok(*ip);
        }
        if let Some(domain) = reserved(&key) {
            return Err(ResolveError::Reserved { name: key, domain });
        }
        if !self.system {
            return Err(ResolveError::Unknown { name: key });
        }
        let found = tokio::net::lookup_host((key.as_str(), 0))
            .await
            .map_err(|e| ResolveError::Lookup {
                name: key.clone(),
                reason: e.to_string(),
            })?
            .next();
        found.map(|a| a.ip()).ok_or(ResolveError::Lookup {
            name: key,
            reason: "no address".into(),
        })
    }

    /// This resolver as reqwest's, so an HTTP client never resolves behind our back.
    pub fn for_reqwest(self) -> Arc<dyn reqwest::dns::Resolve> {
        Arc::new(self)
    }
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        let name = name.as_str().to_string();
        Box::pin(async move {
            let ip = this.lookup(&name).await?;
            let addrs: reqwest::dns::Addrs = Box::new(std::iter::once(SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// curl's syntax, IPv6 in brackets, `*` for any port; anything else is refused with the reason.
    #[test]
    fn pins_parse_like_curl() {
        let p: Pin = "prov.example.test:8443:127.0.0.1".parse().unwrap();
        assert_eq!(p.port, Some(8443));
        assert_eq!(p.to_string(), "prov.example.test:8443:127.0.0.1");
        let p: Pin = "Prov.Example.Test:*:[::1]".parse().unwrap();
        assert_eq!((p.name.as_str(), p.port), ("prov.example.test", None));
        assert_eq!(p.to_string(), "prov.example.test:*:[::1]");
        for bad in [
            "",
            "host",
            "host:443",
            "host:0:1.2.3.4",
            "host:x:1.2.3.4",
            "ho st:443:1.2.3.4",
            "host:443:nowhere",
        ] {
            assert!(bad.parse::<Pin>().is_err(), "{bad}");
        }
    }

    /// The reserved domains are recognised at any depth, and nothing else is.
    #[test]
    fn reserved_names() {
        for name in [
            "prov.example.test",
            "does-not-exist.invalid",
            "x.example",
            "localhost",
            "a.b.localhost",
            "example.com",
            "prov.example.org.",
        ] {
            assert!(reserved(name).is_some(), "{name}");
        }
        for name in ["prov.8x8.com", "testing.com", "example.community", "mytest"] {
            assert!(reserved(name).is_none(), "{name}");
        }
    }

    /// Pinned names answer from the pin; reserved names are refused without a lookup; a closed resolver knows
    /// nothing else; IP literals pass through.
    #[tokio::test]
    async fn lookups_never_leave_the_table_for_reserved_names() {
        let pins = vec![
            "prov.example.test:443:198.18.0.5".parse::<Pin>().unwrap(),
            "prov.example.test:8443:198.18.0.6".parse().unwrap(),
        ];
        let r = Resolver::pinned(&pins, 8443);
        assert_eq!(
            r.lookup("prov.example.test").await.unwrap(),
            "198.18.0.6".parse::<IpAddr>().unwrap()
        );
        let e = r.lookup("typo.example.test").await.unwrap_err();
        assert!(e.to_string().contains("never looked up"), "{e}");
        assert_eq!(
            r.lookup("198.18.0.9").await.unwrap(),
            "198.18.0.9".parse::<IpAddr>().unwrap()
        );
        let closed = Resolver::closed(BTreeMap::new());
        assert!(matches!(
            closed.lookup("prov.8x8.com").await,
            Err(ResolveError::Unknown { .. })
        ));
    }
}

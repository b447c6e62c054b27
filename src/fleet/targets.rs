//! The phones of a run from a targets file: one address per line (`198.18.0.10`, `198.18.0.10:8443`,
//! `https://…`), or a CSV whose header names an `ip` column and optionally `mac`, `extension`, `user` and
//! `server-url` (a phone-specific provisioning address, e.g. a per-model path). Mistakes are reported with the
//! file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::mac::Mac;

/// One phone to onboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Target {
    /// The phone's key in the journal and reports: `host:port`.
    pub key: String,
    pub base: url::Url,
    pub mac: Option<Mac>,
    pub extension: Option<String>,
    pub user: Option<String>,
    /// This phone's own provisioning server address, instead of the run's.
    #[serde(default)]
    pub server_url: Option<String>,
}

/// A targets file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    #[error("cannot read targets file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("targets file {path}, line {line}: {problem}")]
    Line {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error("targets file {0} lists no phone")]
    Empty(PathBuf),
}

/// Parse `ADDRESS[:PORT]` or a URL of one into a phone's base URL (HTTPS unless `http`): an IP literal only, as
/// resolving a name would send a query on the customer's network (see [`parse_address_named`]).
pub fn parse_address(text: &str, http: bool) -> Result<url::Url, String> {
    parse_address_named(text, http, false)
}

/// [`parse_address`], also taking host names when `names` (the user allowed them: resolving sends DNS queries).
pub fn parse_address_named(text: &str, http: bool, names: bool) -> Result<url::Url, String> {
    let text = text.trim();
    let scheme = if http { "http" } else { "https" };
    let full = if text.contains("://") {
        text.to_string()
    } else {
        format!("{scheme}://{text}/")
    };
    let mut url =
        url::Url::parse(&full).map_err(|e| format!("{text:?} is not an address ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} is not HOST[:PORT] or an http(s) URL"));
    }
    if url.port() == Some(0) {
        return Err(format!("{text:?}: port 0 is no phone's web server"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{:?} carries a user or password: give the phone's address alone (passwords come from --password-file \
             or POLYPROV_PASSWORD, never from an address)",
            url.host_str().unwrap_or("")
        ));
    }
    if !names && matches!(url.host(), Some(url::Host::Domain(_))) {
        return Err(format!(
            "{text:?} is a host name, not an address: resolving it would send a DNS query on the customer's \
             network. Give the phone's IP address, or add --host-names to allow names"
        ));
    }
    // One phone, one spelling: an IPv4-mapped IPv6 address is the IPv4 address, so the same phone written two
    // ways is one target (and is never logged into twice at once).
    if let Some(url::Host::Ipv6(v6)) = url.host()
        && let Some(v4) = v6.to_ipv4_mapped()
    {
        url.set_ip_host(std::net::IpAddr::V4(v4))
            .map_err(|()| format!("{text:?} is not an address"))?;
    }
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The journal key of a base URL: `host:port`.
pub fn key_of(base: &url::Url) -> String {
    format!(
        "{}:{}",
        base.host_str().unwrap_or(""),
        base.port_or_known_default().unwrap_or(0)
    )
}

impl Target {
    /// A target from an address alone (an IP literal).
    pub fn from_address(text: &str, http: bool) -> Result<Target, String> {
        Target::from_address_named(text, http, false)
    }

    /// A target from an address, or a host name when `names`.
    pub fn from_address_named(text: &str, http: bool, names: bool) -> Result<Target, String> {
        let base = parse_address_named(text, http, names)?;
        Ok(Target {
            key: key_of(&base),
            base,
            mac: None,
            extension: None,
            user: None,
            server_url: None,
        })
    }
}

/// Parse a targets file's text; `path` names it in errors; host names only when `names`.
pub fn parse(
    path: &Path,
    text: &str,
    http: bool,
    names: bool,
) -> Result<Vec<Target>, TargetsError> {
    let bad = |line: usize, problem: String| TargetsError::Line {
        path: path.to_path_buf(),
        line,
        problem,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let mut out: Vec<Target> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen_macs: BTreeMap<Mac, usize> = BTreeMap::new();
    let mut push = |line: usize, t: Target, out: &mut Vec<Target>| -> Result<(), TargetsError> {
        if let Some(first) = seen.insert(t.key.clone(), line) {
            return Err(bad(
                line,
                format!("{} is listed twice (first on line {first})", t.key),
            ));
        }
        if let Some(first) = t.mac.and_then(|m| seen_macs.insert(m, line)) {
            return Err(bad(
                line,
                format!(
                    "MAC {} is listed twice (first on line {first}): one phone, one line",
                    t.mac.map(|m| m.to_string()).unwrap_or_default()
                ),
            ));
        }
        out.push(t);
        Ok(())
    };
    let Some((first_no, first)) = lines.next() else {
        return Err(TargetsError::Empty(path.to_path_buf()));
    };
    let header: Vec<String> = first
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let is_csv = header.iter().any(|h| h == "ip" || h == "address");
    let columns = [
        "mac",
        "extension",
        "ext",
        "user",
        "server-url",
        "server_url",
    ];
    if !is_csv && header.iter().any(|h| columns.contains(&h.as_str())) {
        return Err(bad(
            first_no,
            format!(
                "the header ({first}) has no ip column: name the column of the phones' addresses `ip`"
            ),
        ));
    }
    if !is_csv {
        for (n, l) in std::iter::once((first_no, first)).chain(lines) {
            let addr = l.split([',', ' ', '\t']).next().unwrap_or("");
            let t = Target::from_address_named(addr, http, names).map_err(|p| bad(n, p))?;
            push(n, t, &mut out)?;
        }
    } else {
        let col = |name: &str| header.iter().position(|h| h == name);
        let ip = col("ip").or_else(|| col("address")).unwrap_or(0);
        let (mac, ext, user, server) = (
            col("mac"),
            col("extension").or_else(|| col("ext")),
            col("user"),
            col("server-url").or_else(|| col("server_url")),
        );
        for (n, l) in lines {
            let cells: Vec<&str> = l.split(',').map(str::trim).collect();
            let cell = |i: Option<usize>| {
                i.and_then(|i| cells.get(i))
                    .filter(|c| !c.is_empty())
                    .map(|c| c.to_string())
            };
            let addr = cell(Some(ip)).ok_or_else(|| bad(n, "the ip column is empty".into()))?;
            let mut t = Target::from_address_named(&addr, http, names).map_err(|p| bad(n, p))?;
            t.mac = match cell(mac) {
                Some(m) => Some(
                    m.parse()
                        .map_err(|e: crate::mac::MacParseError| bad(n, e.to_string()))?,
                ),
                None => None,
            };
            t.extension = cell(ext);
            t.user = cell(user);
            t.server_url = cell(server);
            if let Some(u) = &t.server_url {
                crate::server_check::refuse_password_in_url(u).map_err(|p| bad(n, p))?;
            }
            push(n, t, &mut out)?;
        }
    }
    if out.is_empty() {
        return Err(TargetsError::Empty(path.to_path_buf()));
    }
    Ok(out)
}

/// Read and parse a targets file (host names only when `names`).
pub fn load(path: &Path, http: bool, names: bool) -> Result<Vec<Target>, TargetsError> {
    let text = std::fs::read_to_string(path).map_err(|source| TargetsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text, http, names)
}

/// Whether a phone at `base` sits on a public address (not private, loopback, link-local, shared, benchmarking or
/// unique-local): worth a warning, since desk phones live on the LAN.
pub fn is_public(base: &url::Url) -> bool {
    match base.host() {
        Some(url::Host::Ipv4(a)) => {
            let [o0, o1, ..] = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || (o0 == 100 && (64..128).contains(&o1))
                || (o0 == 198 && (18..20).contains(&o1)))
        }
        Some(url::Host::Ipv6(a)) => {
            let seg = a.segments()[0];
            !(a.is_loopback()
                || a.is_unspecified()
                || (seg & 0xfe00) == 0xfc00
                || (seg & 0xffc0) == 0xfe80)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Vec<Target>, TargetsError> {
        parse(Path::new("targets.csv"), text, false, false)
    }

    /// What is not a phone's address is refused by line, before anything is sent: a host name (resolving it would
    /// query the site's resolver) unless names are allowed, a user or password, port 0, a CSV header without an
    /// `ip` column (its MACs would be taken for hosts).
    #[test]
    fn only_addresses_are_targets() {
        for (text, said) in [
            ("not an address\n", "host name"),
            ("phone-12.example.test\n", "--host-names"),
            ("https://admin:456@198.18.0.10/\n", "user or password"),
            ("198.18.0.10:0\n", "port 0"),
            ("mac,extension\n64167FA1B645,2001\n", "no ip column"),
        ] {
            let e = p(text).unwrap_err().to_string();
            assert!(e.contains("line 1") && e.contains(said), "{text:?}: {e}");
            assert!(!e.contains("456"), "no password repeated: {e}");
        }
        let named = parse(Path::new("t"), "phone-12.example.test\n", false, true).unwrap();
        assert_eq!(named[0].key, "phone-12.example.test:443");
    }

    /// Phones live on the LAN: a public address is worth a warning, private and test ranges are not. The addresses
    /// here are only parsed and classified; nothing connects to them.
    #[test]
    fn public_addresses_are_told_apart() {
        let public = |a: &str| is_public(&parse_address(a, false).unwrap());
        assert!(public("8.8.4.4") && public("[2001:4860::1]"));
        for a in [
            "10.1.2.3",
            "192.168.1.20",
            "172.16.0.9",
            "127.0.0.1",
            "198.18.0.10",
            "100.64.0.1",
            "169.254.1.1",
            "[fd00::1]",
            "[fe80::1]",
        ] {
            assert!(!public(a), "{a}");
        }
    }

    /// A plain list of addresses, with comments and ports.
    #[test]
    fn plain_list() {
        let t = p("# closet 2\n198.18.0.10\n198.18.0.11:8443\nhttps://198.18.0.12/\n").unwrap();
        assert_eq!(
            t.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
            ["198.18.0.10:443", "198.18.0.11:8443", "198.18.0.12:443"]
        );
    }

    /// A CSV with MAC, extension and user columns in any order.
    #[test]
    fn csv_with_columns() {
        let t =
            p("user,IP,mac,extension\nalice,198.18.0.10,64:16:7f:a1:b6:45,2001\n,198.18.0.11,,\n")
                .unwrap();
        assert_eq!(t[0].mac, Some("64167FA1B645".parse().unwrap()));
        assert_eq!(t[0].extension.as_deref(), Some("2001"));
        assert_eq!(t[0].user.as_deref(), Some("alice"));
        assert_eq!(t[1].mac, None);
        let t = p("ip,server-url\n198.18.0.10,https://prov.example.test/vvx411/\n198.18.0.11,\n")
            .unwrap();
        assert_eq!(
            t[0].server_url.as_deref(),
            Some("https://prov.example.test/vvx411/")
        );
        assert_eq!(t[1].server_url, None);
        let e = p("ip,server-url\n198.18.0.10,https://u:s3cret@prov.example.test/\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2") && e.contains("--server-password-file"),
            "{e}"
        );
        assert!(!e.contains("s3cret"), "the password is not repeated: {e}");
    }

    /// Mistakes name the line.
    #[test]
    fn errors_name_the_line() {
        let e = p("ip,mac\n198.18.0.10,0004F2\n").unwrap_err().to_string();
        assert!(
            e.contains("targets.csv, line 2") && e.contains("0004F2"),
            "{e}"
        );
        let e = p("198.18.0.10\n\n198.18.0.10\n").unwrap_err().to_string();
        assert!(
            e.contains("line 3") && e.contains("twice") && e.contains("line 1"),
            "{e}"
        );
        // The same phone spelt three ways is listed twice.
        for second in [
            "[::ffff:198.18.0.10]:443",
            "https://198.18.0.10/",
            "https://198.18.0.10:443/index.htm",
        ] {
            let e = p(&format!("198.18.0.10\n{second}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("line 2") && e.contains("twice"), "{second}: {e}");
        }
        let e = p("ip,mac\n198.18.0.10,0004F2A1B2C3\n198.18.0.11,00:04:f2:a1:b2:c3\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3") && e.contains("0004F2A1B2C3") && e.contains("line 2"),
            "{e}"
        );
        let e = p("198.18.0.10:0\n").unwrap_err().to_string();
        assert!(e.contains("port 0"), "{e}");
        let e = p("198.18.0.10\n198.18.0.300\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        assert!(matches!(p("# nothing\n"), Err(TargetsError::Empty(_))));
    }
}

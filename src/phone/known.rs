//! Trust on first use, as SSH does with `known_hosts`: the SHA-256 fingerprint of the certificate each phone (by
//! MAC) presented the first time polyprov talked to it, kept in the user's polyprov state beside the remembered
//! login failures (`known-phones`, mode 0600). A later connection to the same MAC must present the same
//! certificate, or it is refused before a byte of the request — let alone the admin password — is sent. A phone's
//! device certificate survives reboots and firmware updates; a factory reset makes a new one, and the user
//! accepts that with `polyprov known-phones forget MAC`.
//!
//! Beside it, `servers-set` remembers the provisioning server polyprov itself set on each phone (`MAC UNIX-SECONDS
//! URL` per line): a phone pointed at a server polyprov set earlier (a first run with a mistyped URL, a service that
//! moved) is not in service elsewhere, so a later run repoints it without `--force`. A line that cannot be read is
//! ignored, which errs on the safe side: that phone counts as in service and is left alone.
//!
//! The file is text, one phone per line: `MAC SHA256-HEX FIRST-SEEN-UNIX-SECONDS`; `#` starts a comment. A line
//! that is not of that shape makes every check fail closed (the phone is refused, the line named) rather than
//! quietly trusting whatever answers.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use crate::mac::Mac;

/// The file inside the state directory.
pub const FILE: &str = "known-phones";
/// The servers polyprov set, beside [`FILE`].
pub const SERVERS_FILE: &str = "servers-set";
/// A known-phones file larger than this is not read (a line is ~95 bytes: tens of thousands of phones fit).
const MAX_BYTES: u64 = 8 * 1024 * 1024;

/// One remembered phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub mac: Mac,
    /// SHA-256 of the DER certificate, 64 lowercase hex digits.
    pub sha256: String,
    /// When it was first seen, Unix seconds.
    pub first_seen: u64,
}

impl Pin {
    /// When it was first seen, as an HTTP date (`Tue, 02 Dec 2025 10:00:00 GMT`).
    pub fn first_seen_text(&self) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(self.first_seen))
    }
}

/// Why the known-phones file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KnownError {
    #[error(
        "{path}, line {line}: {problem}. Fix: correct or delete that line (each line is `MAC SHA256-HEX FIRST-SEEN`)"
    )]
    Line {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error(
        "cannot read {path}: {reason}. Fix: make it a readable file of at most 8 MiB, or remove it"
    )]
    Read { path: PathBuf, reason: String },
    #[error(
        "cannot write {path}: {source}. Fix: make its directory writable (or set POLYPROV_HOME)"
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A phone that presented another certificate than the one remembered for its MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub mac: Mac,
    pub known: Pin,
    /// SHA-256 of the certificate presented now.
    pub presented: String,
    pub file: PathBuf,
}

impl fmt::Display for Changed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "phone {} presented a different certificate than the one remembered for it (first seen {}): remembered \
             SHA-256 {}, presented SHA-256 {}",
            self.mac,
            self.known.first_seen_text(),
            self.known.sha256,
            self.presented
        )
    }
}

impl Changed {
    /// What the technician does about it.
    pub fn fix(&self) -> String {
        format!(
            "if this phone was factory reset (which gives it a new certificate), accept the new one with \
             `polyprov known-phones forget {}` and run again; if it was not, something else is answering as this \
             phone: find it before any password is sent (the old fingerprint is in {})",
            self.mac,
            self.file.display()
        )
    }
}

/// Why a certificate is not trusted by the memory.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Changed(Changed),
    #[error("{0}")]
    Unusable(KnownError),
}

/// What the memory said about a certificate it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Never seen before: remembered now.
    First,
    /// The certificate remembered for this MAC.
    Known,
}

/// Parse a known-phones file's text.
pub fn parse(text: &str) -> Result<Vec<Pin>, (usize, String)> {
    let mut pins = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let bad = |problem: String| (i + 1, problem);
        let mut words = line.split_whitespace();
        let (Some(mac), Some(sha), first) = (words.next(), words.next(), words.next()) else {
            return Err(bad("a MAC and a SHA-256 fingerprint are needed".into()));
        };
        let mac: Mac = mac
            .parse()
            .map_err(|_| bad(format!("{mac:?} is not a MAC address")))?;
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(format!(
                "{:?} is not a SHA-256 fingerprint (64 hex digits)",
                sha.chars().take(80).collect::<String>()
            )));
        }
        let first_seen = match first {
            None => 0,
            Some(t) => t
                .parse()
                .map_err(|_| bad(format!("{t:?} is not a time in Unix seconds")))?,
        };
        if words.next().is_some() {
            return Err(bad("more than three fields".into()));
        }
        if pins.iter().any(|p: &Pin| p.mac == mac) {
            return Err(bad(format!("MAC {mac} is listed twice")));
        }
        pins.push(Pin {
            mac,
            sha256: sha.to_ascii_lowercase(),
            first_seen,
        });
    }
    Ok(pins)
}

fn render(pins: &BTreeMap<Mac, Pin>) -> String {
    let mut out = String::from(
        "# polyprov known phones: the certificate each phone presented first (MAC, SHA-256, first seen, Unix seconds).\n\
         # A phone that presents another one is refused. After a factory reset: polyprov known-phones forget MAC\n",
    );
    for p in pins.values() {
        out.push_str(&format!("{} {} {}\n", p.mac, p.sha256, p.first_seen));
    }
    out
}

/// The remembered certificates, in one file; read and written whole on each change, under a lock.
#[derive(Debug)]
pub struct KnownPhones {
    path: PathBuf,
    lock: Mutex<()>,
}

impl KnownPhones {
    /// The memory kept in `dir` (created on the first phone).
    pub fn in_dir(dir: &Path) -> KnownPhones {
        KnownPhones {
            path: dir.join(FILE),
            lock: Mutex::new(()),
        }
    }

    /// The user's memory (beside the remembered login failures), if a state directory can be named.
    pub fn user() -> Option<KnownPhones> {
        super::attempts::state_dir().map(|d| KnownPhones::in_dir(&d))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every remembered phone.
    pub fn list(&self) -> Result<Vec<Pin>, KnownError> {
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        Ok(self.load()?.into_values().collect())
    }

    /// Accept `sha256` for `mac` if it is the remembered certificate, or the first one (then remember it).
    pub fn check(&self, mac: Mac, sha256: &str) -> Result<Seen, Refusal> {
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut pins = self.load().map_err(Refusal::Unusable)?;
        match pins.get(&mac) {
            Some(pin) if pin.sha256.eq_ignore_ascii_case(sha256) => Ok(Seen::Known),
            Some(pin) => Err(Refusal::Changed(Changed {
                mac,
                known: pin.clone(),
                presented: sha256.to_string(),
                file: self.path.clone(),
            })),
            None => {
                let first_seen = crate::clock::unix_now() as u64;
                pins.insert(
                    mac,
                    Pin {
                        mac,
                        sha256: sha256.to_ascii_lowercase(),
                        first_seen,
                    },
                );
                // Not remembered is not a reason to refuse a first certificate: the next run sees it as first again.
                if let Err(e) = self.store(&pins) {
                    tracing::warn!("phone {mac}: its certificate is not remembered: {e}");
                }
                Ok(Seen::First)
            }
        }
    }

    /// Forget these phones (their next certificate is accepted as a first one); the pins removed.
    pub fn forget(&self, macs: &[Mac]) -> Result<Vec<Pin>, KnownError> {
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut pins = self.load()?;
        let gone: Vec<Pin> = macs.iter().filter_map(|m| pins.remove(m)).collect();
        if !gone.is_empty() {
            self.store(&pins)?;
        }
        Ok(gone)
    }

    fn servers_path(&self) -> PathBuf {
        self.path.with_file_name(SERVERS_FILE)
    }

    /// Every server polyprov set, by MAC: the URL and when (Unix seconds). Lines that cannot be read are left out.
    fn servers(&self) -> BTreeMap<Mac, (String, u64)> {
        let text = match std::fs::metadata(self.servers_path()) {
            Ok(m) if m.is_file() && m.len() <= MAX_BYTES => {
                std::fs::read_to_string(self.servers_path()).unwrap_or_default()
            }
            _ => String::new(),
        };
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| {
                let mut f = l.splitn(3, ' ');
                let mac = f.next()?.parse().ok()?;
                let at = f.next()?.parse().ok()?;
                let url = f.next()?.trim();
                (!url.is_empty() && !url.chars().any(char::is_control))
                    .then(|| (mac, (url.to_string(), at)))
            })
            .collect()
    }

    /// The provisioning server polyprov last set on `mac`, and when (Unix seconds).
    pub fn server_set(&self, mac: Mac) -> Option<(String, u64)> {
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.servers().remove(&mac)
    }

    /// Remember that polyprov set `url` on `mac`; a memory that cannot be written is a warning in the log (the next
    /// run then treats the phone as in service: the safe side).
    pub fn remember_server(&self, mac: Mac, url: &str) {
        if url.chars().any(char::is_control) {
            return;
        }
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut all = self.servers();
        all.insert(mac, (url.to_string(), crate::clock::unix_now() as u64));
        let mut text = String::from(
            "# polyprov: the provisioning server it set on each phone (MAC, Unix seconds, URL); such a phone is repointed without --force\n",
        );
        for (mac, (url, at)) in &all {
            text.push_str(&format!("{mac} {at} {url}\n"));
        }
        if let Err(e) = super::attempts::write_private(&self.servers_path(), text.as_bytes()) {
            tracing::warn!(
                "phone {mac}: the server set on it is not remembered ({}): {e}",
                self.servers_path().display()
            );
        }
    }

    fn load(&self) -> Result<BTreeMap<Mac, Pin>, KnownError> {
        let read = |reason: String| KnownError::Read {
            path: self.path.clone(),
            reason,
        };
        let bytes = match std::fs::metadata(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(read(e.to_string())),
            Ok(m) if !m.is_file() => return Err(read("not a regular file".into())),
            Ok(m) if m.len() > MAX_BYTES => return Err(read(format!("{} bytes", m.len()))),
            Ok(_) => std::fs::read(&self.path).map_err(|e| read(e.to_string()))?,
        };
        let text = String::from_utf8(bytes).map_err(|_| read("not UTF-8 text".into()))?;
        let pins = parse(&text).map_err(|(line, problem)| KnownError::Line {
            path: self.path.clone(),
            line,
            problem,
        })?;
        Ok(pins.into_iter().map(|p| (p.mac, p)).collect())
    }

    fn store(&self, pins: &BTreeMap<Mac, Pin>) -> Result<(), KnownError> {
        super::attempts::write_private(&self.path, render(pins).as_bytes()).map_err(|source| {
            KnownError::Write {
                path: self.path.clone(),
                source,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("polyprov-known-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// The first certificate is remembered; the same one is accepted again, from a new handle (a new run); another
    /// one is refused with both fingerprints and the way to accept it.
    #[test]
    fn first_use_then_the_same_certificate_only() {
        let d = dir("tofu");
        let mac: Mac = "0004F2A1B2C3".parse().unwrap();
        let first = KnownPhones::in_dir(&d);
        assert_eq!(first.check(mac, A).unwrap(), Seen::First);
        let second = KnownPhones::in_dir(&d);
        assert_eq!(second.check(mac, A).unwrap(), Seen::Known);
        let Err(Refusal::Changed(c)) = second.check(mac, B) else {
            panic!("a changed certificate must be refused");
        };
        let text = format!("{c} {}", c.fix());
        assert!(
            text.contains(A)
                && text.contains(B)
                && text.contains("known-phones forget 0004F2A1B2C3"),
            "{text}"
        );
        // Refused twice: the remembered one is not replaced by the one presented.
        assert!(second.check(mac, B).is_err());
        assert_eq!(second.forget(&[mac]).unwrap().len(), 1);
        assert_eq!(second.check(mac, B).unwrap(), Seen::First);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(second.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&d).ok();
    }

    /// A damaged file fails closed: every check is refused, naming the file and the line.
    #[test]
    fn a_damaged_file_trusts_nobody() {
        let d = dir("damaged");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join(FILE),
            format!("# ok\n0004F2A1B2C3 {A} 1\nnot a line\n"),
        )
        .unwrap();
        let known = KnownPhones::in_dir(&d);
        let mac: Mac = "0004F2000001".parse().unwrap();
        let Err(Refusal::Unusable(e)) = known.check(mac, A) else {
            panic!("a damaged file must refuse");
        };
        let e = e.to_string();
        assert!(e.contains("line 3") && e.contains("known-phones"), "{e}");
        std::fs::remove_dir_all(&d).ok();
    }

    /// What the file holds, line by line.
    #[test]
    fn file_format() {
        let pins = parse(&format!(
            "0004f2a1b2c3 {} 1764669600 # note\n\n",
            A.to_uppercase()
        ))
        .unwrap();
        assert_eq!(pins[0].mac.to_string(), "0004F2A1B2C3");
        assert_eq!(pins[0].sha256, A);
        assert_eq!(pins[0].first_seen_text(), "Tue, 02 Dec 2025 10:00:00 GMT");
        for bad in [
            "0004F2A1B2C3",
            "zz 00",
            &format!("0004F2A1B2C3 {A} soon"),
            &format!("0004F2A1B2C3 {A} 1 extra"),
            &format!("0004F2A1B2C3 {A}\n0004F2A1B2C3 {B}"),
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        /// Any text: a list or a line number with the problem, never a panic.
        #[test]
        fn parse_never_panics(text in "\\PC*(\n\\PC*){0,4}") {
            if let Err((line, problem)) = parse(&text) {
                proptest::prop_assert!(line >= 1 && !problem.is_empty());
            }
        }
    }

    /// The server polyprov set is remembered per phone, the last one wins, and a damaged line is left out (that
    /// phone then counts as in service elsewhere).
    #[test]
    fn servers_set_are_remembered_per_phone() {
        let d = dir("servers");
        let known = KnownPhones::in_dir(&d);
        let (a, b): (Mac, Mac) = (
            "0004F2000001".parse().unwrap(),
            "0004F2000002".parse().unwrap(),
        );
        assert_eq!(known.server_set(a), None);
        known.remember_server(a, "https://porv.example.test/poly/");
        known.remember_server(a, "https://prov.example.test/poly/");
        known.remember_server(b, "https://prov.example.test/other/");
        assert_eq!(
            KnownPhones::in_dir(&d).server_set(a).map(|(u, _)| u),
            Some("https://prov.example.test/poly/".to_string())
        );
        let path = d.join(SERVERS_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("0004F2000002", "not-a-mac")).unwrap();
        assert_eq!(known.server_set(b), None);
        assert!(known.server_set(a).is_some());
        let _ = std::fs::remove_dir_all(d);
    }
}

//! A phone's application log (`/Diagnostics/log?value=app`), read as typed values: its lines
//! (`MMDDhhmmss|module|level|missed|message`, S5, S70), its boots (`Initial log entry.`), and what the phone's
//! provisioning attempts since its last boot say — in the phone's own words, matched against the device profile's
//! `[log]` lines. This is the evidence the agent's verdict rests on.
//!
//! The log is untrusted text: it is bounded by the caller, lines that do not parse are skipped, nothing panics.

use regex::Regex;

use crate::profile::{LogLine, LogLines};

/// One parsed log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub stamp: &'a str,
    pub module: &'a str,
    pub level: &'a str,
    /// Everything after the fourth `|` (messages contain pipes themselves: `Prov|Server …`).
    pub message: &'a str,
}

/// Lines of the log, oldest first; lines that are not log lines are skipped.
pub fn entries(text: &str) -> Vec<Entry<'_>> {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(5, '|');
            let stamp = parts.next()?.trim();
            let module = parts.next()?.trim();
            let level = parts.next()?.trim();
            let _missed = parts.next()?;
            let message = parts.next()?.trim_end();
            (!stamp.is_empty() && stamp.bytes().all(|b| b.is_ascii_digit() || b == b'.')).then_some(
                Entry {
                    stamp,
                    module,
                    level,
                    message,
                },
            )
        })
        .collect()
}

/// Why a provisioning attempt failed, as the phone's log shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFailure {
    /// The server could not be used: name, connection or TLS.
    Unreachable,
    /// The server refused a file (401/403).
    Refused,
    /// A file was not on the server (404).
    Missing,
    /// A file was not what the phone expects.
    Invalid,
    /// The firmware the server named could not be installed.
    UpdateFailed,
}

/// What the phone's provisioning says since its last boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// No provisioning pass has started since the boot.
    None,
    /// A pass started and has not ended.
    Running,
    /// The server named other firmware: the phone is downloading it and will reboot.
    Updating { version: String, line: String },
    /// The configuration changed device settings: the phone reboots to apply them.
    Restarting { line: String },
    /// The pass failed; the phone's own lines, the failure's first.
    Failed {
        failure: LogFailure,
        lines: Vec<String>,
    },
    /// The pass ended without a failure: the server's configuration was loaded.
    Loaded {
        lines: Vec<String>,
        /// The line that shows a registered line, if one registered.
        registered: Option<String>,
    },
}

/// The log since the phone's last boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boot {
    /// Boots the whole log shows.
    pub boots: usize,
    /// The provisioning server this boot uses, as the phone wrote it.
    pub server: Option<String>,
    pub attempt: Attempt,
}

/// The profile's log lines, as patterns.
#[derive(Debug, Clone)]
pub struct Patterns {
    boot: Pattern,
    server_address: Pattern,
    pass_start: Pattern,
    pass_end: Pattern,
    unresponsive: Pattern,
    details: [Pattern; 3],
    refused: Pattern,
    missing: Pattern,
    invalid: Pattern,
    upgrading: Pattern,
    restart: Pattern,
    update_failed: Pattern,
    registered: Pattern,
    optional_files: Vec<String>,
}

/// A profile line as an anchored pattern: literal text, `{name}` placeholders match any text (named groups).
fn pattern(line: &LogLine) -> Pattern {
    let mut re = String::from("^");
    let mut rest = line.text.as_str();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        re.push_str(&regex::escape(&rest[..open]));
        let name = &rest[open + 1..close];
        if !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && seen.insert(name.to_string())
        {
            re.push_str(&format!("(?P<{name}>.*?)"));
        } else {
            re.push_str("(?:.*?)");
        }
        rest = &rest[close + 1..];
    }
    re.push_str(&regex::escape(rest));
    re.push('$');
    // Built from escaped literals and fixed groups, it compiles; should it not, the line simply never matches.
    Pattern(Regex::new(&re).ok())
}

/// A compiled profile line.
#[derive(Debug, Clone)]
struct Pattern(Option<Regex>);

impl Pattern {
    fn is_match(&self, s: &str) -> bool {
        self.0.as_ref().is_some_and(|r| r.is_match(s))
    }

    fn captures<'h>(&self, s: &'h str) -> Option<regex::Captures<'h>> {
        self.0.as_ref()?.captures(s)
    }
}

impl Patterns {
    /// The compiled patterns of these log lines, shared by every phone of the run: compiled regexes are large
    /// (hundreds of kB each with their caches), so 500 phones must not each hold their own.
    pub fn shared(l: &LogLines) -> std::sync::Arc<Patterns> {
        use std::sync::{Arc, Mutex, OnceLock};
        type Compiled = Vec<(LogLines, Arc<Patterns>)>;
        static CACHE: OnceLock<Mutex<Compiled>> = OnceLock::new();
        let mut cache = CACHE
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((_, p)) = cache.iter().find(|(k, _)| k == l) {
            return p.clone();
        }
        let p = Arc::new(Patterns::new(l));
        cache.push((l.clone(), p.clone()));
        p
    }

    pub fn new(l: &LogLines) -> Patterns {
        Patterns {
            boot: pattern(&LogLine {
                module: l.boot.module.clone(),
                // The boot line's tail varies ("Current logging level 4"): its start is what marks a boot (S5).
                text: format!(
                    "{}{{rest}}",
                    l.boot.text.split('.').next().unwrap_or("Initial log entry")
                ),
            }),
            server_address: pattern(&l.server_address),
            pass_start: pattern(&l.pass_start),
            pass_end: pattern(&l.pass_end),
            unresponsive: pattern(&l.unresponsive),
            details: [pattern(&l.dns), pattern(&l.connect), pattern(&l.tls)],
            refused: pattern(&l.refused),
            missing: pattern(&l.missing),
            invalid: pattern(&l.invalid),
            upgrading: pattern(&l.upgrading),
            restart: pattern(&l.restart),
            update_failed: pattern(&l.update_failed),
            registered: pattern(&l.registered),
            optional_files: l.optional_files.clone(),
        }
    }

    /// What the log says since its last boot.
    pub fn read(&self, text: &str) -> Boot {
        let all = entries(text);
        let boot_at: Vec<usize> = all
            .iter()
            .enumerate()
            .filter(|(_, e)| self.boot.is_match(e.message))
            .map(|(i, _)| i)
            .collect();
        let since = boot_at.last().map_or(&all[..], |i| &all[i + 1..]);
        let server = since.iter().rev().find_map(|e| {
            self.server_address
                .captures(e.message)
                .and_then(|c| c.name("server"))
                .map(|m| m.as_str().to_string())
        });
        let Some(start) = since
            .iter()
            .rposition(|e| self.pass_start.is_match(e.message))
        else {
            return Boot {
                boots: boot_at.len(),
                server,
                attempt: Attempt::None,
            };
        };
        Boot {
            boots: boot_at.len(),
            server,
            attempt: self.attempt(&since[start..]),
        }
    }

    /// One pass, from its start line on.
    fn attempt(&self, pass: &[Entry<'_>]) -> Attempt {
        let line = |e: &Entry<'_>| e.message.to_string();
        let failures: [(&Pattern, LogFailure); 5] = [
            (&self.update_failed, LogFailure::UpdateFailed),
            (&self.refused, LogFailure::Refused),
            (&self.missing, LogFailure::Missing),
            (&self.invalid, LogFailure::Invalid),
            (&self.unresponsive, LogFailure::Unreachable),
        ];
        for (re, failure) in failures {
            let counts = |e: &Entry<'_>| {
                let Some(c) = re.captures(e.message) else {
                    return false;
                };
                // A file the phone may miss without harm is no failure.
                let optional = failure == LogFailure::Missing
                    && c.name("file").is_some_and(|f| {
                        let f = f.as_str().to_ascii_lowercase();
                        self.optional_files.iter().any(|o| f.ends_with(o.as_str()))
                    });
                !optional
            };
            if let Some(at) = pass.iter().position(counts) {
                // The detail lines (name, connection, TLS) the phone wrote before saying the server is unresponsive.
                let mut lines: Vec<String> = pass[..at]
                    .iter()
                    .filter(|e| self.details.iter().any(|d| d.is_match(e.message)))
                    .map(line)
                    .collect();
                lines.push(line(&pass[at]));
                return Attempt::Failed { failure, lines };
            }
        }
        if let Some((e, c)) = pass
            .iter()
            .find_map(|e| self.upgrading.captures(e.message).map(|c| (e, c)))
        {
            let version = c
                .name("version")
                .map_or(String::new(), |m| m.as_str().to_string());
            return Attempt::Updating {
                version,
                line: line(e),
            };
        }
        if let Some(e) = pass.iter().find(|e| self.restart.is_match(e.message)) {
            return Attempt::Restarting { line: line(e) };
        }
        match pass.iter().position(|e| self.pass_end.is_match(e.message)) {
            Some(end) => Attempt::Loaded {
                lines: vec![line(&pass[0]), line(&pass[end])],
                registered: pass
                    .iter()
                    .find(|e| self.registered.is_match(e.message))
                    .map(line),
            },
            None => Attempt::Running,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileSet;
    use proptest::prelude::*;

    fn patterns() -> Patterns {
        static P: std::sync::OnceLock<Patterns> = std::sync::OnceLock::new();
        P.get_or_init(|| {
            let set = ProfileSet::bundled().unwrap();
            Patterns::new(set.get("poly-vvx-6").unwrap().log.as_ref().unwrap())
        })
        .clone()
    }

    const BOOT: &str = "1201100000|so   |*|00|Initial log entry. Current logging level 4\n";

    /// Lines split at their first four pipes; messages keep theirs; junk is skipped.
    #[test]
    fn lines() {
        let e = entries(
            "1201100001|cfg  |4|00|Prov|Server 'x' is unresponsive\nnot a line\n|a|b|c|d\n",
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].module, "cfg");
        assert_eq!(e[0].message, "Prov|Server 'x' is unresponsive");
    }

    /// Only the lines since the last boot count; a finished pass without a failure is a loaded configuration.
    #[test]
    fn a_loaded_configuration() {
        let log = format!(
            "{BOOT}1201100001|cfg  |4|00|Prov|Server 'old' is unresponsive\n{BOOT}\
             1201100002|cfg  |4|00|Provisioning server address is https://p.example.test/poly/.\n\
             1201100003|cfg  |4|00|Prov|Starting to provision\n\
             1201100004|cfg  |4|00|Prov|Finished updating configuration\n"
        );
        let b = patterns().read(&log);
        assert_eq!(b.boots, 2);
        assert_eq!(b.server.as_deref(), Some("https://p.example.test/poly/"));
        assert!(
            matches!(b.attempt, Attempt::Loaded { ref registered, .. } if registered.is_none()),
            "{b:?}"
        );
    }

    /// The phone's own failure lines name the failure, detail lines first.
    #[test]
    fn failures_in_the_phones_words() {
        let p = patterns();
        let log = format!(
            "{BOOT}1201100003|cfg  |4|00|Prov|Starting to provision\n\
             1201100004|cfg  |4|00|Prov|Could not resolve 'typo.example.test'\n\
             1201100005|cfg  |4|00|Prov|Server 'https://typo.example.test/' is unresponsive\n\
             1201100006|cfg  |4|00|Prov|Finished updating configuration\n"
        );
        match p.read(&log).attempt {
            Attempt::Failed { failure, lines } => {
                assert_eq!(failure, LogFailure::Unreachable);
                assert_eq!(lines.len(), 2, "{lines:?}");
                assert!(lines[0].contains("Could not resolve"));
            }
            other => panic!("{other:?}"),
        }
        let log = format!(
            "{BOOT}1201100003|cfg  |4|00|Prov|Starting to provision\n1201100004|res  |4|00|Failed to download file 0004f2000001.cfg\n"
        );
        assert!(matches!(
            p.read(&log).attempt,
            Attempt::Failed {
                failure: LogFailure::Missing,
                ..
            }
        ));
        // Optional files (overrides, directories, backgrounds) missing on the server are no failure.
        let log = format!(
            "{BOOT}1201100003|cfg  |4|00|Prov|Starting to provision\n\
             1201100004|res  |4|00|Failed to download file 0004f2000001-phone.cfg\n\
             1201100005|res  |4|00|Failed to download file 000000000000-directory.xml\n\
             1201100006|cfg  |4|00|Prov|Finished updating configuration\n"
        );
        assert!(
            matches!(p.read(&log).attempt, Attempt::Loaded { .. }),
            "{:?}",
            p.read(&log)
        );
    }

    /// An upgrade in progress, a pass still running, and no pass at all are told apart.
    #[test]
    fn updating_running_nothing() {
        let p = patterns();
        let up = format!(
            "{BOOT}1201100003|cfg  |4|00|Prov|Starting to provision\n1201100004|cfg  |4|00|Prov|Upgrading application to 6.4.7.4560\n"
        );
        assert_eq!(
            p.read(&up).attempt,
            Attempt::Updating {
                version: "6.4.7.4560".into(),
                line: "Prov|Upgrading application to 6.4.7.4560".into()
            }
        );
        let running = format!("{BOOT}1201100003|cfg  |4|00|Prov|Starting to provision\n");
        assert_eq!(p.read(&running).attempt, Attempt::Running);
        assert_eq!(p.read(BOOT).attempt, Attempt::None);
        assert_eq!(p.read("").boots, 0);
    }

    proptest! {
        #![proptest_config(crate::testing::device_cases(2_000))]

        /// Any text, log-shaped or not, reads without a panic.
        #[test]
        fn never_panics(s in "(([0-9]{10}|x)\\|[a-z ]{0,5}\\|[*4]\\|00\\|(Prov\\|)?[ -~]{0,40}\n){0,20}") {
            let _ = patterns().read(&s);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,400}") {
            let _ = patterns().read(&s);
        }
    }
}

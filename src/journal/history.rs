//! A run read back from its journal: the spec it started with and, per phone, everything its events said —
//! replayed into the same [`Report`] fields the run was filling in, so a resumed run starts from what was known.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::de::DeserializeOwned;

use super::{Entry, FILE, JournalError};
use crate::mac::Mac;
use crate::phone::{Event, Outcome, Report};

/// What the journal says of one phone.
#[derive(Debug, Clone, Default)]
pub struct PhoneHistory {
    /// The save reached the phone (or may have): never save again, only watch.
    pub saved: bool,
    /// The final report, when the phone finished.
    pub report: Option<Report>,
    /// What the events said so far, in report form (model, firmware, reboots, evidence, where it was last).
    pub known: Known,
    /// The last event recorded.
    pub last: Option<Event>,
    /// The agent was logged in when the journal ends: its web session may still be open on the phone until it
    /// expires (a killed process cannot log out).
    pub session_open: bool,
}

/// Facts about a phone its events recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Known {
    pub mac: Option<Mac>,
    pub model: Option<String>,
    /// The profile the phone was last recognised as, and its family.
    pub profile: Option<String>,
    pub family: Option<String>,
    pub certificate_sha256: Option<String>,
    /// Firmware before the save, as first identified; the firmware last seen after a reboot.
    pub firmware_before: Option<String>,
    pub firmware_after: Option<String>,
    /// The phone log's boot count just before the save, and the reboots counted since.
    pub boots_before_save: Option<usize>,
    pub reboots: u32,
    pub password_changed: bool,
    /// Where the phone was last found, when it moved after a reboot.
    pub moved_to: Option<String>,
    pub warnings: Vec<String>,
    /// Lines of the phone's own log that mattered.
    pub phone_said: Vec<String>,
    /// What the phone showed when it was last seen Inactive.
    pub evidence: Vec<String>,
}

/// Every phone of a run, by target.
pub type Phones = BTreeMap<String, PhoneHistory>;

/// A run rebuilt from its journal.
#[derive(Debug, Clone)]
pub struct History<S> {
    pub spec: S,
    pub phones: Phones,
    /// The run's last word was an interruption (Ctrl-C), not a resumption.
    pub interrupted: bool,
}

impl PhoneHistory {
    /// Take one event into what is known.
    pub fn apply(&mut self, event: &Event, mac: Option<Mac>) {
        let k = &mut self.known;
        if mac.is_some() {
            k.mac = mac;
        }
        match event {
            Event::Saving { boots } => {
                self.saved = true;
                k.boots_before_save = boots.or(k.boots_before_save);
            }
            Event::Saved { .. } | Event::Verified => self.saved = true,
            Event::Rebooting { reboot } => {
                self.saved = true;
                k.reboots = k.reboots.max(*reboot);
            }
            Event::Back { reboot, firmware } => {
                self.saved = true;
                k.reboots = k.reboots.max(*reboot);
                if firmware.is_some() {
                    k.firmware_after = firmware.clone();
                }
            }
            Event::Recognised {
                profile, family, ..
            } => {
                k.profile = Some(profile.clone());
                k.family = Some(family.clone());
            }
            Event::Certificate { sha256, .. } => k.certificate_sha256 = Some(sha256.clone()),
            Event::Identified {
                mac,
                model,
                firmware,
            } => {
                k.mac = mac.or(k.mac);
                k.model = model.clone().or(k.model.take());
                if k.firmware_before.is_none() {
                    k.firmware_before = firmware.clone();
                }
            }
            Event::PasswordChanged => k.password_changed = true,
            Event::Moved { to, .. } => k.moved_to = Some(to.clone()),
            Event::Warning { message } => k.warnings.push(message.clone()),
            Event::PhoneSays { line } => k.phone_said.push(line.clone()),
            Event::Inactive { evidence } => k.evidence = evidence.clone(),
            Event::LoggedIn => self.session_open = true,
            Event::LoggedOut => self.session_open = false,
            _ => {}
        }
        self.last = Some(event.clone());
    }

    /// Settled and needing nothing more: finished in any way but an interruption.
    pub fn finished(&self) -> bool {
        self.report
            .as_ref()
            .is_some_and(|r| !matches!(r.outcome, Outcome::Interrupted { .. }))
    }

    /// The report as far as the journal knows it, for a phone resumed at `target`.
    pub fn report_so_far(&self, target: &url::Url) -> Report {
        let k = &self.known;
        let mut r = Report::new(target);
        if let Some(to) = &k.moved_to {
            r.address = to.clone();
        }
        r.mac = k.mac;
        r.model = k.model.clone();
        r.profile = k.profile.clone();
        r.family = k.family.clone();
        r.certificate_sha256 = k.certificate_sha256.clone();
        r.firmware_before = k.firmware_before.clone();
        r.firmware_after = k.firmware_after.clone().or(k.firmware_before.clone());
        r.reboots = k.reboots;
        r.password_changed = k.password_changed;
        r.warnings = k.warnings.clone();
        r.evidence = k.evidence.clone();
        r
    }
}

impl<S: DeserializeOwned> History<S> {
    /// Rebuild a run from `dir/journal.jsonl`. A torn last line (the process died mid-write) is ignored; any
    /// other unreadable line is an error naming it.
    pub fn load(dir: &Path) -> Result<History<S>, JournalError> {
        let path = dir.join(FILE);
        let file = File::open(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => JournalError::NoRun(dir.to_path_buf()),
            _ => JournalError::Read {
                path: path.clone(),
                source,
            },
        })?;
        let lines: Vec<String> = BufReader::new(file)
            .lines()
            .collect::<Result<_, _>>()
            .map_err(|source| JournalError::Read {
                path: path.clone(),
                source,
            })?;
        let mut spec = None;
        let mut phones = Phones::new();
        let mut interrupted = false;
        let last = lines.len();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry<S> = match serde_json::from_str(line) {
                Ok(e) => e,
                Err(_) if i + 1 == last => break,
                Err(e) => {
                    return Err(JournalError::Corrupt {
                        path,
                        line: i + 1,
                        message: e.to_string(),
                    });
                }
            };
            match entry {
                Entry::Started { spec: s, .. } => spec = Some(s),
                Entry::Phone {
                    phone, mac, event, ..
                } => phones.entry(phone).or_default().apply(&event, mac),
                Entry::Finished { phone, report, .. } => {
                    let p = phones.entry(phone).or_default();
                    p.known.mac = report.mac.or(p.known.mac);
                    p.report = Some(*report);
                }
                Entry::Interrupted { .. } => interrupted = true,
                Entry::Resumed { .. } => interrupted = false,
            }
        }
        let spec = spec.ok_or_else(|| JournalError::NoRun(dir.to_path_buf()))?;
        Ok(History {
            spec,
            phones,
            interrupted,
        })
    }
}

impl<S> History<S> {
    /// Whether phone `key` is settled and needs nothing more.
    pub fn finished(&self, key: &str) -> bool {
        self.phones.get(key).is_some_and(PhoneHistory::finished)
    }
}

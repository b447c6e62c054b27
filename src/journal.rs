//! The run journal: every phase change of every phone, appended as one JSON line and synced to disk before the
//! next step starts, so a killed process (`kill -9`, a closed laptop) loses nothing that was recorded. `resume`
//! rebuilds the run from it: phones already finished are done, phones already saved are only watched (never
//! saved twice), the rest start over.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::phone::Event;

/// The journal's file name inside a run directory.
pub const FILE: &str = "journal.jsonl";

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Entry {
    /// The run's settings (no secrets: password *sources* only).
    Started {
        at: f64,
        settings: serde_json::Value,
        targets: Vec<String>,
    },
    /// A phase change of one phone.
    Phone {
        at: f64,
        phone: String,
        event: serde_json::Value,
    },
    /// A phone's final report.
    Finished {
        at: f64,
        phone: String,
        report: serde_json::Value,
    },
    /// The run was interrupted (Ctrl-C) or resumed.
    Interrupted {
        at: f64,
    },
    Resumed {
        at: f64,
    },
}

/// Why the journal could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot write the journal {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the journal {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("journal {path}, line {line}: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "{0} holds no run (no journal.jsonl with a start line); start one with `polyprov onboard`"
    )]
    NoRun(PathBuf),
}

/// An open journal, appended to by many phone tasks.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    repaired: Option<String>,
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Journal {
    /// Open (creating) the journal of run directory `dir` for appending.
    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        let path = dir.join(FILE);
        std::fs::create_dir_all(dir).map_err(|source| JournalError::Write {
            path: path.clone(),
            source,
        })?;
        let repaired = cut_torn_tail(&path).map_err(|source| JournalError::Write {
            path: path.clone(),
            source,
        })?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| JournalError::Write {
                path: path.clone(),
                source,
            })?;
        Ok(Journal {
            path,
            file: Mutex::new(file),
            repaired,
        })
    }

    /// What opening the journal had to cut off its end (a line torn by a killed process), to say so.
    pub fn repaired(&self) -> Option<&str> {
        self.repaired.as_deref()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one entry and sync it to disk.
    pub fn append(&self, entry: &Entry) -> Result<(), JournalError> {
        let mut line = serde_json::to_string(entry).map_err(|e| JournalError::Write {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        line.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        f.write_all(line.as_bytes())
            .and_then(|()| f.sync_data())
            .map_err(|source| JournalError::Write {
                path: self.path.clone(),
                source,
            })
    }

    pub fn started(
        &self,
        settings: serde_json::Value,
        targets: Vec<String>,
    ) -> Result<(), JournalError> {
        self.append(&Entry::Started {
            at: now(),
            settings,
            targets,
        })
    }

    pub fn event(&self, phone: &str, event: &Event) -> Result<(), JournalError> {
        self.append(&Entry::Phone {
            at: now(),
            phone: phone.to_string(),
            event: serde_json::to_value(event).unwrap_or_default(),
        })
    }

    pub fn finished(&self, phone: &str, report: &crate::phone::Report) -> Result<(), JournalError> {
        self.append(&Entry::Finished {
            at: now(),
            phone: phone.to_string(),
            report: serde_json::to_value(report).unwrap_or_default(),
        })
    }

    pub fn interrupted(&self) -> Result<(), JournalError> {
        self.append(&Entry::Interrupted { at: now() })
    }

    pub fn resumed(&self) -> Result<(), JournalError> {
        self.append(&Entry::Resumed { at: now() })
    }
}

/// Before anything is appended: cut a last line that a killed process left torn (no newline) or unreadable, so
/// new lines never join a fragment. Returns what was cut, in words.
fn cut_torn_tail(path: &Path) -> std::io::Result<Option<String>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let last = &body[start..];
    let complete = bytes.ends_with(b"\n");
    let readable = serde_json::from_slice::<Entry>(last).is_ok();
    if last.is_empty() || (complete && readable) {
        return Ok(None);
    }
    let file = OpenOptions::new().write(true).open(path)?;
    file.set_len(start as u64)?;
    file.sync_data()?;
    let line = bytes[..start].iter().filter(|&&b| b == b'\n').count() + 1;
    Ok(Some(format!(
        "cut an unfinished last line (line {line}, {} bytes) from {}: the process writing it was stopped mid-write",
        last.len(),
        path.display()
    )))
}

/// Where one phone stands according to the journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhoneState {
    /// The save reached the phone (or may have): never save again, only watch.
    pub saved: bool,
    /// The final report, when the phone finished.
    pub report: Option<serde_json::Value>,
    /// The last event recorded.
    pub last: Option<serde_json::Value>,
    /// Firmware before the save, as first identified.
    pub firmware_before: Option<String>,
    /// The profile the phone was last recognised as.
    pub profile: Option<String>,
    /// Its MAC, once identified.
    pub mac: Option<crate::mac::Mac>,
    /// The agent was logged in when the journal ends: its web session may still be open on the phone until it
    /// expires (a killed process cannot log out).
    pub session_open: bool,
}

/// A run rebuilt from its journal.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub settings: serde_json::Value,
    pub targets: Vec<String>,
    pub phones: BTreeMap<String, PhoneState>,
    pub interrupted: bool,
}

/// Events after which the phone may have taken the change.
const SAVED_EVENTS: [&str; 5] = ["saving", "saved", "verified", "rebooting", "back"];

impl Run {
    /// Rebuild a run from `dir/journal.jsonl`. A torn last line (the process died mid-write) is ignored; any
    /// other unreadable line is an error naming it.
    pub fn load(dir: &Path) -> Result<Run, JournalError> {
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
        let mut run = Run::default();
        let mut started = false;
        let last = lines.len();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry = match serde_json::from_str(line) {
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
                Entry::Started {
                    settings, targets, ..
                } => {
                    started = true;
                    run.settings = settings;
                    run.targets = targets;
                }
                Entry::Phone { phone, event, .. } => {
                    let st = run.phones.entry(phone).or_default();
                    let kind = event.get("event").and_then(|k| k.as_str()).unwrap_or("");
                    if SAVED_EVENTS.contains(&kind) {
                        st.saved = true;
                    }
                    let text = |k: &str| event.get(k).and_then(|f| f.as_str()).map(str::to_string);
                    match kind {
                        "identified" => {
                            if st.firmware_before.is_none() {
                                st.firmware_before = text("firmware");
                            }
                            st.mac = text("mac").and_then(|m| m.parse().ok()).or(st.mac);
                        }
                        "recognised" => st.profile = text("profile"),
                        "logged-in" => st.session_open = true,
                        "logged-out" => st.session_open = false,
                        _ => {}
                    }
                    st.last = Some(event);
                }
                Entry::Finished { phone, report, .. } => {
                    run.phones.entry(phone).or_default().report = Some(report);
                }
                Entry::Interrupted { .. } => run.interrupted = true,
                Entry::Resumed { .. } => run.interrupted = false,
            }
        }
        if !started {
            return Err(JournalError::NoRun(dir.to_path_buf()));
        }
        Ok(run)
    }

    /// Phones whose final outcome is settled and need nothing more: done, or needing a person.
    pub fn finished(&self, phone: &str) -> bool {
        self.phones
            .get(phone)
            .and_then(|p| p.report.as_ref())
            .is_some_and(|r| {
                let state = r
                    .pointer("/outcome/state")
                    .and_then(|s| s.as_str())
                    .unwrap_or("");
                state != "interrupted"
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("polyprov-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// Events written are read back; a phone seen saving counts as saved.
    #[test]
    fn saved_phones_are_known() {
        let d = dir("saved");
        let j = Journal::open(&d).unwrap();
        j.started(
            serde_json::json!({"server-url": "https://p.example.test/"}),
            vec!["a".into(), "b".into()],
        )
        .unwrap();
        j.event("a", &Event::LoggedIn).unwrap();
        j.event("b", &Event::Saving).unwrap();
        let run = Run::load(&d).unwrap();
        assert_eq!(run.targets, ["a", "b"]);
        assert!(!run.phones["a"].saved);
        assert!(run.phones["b"].saved);
        std::fs::remove_dir_all(&d).ok();
    }

    /// A line torn by a crash at the end is ignored; a bad line in the middle is an error with its number.
    #[test]
    fn torn_last_line_and_corrupt_middle() {
        let d = dir("torn");
        let j = Journal::open(&d).unwrap();
        j.started(serde_json::json!({}), vec!["a".into()]).unwrap();
        j.event("a", &Event::Saving).unwrap();
        let path = d.join(FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"kind\":\"phone\",\"at\":1,\"pho");
        std::fs::write(&path, &text).unwrap();
        assert!(Run::load(&d).unwrap().phones["a"].saved);
        let broken = text.replacen("{\"kind\":\"phone\"", "garbage", 1)
            + "\n{\"kind\":\"interrupted\",\"at\":2}\n";
        std::fs::write(&path, broken).unwrap();
        let e = Run::load(&d).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        std::fs::remove_dir_all(&d).ok();
    }

    /// Reopening a journal whose last line was torn (or is garbage) cuts that line before anything is appended,
    /// and says so; the lines after it stay readable, run after run.
    #[test]
    fn reopening_cuts_a_torn_or_garbage_tail() {
        for tail in ["{\"kind\":\"phone\",\"at\":1,\"pho", "garbage\n"] {
            let d = dir("reopen");
            let j = Journal::open(&d).unwrap();
            assert!(j.repaired().is_none());
            j.started(serde_json::json!({}), vec!["a".into()]).unwrap();
            j.event("a", &Event::Saving).unwrap();
            drop(j);
            let path = d.join(FILE);
            let mut text = std::fs::read_to_string(&path).unwrap();
            let whole = text.clone();
            text.push_str(tail);
            std::fs::write(&path, &text).unwrap();
            let j = Journal::open(&d).unwrap();
            let said = j.repaired().expect("the cut is reported").to_string();
            assert!(
                said.contains("line 3") && said.contains("journal.jsonl"),
                "{said}"
            );
            assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
            j.resumed().unwrap();
            drop(j);
            let j = Journal::open(&d).unwrap();
            assert!(j.repaired().is_none(), "nothing left to cut");
            let run = Run::load(&d).unwrap();
            assert!(run.phones["a"].saved && !run.interrupted);
            std::fs::remove_dir_all(&d).ok();
        }
    }

    /// A run killed while logged in leaves the session open on the phone; the journal knows.
    #[test]
    fn open_session_is_known() {
        let d = dir("session");
        let j = Journal::open(&d).unwrap();
        j.started(serde_json::json!({}), vec!["a".into(), "b".into()])
            .unwrap();
        j.event("a", &Event::LoggedIn).unwrap();
        j.event("b", &Event::LoggedIn).unwrap();
        j.event("b", &Event::LoggedOut).unwrap();
        let run = Run::load(&d).unwrap();
        assert!(run.phones["a"].session_open);
        assert!(!run.phones["b"].session_open);
        std::fs::remove_dir_all(&d).ok();
    }

    /// A directory without a journal is not a run.
    #[test]
    fn no_run() {
        let d = dir("none");
        std::fs::create_dir_all(&d).unwrap();
        assert!(matches!(Run::load(&d), Err(JournalError::NoRun(_))));
        std::fs::remove_dir_all(&d).ok();
    }
}

//! The run journal: every phase change of every phone, appended as one typed JSON line and synced to disk before
//! the next step starts, so a killed process (`kill -9`, a closed laptop) loses nothing that was recorded. Lines are
//! [`Entry`] values — the run's spec, each phone's events, each phone's final report — written and read back with
//! serde as the same types; [`History`] replays them (`history`), so `resume` continues every phone from its whole
//! recorded past: phones already finished are done, phones already saved are only watched (never saved twice) with
//! the model, firmware, reboots and evidence known so far, the rest start over.
//!
//! The journal does not know what a run's spec is: it stores any serde type `S` the run gives it.

mod history;
#[cfg(test)]
mod tests;

pub use history::{History, PhoneHistory, Phones};

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::mac::Mac;
use crate::phone::{Event, Report};

/// The journal's file name inside a run directory.
pub const FILE: &str = "journal.jsonl";

/// The lock file beside it: held (an exclusive advisory lock) for as long as a process has the journal open, so two
/// processes never work on one run's phones at once.
pub const LOCK: &str = "run.lock";

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Entry<S> {
    /// The run's spec (no secrets: password *sources* only). Journals of older versions called it `settings`.
    Started {
        at: f64,
        #[serde(alias = "settings")]
        spec: S,
    },
    /// A phase change of one phone (by target), with its MAC once known.
    Phone {
        at: f64,
        phone: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mac: Option<Mac>,
        event: Event,
    },
    /// A phone's final report.
    Finished {
        at: f64,
        phone: String,
        report: Box<Report>,
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
    #[error(
        "another polyprov is working on the run in {0} right now (it holds {0}/run.lock): wait for it to end, or stop \
         it, then run again"
    )]
    Busy(PathBuf),
}

/// Whether `dir`'s journal starts with the run's spec: a journal cut short before its first line was written
/// holds no run.
pub fn has_start(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join(FILE)) else {
        return false;
    };
    text.lines()
        .next()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .is_some_and(|v| v["kind"] == "started")
}

/// An open journal, appended to by many phone tasks.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    repaired: Option<String>,
    /// Locked while this journal is open; unlocked when it is dropped (or the process dies).
    _lock: File,
}

fn now() -> f64 {
    crate::clock::unix_now()
}

impl Journal {
    /// Open (creating) the journal of run directory `dir` for appending.
    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        let path = dir.join(FILE);
        std::fs::create_dir_all(dir).map_err(|source| JournalError::Write {
            path: path.clone(),
            source,
        })?;
        let lock_path = dir.join(LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| JournalError::Write {
                path: lock_path.clone(),
                source,
            })?;
        // flock(2), not `File::try_lock` (Rust 1.89): the crate builds with Rust 1.85.
        match rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                return Err(JournalError::Busy(dir.to_path_buf()));
            }
            Err(e) => {
                return Err(JournalError::Write {
                    path: lock_path,
                    source: e.into(),
                });
            }
        }
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
            _lock: lock,
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
    pub fn append<S: Serialize>(&self, entry: &Entry<S>) -> Result<(), JournalError> {
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

    /// The first line: the run's spec.
    pub fn started<S: Serialize>(&self, spec: &S) -> Result<(), JournalError> {
        self.append(&Entry::Started { at: now(), spec })
    }

    /// One phone's event; `mac` once the phone's MAC is known.
    pub fn event(&self, phone: &str, mac: Option<Mac>, event: &Event) -> Result<(), JournalError> {
        self.append(&Entry::<()>::Phone {
            at: now(),
            phone: phone.to_string(),
            mac,
            event: event.clone(),
        })
    }

    /// One phone's final report.
    pub fn finished(&self, phone: &str, report: &Report) -> Result<(), JournalError> {
        self.append(&Entry::<()>::Finished {
            at: now(),
            phone: phone.to_string(),
            report: Box::new(report.clone()),
        })
    }

    pub fn interrupted(&self) -> Result<(), JournalError> {
        self.append(&Entry::<()>::Interrupted { at: now() })
    }

    pub fn resumed(&self) -> Result<(), JournalError> {
        self.append(&Entry::<()>::Resumed { at: now() })
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
    let readable = serde_json::from_slice::<Entry<serde::de::IgnoredAny>>(last).is_ok();
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

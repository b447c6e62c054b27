//! What happens to one phone, as it happens: the phases the CLI prints, the fleet display shows and the journal
//! records. Events carry no secret.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::mac::Mac;

/// One step of a phone's onboarding.
///
/// In JSON (the journal, `--json`) every event is an object tagged by `event`, its fields kebab-case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(
    tag = "event",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum Event {
    Probing {
        target: String,
    },
    Recognised {
        profile: String,
        family: String,
        generation: String,
    },
    Certificate {
        subject: String,
        sha256: String,
        /// Against the known-phones memory: `true` the certificate remembered for this MAC, `false` its first
        /// (remembered from now on); absent when nothing is remembered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        known: Option<bool>,
    },
    LoggingIn {
        attempt: u32,
        candidate: usize,
    },
    WrongPassword {
        candidate: usize,
    },
    Locked {
        seconds: u64,
    },
    Busy {
        /// Journals before the output schema spelled it `retry_in_secs`.
        #[serde(alias = "retry_in_secs")]
        retry_in_secs: u64,
    },
    LoggedIn,
    Identified {
        mac: Option<Mac>,
        model: Option<String>,
        firmware: Option<String>,
    },
    Warning {
        message: String,
    },
    /// A warning given earlier no longer holds (a firmware update lifted the phone over the service's minimum).
    Resolved {
        warning: String,
        how: String,
    },
    PasswordChanged,
    Plan {
        changes: Vec<String>,
    },
    AlreadyProvisioned,
    /// Saving the provisioning server; `boots`: the log's boot count just before, when it could be read (a resumed
    /// run counts the reboots since the save from it).
    Saving {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        boots: Option<usize>,
    },
    Saved {
        answer: String,
    },
    Verified,
    Rebooting {
        reboot: u32,
    },
    Back {
        reboot: u32,
        firmware: Option<String>,
    },
    Updating {
        from: String,
        to: String,
    },
    Moved {
        from: String,
        to: String,
    },
    /// Back up: waiting (at most `for_secs` after the last change) for the phone to show what its provisioning did.
    Fetching {
        #[serde(alias = "for_secs")]
        for_secs: u64,
    },
    /// A line of the phone's own log that matters (an update starting, a failure).
    PhoneSays {
        line: String,
    },
    /// Asked the phone to reboot (after activation in the admin console).
    RebootRequested,
    /// The phone showed it loaded the service's configuration.
    Inactive {
        evidence: Vec<String>,
    },
    LoggedOut,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Probing { target } => write!(f, "probing {target}"),
            Event::Recognised {
                profile,
                family,
                generation,
            } => {
                write!(
                    f,
                    "recognised {family} (profile {profile}, {generation} login)"
                )
            }
            Event::Certificate {
                subject,
                sha256,
                known,
            } => {
                write!(f, "certificate {subject}, SHA-256 {sha256}")?;
                match known {
                    Some(true) => write!(f, " (the one it presented before)"),
                    Some(false) => write!(f, " (first seen: remembered)"),
                    None => Ok(()),
                }
            }
            Event::LoggingIn { attempt, candidate } => write!(
                f,
                "logging in (attempt {attempt}, password #{})",
                candidate + 1
            ),
            Event::WrongPassword { candidate } => {
                write!(f, "password #{} was not accepted", candidate + 1)
            }
            Event::Locked { seconds } => write!(
                f,
                "web UI locked by earlier failed logins: waiting {seconds} s"
            ),
            Event::Busy { retry_in_secs } => write!(
                f,
                "someone else has the web UI open (one session at a time): retrying in {retry_in_secs} s"
            ),
            Event::LoggedIn => write!(f, "logged in"),
            Event::Identified {
                mac,
                model,
                firmware,
            } => write!(
                f,
                "phone {} {} firmware {}",
                mac.map_or("?".to_string(), |m| m.to_string()),
                model.as_deref().unwrap_or("?"),
                firmware.as_deref().unwrap_or("?")
            ),
            Event::Warning { message } => write!(f, "warning: {message}"),
            Event::Resolved { warning, how } => write!(f, "resolved: {warning} ({how})"),
            Event::PasswordChanged => write!(f, "admin password changed"),
            Event::Plan { changes } => write!(f, "plan: {}", changes.join("; ")),
            Event::AlreadyProvisioned => {
                write!(f, "already provisioned as wanted: nothing to write")
            }
            Event::Saving { .. } => write!(f, "saving"),
            Event::Saved { answer } => write!(f, "saved ({answer})"),
            Event::Verified => write!(f, "verified the saved values"),
            Event::Rebooting { reboot } => write!(f, "rebooting ({reboot})"),
            Event::Back { reboot, firmware } => {
                write!(f, "back after reboot {reboot}")?;
                if let Some(fw) = firmware {
                    write!(f, ", firmware {fw}")?;
                }
                Ok(())
            }
            Event::Updating { from, to } => write!(f, "updating firmware {from} → {to}"),
            Event::Moved { from, to } => write!(f, "phone moved from {from} to {to}"),
            Event::Fetching { for_secs } => write!(
                f,
                "waiting for the phone to load its configuration (its log, up to {for_secs} s)"
            ),
            Event::PhoneSays { line } => write!(f, "the phone's log: {line}"),
            Event::RebootRequested => write!(
                f,
                "rebooting it through its web UI to fetch the activated configuration"
            ),
            Event::Inactive { evidence } => {
                write!(f, "Inactive: ready for activation")?;
                if let Some(e) = evidence.last() {
                    write!(f, " ({e})")?;
                }
                Ok(())
            }
            Event::LoggedOut => write!(f, "logged out"),
        }
    }
}

/// Where events go.
pub type Sink<'a> = &'a (dyn Fn(Event) + Send + Sync);

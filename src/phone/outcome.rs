//! How one phone's onboarding ended, and the report that records it: the final state, the evidence read from the
//! phone that it rests on, and — for the failures a provisioning server causes — the named failure with its fix.
//!
//! "Inactive" is only ever the outcome when the phone itself showed that it loaded the service's configuration;
//! a phone that showed neither success nor failure is `unconfirmed`, never Inactive.

use serde::Serialize;

use super::applog::LogFailure;
use super::provisioning::Current;
use crate::mac::Mac;

/// A failure the phone's own evidence names, each with what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerFailure {
    /// The phone could not use the server: its name, a connection, or TLS failed.
    ServerUnreachable,
    /// The server refused the phone (401/403).
    ServerRefused,
    /// The server has no configuration for this MAC (404).
    ConfigMissing,
    /// The server answered with something that is not a Poly configuration.
    ConfigInvalid,
    /// After the reboot the phone uses another server than the one saved.
    ServerReverted,
    /// The firmware the server named could not be installed.
    UpdateFailed,
    /// Activated in the admin console, the phone still has no registered line.
    StillInactive,
}

impl ServerFailure {
    pub fn name(&self) -> &'static str {
        match self {
            ServerFailure::ServerUnreachable => "server-unreachable",
            ServerFailure::ServerRefused => "server-refused",
            ServerFailure::ConfigMissing => "config-missing",
            ServerFailure::ConfigInvalid => "config-invalid",
            ServerFailure::ServerReverted => "server-reverted",
            ServerFailure::UpdateFailed => "update-failed",
            ServerFailure::StillInactive => "still-inactive",
        }
    }

    /// What happened, in a technician's words.
    pub fn what(&self) -> &'static str {
        match self {
            ServerFailure::ServerUnreachable => {
                "the phone could not reach the provisioning server (name, connection or TLS)"
            }
            ServerFailure::ServerRefused => {
                "the provisioning server refused the phone (HTTP 401/403)"
            }
            ServerFailure::ConfigMissing => {
                "the provisioning server has no configuration for this phone (HTTP 404)"
            }
            ServerFailure::ConfigInvalid => {
                "the provisioning server answered with something that is not a Poly configuration"
            }
            ServerFailure::ServerReverted => {
                "after its reboot the phone uses another provisioning server than the one saved"
            }
            ServerFailure::UpdateFailed => {
                "the phone could not install the firmware the provisioning server names"
            }
            ServerFailure::StillInactive => {
                "the phone rebooted after activation and still has no registered line"
            }
        }
    }

    /// What to do about it.
    pub fn fix(&self) -> &'static str {
        match self {
            ServerFailure::ServerUnreachable => {
                "check the URL for typos; from the phones' network the name must resolve and HTTPS must reach the server (firewall, proxy), and the phone's clock must be right for TLS (a time server from DHCP)"
            }
            ServerFailure::ServerRefused => {
                "check the server user and password (--server-user, --server-password-file) with the service"
            }
            ServerFailure::ConfigMissing => {
                "the MAC is not set up on the service: enter it in the admin console (and check the URL's path), then run polyprov again"
            }
            ServerFailure::ConfigInvalid => {
                "check the URL: a captive portal, a web page or a wrong path answered instead of the provisioning service"
            }
            ServerFailure::ServerReverted => {
                "a DHCP option 160/66 (or a configuration file) overrides the saved server: set the phone's Boot Server to Static, or remove the option from the DHCP server"
            }
            ServerFailure::UpdateFailed => {
                "check the service's firmware for this model and that the server stays reachable during downloads, then reboot the phone"
            }
            ServerFailure::StillInactive => {
                "the MAC is probably not saved on the user's profile in the admin console (models such as the IP450 can only be activated by MAC); save it and reboot the phone"
            }
        }
    }
}

impl From<LogFailure> for ServerFailure {
    fn from(f: LogFailure) -> ServerFailure {
        match f {
            LogFailure::Unreachable => ServerFailure::ServerUnreachable,
            LogFailure::Refused => ServerFailure::ServerRefused,
            LogFailure::Missing => ServerFailure::ConfigMissing,
            LogFailure::Invalid => ServerFailure::ConfigInvalid,
            LogFailure::UpdateFailed => ServerFailure::UpdateFailed,
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Outcome {
    /// Provisioned: the phone showed it loaded the service's configuration; waiting for activation.
    Inactive,
    /// The phone showed a registered line: in service.
    Active,
    /// Already pointed at the wanted server: nothing written.
    AlreadyProvisioned,
    /// Dry run: the changes that would be made.
    DryRun { changes: Vec<String> },
    /// A person must act (wrong password, locked, busy, unsupported family, foreign certificate …).
    NeedsAttention {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fix: Option<String>,
    },
    /// This family cannot be provisioned from the web; what to do instead (the fix).
    Unsupported {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fix: Option<String>,
    },
    /// The phone showed neither success nor failure: a person must look at it.
    Unconfirmed {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fix: Option<String>,
    },
    /// The phone's own evidence names what went wrong with its provisioning server.
    ServerFailed {
        failure: ServerFailure,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fix: Option<String>,
    },
    /// The user interrupted the run; `saved` says whether the phone already took the change.
    Interrupted { saved: bool },
    /// Something went wrong on the way.
    Failed {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fix: Option<String>,
    },
    /// Left alone: outside the allow-list, or the same phone as another target.
    Skipped {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fix: Option<String>,
    },
}

/// Split a message written as `what. Fix: what to do` (or `… Instead: …`) once, where the outcome is made.
fn split(message: impl std::fmt::Display) -> (String, Option<String>) {
    let message = message.to_string();
    for marker in [" Fix: ", " Instead: "] {
        if let Some((what, fix)) = message.split_once(marker) {
            return (
                what.trim_end_matches(['.', ';']).to_string(),
                Some(fix.to_string()),
            );
        }
    }
    (message, None)
}

impl Outcome {
    /// 0 success, 3 a person must act, 1 failed, 130 interrupted.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Inactive
            | Outcome::Active
            | Outcome::AlreadyProvisioned
            | Outcome::DryRun { .. }
            | Outcome::Skipped { .. } => 0,
            Outcome::NeedsAttention { .. }
            | Outcome::Unsupported { .. }
            | Outcome::Unconfirmed { .. } => 3,
            Outcome::Failed { .. } | Outcome::ServerFailed { .. } => 1,
            Outcome::Interrupted { .. } => 130,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Inactive => "Inactive",
            Outcome::Active => "Active",
            Outcome::AlreadyProvisioned => "already provisioned",
            Outcome::DryRun { .. } => "dry run",
            Outcome::NeedsAttention { .. } => "needs attention",
            Outcome::Unsupported { .. } => "unsupported",
            Outcome::Unconfirmed { .. } => "unconfirmed",
            Outcome::ServerFailed { failure, .. } => failure.name(),
            Outcome::Failed { .. } => "failed",
            Outcome::Interrupted { .. } => "interrupted",
            Outcome::Skipped { .. } => "skipped",
        }
    }

    /// A person must act; `message` is `what[. Fix: what to do]`.
    pub fn needs_attention(message: impl std::fmt::Display) -> Outcome {
        let (reason, fix) = split(message);
        Outcome::NeedsAttention { reason, fix }
    }

    /// Something went wrong; `message` is `what[. Fix: what to do]`.
    pub fn failed(message: impl std::fmt::Display) -> Outcome {
        let (reason, fix) = split(message);
        Outcome::Failed { reason, fix }
    }

    /// Neither success nor failure showed.
    pub fn unconfirmed(reason: impl Into<String>, fix: &str) -> Outcome {
        Outcome::Unconfirmed {
            reason: reason.into(),
            fix: Some(fix.to_string()),
        }
    }

    /// Left alone, and why.
    pub fn skipped(message: impl std::fmt::Display) -> Outcome {
        let (reason, fix) = split(message);
        Outcome::Skipped { reason, fix }
    }

    /// What went wrong, if anything did (an interruption included).
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::NeedsAttention { reason, .. }
            | Outcome::Unsupported { reason, .. }
            | Outcome::Unconfirmed { reason, .. }
            | Outcome::ServerFailed { reason, .. }
            | Outcome::Failed { reason, .. }
            | Outcome::Skipped { reason, .. } => Some(reason),
            Outcome::Interrupted { saved: true } => Some("interrupted after the save"),
            Outcome::Interrupted { saved: false } => Some("interrupted before the save"),
            _ => None,
        }
    }

    /// What to do about it, where there is something to do.
    pub fn fix(&self) -> Option<&str> {
        match self {
            Outcome::NeedsAttention { fix, .. }
            | Outcome::Unsupported { fix, .. }
            | Outcome::Unconfirmed { fix, .. }
            | Outcome::ServerFailed { fix, .. }
            | Outcome::Failed { fix, .. }
            | Outcome::Skipped { fix, .. } => fix.as_deref(),
            Outcome::Interrupted { .. } => Some("polyprov resume"),
            _ => None,
        }
    }

    /// The reason and the fix in one sentence, for a person reading one line.
    pub fn explained(&self) -> Option<String> {
        let reason = self.reason()?;
        Some(match self.fix() {
            Some(fix) => format!("{reason}. Fix: {fix}"),
            None => reason.to_string(),
        })
    }

    /// A named failure: what happened with the phone's own lines, and the failure's fix.
    pub fn server_failed(failure: ServerFailure, lines: &[String]) -> Outcome {
        let said = if lines.is_empty() {
            String::new()
        } else {
            format!(
                "; the phone's log: {}",
                lines
                    .iter()
                    .map(|l| format!("{l:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Outcome::ServerFailed {
            failure,
            reason: format!("{}{said}", failure.what()),
            fix: Some(failure.fix().to_string()),
        }
    }
}

/// The fix for a phone that showed neither success nor failure.
pub const LOOK_AT_THE_PHONE: &str = "look at the phone: the lower-left button should read Inactive (or the service's activation prompt)";

/// What happened to one phone.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    pub target: String,
    /// Where the phone was last seen (differs from target when it moved).
    pub address: String,
    pub mac: Option<Mac>,
    pub model: Option<String>,
    pub profile: Option<String>,
    pub family: Option<String>,
    pub firmware_before: Option<String>,
    pub firmware_after: Option<String>,
    pub server_before: Option<Current>,
    pub server_after: Option<Current>,
    pub certificate_sha256: Option<String>,
    pub reboots: u32,
    pub password_changed: bool,
    /// The model can only be activated by MAC in the admin console.
    pub mac_activation_only: bool,
    /// The firmware is below the service's minimum.
    pub below_min_firmware: bool,
    pub warnings: Vec<String>,
    /// What the phone showed that the outcome rests on (its log lines, its pages, its REST API, its firmware).
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Phone seconds from start to end.
    pub elapsed_secs: f64,
    /// Wall clock (Unix seconds) when polyprov started on this phone, and when it finished.
    #[serde(default)]
    pub started_at: Option<f64>,
    #[serde(default)]
    pub finished_at: Option<f64>,
    pub outcome: Outcome,
}

impl Report {
    /// The report of a phone a run was interrupted before finishing.
    pub fn interrupted(target: &url::Url, saved: bool) -> Report {
        Report {
            outcome: Outcome::Interrupted { saved },
            ..Report::new(target)
        }
    }

    pub(crate) fn new(target: &url::Url) -> Report {
        Report {
            target: target.to_string(),
            address: target.host_str().unwrap_or("").to_string(),
            mac: None,
            model: None,
            profile: None,
            family: None,
            firmware_before: None,
            firmware_after: None,
            server_before: None,
            server_after: None,
            certificate_sha256: None,
            reboots: 0,
            password_changed: false,
            mac_activation_only: false,
            below_min_firmware: false,
            warnings: Vec::new(),
            evidence: Vec::new(),
            elapsed_secs: 0.0,
            started_at: None,
            finished_at: None,
            outcome: Outcome::failed("not started"),
        }
    }
}

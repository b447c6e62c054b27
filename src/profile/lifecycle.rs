//! What follows a save, per family: the reboot and update timeline (`[timeline]`), the application-log lines a
//! provisioning attempt writes (`[log]`), the cloud service's requirements (`[service]`), how a provisioned phone
//! shows "Inactive" (`[inactive]`), and the firmware builds with their updates (`[[build]]`).

use serde::Deserialize;

/// Nominal durations of the reboot/update path, in seconds of phone time.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Timeline {
    pub shutdown_delay_secs: u64,
    pub boot_secs: u64,
    pub first_fetch_secs: u64,
    /// Reboots a firmware update adds after the first contact with the provisioning server.
    pub update_reboots: u32,
    /// No reboot for this long after the last one: the phone has settled.
    pub settle_secs: u64,
    /// Give up on the phone after this long.
    pub timeout_secs: u64,
    /// The firmware sometimes drops TCP connections mid-request.
    #[serde(default)]
    pub reset_mid_request: bool,
    /// How long the phone waits for one answer of the provisioning server.
    #[serde(default = "default_fetch_timeout")]
    pub fetch_timeout_secs: u64,
    /// After activation: how long, after its last change, a phone that loaded its configuration without a
    /// registered line is given before it is `still-inactive` (8x8: "5–10 minutes" of updates and reboots).
    #[serde(default = "default_activation_secs")]
    pub activation_secs: u64,
}

fn default_activation_secs() -> u64 {
    600
}

fn default_fetch_timeout() -> u64 {
    30
}

/// One application-log line: the module column and the message. `{name}` placeholders are filled in by the
/// simulator and match any text when the agent reads the log.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LogLine {
    pub module: String,
    pub text: String,
}

impl LogLine {
    /// The message with `{name}` placeholders filled from `values` (unknown names are left as written).
    pub fn fill(&self, values: &[(&str, &str)]) -> String {
        let mut out = self.text.clone();
        for (k, v) in values {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    }
}

/// The application-log lines of one provisioning attempt, as the phone writes them
/// (`docs/provisioning-server.md`; each line's source is in the profile).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LogLines {
    /// First line after every boot.
    pub boot: LogLine,
    /// The provisioning server the phone uses this boot (`{server}`).
    pub server_address: LogLine,
    /// A provisioning pass begins.
    pub pass_start: LogLine,
    /// A provisioning pass ends (also after a failed step).
    pub pass_end: LogLine,
    /// The server could not be used (`{server}`): the line every kind of unreachable server ends with.
    pub unresponsive: LogLine,
    /// The server's name did not resolve (`{host}`).
    pub dns: LogLine,
    /// No connection to the server (`{host}`).
    pub connect: LogLine,
    /// The TLS handshake or certificate check failed (`{host}`, `{detail}`).
    pub tls: LogLine,
    /// The server refused a file (`{file}`, `{status}`): wrong server credentials.
    pub refused: LogLine,
    /// A file the phone needs is not on the server (`{file}`, `{server}`).
    pub missing: LogLine,
    /// A file is not what the phone expects (`{file}`, `{detail}`).
    pub invalid: LogLine,
    /// The server names other firmware: the phone downloads it and reboots (`{version}`).
    pub upgrading: LogLine,
    /// The configuration changed device settings (an admin password): the phone reboots to apply them.
    pub restart: LogLine,
    /// The firmware download failed (`{file}`, `{version}`: the version the phone keeps).
    pub update_failed: LogLine,
    /// A line registered (`{user}`).
    pub registered: LogLine,
    /// Endings of files a phone asks for but may miss without harm (overrides, licences, directories,
    /// backgrounds): a `missing` line naming one is not a failure.
    #[serde(default)]
    pub optional_files: Vec<String>,
}

/// Requirements of the cloud service.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Service {
    /// Below this firmware the line stays unregistered.
    #[serde(default)]
    pub min_firmware: Option<String>,
    /// Models that can only be activated by MAC in the admin console.
    #[serde(default)]
    pub mac_activation_only: Vec<String>,
    /// Base profile the phone must be on, where the UI shows it.
    #[serde(default)]
    pub base_profile: Option<String>,
}

/// How "Inactive" (provisioned, settled, not activated) is recognised.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Inactive {
    pub line_label: String,
    pub registration: String,
}

/// A firmware build with its own recorded pages.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Build {
    pub firmware: String,
    /// `index.htm` carries the CSRF meta tag.
    pub csrf_meta: bool,
    /// Besides its session login, this build accepts the older `Authorization` cookie (or Basic header) on every
    /// page and form, with no session and no CSRF token (VVX 5.9.x, S4).
    #[serde(default)]
    pub cookie_auth: bool,
    /// What the provisioning server pushes: a version of this profile, or `profile-id/version` of another.
    #[serde(default)]
    pub update_to: Option<String>,
}

/// Where a firmware update leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateTarget {
    /// Profile whose pages the phone serves afterwards (`None`: the same).
    pub profile: Option<String>,
    pub firmware: String,
}

impl Build {
    /// The update this build receives, if any (an `update-to` equal to the build itself is none).
    pub fn update(&self) -> Option<UpdateTarget> {
        let to = self.update_to.as_deref()?;
        let target = match to.split_once('/') {
            Some((p, v)) => UpdateTarget {
                profile: Some(p.to_string()),
                firmware: v.to_string(),
            },
            None => UpdateTarget {
                profile: None,
                firmware: to.to_string(),
            },
        };
        (target.firmware != self.firmware).then_some(target)
    }
}

//! One simulated phone's state: identity, configuration, login state, boot history and lifecycle phase.
//!
//! The state is plain data behind a mutex; web handlers (`web.rs`) and the lifecycle task (`lifecycle.rs`) change
//! it, the control endpoint reads a [`PhoneReport`] of it. Nothing here waits or does I/O.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::lockout::LockoutState;
use crate::clock::Clock;
use crate::fixture::PageSet;
use crate::mac::Mac;
use crate::profile::Profile;

/// Faults a phone can be told to show, at start or later through the control endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default, deny_unknown_fields)]
pub struct Faults {
    /// Cut this many of the next responses off mid-body (the connection is dropped).
    pub reset_next: u32,
    /// Cut off the answers to this many of the next provisioning-form saves (after applying them).
    pub reset_saves: u32,
    /// Cut off the answers to this many of the next session logins (`POST` to the login form, after the phone
    /// handled it: a successful one has opened its session).
    pub reset_logins: u32,
    /// Probability (0–1) that any response is cut off mid-body (seeded, reproducible).
    pub reset_rate: f64,
    /// Delay every response by this many wall-clock milliseconds.
    pub slow_ms: u64,
    /// Answer this many of the next requests with `500 Internal Server Error`.
    pub server_errors: u32,
    /// The next reboot never ends: the phone stays off the network.
    pub never_returns: bool,
    /// The firmware update never completes: the phone reboots again and again.
    pub update_loop: bool,
    /// After its next reboot the phone comes back on this address.
    pub new_ip: Option<IpAddr>,
    /// The certificate's subject is not a Poly phone's (an intercepting proxy, a wrong device).
    pub foreign_cert: bool,
    /// Factory resets so far. Raising it resets the phone: a new device certificate (another fingerprint), the
    /// profile's factory admin password, the recorded settings (no provisioning server), no lockout, no session.
    pub factory_reset: u32,
    /// Someone else has the web UI open for this many phone seconds from start.
    pub busy_secs: u64,
    /// The web UI starts locked out (as after someone's five wrong passwords).
    pub locked: bool,
    /// HTTPS speaks only TLS 1.0 with old ciphers (answers modern handshakes with a protocol_version alert);
    /// plain HTTP, where the profile serves it, still works.
    pub legacy_tls: bool,
    /// The phone's clock is wrong (no time server reached): every server certificate looks not yet valid.
    pub clock_wrong: bool,
    /// The LAN's DHCP server offers this provisioning server (option 160/66); it overrides the saved one unless
    /// the boot server is set to Static.
    pub dhcp_boot_server: Option<String>,
}

/// Where the phone is on its way from the box to a registered line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Not pointed at a provisioning server yet (or pointed, and it has not rebooted).
    Unprovisioned,
    /// The provisioning server was saved; the reboot is coming.
    Saved,
    /// Off the network, booting.
    Rebooting,
    /// Up, fetching its configuration from the provisioning server.
    Contacting,
    /// Its last attempt to fetch a configuration failed: it runs on what it had (see `provisioning`).
    ProvisioningFailed,
    /// Downloading and installing firmware the provisioning server pushed.
    Updating,
    /// Provisioned and settled, waiting for activation.
    Inactive,
    /// Activated in the admin console; rebooting or updating into service.
    Activating,
    /// Line registered: in service.
    Registered,
    /// Went down for a reboot and never came back (fault).
    Dead,
    /// Rebooting forever (fault).
    UpdateLoop,
}

/// A live web session.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub csrf: String,
    pub last_seen: Instant,
    /// True for the foreign session of the `busy-secs` fault.
    pub foreign: bool,
}

/// One application-log line.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// Phone seconds since the simulator started.
    pub at: f64,
    pub module: String,
    /// `*` for the first line of a boot, else the logging level (`4`).
    pub level: char,
    pub text: String,
}

/// The line as the phone reports it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Line {
    pub registered: bool,
    pub label: String,
}

/// What the phone's provisioning attempts did: the ground truth tests compare the agent's report with.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ProvTruth {
    /// Provisioning attempts (one per boot with a server set).
    pub attempts: u32,
    /// The server the last attempt used (the saved one, or a DHCP server's).
    pub server: Option<String>,
    /// How the last attempt ended: `loaded`, `update`, or the failure (`dns`, `connect`, `tls`, `timeout`,
    /// `refused`, `server-error`, `missing`, `invalid`, `unsupported`, `bad-address`, `cut`).
    pub last: Option<String>,
    /// The failure in words.
    pub detail: Option<String>,
    /// Master configuration file of the last successful fetch.
    pub master: Option<String>,
    /// Configuration files loaded by the last successful fetch.
    pub files: Vec<String>,
    /// Phone seconds (since the simulator started) when the phone last settled as Inactive.
    pub inactive_at: Option<f64>,
    /// Phone seconds when its line last registered.
    pub registered_at: Option<f64>,
}

/// Counters the tests assert on instead of trusting the client.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Stats {
    pub logins: u32,
    pub failed_logins: u32,
    pub session_conflicts: u32,
    pub saves: u32,
    pub conf_changes: u32,
    pub csrf_rejections: u32,
    pub password_changes: u32,
    pub responses_cut: u32,
    pub server_errors: u32,
    /// Reboots asked for through the web UI.
    pub web_reboots: u32,
    pub requests: u64,
}

/// Everything a simulated phone knows about itself.
#[derive(Debug)]
pub struct PhoneState {
    pub mac: Mac,
    pub profile: Arc<Profile>,
    pub pages: Arc<PageSet>,
    /// Opt-in differences from the recordings, applied to every build it runs.
    pub variants: Vec<super::variant::Variant>,
    pub model: String,
    pub firmware: String,
    /// The admin password (never reported).
    pub password: String,
    pub ip: IpAddr,
    /// `paramname` → current value, seeded from the recorded page.
    pub config: BTreeMap<String, String>,
    pub rest_enabled: bool,
    pub faults: Faults,
    pub lockout: LockoutState,
    pub session: Option<Session>,
    pub up: bool,
    pub booted_at: Instant,
    /// Reboots since the simulator started.
    pub reboots: u32,
    pub log: Vec<LogLine>,
    pub phase: Phase,
    pub line: Line,
    pub extension: Option<String>,
    /// Firmware versions in the order the phone ran them.
    pub firmware_history: Vec<String>,
    pub stats: Stats,
    /// Reboots a firmware update takes, when not the profile's `update-reboots`.
    pub update_reboots_override: Option<u32>,
    /// What its provisioning attempts did.
    pub prov: ProvTruth,
    /// Parameters the provisioning server's files set (shown as `config="…"` on the web form).
    pub from_files: BTreeMap<String, String>,
    /// When it last settled as Inactive (wall clock, for benchmarks).
    pub inactive_at: Option<Instant>,
    pub rng: StdRng,
    /// The simulator's seed (with the MAC and the factory resets, it makes the device certificate).
    pub seed: u64,
    /// Phone time zero (simulator start).
    pub epoch: Instant,
    pub clock: Clock,
}

impl PhoneState {
    /// Phone seconds since the simulator started.
    pub fn now(&self) -> f64 {
        self.clock.since(self.epoch)
    }

    /// Phone seconds since the last boot.
    pub fn uptime_secs(&self) -> u64 {
        self.clock.since(self.booted_at) as u64
    }

    /// Uptime as REST `UpTimeSinceLastReboot` writes it: `0 Day 0:12:31`, `20 Days 16:11:42`.
    pub fn uptime_string(&self) -> String {
        let s = self.uptime_secs();
        let (d, h, m, sec) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
        let unit = if d > 1 { "Days" } else { "Day" };
        format!("{d} {unit} {h}:{m:02}:{sec:02}")
    }

    /// What the phone's device certificate is made from.
    pub fn identity(&self) -> super::tls::Identity {
        super::tls::Identity {
            mac: self.mac,
            seed: self.seed,
            resets: self.faults.factory_reset,
            foreign: self.faults.foreign_cert,
        }
    }

    /// Back to the box: the recorded settings (no provisioning server), the factory admin password, no lockout,
    /// no session, not provisioned. (The certificate is the caller's: it depends on the reset count.)
    pub fn factory_reset(&mut self) {
        self.config = self
            .pages
            .fields
            .iter()
            .map(|f| (f.paramname.clone(), f.value.clone()))
            .collect();
        if let Some(factory) = self.profile.login.factory_passwords.first() {
            self.password = factory.clone();
        }
        self.lockout = LockoutState::default();
        self.session = None;
        self.phase = Phase::Unprovisioned;
        self.from_files.clear();
        self.log(
            "so",
            "Factory reset: configuration and device certificate reset",
        );
    }

    pub fn log(&mut self, module: &str, text: impl Into<String>) {
        let at = self.now();
        self.log.push(LogLine {
            at,
            level: '4',
            module: module.to_string(),
            text: text.into(),
        });
    }

    /// A new boot: uptime reset, a fresh log entry, sessions gone.
    pub fn booted(&mut self) {
        self.booted_at = Instant::now();
        self.session = None;
        match self.profile.log.clone() {
            Some(l) => {
                self.log_line(&l.boot, &[]);
                // The first line of a boot carries level `*` (S5).
                if let Some(first) = self.log.last_mut() {
                    first.level = '*';
                }
                let server = self.effective_server();
                if !server.is_empty() {
                    self.log_line(&l.server_address, &[("server", &server)]);
                }
            }
            None => {
                self.log("so", "Initial log entry. Current logging level 4");
                if let Some(first) = self.log.last_mut() {
                    first.level = '*';
                }
            }
        }
    }

    /// Append one of the profile's log lines, placeholders filled.
    pub fn log_line(&mut self, line: &crate::profile::LogLine, values: &[(&str, &str)]) {
        let text = line.fill(values);
        let at = self.now();
        self.log.push(LogLine {
            at,
            level: '4',
            module: line.module.clone(),
            text,
        });
    }

    /// The provisioning server this boot uses: a DHCP-offered one overrides the saved one unless the boot server
    /// is Static.
    pub fn effective_server(&self) -> String {
        let p = &self.profile.provisioning;
        let statik = match (&p.boot_server, &p.boot_server_static) {
            (Some(k), Some(v)) => self.param(k) == v,
            _ => true,
        };
        match (&self.faults.dhcp_boot_server, statik) {
            (Some(d), false) if !d.is_empty() => d.clone(),
            _ => self.server_name(),
        }
    }

    /// A random token of `n` bytes, Base64 like the phones' CSRF tokens.
    pub fn token(&mut self, n: usize) -> String {
        use base64::Engine;
        let bytes: Vec<u8> = (0..n).map(|_| self.rng.random()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// The live session, after dropping it if it expired.
    pub fn live_session(&mut self) -> Option<&mut Session> {
        let lifetime = self.profile.login.session_lifetime_secs as f64;
        if let Some(s) = &self.session {
            if self.clock.since(s.last_seen) >= lifetime {
                self.session = None;
            }
        }
        self.session.as_mut()
    }

    /// Reboots the next firmware update takes (at least one: new firmware needs a boot).
    pub fn update_reboots(&self) -> u32 {
        self.update_reboots_override
            .unwrap_or(self.profile.timeline.update_reboots)
            .max(1)
    }

    /// Run a new firmware version from now on.
    pub fn set_firmware(&mut self, firmware: String) {
        self.firmware_history.push(firmware.clone());
        self.firmware = firmware;
    }

    /// Value of a configuration parameter.
    pub fn param(&self, paramname: &str) -> &str {
        self.config.get(paramname).map(String::as_str).unwrap_or("")
    }

    /// The configured server type by name (`HTTPS`), from the form value.
    pub fn server_type_name(&self) -> String {
        let p = &self.profile.provisioning;
        let value = p
            .server_type
            .as_deref()
            .map(|k| self.param(k))
            .unwrap_or("");
        p.server_type_values
            .iter()
            .find(|(_, v)| v.as_str() == value)
            .map(|(k, _)| k.clone())
            .unwrap_or_default()
    }

    /// The configured provisioning server address.
    pub fn server_name(&self) -> String {
        let p = &self.profile.provisioning;
        p.server_name
            .as_deref()
            .map(|k| self.param(k).to_string())
            .unwrap_or_default()
    }

    /// Seeded draw: should this response be cut off?
    pub fn draw_reset(&mut self) -> bool {
        if self.faults.reset_next > 0 {
            self.faults.reset_next -= 1;
            return true;
        }
        self.faults.reset_rate > 0.0 && self.rng.random_bool(self.faults.reset_rate.clamp(0.0, 1.0))
    }

    /// The report the control endpoint shows.
    pub fn report(&self, https: Option<String>, http: Option<String>) -> PhoneReport {
        PhoneReport {
            mac: self.mac,
            profile: self.profile.id.clone(),
            family: self.profile.family.clone(),
            model: self.model.clone(),
            firmware: self.firmware.clone(),
            ip: self.ip,
            https,
            http,
            up: self.up,
            phase: self.phase,
            reboots: self.reboots,
            uptime_secs: self.uptime_secs(),
            server_type: self.server_type_name(),
            server_name: self.server_name(),
            server_in_use: self.effective_server(),
            server_user: self
                .profile
                .provisioning
                .server_user
                .as_deref()
                .map(|k| self.param(k).to_string())
                .unwrap_or_default(),
            rest_enabled: self.rest_enabled && self.profile.rest.available,
            session_active: self.session.is_some(),
            locked_for: self.lockout.locked_for(self.now()),
            password_is_factory: self
                .profile
                .login
                .factory_passwords
                .contains(&self.password),
            line: self.line.clone(),
            extension: self.extension.clone(),
            firmware_history: self.firmware_history.clone(),
            faults: self.faults.clone(),
            stats: self.stats.clone(),
            provisioning: self.prov.clone(),
        }
    }
}

/// A phone as the control endpoint reports it (no secrets).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PhoneReport {
    pub mac: Mac,
    pub profile: String,
    pub family: String,
    pub model: String,
    pub firmware: String,
    pub ip: IpAddr,
    /// `ip:port` of the HTTPS listener, when the profile has one.
    pub https: Option<String>,
    /// `ip:port` of the plain HTTP listener, when the profile has one.
    pub http: Option<String>,
    pub up: bool,
    pub phase: Phase,
    pub reboots: u32,
    pub uptime_secs: u64,
    pub server_type: String,
    pub server_name: String,
    /// The server it provisions from this boot: the saved one, or a DHCP server's when that overrides it.
    pub server_in_use: String,
    pub server_user: String,
    pub rest_enabled: bool,
    pub session_active: bool,
    pub locked_for: Option<u64>,
    pub password_is_factory: bool,
    pub line: Line,
    pub extension: Option<String>,
    pub firmware_history: Vec<String>,
    pub faults: Faults,
    pub stats: Stats,
    /// What its provisioning attempts did.
    pub provisioning: ProvTruth,
}

/// Seed for one phone: the simulator's seed mixed with the phone's MAC.
pub fn phone_rng(seed: u64, mac: Mac) -> StdRng {
    let m = mac.0.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
    StdRng::seed_from_u64(seed ^ m.rotate_left(17))
}

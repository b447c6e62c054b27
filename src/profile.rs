//! Device profiles: everything that differs between phone families and firmware generations.
//!
//! One TOML file per family in `device-profiles/` becomes a checked [`Profile`]. Code asks the profile (which login
//! generation, which page, which `paramname`, which body means success, how long a reboot takes) and never branches
//! on a model name. A wrong file gives an error naming the file, the line and the field.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A checked device profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Profile {
    /// Equals the file stem; fixtures live under `fixtures/<id>/`.
    pub id: String,
    /// Marketing family, for reports ("Poly VVX").
    pub family: String,
    /// One line for people choosing or reading a profile.
    pub description: String,
    /// How to tell this family from the others before logging in.
    pub recognise: Recognise,
    /// How the phone's web server answers: headers, schemes, TLS age.
    pub http: HttpSettings,
    /// How to log in, and what the answers mean.
    pub login: Login,
    /// The web-UI lockout policy the phone enforces.
    pub lockout: Lockout,
    /// Where the pages are.
    pub pages: Pages,
    /// The provisioning-server form, or why there is none.
    pub provisioning: Provisioning,
    /// How long reboots, firmware updates and settling take.
    pub timeline: Timeline,
    /// What the cloud service requires of this family.
    pub service: Service,
    /// How a settled, provisioned, not yet activated phone shows itself.
    pub inactive: Inactive,
    /// Whether and how the REST API can be used.
    pub rest: Rest,
    /// The application-log lines a provisioning attempt writes (required where the web UI can provision).
    #[serde(default)]
    pub log: Option<LogLines>,
    /// Firmware builds with recorded fixtures, oldest first.
    #[serde(rename = "build")]
    pub builds: Vec<Build>,
}

/// Signals that identify the family before logging in.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Recognise {
    /// The `Server` response header.
    pub server_header: String,
    /// `<title>` of the login page.
    #[serde(default)]
    pub login_title: Option<String>,
    /// Literal strings the login script contains (how it logs in).
    #[serde(default)]
    pub login_script_markers: Vec<String>,
    /// The HTTP auth realm of a 401 challenge (SIP 3.x).
    #[serde(default)]
    pub realm: Option<String>,
    /// Models of the family, as the phones name themselves ("VVX 411").
    pub models: Vec<String>,
    /// Firmware versions of this generation start with one of these.
    pub firmware_prefixes: Vec<String>,
    /// MAC prefixes (6 uppercase hex digits).
    pub ouis: Vec<String>,
}

/// Web server behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpSettings {
    /// Exact `Server` header value.
    pub server: String,
    /// Serves HTTPS (443).
    pub https: bool,
    /// Serves plain HTTP (80).
    pub http: bool,
    /// Only offers TLS versions or ciphers that modern stacks refuse (rustls speaks no TLS 1.0/3DES).
    #[serde(default)]
    pub legacy_tls: bool,
    /// Further headers on every response, in order.
    #[serde(default)]
    pub extra_headers: Vec<(String, String)>,
}

/// Login generations: how a client proves it knows the admin password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Generation {
    /// SoundPoint SIP 2.x/3.x: HTTP 401 challenge on every page.
    #[serde(rename = "http-401")]
    Http401,
    /// SoundPoint UCS 4.0: `GET /auth.htm?t=`, then the `Authorization` cookie.
    AuthHtm,
    /// VVX UCS ≤ 5.8: `Authorization` cookie on every request.
    AuthorizationCookie,
    /// CCX, VVX 5.9+/6.x: `POST /form-submit/auth.htm` → `session` cookie, CSRF token.
    SessionCsrf,
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Generation::Http401 => "http-401",
            Generation::AuthHtm => "auth-htm",
            Generation::AuthorizationCookie => "authorization-cookie",
            Generation::SessionCsrf => "session-csrf",
        })
    }
}

/// Login settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Login {
    pub generation: Generation,
    /// Web user name of the Admin role (always `Polycom` in the sources).
    pub admin_user: String,
    /// Factory passwords, tried only when the user allows it.
    pub factory_passwords: Vec<String>,
    /// Name of the session cookie (session-csrf).
    #[serde(default)]
    pub session_cookie: Option<String>,
    /// Request header carrying the CSRF token (session-csrf).
    #[serde(default)]
    pub csrf_header: Option<String>,
    /// Idle lifetime of a web session.
    #[serde(default = "default_session_lifetime")]
    pub session_lifetime_secs: u64,
    /// Status of the answer to a second concurrent login.
    #[serde(default = "default_conflict_status")]
    pub conflict_status: u16,
    /// Body marker of that answer.
    #[serde(default)]
    pub conflict_body: Option<String>,
    /// Status when a form is posted without the CSRF token.
    #[serde(default = "default_forbidden")]
    pub csrf_failure_status: u16,
    /// Status of a page fetched without valid credentials or session.
    #[serde(default = "default_unauthorized")]
    pub unauthorized_status: u16,
    /// Body of that answer.
    #[serde(default)]
    pub unauthorized_body: String,
    /// Answers of the login call.
    #[serde(default)]
    pub bodies: Option<LoginBodies>,
    /// HTTP status of a wrong-password answer (the body is the profile's `invalid` body): 200 on the phones the
    /// sources show [C S7, S23x]; a variant persona answers 401.
    #[serde(default = "default_invalid_status")]
    pub invalid_status: u16,
    /// Paths a session-login phone also answers to the older `Authorization` cookie (or Basic header) without a
    /// session: the version probe that clients send before they know the firmware (S4).
    #[serde(default)]
    pub cookie_paths: Vec<String>,
}

fn default_invalid_status() -> u16 {
    200
}
fn default_session_lifetime() -> u64 {
    1800
}
fn default_conflict_status() -> u16 {
    406
}
fn default_forbidden() -> u16 {
    403
}
fn default_unauthorized() -> u16 {
    401
}

/// Login-call bodies; `{seconds}` and `{model}` are filled in.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LoginBodies {
    pub success: String,
    pub invalid: String,
    #[serde(default)]
    pub one_attempt_left: Option<String>,
    #[serde(default)]
    pub locked_for: Option<String>,
    #[serde(default)]
    pub locked: Option<String>,
}

/// `httpd.cfg.lockWebUI.*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Lockout {
    pub enabled: bool,
    /// Wrong passwords within the window that lock the UI (3–20).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Window in which wrong passwords count (60–300 s).
    #[serde(default = "default_sixty")]
    pub window_secs: u64,
    /// How long the UI stays locked (60–300 s).
    #[serde(default = "default_sixty")]
    pub lock_secs: u64,
    /// Status while locked, for generations without a lockparams body.
    #[serde(default = "default_forbidden")]
    pub locked_status: u16,
}

fn default_attempts() -> u32 {
    5
}
fn default_sixty() -> u64 {
    60
}

/// Page paths.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Pages {
    pub login: String,
    #[serde(default)]
    pub login_script: Option<String>,
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(default)]
    pub index: Option<String>,
    pub home: String,
    #[serde(default)]
    pub provisioning: Option<String>,
    #[serde(default)]
    pub form_submit: Option<String>,
    #[serde(default)]
    pub change_password: Option<String>,
    #[serde(default)]
    pub reboot: Option<String>,
    #[serde(default)]
    pub logout: Option<String>,
    pub version: String,
    #[serde(default)]
    pub app_log: Option<String>,
}

/// The provisioning-server form.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Provisioning {
    /// Whether the web UI can set the provisioning server at all.
    pub web: bool,
    /// What to do instead when it cannot.
    #[serde(default)]
    pub instead: Option<String>,
    #[serde(default)]
    pub server_type: Option<String>,
    #[serde(default)]
    pub server_name: Option<String>,
    #[serde(default)]
    pub server_user: Option<String>,
    #[serde(default)]
    pub server_password: Option<String>,
    #[serde(default)]
    pub changed_body: Option<String>,
    #[serde(default)]
    pub unchanged_body: Option<String>,
    /// Server type name (`HTTPS`) → option value of the select (`3`).
    #[serde(default)]
    pub server_type_values: BTreeMap<String, String>,
    /// `paramname` of the DHCP boot-server selector: in its DHCP modes an option 160/66 the DHCP server offers
    /// overrides the saved server.
    #[serde(default)]
    pub boot_server: Option<String>,
    /// Its option value for "Static" (use the saved server, ignore DHCP).
    #[serde(default)]
    pub boot_server_static: Option<String>,
    /// User-Agent of the phone's file transfers; `{model}` is the model token, `{firmware}` the version,
    /// `{mac}` the MAC in lowercase.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Model-name prefixes and the token the phone writes for them (`"SoundPoint IP " = "SPIP_"`); other models
    /// write their name with `_` for spaces (`VVX_411`).
    #[serde(default)]
    pub model_tokens: BTreeMap<String, String>,
}

impl Provisioning {
    /// The model as the phone writes it in its User-Agent: `VVX_411`, `SPIP_335`.
    pub fn model_token(&self, model: &str) -> String {
        for (prefix, token) in &self.model_tokens {
            if let Some(rest) = model.strip_prefix(prefix.as_str()) {
                return format!("{token}{}", rest.replace(' ', "_"));
            }
        }
        model.replace(' ', "_")
    }

    /// The model in master-configuration attribute names: `APP_FILE_PATH_VVX411`, `APP_FILE_PATH_SPIP335`.
    pub fn model_key(&self, model: &str) -> String {
        self.model_token(model)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_uppercase()
    }

    /// The User-Agent of this phone's file transfers.
    pub fn user_agent_of(&self, model: &str, firmware: &str, mac: crate::mac::Mac) -> String {
        self.user_agent
            .as_deref()
            .unwrap_or("FileTransport Polycom-{model}-UA/{firmware} Type/Application")
            .replace("{model}", &self.model_token(model))
            .replace("{firmware}", firmware)
            .replace("{mac}", &mac.plain_lower())
    }
}

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

/// REST API availability.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Rest {
    pub available: bool,
    #[serde(default)]
    pub default_enabled: bool,
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(default)]
    pub realm: Option<String>,
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

/// A profile file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("profile {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("profile {path}, line {line}, field `{field}`: {problem}")]
    Invalid {
        path: PathBuf,
        line: usize,
        field: String,
        problem: String,
    },
    #[error("no device profiles in {0} (expected one *.toml per phone family)")]
    Empty(PathBuf),
}

impl Profile {
    /// Parse and check one profile file's text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Profile, ProfileError> {
        let profile: Profile = toml::from_str(text).map_err(|e| ProfileError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        profile.check(path, text)?;
        Ok(profile)
    }

    /// Read and check one profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Profile::parse(path, &text)
    }

    /// The build with this firmware version.
    pub fn build(&self, firmware: &str) -> Option<&Build> {
        self.builds.iter().find(|b| b.firmware == firmware)
    }

    fn check(&self, path: &Path, text: &str) -> Result<(), ProfileError> {
        let bad = |field: &str, problem: String| ProfileError::Invalid {
            path: path.to_path_buf(),
            line: line_of(text, field),
            field: field.to_string(),
            problem,
        };
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if !stem.is_empty() && self.id != stem {
            return Err(bad(
                "id",
                format!(
                    "is {:?} but the file is {stem}.toml; they must match",
                    self.id
                ),
            ));
        }
        for oui in &self.recognise.ouis {
            if oui.len() != 6
                || !oui
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
            {
                return Err(bad(
                    "ouis",
                    format!("{oui:?} is not 6 uppercase hex digits"),
                ));
            }
        }
        if self.recognise.models.is_empty() {
            return Err(bad("models", "names no model".into()));
        }
        if self.builds.is_empty() {
            return Err(bad(
                "build",
                "the profile needs at least one [[build]]".into(),
            ));
        }
        let l = &self.lockout;
        if l.enabled {
            if !(3..=20).contains(&l.attempts) {
                return Err(bad(
                    "attempts",
                    format!("{} is outside the phone's range 3–20", l.attempts),
                ));
            }
            for (field, v) in [("window-secs", l.window_secs), ("lock-secs", l.lock_secs)] {
                if !(60..=300).contains(&v) {
                    return Err(bad(
                        field,
                        format!("{v} is outside the phone's range 60–300 s"),
                    ));
                }
            }
        }
        let needs_bodies = matches!(
            self.login.generation,
            Generation::SessionCsrf | Generation::AuthHtm
        );
        match (&self.login.bodies, needs_bodies) {
            (None, true) => {
                return Err(bad(
                    "bodies",
                    format!("[login.bodies] is required for {}", self.login.generation),
                ));
            }
            (Some(b), true)
                if l.enabled
                    && (b.one_attempt_left.is_none()
                        || b.locked_for.is_none()
                        || b.locked.is_none()) =>
            {
                return Err(bad(
                    "bodies",
                    "a locking phone needs one-attempt-left, locked-for and locked bodies".into(),
                ));
            }
            _ => {}
        }
        if self.login.generation == Generation::SessionCsrf
            && (self.login.session_cookie.is_none() || self.login.csrf_header.is_none())
        {
            return Err(bad(
                "session-cookie",
                "session-csrf needs session-cookie and csrf-header".into(),
            ));
        }
        let p = &self.provisioning;
        if p.web {
            for (field, v) in [
                ("server-type", &p.server_type),
                ("server-name", &p.server_name),
                ("changed-body", &p.changed_body),
                ("unchanged-body", &p.unchanged_body),
            ] {
                if v.is_none() {
                    return Err(bad(
                        field,
                        "is required when provisioning.web = true".into(),
                    ));
                }
            }
            if !p.server_type_values.contains_key("HTTPS") {
                return Err(bad("server-type-values", "has no HTTPS entry".into()));
            }
            if self.pages.provisioning.is_none() || self.pages.form_submit.is_none() {
                return Err(bad(
                    "provisioning",
                    "pages.provisioning and pages.form-submit are required".into(),
                ));
            }
        } else if p.instead.is_none() {
            return Err(bad(
                "instead",
                "say what the technician does instead when web = false".into(),
            ));
        }
        if p.web && self.log.is_none() {
            return Err(bad(
                "log",
                "[log] is required when provisioning.web = true: the agent reads the provisioning outcome from it"
                    .into(),
            ));
        }
        if self.timeline.boot_secs == 0 || self.timeline.timeout_secs <= self.timeline.boot_secs {
            return Err(bad(
                "timeout-secs",
                "must be longer than boot-secs, which must not be 0".into(),
            ));
        }
        Ok(())
    }
}

/// 1-based line of the first `key =` in `text`, or 1 when absent (a missing key is reported at the top).
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
                || l.trim_start_matches('[').starts_with(key)
        })
        .map_or(1, |i| i + 1)
}

/// All profiles of a directory, keyed by id.
#[derive(Debug, Clone)]
pub struct ProfileSet {
    profiles: BTreeMap<String, Profile>,
}

impl ProfileSet {
    /// Load every `*.toml` in `dir`.
    pub fn load_dir(dir: &Path) -> Result<ProfileSet, ProfileError> {
        let entries = std::fs::read_dir(dir).map_err(|source| ProfileError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut profiles = BTreeMap::new();
        for path in paths {
            let p = Profile::load(&path)?;
            profiles.insert(p.id.clone(), p);
        }
        if profiles.is_empty() {
            return Err(ProfileError::Empty(dir.to_path_buf()));
        }
        Ok(ProfileSet { profiles })
    }

    /// The profiles shipped in the crate's `device-profiles/`.
    pub fn bundled() -> Result<ProfileSet, ProfileError> {
        ProfileSet::load_dir(&crate::data_dir().join("device-profiles"))
    }

    pub fn get(&self, id: &str) -> Option<&Profile> {
        self.profiles.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }

    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }
}

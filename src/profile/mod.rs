//! Device profiles: everything that differs between phone families and firmware generations.
//!
//! One TOML file per family in `device-profiles/` becomes a checked [`Profile`]. Code asks the profile (which login
//! generation, which page, which `paramname`, which body means success, how long a reboot takes) and never branches
//! on a model name. A wrong file gives an error naming the file, the line and the field.
//!
//! This module owns the top of the schema, [`Profile`], one field per TOML section; the sections are declared
//! beside what they describe, and every type is re-exported here (`crate::profile::Login`, …):
//! - `login`: the login generation, its answers and the lockout policy (`[login]`, `[login.bodies]`, `[lockout]`);
//! - `web`: the web server and its pages, forms and REST API (`[recognise]`, `[http]`, `[pages]`,
//!   `[provisioning]`, `[change-password]`, `[rest]`);
//! - `lifecycle`: what follows a save (`[timeline]`, `[log]`, `[service]`, `[inactive]`, `[[build]]`);
//! - `load`: reading and checking one file ([`Profile::parse`]), and the directory of them ([`ProfileSet`]).

mod lifecycle;
mod load;
mod login;
mod web;

pub use lifecycle::{Build, Inactive, LogLine, LogLines, Service, Timeline, UpdateTarget};
pub use load::{ProfileError, ProfileSet};
pub use login::{Generation, Lockout, Login, LoginBodies};
pub use web::{
    ChangePassword, DEFAULT_MAX_LOG_BYTES, DEFAULT_MAX_PAGE_BYTES, HttpSettings, Pages,
    Provisioning, Recognise, Rest,
};

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
    /// The field names of the admin password-change form (required where `[pages] change-password` is set).
    #[serde(default)]
    pub change_password: Option<ChangePassword>,
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

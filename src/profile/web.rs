//! The web server's sections: how to recognise the family before logging in (`[recognise]`), how its server
//! answers (`[http]`), where its pages are (`[pages]`), its forms (`[provisioning]` for the provisioning server,
//! `[change-password]` for the admin password) and the REST API (`[rest]`).

use std::collections::BTreeMap;

use serde::Deserialize;

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
    /// The largest answer a page of this phone may be, bytes: far above any real page (the largest recorded is
    /// under 5 kB), far below what would hurt the laptop. A device that answers more is not treated as a phone.
    #[serde(default = "default_page_bytes")]
    pub max_page_bytes: usize,
    /// The largest application log it may send, bytes (the log grows with the phone's uptime).
    #[serde(default = "default_log_bytes")]
    pub max_log_bytes: usize,
}

/// [`HttpSettings::max_page_bytes`] unless a profile says otherwise, and the cap before a phone is recognised.
pub const DEFAULT_MAX_PAGE_BYTES: usize = 1 << 20;
/// [`HttpSettings::max_log_bytes`] unless a profile says otherwise.
pub const DEFAULT_MAX_LOG_BYTES: usize = 4 << 20;

fn default_page_bytes() -> usize {
    DEFAULT_MAX_PAGE_BYTES
}

fn default_log_bytes() -> usize {
    DEFAULT_MAX_LOG_BYTES
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
    /// The page whose CSRF meta a session login reads (required for session-csrf).
    #[serde(default)]
    pub index: Option<String>,
    pub home: String,
    /// The provisioning-server page (required when provisioning.web = true).
    #[serde(default)]
    pub provisioning: Option<String>,
    /// Where its form is posted (required when provisioning.web = true).
    #[serde(default)]
    pub form_submit: Option<String>,
    /// Where the admin password-change form is posted; its field names are `[change-password]`, required with it.
    /// Without it the password is changed on the phone.
    #[serde(default)]
    pub change_password: Option<String>,
    #[serde(default)]
    pub reboot: Option<String>,
    #[serde(default)]
    pub logout: Option<String>,
    pub version: String,
    #[serde(default)]
    pub app_log: Option<String>,
    /// Query parameter the web UI adds to every log fetch, set to the time in ms, so that no cache answers
    /// (`dummyParam`); without it the log is fetched at `app-log` as it stands.
    #[serde(default)]
    pub app_log_cache_buster: Option<String>,
}

/// The admin password-change form (`[pages] change-password`): the names of its fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ChangePassword {
    /// The current admin password.
    pub old_password: String,
    /// The new one.
    pub new_password: String,
    /// The new one again.
    pub confirm_password: String,
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

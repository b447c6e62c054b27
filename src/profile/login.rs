//! The `[login]`, `[login.bodies]` and `[lockout]` sections: which login generation the phone speaks, what its
//! answers mean, and the lockout policy a client must stay inside so it never locks the web UI.

use std::fmt;

use serde::Deserialize;

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
    /// Name of the session cookie (required for session-csrf).
    #[serde(default)]
    pub session_cookie: Option<String>,
    /// Request header carrying the CSRF token (required for session-csrf).
    #[serde(default)]
    pub csrf_header: Option<String>,
    /// Idle lifetime of a web session.
    #[serde(default = "default_session_lifetime")]
    pub session_lifetime_secs: u64,
    /// Status of the answer to a second concurrent login.
    #[serde(default = "default_conflict_status")]
    pub conflict_status: u16,
    /// Body marker of that answer (required for session-csrf).
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

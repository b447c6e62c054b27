//! The simulated web configuration utility: one request in, one reply out, per the phone's login generation.
//! Pure over [`PhoneState`]: no sockets, no waiting; `server.rs` moves the bytes and the lifecycle task the
//! reboots this module asks for.

use std::time::SystemTime;

use base64::Engine;
use bytes::Bytes;
use http::HeaderMap;

use super::live;
use super::lockout::Verdict;
use super::phone::{Phase, PhoneState, Session};
use crate::fixture::page_key;
use crate::profile::Generation;

/// A request as the phone's web server sees it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What the phone answers, and what it does next.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    /// Headers beyond the profile's `Server` and extra headers.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub then: Option<Then>,
}

/// Something the phone does after answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// The provisioning server changed: reboot and go to it.
    Provisioned,
    /// Reboot on request.
    Reboot,
}

impl Reply {
    fn new(status: u16, content_type: &str, body: impl Into<String>) -> Reply {
        let headers = if content_type.is_empty() {
            Vec::new()
        } else {
            vec![("Content-Type".to_string(), content_type.to_string())]
        };
        Reply {
            status,
            headers,
            body: body.into(),
            then: None,
        }
    }

    fn text(body: impl Into<String>) -> Reply {
        Reply::new(200, "text/plain", body)
    }
}

/// Answer one request, with the Content-Type the phone was recorded sending for it.
pub fn handle(p: &mut PhoneState, req: &Request, wall_epoch: SystemTime) -> Reply {
    p.stats.requests += 1;
    let mut reply = answer(p, req, wall_epoch);
    if let Some(ct) = p
        .pages
        .answer_type(&req.method, &req.path_and_query, reply.status)
    {
        reply
            .headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        reply
            .headers
            .insert(0, ("Content-Type".into(), ct.to_string()));
    }
    reply
}

/// Whether the route at `path` reads a request body: the provisioning save, the password change and the REST API.
/// Every other route (the login, pages, reboot) is answered on the request head alone [I]: S9 announces a chunked
/// body with `Expect: 100-continue` on its reboot and, run from a console, never sends it — yet works on real phones.
pub fn reads_body(p: &PhoneState, method: &str, path: &str) -> bool {
    if matches!(method, "GET" | "HEAD") {
        return false;
    }
    let pages = &p.profile.pages;
    path.starts_with("/api/")
        || pages.form_submit.as_deref() == Some(path)
        || pages.change_password.as_deref() == Some(path)
}

fn answer(p: &mut PhoneState, req: &Request, wall_epoch: SystemTime) -> Reply {
    let path = req
        .path_and_query
        .split('?')
        .next()
        .unwrap_or("")
        .to_string();
    if path.starts_with("/api/") {
        return rest(p, req);
    }
    let generation = p.profile.login.generation;
    if generation == Generation::Http401 {
        if !basic_is_right(p, req) {
            return challenge(p);
        }
        return page(p, req, &path, wall_epoch, None);
    }
    if is_public(p, &path) {
        return page(p, req, &path, wall_epoch, None);
    }
    let auth = p.profile.pages.auth.clone();
    if auth.as_deref() == Some(path.as_str()) {
        return match generation {
            Generation::SessionCsrf if req.method == "POST" => login_session(p, req),
            Generation::AuthHtm => login_auth_htm(p, req),
            _ => match cookie_auth(p, req) {
                Ok(()) => Reply::new(200, "text/plain", ""),
                Err(r) => r,
            },
        };
    }
    let csrf = match generation {
        // No session cookie, but the older cookie where this build or path takes it (profile data, S4).
        Generation::SessionCsrf if session_absent(p, req) && cookie_accepted(p, &path) => {
            match cookie_auth(p, req) {
                Ok(()) => None,
                Err(r) => return r,
            }
        }
        Generation::SessionCsrf => match session_auth(p, req) {
            Ok(csrf) => Some(csrf),
            Err(r) => return r,
        },
        _ => match cookie_auth(p, req) {
            Ok(()) => None,
            Err(r) => return r,
        },
    };
    if req.method == "POST" {
        return post(p, req, &path, csrf);
    }
    page(p, req, &path, wall_epoch, csrf.as_deref())
}

/// Pages served without credentials: the login page, its script and assets.
fn is_public(p: &PhoneState, path: &str) -> bool {
    let pages = &p.profile.pages;
    path == "/"
        || path == pages.login
        || pages.login_script.as_deref() == Some(path)
        || ["/css/", "/images/", "/img/"]
            .iter()
            .any(|d| path.starts_with(d))
}

fn page(
    p: &PhoneState,
    req: &Request,
    path: &str,
    wall_epoch: SystemTime,
    csrf: Option<&str>,
) -> Reply {
    let pages = &p.profile.pages;
    if req.method != "GET" && req.method != "HEAD" {
        return not_found(p, false);
    }
    let key = page_key("GET", &req.path_and_query);
    if pages
        .app_log
        .as_deref()
        .is_some_and(|l| page_key("GET", l) == key)
    {
        return Reply::text(live::render_log(p, wall_epoch));
    }
    if path == pages.version && pages.version != pages.home {
        return Reply::text(p.firmware.clone());
    }
    // "/" is the login page where one is recorded, else the home page (SIP 3.x).
    let found = if path == "/" {
        p.pages
            .get("GET", &pages.login)
            .or_else(|| p.pages.get("GET", &pages.home))
    } else {
        p.pages.get("GET", &req.path_and_query)
    };
    let Some(rec) = found else {
        return not_found(p, false);
    };
    let content_type = header_of(&rec.headers, "content-type").unwrap_or("text/html");
    let body = live::render(&rec.body, p, csrf);
    Reply::new(rec.status, content_type, body)
}

fn header_of<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `user:password` from an `Authorization: Basic` header or an `Authorization=Basic …` cookie.
fn credentials(req: &Request) -> Option<(String, String)> {
    let from_header = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let from_cookie = cookie(req, "Authorization").map(|v| v.replace("%20", " "));
    let value = from_header.or(from_cookie)?;
    let b64 = value.strip_prefix("Basic ")?.trim();
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, pw) = text.split_once(':')?;
    Some((u.to_string(), pw.to_string()))
}

fn basic_is_right(p: &PhoneState, req: &Request) -> bool {
    credentials(req).is_some_and(|(u, pw)| u == p.profile.login.admin_user && pw == p.password)
}

/// Value of a request cookie.
fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn fill(template: &str, seconds: u64, model: &str) -> String {
    template
        .replace("{seconds}", &seconds.to_string())
        .replace("{model}", model)
}

/// `POST /form-submit/auth.htm` of session-csrf phones.
fn login_session(p: &mut PhoneState, req: &Request) -> Reply {
    let right = basic_is_right(p, req);
    let now = p.now();
    let verdict = p.lockout.attempt(&p.profile.lockout, now, right);
    let Some(bodies) = p.profile.login.bodies.clone() else {
        return not_found(p, false);
    };
    let body = match verdict {
        Verdict::Success => {
            if p.live_session().is_some() {
                p.stats.session_conflicts += 1;
                let login = &p.profile.login;
                return Reply::new(
                    login.conflict_status,
                    "text/plain",
                    login.conflict_body.clone().unwrap_or_default(),
                );
            }
            p.stats.logins += 1;
            let token = p.token(24);
            let csrf = p.token(32);
            p.session = Some(Session {
                token: token.clone(),
                csrf,
                last_seen: p.clock.now(),
                foreign: false,
            });
            let cookie = p
                .profile
                .login
                .session_cookie
                .clone()
                .unwrap_or_else(|| "session".into());
            let mut r = Reply::text(bodies.success.clone());
            r.headers.push((
                "Set-Cookie".into(),
                format!("{cookie}={token}; Path=/; Secure; HttpOnly"),
            ));
            return r;
        }
        Verdict::Invalid => bodies.invalid.clone(),
        Verdict::OneAttemptLeft => bodies
            .one_attempt_left
            .clone()
            .unwrap_or(bodies.invalid.clone()),
        Verdict::LockedFor(s) => fill(
            bodies.locked_for.as_deref().unwrap_or(&bodies.invalid),
            s,
            &p.model,
        ),
        Verdict::Locked(s) => fill(
            bodies.locked.as_deref().unwrap_or(&bodies.invalid),
            s,
            &p.model,
        ),
    };
    p.stats.failed_logins += 1;
    let mut r = Reply::text(body);
    if matches!(verdict, Verdict::Invalid | Verdict::OneAttemptLeft) {
        r.status = p.profile.login.invalid_status;
    }
    r
}

/// `GET /auth.htm?t=…` of UCS 4 SoundPoints.
fn login_auth_htm(p: &mut PhoneState, req: &Request) -> Reply {
    let right = basic_is_right(p, req);
    let now = p.now();
    let verdict = p.lockout.attempt(&p.profile.lockout, now, right);
    let Some(bodies) = p.profile.login.bodies.clone() else {
        return not_found(p, false);
    };
    if verdict == Verdict::Success {
        p.stats.logins += 1;
        return Reply::text(fill(&bodies.success, 0, &p.model));
    }
    p.stats.failed_logins += 1;
    Reply::text(fill(&bodies.invalid, 0, &p.model))
}

/// Cookie (or Basic header) authentication of every request, with lockout.
fn cookie_auth(p: &mut PhoneState, req: &Request) -> Result<(), Reply> {
    let Some((user, pw)) = credentials(req) else {
        return Err(unauthorized(p));
    };
    let right = user == p.profile.login.admin_user && pw == p.password;
    let now = p.now();
    match p.lockout.attempt(&p.profile.lockout, now, right) {
        Verdict::Success => Ok(()),
        Verdict::Locked(_) => {
            p.stats.failed_logins += 1;
            Err(Reply::new(p.profile.lockout.locked_status, "text/html", ""))
        }
        // The attempt that locks the UI is still answered as a wrong password; the lock shows from the next one.
        Verdict::Invalid | Verdict::OneAttemptLeft | Verdict::LockedFor(_) => {
            p.stats.failed_logins += 1;
            Err(unauthorized(p))
        }
    }
}

/// The request carries no session cookie.
fn session_absent(p: &PhoneState, req: &Request) -> bool {
    let name = p
        .profile
        .login
        .session_cookie
        .as_deref()
        .unwrap_or("session");
    cookie(req, name).is_none()
}

/// This page answers the older `Authorization` cookie on a session-login phone: a path the profile lists, or any
/// path on a build that keeps the cookie path beside the session login.
fn cookie_accepted(p: &PhoneState, path: &str) -> bool {
    p.profile.login.cookie_paths.iter().any(|c| c == path)
        || p.profile
            .build(&p.pages.firmware)
            .is_some_and(|b| b.cookie_auth)
}

/// The session named by the request's cookie; returns its CSRF token.
fn session_auth(p: &mut PhoneState, req: &Request) -> Result<String, Reply> {
    let name = p
        .profile
        .login
        .session_cookie
        .clone()
        .unwrap_or_else(|| "session".into());
    let given = cookie(req, &name);
    let now = p.clock.now();
    match (p.live_session(), given) {
        (Some(s), Some(g)) if !s.foreign && s.token == g => {
            s.last_seen = now;
            Ok(s.csrf.clone())
        }
        _ => Err(unauthorized(p)),
    }
}

fn unauthorized(p: &PhoneState) -> Reply {
    let login = &p.profile.login;
    Reply::new(
        login.unauthorized_status,
        "text/html",
        login.unauthorized_body.clone(),
    )
}

/// A 401 challenge of SIP 3.x phones (`SPIP Configuration`), Basic and Digest offered.
fn challenge(p: &mut PhoneState) -> Reply {
    let realm = p.profile.recognise.realm.clone().unwrap_or_default();
    let nonce: String = p
        .token(12)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let body = p
        .pages
        .status_page(false, 401)
        .map(|r| live::render(&r.body, p, None))
        .unwrap_or_else(|| "<html><head><title>401 Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>".into());
    let mut r = Reply::new(401, "text/html", body);
    r.headers.push((
        "WWW-Authenticate".into(),
        format!("Basic realm=\"{realm}\", Digest realm=\"{realm}\", nonce=\"{nonce}\", algorithm=\"MD5\""),
    ));
    r
}

fn not_found(p: &PhoneState, api: bool) -> Reply {
    match p.pages.status_page(api, 404) {
        Some(r) => Reply::new(
            404,
            header_of(&r.headers, "content-type").unwrap_or("text/html"),
            r.body.clone(),
        ),
        None => Reply::new(
            404,
            "text/html",
            "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The document requested was not found on this server.</p>\n</body></html>\n",
        ),
    }
}

/// Authenticated POSTs: the provisioning form, password change, reboot, logout.
fn post(p: &mut PhoneState, req: &Request, path: &str, csrf: Option<String>) -> Reply {
    let pages = p.profile.pages.clone();
    if pages.logout.as_deref() == Some(path) {
        p.session = None;
        return Reply::text("");
    }
    let csrf_required = p
        .profile
        .build(&p.pages.firmware)
        .is_some_and(|b| b.csrf_meta);
    if let (Some(token), true) = (&csrf, csrf_required) {
        let header = p.profile.login.csrf_header.clone().unwrap_or_default();
        let given = req
            .headers
            .get(header.as_str())
            .and_then(|v| v.to_str().ok());
        if given != Some(token.as_str()) {
            p.stats.csrf_rejections += 1;
            return Reply::new(p.profile.login.csrf_failure_status, "", "");
        }
    }
    if pages.form_submit.as_deref() == Some(path) && p.profile.provisioning.web {
        return submit(p, req);
    }
    if pages.change_password.as_deref() == Some(path) {
        return change_password(p, req);
    }
    if pages.reboot.as_deref() == Some(path) {
        p.stats.web_reboots += 1;
        let mut r = Reply::text("");
        r.then = Some(Then::Reboot);
        return r;
    }
    not_found(p, false)
}

/// `POST /form-submit`: apply the fields whose value differs.
fn submit(p: &mut PhoneState, req: &Request) -> Reply {
    p.stats.saves += 1;
    let prov = p.profile.provisioning.clone();
    let allowed_types: Vec<&String> = prov.server_type_values.values().collect();
    let mut changed = Vec::new();
    for (name, value) in url::form_urlencoded::parse(&req.body) {
        let Some(field) = p.pages.field_by_name(&name).cloned() else {
            continue;
        };
        if prov.server_type.as_deref() == Some(field.paramname.as_str())
            && !allowed_types.iter().any(|t| **t == value)
        {
            continue;
        }
        if p.param(&field.paramname) != value {
            p.config.insert(field.paramname.clone(), value.into_owned());
            changed.push(field.paramname);
        }
    }
    if changed.is_empty() {
        return Reply::text(prov.unchanged_body.unwrap_or_default());
    }
    p.stats.conf_changes += 1;
    let mut r = Reply::text(prov.changed_body.unwrap_or_default());
    if changed.iter().any(|c| c.starts_with("device.prov.")) {
        p.phase = Phase::Saved;
        r.then = Some(Then::Provisioned);
    }
    r
}

/// `POST /form-submit/Settings/ChangePassword`, its fields named by the profile's `[change-password]`.
fn change_password(p: &mut PhoneState, req: &Request) -> Reply {
    let Some(names) = p.profile.change_password.clone() else {
        return not_found(p, false);
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let ok = get(&names.old_password) == Some(p.password.as_str())
        && get(&names.new_password).is_some_and(|n| !n.is_empty())
        && get(&names.new_password) == get(&names.confirm_password);
    let prov = &p.profile.provisioning;
    let (changed, unchanged) = (
        prov.changed_body
            .clone()
            .unwrap_or_else(|| "CONF_CHANGE".into()),
        prov.unchanged_body
            .clone()
            .unwrap_or_else(|| "CONF_NO_CHANGE".into()),
    );
    if ok {
        p.password = get(&names.new_password).unwrap_or_default().to_string();
        p.stats.password_changes += 1;
        p.log("cfg", "Admin password changed");
        Reply::text(changed)
    } else {
        Reply::text(unchanged)
    }
}

/// `/api/…`: 404 while REST is off; Basic challenge; recorded JSON made live.
fn rest(p: &mut PhoneState, req: &Request) -> Reply {
    if !(p.profile.rest.available && p.rest_enabled) {
        return not_found(p, true);
    }
    if !basic_is_right(p, req) {
        let realm = p
            .profile
            .rest
            .realm
            .clone()
            .unwrap_or_else(|| "API Authentication".into());
        let body = p.pages.status_page(true, 401).map(|r| r.body.clone()).unwrap_or_else(|| {
            "<html><head><title>401 Unauthorized</title></head><body>Authorization failed.</body></html>".into()
        });
        let mut r = Reply::new(401, "text/html", body);
        r.headers.push((
            "WWW-Authenticate".into(),
            format!("Basic realm=\"{realm}\""),
        ));
        return r;
    }
    match p.pages.get(&req.method, &req.path_and_query) {
        Some(rec) => Reply::new(
            rec.status,
            "application/json",
            live::render_json(&rec.body, p),
        ),
        None => not_found(p, true),
    }
}

//! Logging in to a phone's web UI, per login generation, without ever locking it out: candidates in order, never
//! more wrong attempts than the lockout policy leaves headroom for, stop at `ONE_ATTEMPT_LEFT`, wait out a lock
//! someone else caused, back off while someone else has the (single) web session, log out at the end.

use base64::Engine;

use super::attempts::Attempts;
use super::client::{ClientError, PhoneClient, Reply};
use super::event::{Event, Sink};
use super::page::{self, LoginAnswer, PageError};
use crate::clock::Clock;
use crate::mac::Mac;
use crate::profile::{Generation, Profile};
use crate::secret::Secret;

/// How the agent proves itself on every request after login. Its `Debug` shows no credential.
#[derive(Clone)]
pub enum Auth {
    /// session-csrf: the session cookie and, where the build has one, the CSRF token.
    Session {
        cookie: String,
        csrf: Option<String>,
        csrf_header: String,
    },
    /// authorization-cookie / auth-htm: `Cookie: Authorization=Basic …` (and the header).
    Cookie { basic: String },
    /// http-401: the Basic header.
    Header { basic: String },
}

impl Auth {
    /// Headers for a request; `post` adds the CSRF token.
    pub fn headers(&self, post: bool) -> Vec<(&str, String)> {
        match self {
            Auth::Session {
                cookie,
                csrf,
                csrf_header,
            } => {
                let mut h = vec![("Cookie", cookie.clone())];
                if let (true, Some(token)) = (post, csrf) {
                    h.push((csrf_header.as_str(), token.clone()));
                }
                h
            }
            Auth::Cookie { basic } => vec![
                ("Cookie", format!("Authorization={basic}")),
                ("Authorization", basic.clone()),
            ],
            Auth::Header { basic } => vec![("Authorization", basic.clone())],
        }
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::Session { .. } => "Auth::Session([secret])",
            Auth::Cookie { .. } => "Auth::Cookie([secret])",
            Auth::Header { .. } => "Auth::Header([secret])",
        })
    }
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Login {
    pub auth: Auth,
    /// Index of the password that worked.
    pub candidate: usize,
    /// The body of the login answer (auth-htm phones name their model in it).
    pub answer: String,
}

/// Why logging in failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoginError {
    #[error("no password to try: give one with --password-file or POLYPROV_PASSWORD")]
    NoPassword,
    #[error(
        "{tried} password(s) refused; stopped {why} so the phone does not lock its web UI. Fix: find the phone's admin password (or reset the phone to factory defaults) and run again"
    )]
    WrongPassword { tried: usize, why: &'static str },
    #[error(
        "polyprov already failed {ours} login(s) on this phone in the last {window} s (an earlier run), so one more could lock its web UI; nothing was tried. Fix: check the password, wait {window} s, then run again"
    )]
    Reserved { ours: usize, window: u64 },
    #[error(
        "the web UI stayed locked (waited {waited} s) after failed logins by someone else. Fix: wait a few minutes, then run again"
    )]
    StillLocked { waited: u64 },
    #[error(
        "someone else kept the web UI open for {waited} s (phones allow one web session). Fix: close the phone's web page in other browsers, then run again"
    )]
    Busy { waited: u64 },
    #[error("this family ({0}) cannot be provisioned from its web UI")]
    Unsupported(String),
    #[error(
        "device profile {profile} has no `{key}`, which its login generation needs. Fix: add it to device-profiles/{profile}.toml"
    )]
    Incomplete { profile: String, key: &'static str },
    #[error(transparent)]
    Page(#[from] PageError),
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// Patience while the phone is locked or busy, in phone seconds.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    pub locked_secs: u64,
    pub busy_secs: u64,
}

impl Default for Patience {
    fn default() -> Self {
        Patience {
            locked_secs: 600,
            busy_secs: 600,
        }
    }
}

/// What a session-csrf login takes from the profile. A profile check requires every one for that generation; an
/// unchecked profile without one is refused, never filled in from code.
struct SessionKeys<'a> {
    /// The session cookie's name.
    cookie: &'a str,
    /// The request header that carries the CSRF token.
    csrf_header: &'a str,
    /// The page whose meta carries the CSRF token.
    index: &'a str,
    /// The body marker of the answer to a second concurrent login.
    conflict_body: &'a str,
}

impl<'a> SessionKeys<'a> {
    fn of(profile: &'a Profile) -> Result<Self, LoginError> {
        let given = |value: &'a Option<String>, key| {
            value.as_deref().ok_or_else(|| LoginError::Incomplete {
                profile: profile.id.clone(),
                key,
            })
        };
        let login = &profile.login;
        Ok(SessionKeys {
            cookie: given(&login.session_cookie, "login.session-cookie")?,
            csrf_header: given(&login.csrf_header, "login.csrf-header")?,
            index: given(&profile.pages.index, "pages.index")?,
            conflict_body: given(&login.conflict_body, "login.conflict-body")?,
        })
    }
}

fn basic(user: &str, password: &Secret) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", password.expose()))
    )
}

/// What one attempt showed.
enum Attempt {
    Ok(Login),
    Wrong,
    OneLeft,
    /// This attempt locked the UI (the password was wrong).
    LockedNow,
    Locked(u64),
    Busy,
    /// The answer was cut off, but its headers showed the login worked; that session was ended. Worth trying again.
    Cut(ClientError),
}

/// Log in with the first candidate that works.
pub async fn login(
    client: &PhoneClient,
    profile: &Profile,
    candidates: &[Secret],
    clock: &Clock,
    patience: Patience,
    memory: Option<(&Attempts, Mac)>,
    events: Sink<'_>,
) -> Result<Login, LoginError> {
    if profile.login.generation == Generation::Http401 && !profile.provisioning.web {
        return Err(LoginError::Unsupported(profile.family.clone()));
    }
    if candidates.is_empty() {
        return Err(LoginError::NoPassword);
    }
    let lock = &profile.lockout;
    let tells_remaining = profile
        .login
        .bodies
        .as_ref()
        .is_some_and(|b| b.one_attempt_left.is_some());
    // Wrong attempts we allow ourselves: never the one that locks, and one more spare where the phone cannot
    // tell us how many are left (someone may have failed shortly before us).
    let max_wrong = if !lock.enabled {
        usize::MAX
    } else if tells_remaining {
        lock.attempts.saturating_sub(1) as usize
    } else {
        lock.attempts.saturating_sub(2) as usize
    };
    // Our own failures of an earlier run still count on the phone within its window (wall seconds here).
    let window_wall = lock.window_secs as f64 / clock.scale();
    let ours = match memory {
        Some((m, mac)) if lock.enabled => m.recent(mac, window_wall),
        _ => 0,
    };
    let max_wrong = max_wrong.saturating_sub(ours);
    if max_wrong == 0 {
        return Err(LoginError::Reserved {
            ours,
            window: lock.window_secs,
        });
    }
    let failed = || {
        if let Some((m, mac)) = memory {
            m.failed(mac);
        }
    };
    let (mut wrong, mut attempt, mut waited_lock, mut waited_busy) = (0usize, 0u32, 0u64, 0u64);
    // Logins that worked but whose answers were cut off (their sessions ended): tried again, a few times.
    let mut cut = 0u32;
    let mut backoff = 5u64;
    for (i, pw) in candidates.iter().enumerate() {
        if wrong >= max_wrong {
            return Err(LoginError::WrongPassword {
                tried: wrong,
                why: "before the last attempt the lockout policy allows",
            });
        }
        loop {
            attempt += 1;
            events(Event::LoggingIn {
                attempt,
                candidate: i,
            });
            match try_once(client, profile, pw).await? {
                Attempt::Ok(mut l) => {
                    l.candidate = i;
                    if let Some((m, mac)) = memory {
                        m.succeeded(mac);
                    }
                    events(Event::LoggedIn);
                    return Ok(l);
                }
                Attempt::Wrong => {
                    wrong += 1;
                    failed();
                    events(Event::WrongPassword { candidate: i });
                    break;
                }
                Attempt::OneLeft => {
                    failed();
                    events(Event::WrongPassword { candidate: i });
                    return Err(LoginError::WrongPassword {
                        tried: wrong + 1,
                        why: "when the phone said one attempt is left",
                    });
                }
                Attempt::LockedNow => {
                    failed();
                    return Err(LoginError::WrongPassword {
                        tried: wrong + 1,
                        why: "because that attempt locked the web UI (earlier failures by someone else)",
                    });
                }
                Attempt::Locked(secs) => {
                    // The phone's own number, but never longer than its longest possible lock (300 s).
                    let secs = if secs == 0 {
                        lock.lock_secs
                    } else {
                        secs.min(lock.lock_secs.max(300))
                    };
                    if waited_lock.saturating_add(secs) > patience.locked_secs {
                        return Err(LoginError::StillLocked {
                            waited: waited_lock,
                        });
                    }
                    events(Event::Locked { seconds: secs });
                    clock.sleep(secs as f64 + 1.0).await;
                    waited_lock += secs + 1;
                }
                Attempt::Cut(e) => {
                    // The password is right (the phone opened a session): trying again costs no wrong attempt.
                    cut += 1;
                    if cut >= 3 {
                        return Err(e.into());
                    }
                }
                Attempt::Busy => {
                    if waited_busy.saturating_add(backoff) > patience.busy_secs {
                        return Err(LoginError::Busy {
                            waited: waited_busy,
                        });
                    }
                    events(Event::Busy {
                        retry_in_secs: backoff,
                    });
                    clock.sleep(backoff as f64).await;
                    waited_busy += backoff;
                    backoff = (backoff * 2).min(60);
                }
            }
        }
    }
    Err(LoginError::WrongPassword {
        tried: wrong,
        why: "after trying every password given",
    })
}

async fn try_once(
    client: &PhoneClient,
    profile: &Profile,
    pw: &Secret,
) -> Result<Attempt, LoginError> {
    let login = &profile.login;
    let pages = &profile.pages;
    let b = basic(&login.admin_user, pw);
    let auth_path = pages.auth.clone().unwrap_or_else(|| pages.home.clone());
    let xhr = ("X-Requested-With", "XMLHttpRequest".to_string());
    match login.generation {
        Generation::SessionCsrf => {
            let keys = SessionKeys::of(profile)?;
            let name = keys.cookie;
            let r = match client
                .send(
                    "POST",
                    &auth_path,
                    &[("Authorization", b.clone()), xhr],
                    Some(String::new()),
                )
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    // The answer was lost mid-body, but its headers opened a session: end it, or it holds the
                    // phone's single web session against our own next login (flaky CCX firmware drops answers).
                    let cut = client.take_cut_cookies();
                    if let Some(cookie) = cookie_named(cut.iter().map(String::as_str), name) {
                        end_session(client, profile, &keys, cookie).await;
                        return Ok(Attempt::Cut(e));
                    }
                    return Err(e.into());
                }
            };
            if is_conflict(profile, &keys, &r) {
                return Ok(Attempt::Busy);
            }
            let answer = page::parse_lockparams(&r.body)?;
            Ok(match answer {
                LoginAnswer::Success => {
                    let cookie = session_cookie(&r, name).ok_or_else(|| PageError {
                        what: "login answer",
                        problem: format!("SUCCESS without a {name} cookie"),
                        excerpt: r.body.clone(),
                    })?;
                    let page = match client
                        .get_retrying(keys.index, &[("Cookie", cookie.clone())], 3)
                        .await
                    {
                        Ok(p) => p,
                        Err(e) => {
                            // Logged in but the page with the token never came: do not leave the session open.
                            end_session(client, profile, &keys, cookie).await;
                            return Err(e.into());
                        }
                    };
                    Attempt::Ok(Login {
                        auth: Auth::Session {
                            cookie,
                            csrf: page::off_runtime(page.body, page::csrf_token).await,
                            csrf_header: keys.csrf_header.to_string(),
                        },
                        candidate: 0,
                        answer: r.body,
                    })
                }
                LoginAnswer::Invalid => Attempt::Wrong,
                LoginAnswer::OneAttemptLeft => Attempt::OneLeft,
                LoginAnswer::LockedFor(_) => Attempt::LockedNow,
                LoginAnswer::Locked(s) => Attempt::Locked(s),
            })
        }
        Generation::AuthHtm => {
            let t = httpdate::fmt_http_date(std::time::SystemTime::now());
            let q: String = url::form_urlencoded::byte_serialize(t.as_bytes()).collect();
            let r = client
                .send(
                    "GET",
                    &format!("{auth_path}?t={q}"),
                    &[("Authorization", b.clone()), xhr],
                    None,
                )
                .await?;
            let invalid = login
                .bodies
                .as_ref()
                .map(|x| x.invalid.clone())
                .unwrap_or_default();
            Ok(
                if r.status == 200
                    && !r.body.is_empty()
                    && (invalid.is_empty() || !r.body.contains(&invalid))
                {
                    Attempt::Ok(Login {
                        auth: Auth::Cookie { basic: b },
                        candidate: 0,
                        answer: r.body,
                    })
                } else if r.status == profile.lockout.locked_status && profile.lockout.enabled {
                    Attempt::Locked(0)
                } else {
                    Attempt::Wrong
                },
            )
        }
        Generation::AuthorizationCookie | Generation::Http401 => {
            let auth = if login.generation == Generation::Http401 {
                Auth::Header { basic: b }
            } else {
                Auth::Cookie { basic: b }
            };
            let r = client
                .send("GET", &auth_path, &auth.headers(false), None)
                .await?;
            Ok(match r.status {
                200 => Attempt::Ok(Login {
                    auth,
                    candidate: 0,
                    answer: r.body,
                }),
                s if s == profile.lockout.locked_status && profile.lockout.enabled => {
                    Attempt::Locked(0)
                }
                _ => Attempt::Wrong,
            })
        }
    }
}

fn is_conflict(profile: &Profile, keys: &SessionKeys<'_>, r: &Reply) -> bool {
    (r.status == profile.login.conflict_status || matches!(r.status, 400 | 406 | 412))
        && r.body.contains(keys.conflict_body)
}

/// `name=value` of the session cookie in a login answer.
fn session_cookie(r: &Reply, name: &str) -> Option<String> {
    cookie_named(
        r.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()),
        name,
    )
}

/// `name=value` of the `Set-Cookie` values that sets `name`.
fn cookie_named<'a>(set_cookies: impl Iterator<Item = &'a str>, name: &str) -> Option<String> {
    set_cookies
        .filter_map(|v| v.split(';').next())
        .find(|kv| kv.trim_start().starts_with(&format!("{name}=")))
        .map(|kv| kv.trim().to_string())
}

/// End a session we hold only the cookie of (best effort): read the token its pages carry, then log out.
async fn end_session(
    client: &PhoneClient,
    profile: &Profile,
    keys: &SessionKeys<'_>,
    cookie: String,
) {
    let csrf = match client
        .send("GET", keys.index, &[("Cookie", cookie.clone())], None)
        .await
    {
        Ok(p) => page::off_runtime(p.body, page::csrf_token).await,
        Err(_) => None,
    };
    let auth = Auth::Session {
        cookie,
        csrf,
        csrf_header: keys.csrf_header.to_string(),
    };
    let _ = logout(client, profile, &auth).await;
}

/// End the web session (session phones), so the next person or run is not locked out of the single session.
pub async fn logout(
    client: &PhoneClient,
    profile: &Profile,
    auth: &Auth,
) -> Result<(), ClientError> {
    if let (Auth::Session { .. }, Some(path)) = (auth, profile.pages.logout.as_deref()) {
        client
            .send("POST", path, &auth.headers(true), Some(String::new()))
            .await?;
    }
    Ok(())
}

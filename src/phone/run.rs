//! One phone end to end: recognise it, log in, preflight, optionally change a factory admin password, read →
//! plan → save the provisioning server, then follow it to Inactive. Every outcome — including every failure —
//! ends in a [`Report`], so nothing already done is lost.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use super::client::{ClientError, PhoneClient};
use super::event::{Event, Sink};
use super::locate::{self, Search};
use super::monitor::{Expect, Failure, Monitor, Observation, Verdict};
use super::page;
use super::probe;
use super::provisioning::{self, Current, Saved, Wanted};
use super::session::{self, Auth, Login, LoginError, Patience};
use super::tls::Trust;
use crate::clock::Clock;
use crate::mac::Mac;
use crate::profile::{Profile, ProfileSet};
use crate::secret::Secret;

/// Everything needed to onboard one phone.
#[derive(Debug, Clone)]
pub struct Job {
    /// `https://HOST[:PORT]/` (or `http://` for phones served over plain HTTP).
    pub base: url::Url,
    pub wanted: Wanted,
    /// Admin passwords to try, in order.
    pub passwords: Vec<Secret>,
    /// Also try the profile's factory passwords (after the given ones).
    pub allow_factory: bool,
    /// Replace a factory admin password with this one before provisioning.
    pub new_password: Option<Secret>,
    /// Log in, read and show the plan; change nothing.
    pub dry_run: bool,
    /// The phone's MAC when known (discovery, neighbour table): the certificate must name it.
    pub expected_mac: Option<Mac>,
    /// A range the user named, to look for the phone by MAC if it comes back elsewhere.
    pub search_range: Option<IpNet>,
    /// Addresses probed per second while looking for it (politeness on the customer's LAN).
    pub search_rate: u32,
    /// Where live discovery last heard each MAC (`onboard --interface`).
    pub heard: Option<super::locate::Heard>,
    /// Phone time, scaled when the phones are simulated.
    pub clock: Clock,
    pub timing: Timing,
    pub patience: Patience,
    /// Turns true when the user interrupts: stop before a save, or stop watching after one.
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// A phone an interrupted run already saved: only watch it (never save twice).
    pub resume: Option<Resume>,
    /// Only phones passing this filter are logged into.
    pub allow: Allow,
}

/// Which phones may be touched (an empty list allows all).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Allow {
    pub macs: Vec<Mac>,
    /// OUIs (6 uppercase hex digits).
    pub ouis: Vec<String>,
    pub models: Vec<String>,
}

impl Allow {
    /// Why a phone with this MAC may not be touched, if it may not.
    pub fn refuse_mac(&self, mac: Option<Mac>) -> Option<String> {
        let Some(mac) = mac else {
            return (!self.macs.is_empty())
                .then(|| "its MAC could not be read and a MAC allow-list is set".to_string());
        };
        if !self.macs.is_empty() && !self.macs.contains(&mac) {
            return Some(format!("MAC {mac} is not on the allow-list"));
        }
        if !self.ouis.is_empty() && !self.ouis.contains(&mac.oui()) {
            return Some(format!(
                "MAC {mac} has an OUI ({}) outside the allowed ones",
                mac.oui()
            ));
        }
        None
    }

    /// Why a phone of this model may not be touched, if it may not.
    pub fn refuse_model(&self, model: Option<&str>) -> Option<String> {
        if self.models.is_empty() {
            return None;
        }
        match model {
            Some(m) if self.models.iter().any(|a| a.eq_ignore_ascii_case(m)) => None,
            Some(m) => Some(format!("model {m} is not among the allowed models")),
            None => Some("its model could not be read and a model allow-list is set".into()),
        }
    }
}

/// What the journal knew of an already-saved phone.
#[derive(Debug, Clone)]
pub struct Resume {
    pub profile: String,
    pub mac: Option<Mac>,
    pub firmware_before: Option<String>,
}

impl Job {
    fn stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| *s.borrow())
    }
}

/// Overrides of the profile's timeline, phone seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    pub return_secs: Option<f64>,
    pub settle_secs: Option<f64>,
    pub timeout_secs: Option<f64>,
    pub poll_secs: Option<f64>,
}

/// How it ended.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Outcome {
    /// Provisioned, settled, waiting for activation.
    Inactive,
    /// Already pointed at the wanted server: nothing written.
    AlreadyProvisioned,
    /// Dry run: the changes that would be made.
    DryRun { changes: Vec<String> },
    /// A person must act (wrong password, locked, busy, unsupported family, foreign certificate …).
    NeedsAttention { reason: String },
    /// This family cannot be provisioned from the web; what to do instead.
    Unsupported { reason: String },
    /// The user interrupted the run; `saved` says whether the phone already took the change.
    Interrupted { saved: bool },
    /// Something went wrong on the way.
    Failed { reason: String },
    /// Left alone: outside the allow-list.
    Skipped { reason: String },
}

impl Outcome {
    /// 0 success, 3 needs attention, 1 failed, 130 interrupted.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Inactive
            | Outcome::AlreadyProvisioned
            | Outcome::DryRun { .. }
            | Outcome::Skipped { .. } => 0,
            Outcome::NeedsAttention { .. } | Outcome::Unsupported { .. } => 3,
            Outcome::Failed { .. } => 1,
            Outcome::Interrupted { .. } => 130,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Inactive => "Inactive",
            Outcome::AlreadyProvisioned => "already provisioned",
            Outcome::DryRun { .. } => "dry run",
            Outcome::NeedsAttention { .. } => "needs attention",
            Outcome::Unsupported { .. } => "unsupported",
            Outcome::Failed { .. } => "failed",
            Outcome::Interrupted { .. } => "interrupted",
            Outcome::Skipped { .. } => "skipped",
        }
    }
}

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
    /// Phone seconds from start to end.
    pub elapsed_secs: f64,
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

    fn new(target: &url::Url) -> Report {
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
            elapsed_secs: 0.0,
            outcome: Outcome::Failed {
                reason: "not started".into(),
            },
        }
    }
}

/// Onboard one phone; always returns a report.
pub async fn provision(job: &Job, profiles: &ProfileSet, events: Sink<'_>) -> Report {
    let mut report = Report::new(&job.base);
    let start = job.clock.now();
    report.outcome = match run(job, profiles, events, &mut report).await {
        Ok(o) => o,
        Err(o) => o,
    };
    report.elapsed_secs = job.clock.since(start);
    // The flag is about the firmware the phone ends with (an update may have lifted it over the minimum).
    let min = report
        .profile
        .as_deref()
        .and_then(|p| profiles.get(p))
        .and_then(|p| p.service.min_firmware.clone());
    if let (Some(min), Some(fw)) = (
        min,
        report
            .firmware_after
            .as_deref()
            .or(report.firmware_before.as_deref()),
    ) {
        report.below_min_firmware = version_lt(fw, &min);
    }
    report
}

fn attention(reason: impl ToString) -> Outcome {
    Outcome::NeedsAttention {
        reason: reason.to_string(),
    }
}

fn failed(reason: impl ToString) -> Outcome {
    Outcome::Failed {
        reason: reason.to_string(),
    }
}

fn client_outcome(e: ClientError) -> Outcome {
    match e {
        ClientError::Certificate { .. } => attention(format!(
            "{e}. Fix: make sure the address is the phone's (compare the MAC on its label)"
        )),
        ClientError::Tls { .. } => attention(e),
        _ => failed(e),
    }
}

fn login_outcome(e: LoginError) -> Outcome {
    match e {
        LoginError::Client(c) => client_outcome(c),
        LoginError::Page(p) => failed(p),
        other => attention(other),
    }
}

async fn run(
    job: &Job,
    profiles: &ProfileSet,
    events: Sink<'_>,
    report: &mut Report,
) -> Result<Outcome, Outcome> {
    if job.stopped() {
        return Ok(Outcome::Interrupted {
            saved: job.resume.is_some(),
        });
    }
    if let Some(resume) = &job.resume {
        return watch_resumed(job, profiles, resume, report, events).await;
    }
    events(Event::Probing {
        target: job.base.to_string(),
    });
    let mut client = PhoneClient::new(
        job.base.clone(),
        Trust::PolyPhone(job.expected_mac),
        CLIENT_TIMEOUT,
    )
    .map_err(client_outcome)?;
    let recognised = probe::recognise(&client, profiles).await;
    if let Some(cert) = client.certificate() {
        report.certificate_sha256 = Some(cert.sha256.clone());
        report.mac = cert.mac().or(job.expected_mac);
        events(Event::Certificate {
            subject: format!("CN={}, O={}", cert.common_name, cert.organization),
            sha256: cert.sha256,
        });
    }
    // From here on only the phone whose MAC the certificate named is trusted (another Poly phone taking this
    // address after a reboot must not be mistaken for it).
    if let (Some(mac), None) = (report.mac, job.expected_mac) {
        client = client.pinned_to(mac).map_err(client_outcome)?;
    }
    if let Some(why) = job
        .allow
        .refuse_mac(report.mac)
        .filter(|_| report.mac.is_some())
    {
        return Ok(Outcome::Skipped { reason: why });
    }
    let (profile, _signals) = recognised.map_err(|e| match e {
        probe::ProbeError::Client(c) => client_outcome(c),
        other => attention(other),
    })?;
    report.profile = Some(profile.id.clone());
    report.family = Some(profile.family.clone());
    events(Event::Recognised {
        profile: profile.id.clone(),
        family: profile.family.clone(),
        generation: profile.login.generation.to_string(),
    });
    if !profile.provisioning.web {
        return Ok(Outcome::Unsupported {
            reason: format!(
                "{} cannot set the provisioning server from its web UI; nothing was changed. Instead: {}",
                profile.family,
                profile.provisioning.instead.clone().unwrap_or_default()
            ),
        });
    }
    let mut candidates = job.passwords.clone();
    if job.allow_factory {
        for f in &profile.login.factory_passwords {
            let s = Secret::new(f.clone());
            if !candidates.contains(&s) {
                candidates.push(s);
            }
        }
    }
    let login = session::login(
        &client,
        &profile,
        &candidates,
        &job.clock,
        job.patience,
        events,
    )
    .await
    .map_err(login_outcome)?;
    let password = candidates[login.candidate].clone();
    let mut session = LoggedIn {
        auth: login.auth.clone(),
        password,
    };
    // Everything after the login ends with a logout, whatever happens, so the phone's single web session is
    // never left taken by us.
    let result = configure(job, &client, &profile, &login, &mut session, report, events).await;
    logout(&client, &profile, &session.auth, events).await;
    let boots_before = match result {
        Ok(b) => b,
        Err(
            o @ (Outcome::AlreadyProvisioned | Outcome::DryRun { .. } | Outcome::Skipped { .. }),
        ) => return Ok(o),
        Err(o) => return Err(o),
    };
    let outcome = follow(
        job,
        profiles,
        &profile,
        &mut client,
        &session.password,
        boots_before,
        report,
        events,
    )
    .await;
    report.address = client.base().host_str().unwrap_or("").to_string();
    outcome
}

/// While watching, the phone's pages are read at least every this many polls.
const LOOK_EVERY: u32 = 6;

/// How long one request to a phone may take.
const CLIENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// The logged-in state: credentials for requests and the password that works now.
struct LoggedIn {
    auth: Auth,
    password: Secret,
}

/// Identify, preflight, change a factory password, then read → plan → save. `Ok(Some(boots))`: saved, watch it
/// (with the log's boot count before the save); `Err`: the final outcome (including the successful ones that need
/// no watching: already provisioned, dry run, skipped).
async fn configure(
    job: &Job,
    client: &PhoneClient,
    profile: &Profile,
    login: &Login,
    session: &mut LoggedIn,
    report: &mut Report,
    events: Sink<'_>,
) -> Result<Option<usize>, Outcome> {
    identify(client, profile, &session.auth, login, report, events).await;
    preflight(profile, report, events);
    if let Some(why) = job
        .allow
        .refuse_mac(report.mac)
        .or_else(|| job.allow.refuse_model(report.model.as_deref()))
    {
        return Err(Outcome::Skipped { reason: why });
    }
    if profile
        .login
        .factory_passwords
        .iter()
        .any(|f| f == session.password.expose())
        && job.new_password.is_none()
    {
        warn(
            report,
            events,
            "the phone is still on its factory admin password; give --new-password-file to replace it",
        );
    }
    if let Some(new) = &job.new_password {
        if profile
            .login
            .factory_passwords
            .iter()
            .any(|f| f == session.password.expose())
        {
            if job.dry_run {
                events(Event::Plan {
                    changes: vec!["Admin password: factory default → (new)".into()],
                });
            } else {
                change_password(client, profile, &session.auth, &session.password, new).await?;
                report.password_changed = true;
                events(Event::PasswordChanged);
                // The old credentials are dead: log in again with the new password.
                logout(client, profile, &session.auth, events).await;
                let relogin = session::login(
                    client,
                    profile,
                    std::slice::from_ref(new),
                    &job.clock,
                    job.patience,
                    events,
                )
                .await
                .map_err(login_outcome)?;
                session.auth = relogin.auth;
                session.password = new.clone();
            }
        } else {
            warn(
                report,
                events,
                "the admin password was not changed: the phone is not on its factory password",
            );
        }
    }
    let auth = &session.auth;
    let fields = provisioning::read(client, profile, auth)
        .await
        .map_err(failed)?;
    let firmware = report.firmware_before.clone().unwrap_or_default();
    let plan = provisioning::plan(profile, &firmware, &fields, &job.wanted).map_err(failed)?;
    report.server_before = Some(plan.current.clone());
    if plan.changes.is_empty() {
        events(Event::AlreadyProvisioned);
        report.server_after = Some(plan.current.clone());
        return Err(Outcome::AlreadyProvisioned);
    }
    events(Event::Plan {
        changes: plan.describe(),
    });
    if job.dry_run {
        return Err(Outcome::DryRun {
            changes: plan.describe(),
        });
    }
    if job.stopped() {
        return Err(Outcome::Interrupted { saved: false });
    }
    let boots_before = read_boots(client, profile, auth).await;
    events(Event::Saving);
    let saved = provisioning::save(client, profile, auth, &plan)
        .await
        .map_err(failed)?;
    match saved {
        Saved::Unchanged if plan.visible_unchanged() => {
            events(Event::AlreadyProvisioned);
            report.server_after = Some(plan.current.clone());
            return Err(Outcome::AlreadyProvisioned);
        }
        Saved::Unchanged => {
            return Err(failed(format!(
                "the phone answered {} to the save: it did not take the change",
                profile
                    .provisioning
                    .unchanged_body
                    .clone()
                    .unwrap_or_default()
            )));
        }
        Saved::Changed => events(Event::Saved {
            answer: profile
                .provisioning
                .changed_body
                .clone()
                .unwrap_or_default(),
        }),
        Saved::AnswerLost => warn(
            report,
            events,
            "the connection dropped during the save; checking whether the phone took it",
        ),
    }
    // Verify while the phone is still up (it reboots a few seconds after the save).
    if let Ok(fields) = provisioning::read(client, profile, auth).await {
        let now = provisioning::current(profile, &fields);
        if super::monitor::same_server(&now.url, &job.wanted.url) {
            events(Event::Verified);
        } else if saved == Saved::AnswerLost {
            return Err(failed(
                "the save did not reach the phone (connection dropped and the page still shows the old server); run again",
            ));
        }
    }
    Ok(boots_before)
}

async fn identify(
    client: &PhoneClient,
    profile: &Profile,
    auth: &Auth,
    login: &Login,
    report: &mut Report,
    events: Sink<'_>,
) {
    let home = client
        .get_retrying(&profile.pages.home, &auth.headers(false), 3)
        .await
        .ok();
    let info = home
        .as_ref()
        .map(|r| page::parse_home(&r.body))
        .unwrap_or_default();
    let title_model = home.as_ref().and_then(|r| page::model_from_title(&r.body));
    let answer_model = profile
        .recognise
        .models
        .iter()
        .find(|m| login.answer.contains(m.as_str()))
        .cloned();
    report.model = info.model.or(title_model).or(answer_model);
    report.firmware_before = match info.firmware {
        Some(f) => Some(f),
        None => read_version(client, profile, auth).await,
    };
    report.firmware_after = report.firmware_before.clone();
    if report.mac.is_none() {
        report.mac = info.mac;
    }
    events(Event::Identified {
        mac: report.mac,
        model: report.model.clone(),
        firmware: report.firmware_before.clone(),
    });
}

fn warn(report: &mut Report, events: Sink<'_>, message: &str) {
    report.warnings.push(message.to_string());
    events(Event::Warning {
        message: message.to_string(),
    });
}

/// Preflight checks from the profile: minimum firmware, MAC-only activation, foreign OUI.
fn preflight(profile: &Profile, report: &mut Report, events: Sink<'_>) {
    if let (Some(min), Some(fw)) = (&profile.service.min_firmware, &report.firmware_before) {
        if version_lt(fw, min) {
            report.below_min_firmware = true;
            let m = format!(
                "firmware {fw} is below the service's minimum {min}: the line stays unregistered unless the provisioning server updates it"
            );
            warn(report, events, &m);
        }
    }
    if let Some(model) = &report.model {
        if profile
            .service
            .mac_activation_only
            .iter()
            .any(|m| m == model)
        {
            let m = format!(
                "{model} can only be activated by MAC in the admin console (not by activation code)"
            );
            warn(report, events, &m);
        }
    }
    if let Some(mac) = report.mac {
        if !profile.recognise.ouis.contains(&mac.oui()) {
            let m = format!("MAC {mac} has no Poly OUI known to profile {}", profile.id);
            warn(report, events, &m);
        }
    }
}

/// Dotted numeric version comparison (`5.9.4.3247` < `6.4.5.1210`); non-numeric parts compare as 0.
pub fn version_lt(a: &str, b: &str) -> bool {
    let parse = |s: &str| -> Vec<u64> {
        s.split('.')
            .map(|p| p.trim().parse().unwrap_or(0))
            .collect()
    };
    parse(a) < parse(b)
}

async fn change_password(
    client: &PhoneClient,
    profile: &Profile,
    auth: &Auth,
    old: &Secret,
    new: &Secret,
) -> Result<(), Outcome> {
    let Some(path) = profile.pages.change_password.as_deref() else {
        return Err(attention(
            "this family has no web page to change the admin password; change it on the phone",
        ));
    };
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("oldadminpswd", old.expose())
        .append_pair("newadminpswd", new.expose())
        .append_pair("cnfmadminpswd", new.expose())
        .finish();
    let r = client
        .send("POST", path, &auth.headers(true), Some(body))
        .await
        .map_err(client_outcome)?;
    let changed = profile
        .provisioning
        .changed_body
        .clone()
        .unwrap_or_default();
    if r.status == 200 && r.body.trim() == changed {
        Ok(())
    } else {
        Err(attention(format!(
            "the phone refused the new admin password (HTTP {}, {:?}); it may not meet the phone's password rules",
            r.status,
            r.body.chars().take(40).collect::<String>()
        )))
    }
}

async fn logout(client: &PhoneClient, profile: &Profile, auth: &Auth, events: Sink<'_>) {
    if session::logout(client, profile, auth).await.is_ok() && matches!(auth, Auth::Session { .. })
    {
        events(Event::LoggedOut);
    }
}

async fn read_version(client: &PhoneClient, profile: &Profile, auth: &Auth) -> Option<String> {
    let r = client
        .send("GET", &profile.pages.version, &auth.headers(false), None)
        .await
        .ok()?;
    (r.status == 200 && !r.body.trim().is_empty() && !r.body.contains('<'))
        .then(|| r.body.trim().to_string())
}

async fn read_boots(client: &PhoneClient, profile: &Profile, auth: &Auth) -> Option<usize> {
    let path = profile.pages.app_log.as_deref()?;
    let sep = if path.contains('?') { '&' } else { '?' };
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let r = client
        .send(
            "GET",
            &format!("{path}{sep}dummyParam={ms}"),
            &auth.headers(false),
            None,
        )
        .await
        .ok()?;
    (r.status == 200).then(|| page::log_boots(&r.body))
}

/// Watch the phone from the save to Inactive (or a named failure).
#[allow(clippy::too_many_arguments)]
async fn follow(
    job: &Job,
    profiles: &ProfileSet,
    profile: &Profile,
    client: &mut PhoneClient,
    password: &Secret,
    boots_before: Option<usize>,
    report: &mut Report,
    events: Sink<'_>,
) -> Result<Outcome, Outcome> {
    let mut profile = profile.clone();
    let t = profile.timeline.clone();
    let expect = Expect {
        boot_secs: t.boot_secs as f64,
        return_secs: job.timing.return_secs.unwrap_or(t.boot_secs as f64 * 3.0),
        update_reboots: t.update_reboots,
        settle_secs: job.timing.settle_secs.unwrap_or(t.settle_secs as f64),
        timeout_secs: job.timing.timeout_secs.unwrap_or(t.timeout_secs as f64),
    };
    let poll = job
        .timing
        .poll_secs
        .unwrap_or((t.boot_secs as f64 / 30.0).clamp(1.0, 5.0));
    let mut monitor = Monitor::new(
        expect,
        &job.wanted.url,
        boots_before,
        report.firmware_before.clone(),
    );
    if job.resume.is_some() {
        monitor = monitor.resumed();
    }
    let start = job.clock.now();
    let mut auth: Option<Auth> = None;
    let mut last_search: Option<f64> = None;
    let mut blind_told = false;
    // After a refused password (the provisioning config may change it) no more logins: each would count
    // toward the lockout. The phone is then watched by reachability alone.
    let mut logins_allowed = true;
    let mut looks_skipped = 0u32;
    let passwords = vec![password.clone()];
    loop {
        job.clock.sleep(poll).await;
        if job.stopped() {
            if let Some(a) = auth.take() {
                logout(client, &profile, &a, events).await;
            }
            return Ok(Outcome::Interrupted { saved: true });
        }
        let at = job.clock.since(start);
        let up = match client.alive(&profile.pages.login).await {
            Some(up) => up,
            // Inconclusive (resets, slow answers): look again, unless time is up.
            None if at <= expect.timeout_secs => continue,
            None => false,
        };
        let mut obs = Observation {
            at,
            up,
            ..Observation::default()
        };
        if up {
            let mut busy = false;
            let fresh = auth.is_none();
            if auth.is_none() && logins_allowed {
                // A firmware update may bring another login generation: recognise the phone again.
                if let Ok((now, _)) = probe::recognise(client, profiles).await {
                    if now.id != profile.id {
                        events(Event::Recognised {
                            profile: now.id.clone(),
                            family: now.family.clone(),
                            generation: now.login.generation.to_string(),
                        });
                        report.profile = Some(now.id.clone());
                        profile = now;
                    }
                }
                let quiet: Sink<'_> = &|_| {};
                // Never wait for a busy web session while watching: look again at the next poll instead.
                let patience = Patience {
                    busy_secs: 0,
                    ..job.patience
                };
                match session::login(client, &profile, &passwords, &job.clock, patience, quiet)
                    .await
                {
                    Ok(l) => auth = Some(l.auth),
                    Err(LoginError::Busy { .. }) => busy = true,
                    Err(LoginError::Client(_)) => {}
                    Err(e) => {
                        logins_allowed = false;
                        warn(
                            report,
                            events,
                            &format!(
                                "stopped logging in while watching ({e}); following the phone by reachability only"
                            ),
                        );
                    }
                }
            }
            if auth.is_none() && (busy || !logins_allowed) {
                obs.blind = true;
                if !blind_told {
                    blind_told = true;
                    warn(
                        report,
                        events,
                        "the phone's pages could not be read (its single web session is held by another client, or the login was refused): settling is judged by reachability, and the provisioning server is not re-checked",
                    );
                }
            }
            // Reachability is checked every poll; the pages (version, log) only after a fresh login, every few
            // polls, and near the end of the settle window: a light touch on the phone and on the LAN.
            looks_skipped += 1;
            let look = fresh || looks_skipped >= LOOK_EVERY || monitor.wants_server(at);
            if let (Some(a), true) = (&auth, look) {
                looks_skipped = 0;
                obs.firmware = read_version(client, &profile, a).await;
                obs.boots = read_boots(client, &profile, a).await;
                let mut lost = obs.firmware.is_none() && obs.boots.is_none();
                if monitor.wants_server(at) && !lost {
                    match provisioning::read(client, &profile, a).await {
                        Ok(fields) => {
                            obs.server = Some(provisioning::current(&profile, &fields).url)
                        }
                        Err(_) => lost = true,
                    }
                }
                if lost {
                    // The session expired or the phone went down mid-look: end it (if it still exists) and log in
                    // again next time, so our own stale session never blocks us.
                    if let Some(a) = auth.take() {
                        let _ = session::logout(client, &profile, &a).await;
                    }
                }
            }
        } else {
            auth = None;
            let down_for = monitor.down_since().map_or(0.0, |s| at - s);
            // Once a boot should be over, look for the phone elsewhere on every poll (each look is rate-limited
            // and bounded by what is left of the return window).
            let due = last_search.is_none_or(|l| at > l);
            if down_for > expect.boot_secs && due {
                last_search = Some(at);
                let left = (expect.return_secs - down_for).max(0.0);
                if let Some(ip) = relocate(job, client, report, job.clock.wall(left)).await {
                    let from = client.base().host_str().unwrap_or("").to_string();
                    *client = client.moved_to(ip);
                    events(Event::Moved {
                        from,
                        to: ip.to_string(),
                    });
                    continue;
                }
            }
        }
        let (evs, verdict) = monitor.observe(&obs);
        for e in evs {
            events(e);
        }
        report.reboots = monitor.reboots;
        report.firmware_after = monitor
            .firmware()
            .map(str::to_string)
            .or(report.firmware_after.clone());
        match verdict {
            Verdict::Watching => {}
            Verdict::Inactive => {
                if let Some(a) = &auth {
                    if let Ok(fields) = provisioning::read(client, &profile, a).await {
                        report.server_after = Some(provisioning::current(&profile, &fields));
                    }
                    logout(client, &profile, a, events).await;
                }
                return Ok(Outcome::Inactive);
            }
            Verdict::Failed(f) => {
                if let Some(a) = &auth {
                    logout(client, &profile, a, events).await;
                }
                return Err(match f {
                    Failure::Reverted { .. } => attention(f),
                    _ => failed(f),
                });
            }
        }
    }
}

/// Watch a phone an interrupted run already saved, from wherever it is now.
async fn watch_resumed(
    job: &Job,
    profiles: &ProfileSet,
    resume: &Resume,
    report: &mut Report,
    events: Sink<'_>,
) -> Result<Outcome, Outcome> {
    let profile = profiles
        .get(&resume.profile)
        .ok_or_else(|| {
            failed(format!(
                "the journal names profile {:?}, which is not installed",
                resume.profile
            ))
        })?
        .clone();
    let timeout = std::time::Duration::from_secs(15);
    let mac = resume.mac.or(job.expected_mac);
    let mut client = PhoneClient::new(job.base.clone(), Trust::PolyPhone(mac), timeout)
        .map_err(client_outcome)?;
    report.mac = mac;
    report.profile = Some(profile.id.clone());
    report.family = Some(profile.family.clone());
    report.firmware_before = resume.firmware_before.clone();
    report.firmware_after = resume.firmware_before.clone();
    let password = job
        .passwords
        .first()
        .cloned()
        .ok_or_else(|| attention(LoginError::NoPassword))?;
    let outcome = follow(
        job,
        profiles,
        &profile,
        &mut client,
        &password,
        None,
        report,
        events,
    )
    .await;
    report.address = client.base().host_str().unwrap_or("").to_string();
    outcome
}

async fn relocate(
    job: &Job,
    client: &PhoneClient,
    report: &Report,
    budget: std::time::Duration,
) -> Option<IpAddr> {
    let mac = report.mac.or(job.expected_mac)?;
    let base = client.base();
    let skip: IpAddr = base.host_str()?.trim_matches(['[', ']']).parse().ok()?;
    let search = Search {
        mac,
        port: base.port_or_known_default()?,
        https: base.scheme() == "https",
        range: job.search_range,
        rate: job.search_rate,
        heard: job.heard.clone(),
    };
    tokio::time::timeout(budget, locate::find(&search, skip))
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Firmware versions compare numerically, part by part.
    #[test]
    fn versions() {
        assert!(version_lt("5.6.3.1155", "5.9.4.3247"));
        assert!(version_lt("4.0.8.1608", "4.0.15.1047"));
        assert!(!version_lt("6.4.5.1210", "5.9.4.3247"));
        assert!(!version_lt("5.9.4.3247", "5.9.4.3247"));
    }
}

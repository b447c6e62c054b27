//! One phone end to end: recognise it, log in, preflight, optionally change a factory admin password, read →
//! plan → save the provisioning server, then follow it to Inactive. Every outcome — including every failure —
//! ends in a [`Report`], so nothing already done is lost.

use super::client::{ClientError, PhoneClient};
use super::event::{Event, Sink};
pub use super::job::{Allow, Claims, Job, Resume, Timing};
pub use super::outcome::{Outcome, Report};
use super::page;
use super::probe;
use super::provisioning::{self, Saved};
use super::session::{self, Auth, Login, LoginError};
use super::tls::Trust;
use crate::profile::{Profile, ProfileSet};
use crate::secret::Secret;

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

pub(super) fn attention(message: impl std::fmt::Display) -> Outcome {
    Outcome::needs_attention(message)
}

pub(super) fn failed(message: impl std::fmt::Display) -> Outcome {
    Outcome::failed(message)
}

pub(super) fn client_outcome(e: ClientError) -> Outcome {
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
        return Ok(super::follow::watch_resumed(job, profiles, resume, report, events).await);
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
    if let (Some(mac), Some(claims)) = (report.mac, &job.claims)
        && let Some(first) = claims.claim(mac, job.base.as_str())
    {
        return Ok(Outcome::skipped(format!(
            "the same phone (MAC {mac}) as {first}, where this run works on it: it is listed under two addresses"
        )));
    }
    if let Some(why) = job
        .allow
        .refuse_mac(report.mac)
        .filter(|_| report.mac.is_some())
    {
        return Ok(Outcome::skipped(why));
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
                "{} cannot set the provisioning server from its web UI; nothing was changed",
                profile.family
            ),
            fix: profile.provisioning.instead.clone(),
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
        job.memory(report.mac),
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
    let outcome = super::follow::follow(
        job,
        profiles,
        &profile,
        &mut client,
        &session.password,
        boots_before,
        report,
        events,
        super::follow::Until::Inactive,
    )
    .await;
    report.address = client.base().host_str().unwrap_or("").to_string();
    Ok(outcome)
}

/// Nothing to write: the phone's own evidence says whether it is really provisioned.
async fn already(
    job: &Job,
    client: &PhoneClient,
    profile: &Profile,
    session: &LoggedIn,
    report: &mut Report,
    events: Sink<'_>,
) -> Outcome {
    super::follow::standing(
        client,
        profile,
        &session.auth,
        &session.password,
        &job.wanted.url,
        report,
        events,
    )
    .await
}

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
        return Err(Outcome::skipped(why));
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
                    job.memory(report.mac),
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
        report.server_after = Some(plan.current.clone());
        return Err(already(job, client, profile, session, report, events).await);
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
    let boots_before = super::follow::read_log(client, profile, auth)
        .await
        .map(|b| b.boots);
    events(Event::Saving {
        boots: boots_before,
    });
    let saved = provisioning::save(client, profile, auth, &plan)
        .await
        .map_err(failed)?;
    match saved {
        Saved::Unchanged if plan.visible_unchanged() => {
            report.server_after = Some(plan.current.clone());
            return Err(already(job, client, profile, session, report, events).await);
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
        None => super::follow::read_version(client, profile, auth).await,
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

pub(super) fn warn(report: &mut Report, events: Sink<'_>, message: &str) {
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
    let (Some(path), Some(form)) = (
        profile.pages.change_password.as_deref(),
        profile.change_password.as_ref(),
    ) else {
        return Err(attention(
            "this family has no web page to change the admin password; change it on the phone",
        ));
    };
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(&form.old_password, old.expose())
        .append_pair(&form.new_password, new.expose())
        .append_pair(&form.confirm_password, new.expose())
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

pub(super) async fn logout(client: &PhoneClient, profile: &Profile, auth: &Auth, events: Sink<'_>) {
    if session::logout(client, profile, auth).await.is_ok() && matches!(auth, Auth::Session { .. })
    {
        events(Event::LoggedOut);
    }
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

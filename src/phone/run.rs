//! One phone end to end: recognise it, log in, preflight, optionally change a factory admin password, read →
//! plan → save the provisioning server, then follow it to Inactive. Every outcome — including every failure —
//! ends in a [`Report`], so nothing already done is lost.

use std::ops::ControlFlow::{self, Break, Continue};

use super::client::{ClientError, PhoneClient};
use super::event::{Event, Sink};
pub use super::job::{Allow, Claims, Job, Resume, Timing};
use super::known::Seen;
pub use super::outcome::{Outcome, Report};
use super::probe;
use super::session::{self, Auth, LoginError};
use super::tls::Trust;
use crate::profile::{Profile, ProfileSet};
use crate::secret::Secret;

/// Onboard one phone; always returns a report.
pub async fn provision(job: &Job, profiles: &ProfileSet, events: Sink<'_>) -> Report {
    let mut report = Report::new(&job.base);
    let start = job.clock.now();
    let started_at = crate::clock::unix_now();
    // Ended early or followed to the end, either way it is the phone's outcome.
    let (Break(outcome) | Continue(outcome)) = run(job, profiles, events, &mut report).await;
    report.outcome = outcome;
    report.elapsed_secs = job.clock.since(start);
    // A resumed phone keeps the start of the run that began it.
    report.started_at = report.started_at.or(Some(started_at));
    report.finished_at = Some(crate::clock::unix_now());
    // A phone whose web UI never named its MAC (SIP 3.x, a failed login): this machine's neighbour table may.
    if report.mac.is_none()
        && let Some(mac) = report
            .address
            .trim_matches(['[', ']'])
            .parse()
            .ok()
            .and_then(super::locate::neighbour_mac_of)
    {
        report.mac = Some(mac);
        report.warnings.push(format!(
            "MAC {mac} from this machine's neighbour table (ARP)"
        ));
    }
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
        // The warning given at login no longer holds: say so where it was given (and the live display marks it).
        if !report.below_min_firmware {
            let fw = fw.to_string();
            for w in report.warnings.iter_mut() {
                if w.contains(super::configure::BELOW_MINIMUM) && !w.contains(RESOLVED) {
                    let how = format!("the phone now runs {fw}");
                    events(Event::Resolved {
                        warning: w.clone(),
                        how: how.clone(),
                    });
                    *w = format!("{w} ({RESOLVED}: {how})");
                }
            }
        }
    }
    report
}

/// How a warning the run later resolved is marked in the report.
const RESOLVED: &str = "resolved";

/// One step of a phone's onboarding: go on with `T`, or the onboarding ends here with this outcome — a failure, or
/// a success that needs no watching (already provisioned, dry run, skipped).
pub(super) type Step<T> = ControlFlow<Outcome, T>;

/// Ends the onboarding with the outcome `f` makes of a call's error (use with `?`).
pub(super) trait OrEnd<T, E> {
    fn or_end(self, f: impl FnOnce(E) -> Outcome) -> Step<T>;
}

impl<T, E> OrEnd<T, E> for Result<T, E> {
    fn or_end(self, f: impl FnOnce(E) -> Outcome) -> Step<T> {
        match self {
            Ok(v) => Continue(v),
            Err(e) => Break(f(e)),
        }
    }
}

pub(super) fn attention(message: impl std::fmt::Display) -> Outcome {
    Outcome::needs_attention(message)
}

pub(super) fn failed(message: impl std::fmt::Display) -> Outcome {
    Outcome::failed(message)
}

pub(super) fn client_outcome(e: ClientError) -> Outcome {
    match e {
        ClientError::Certificate { ref reason, .. } if reason.contains(" Fix: ") => attention(e),
        ClientError::Certificate { .. } => attention(format!(
            "{e}. Fix: make sure the address is the phone's (compare the MAC on its label)"
        )),
        ClientError::CertificateChanged { ref changed, .. } => {
            let fix = changed.fix();
            attention(format!("{e}. Fix: {fix}"))
        }
        ClientError::Tls { .. }
        | ClientError::TooLarge { .. }
        | ClientError::TooComplex { .. }
        | ClientError::HeadersTooLarge { .. } => attention(e),
        _ => failed(e),
    }
}

pub(super) fn login_outcome(e: LoginError) -> Outcome {
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
) -> Step<Outcome> {
    if job.stopped() {
        return Break(Outcome::Interrupted {
            saved: job.resume.is_some(),
        });
    }
    if let Some(resume) = &job.resume {
        return Continue(super::resume::watch_resumed(job, profiles, resume, report, events).await);
    }
    // A phone known by its MAC before any contact (discovery, a targets file with MACs) that may not be touched is
    // never contacted at all.
    if let Some(why) = job
        .expected_mac
        .and_then(|mac| job.allow.refuse_mac(Some(mac)))
    {
        report.mac = report.mac.or(job.expected_mac);
        return Break(Outcome::skipped(why));
    }
    events(Event::Probing {
        target: job.base.to_string(),
    });
    let mut client = PhoneClient::remembering(
        job.base.clone(),
        Trust::PolyPhone(job.expected_mac),
        job.known.clone(),
        CLIENT_TIMEOUT,
    )
    .map(|c| c.paced(job.port.clone()))
    .or_end(client_outcome)?;
    let recognised = probe::recognise(&client, profiles).await;
    if let Some(cert) = client.certificate() {
        report.certificate_sha256 = Some(cert.sha256.clone());
        report.mac = cert.mac().or(job.expected_mac);
        events(Event::Certificate {
            subject: format!("CN={}, O={}", cert.common_name, cert.organization),
            sha256: cert.sha256,
            known: client.remembered().map(|s| s == Seen::Known),
        });
    }
    // From here on only the phone whose MAC the certificate named is trusted (another Poly phone taking this
    // address after a reboot must not be mistaken for it).
    if let (Some(mac), None) = (report.mac, job.expected_mac) {
        client = client.pinned_to(mac).or_end(client_outcome)?;
    }
    if let (Some(mac), Some(claims)) = (report.mac, &job.claims)
        && let Some(first) = claims.claim(mac, job.base.as_str())
    {
        return Break(Outcome::skipped(format!(
            "the same phone (MAC {mac}) as {first}, where this run works on it: it is listed under two addresses"
        )));
    }
    if let Some(why) = job
        .allow
        .refuse_mac(report.mac)
        .filter(|_| report.mac.is_some())
    {
        return Break(Outcome::skipped(why));
    }
    let (profile, _signals) = recognised.or_end(|e| match e {
        probe::ProbeError::Client(c) => client_outcome(c),
        other => attention(other),
    })?;
    // From here on answers are held to this family's caps.
    client = client.with_max_body(profile.http.max_page_bytes);
    report.profile = Some(profile.id.clone());
    report.family = Some(profile.family.clone());
    events(Event::Recognised {
        profile: profile.id.clone(),
        family: profile.family.clone(),
        generation: profile.login.generation.to_string(),
    });
    if !profile.provisioning.web {
        return Break(Outcome::Unsupported {
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
    let login = log_in(job, &client, &profile, &candidates, report, events).await?;
    let password = candidates[login.candidate].clone();
    let mut session = LoggedIn {
        client: &client,
        profile: &profile,
        auth: login.auth.clone(),
        password,
    };
    // Everything after the login ends with a logout, whatever happens, so the phone's single web session is
    // never left taken by us.
    let configured = super::configure::configure(job, &mut session, &login, report, events).await;
    logout(&client, &profile, &session.auth, events).await;
    let password = session.password;
    let boots_before = configured?;
    let outcome = super::follow::follow(
        job,
        profiles,
        &profile,
        &mut client,
        &password,
        boots_before,
        report,
        events,
        super::follow::Until::Inactive,
    )
    .await;
    report.address = client.base().host_str().unwrap_or("").to_string();
    Continue(outcome)
}

/// How long one request to a phone may take.
const CLIENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Log in with the job's clock and patience, remembering our failures under the phone's MAC; a login that fails
/// ends the onboarding with its outcome.
pub(super) async fn log_in(
    job: &Job,
    client: &PhoneClient,
    profile: &Profile,
    candidates: &[Secret],
    report: &Report,
    events: Sink<'_>,
) -> Step<session::Login> {
    session::login(
        client,
        profile,
        candidates,
        &job.clock,
        job.patience,
        job.memory(report.mac),
        events,
    )
    .await
    .or_end(login_outcome)
}

/// A phone we are logged into: its client and profile, the credentials for requests, and the password that works
/// now (it changes when a factory password is replaced).
pub(super) struct LoggedIn<'a> {
    pub(super) client: &'a PhoneClient,
    pub(super) profile: &'a Profile,
    pub(super) auth: Auth,
    pub(super) password: Secret,
}

pub(super) fn warn(report: &mut Report, events: Sink<'_>, message: &str) {
    report.warnings.push(message.to_string());
    events(Event::Warning {
        message: message.to_string(),
    });
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

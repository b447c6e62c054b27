//! The steps between the login and the watch, on one logged-in phone: identify it (model, firmware, MAC),
//! preflight it against its profile (minimum firmware, MAC-only activation, foreign OUI), apply the allow-list,
//! replace a factory admin password (`password`), then read → plan → save the provisioning server and verify it
//! while the phone is still up. A phone that needs no change is judged on its own evidence (`already`).

use std::ops::ControlFlow::{Break, Continue};

use super::client::PhoneClient;
use super::event::{Event, Sink};
use super::outcome::{Outcome, Report};
use super::page;
use super::provisioning::{self, Saved};
use super::run::{Job, LoggedIn, OrEnd, Step, failed, version_lt, warn};
use super::session::{Auth, Login};
use crate::profile::Profile;

/// Identify, preflight, change a factory password, then read → plan → save. Goes on with the log's boot count
/// before the save (to watch the phone from it), or ends with the outcome — including the successful ones that need
/// no watching: already provisioned, dry run, skipped.
pub(super) async fn configure(
    job: &Job,
    session: &mut LoggedIn<'_>,
    login: &Login,
    report: &mut Report,
    events: Sink<'_>,
) -> Step<Option<usize>> {
    let (client, profile) = (session.client, session.profile);
    identify(client, profile, &session.auth, login, report, events).await;
    preflight(profile, report, events);
    if let Some(why) = job
        .allow
        .refuse_mac(report.mac)
        .or_else(|| job.allow.refuse_model(report.model.as_deref()))
    {
        return Break(Outcome::skipped(why));
    }
    super::password::replace_factory_password(job, session, report, events).await?;
    let auth = &session.auth;
    let fields = provisioning::read(client, profile, auth)
        .await
        .or_end(failed)?;
    let firmware = report.firmware_before.clone().unwrap_or_default();
    let plan = provisioning::plan(profile, &firmware, &fields, &job.wanted).or_end(failed)?;
    report.server_before = Some(plan.current.clone());
    if plan.changes.is_empty() {
        report.server_after = Some(plan.current.clone());
        return Break(already(job, session, report, events).await);
    }
    // A phone pointed at another server is in service somewhere: it is repointed only when the user says so —
    // unless that server is one polyprov itself set on this phone earlier.
    let current = &plan.current.url;
    let ours = report
        .mac
        .and_then(|m| job.known.as_ref()?.server_set(m))
        .filter(|(url, _)| super::monitor::same_server(url, current));
    if let Some((_, at)) = &ours {
        let when =
            httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(*at));
        warn(
            report,
            events,
            &format!(
                "its provisioning server {} was set by polyprov ({when}): repointing it to {}",
                crate::text::for_terminal(current),
                job.wanted.url
            ),
        );
    }
    if ours.is_none()
        && !current.is_empty()
        && !super::monitor::same_server(current, &job.wanted.url)
    {
        let what = format!(
            "in service: its provisioning server is already {} {}, which this run did not set",
            plan.current.server_type,
            crate::text::for_terminal(current)
        );
        let fix = format!(
            "if it should move to {}, run again with --force",
            job.wanted.url
        );
        if !job.force && !job.dry_run {
            return Break(Outcome::Skipped {
                reason: what,
                fix: Some(fix),
            });
        }
        if !job.force {
            warn(
                report,
                events,
                &format!("{what}: a run leaves it alone ({fix})"),
            );
        }
    }
    events(Event::Plan {
        changes: plan.describe(),
    });
    if job.dry_run {
        return Break(Outcome::DryRun {
            changes: plan.describe(),
        });
    }
    if job.stopped() {
        return Break(Outcome::Interrupted { saved: false });
    }
    let boots_before = super::follow::read_log(client, profile, auth)
        .await
        .map(|b| b.boots);
    events(Event::Saving {
        boots: boots_before,
    });
    let saved = provisioning::save(client, profile, auth, &plan)
        .await
        .or_end(failed)?;
    // What polyprov set on this phone, remembered so a later run knows the server was not someone else's.
    let remember = |report: &Report| {
        if let (Some(known), Some(mac)) = (&job.known, report.mac) {
            known.remember_server(mac, &job.wanted.url);
        }
    };
    match saved {
        Saved::Unchanged if plan.visible_unchanged() => {
            report.server_after = Some(plan.current.clone());
            return Break(already(job, session, report, events).await);
        }
        Saved::Unchanged => {
            return Break(failed(format!(
                "the phone answered {} to the save: it did not take the change",
                profile
                    .provisioning
                    .unchanged_body
                    .clone()
                    .unwrap_or_default()
            )));
        }
        Saved::Changed => {
            remember(report);
            events(Event::Saved {
                answer: profile
                    .provisioning
                    .changed_body
                    .clone()
                    .unwrap_or_default(),
            })
        }
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
            if saved == Saved::AnswerLost {
                remember(report);
            }
            events(Event::Verified);
        } else if saved == Saved::AnswerLost {
            return Break(failed(
                "the save did not reach the phone (connection dropped and the page still shows the old server); run again",
            ));
        }
    }
    Continue(boots_before)
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
    let (info, title_model) = match home {
        Some(r) => {
            page::off_runtime(r.body, |b| (page::parse_home(b), page::model_from_title(b))).await
        }
        None => Default::default(),
    };
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

/// Nothing to write: the phone's own evidence says whether it is really provisioned.
pub(super) async fn already(
    job: &Job,
    session: &LoggedIn<'_>,
    report: &mut Report,
    events: Sink<'_>,
) -> Outcome {
    super::follow::standing(
        session.client,
        session.profile,
        &session.auth,
        &session.password,
        &job.wanted.url,
        report,
        events,
    )
    .await
}

/// The words of the below-minimum firmware warning (a firmware update can resolve it).
pub(super) const BELOW_MINIMUM: &str = "is below the service's minimum";

/// Preflight checks from the profile: minimum firmware, MAC-only activation, foreign OUI.
pub(super) fn preflight(profile: &Profile, report: &mut Report, events: Sink<'_>) {
    if let (Some(min), Some(fw)) = (&profile.service.min_firmware, &report.firmware_before) {
        if version_lt(fw, min) {
            report.below_min_firmware = true;
            let m = format!(
                "firmware {fw} {BELOW_MINIMUM} {min}: the line stays unregistered unless the provisioning server updates it"
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

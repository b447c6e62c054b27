//! Continuing a phone an interrupted run already saved: from what the journal knew of it (its report so far, the
//! boot count at the save, where it moved), recognised again if the journal does not name its family, then
//! watched by `follow` like any saved phone — never saved twice.

use std::net::IpAddr;

use super::client::PhoneClient;
use super::event::Sink;
use super::follow::{Until, follow};
use super::outcome::{LOOK_AT_THE_PHONE, Outcome, Report};
use super::run::{Job, Resume, attention, client_outcome, failed};
use super::session::LoginError;
use super::tls::Trust;
use crate::profile::ProfileSet;

/// Watch a phone an interrupted run already saved, from wherever it is now.
pub(super) async fn watch_resumed(
    job: &Job,
    profiles: &ProfileSet,
    resume: &Resume,
    report: &mut Report,
    events: Sink<'_>,
) -> Outcome {
    let timeout = std::time::Duration::from_secs(15);
    let target = report.target.clone();
    *report = resume.so_far.clone();
    report.target = target;
    let mac = report.mac.or(job.expected_mac);
    let client = PhoneClient::remembering(
        job.base.clone(),
        Trust::PolyPhone(mac),
        job.known.clone(),
        timeout,
    )
    .map(|c| c.paced(job.port.clone()));
    let mut client = match client {
        Ok(c) => c,
        Err(e) => return client_outcome(e),
    };
    // It moved after a reboot before the interruption: look for it where it was last found.
    if let Ok(ip) = report.address.trim_matches(['[', ']']).parse::<IpAddr>()
        && Some(report.address.as_str()) != job.base.host_str()
    {
        client = client.moved_to(ip);
    }
    let profile = match resume.profile.as_deref() {
        Some(id) => match profiles.get(id) {
            Some(p) => p.clone(),
            None => {
                return failed(format!(
                    "the journal names profile {id:?}, which is not installed. Fix: run the polyprov version that \
                     started the run, or `polyprov provision` this phone"
                ));
            }
        },
        None => match recognise_again(job, profiles, &client).await {
            Some(p) => p,
            None => {
                return Outcome::unconfirmed(
                    "the journal shows the phone was saved but not which family it is, and it was not recognised \
                     again while it could still be rebooting",
                    LOOK_AT_THE_PHONE,
                );
            }
        },
    };
    let mut client = client.with_max_body(profile.http.max_page_bytes);
    report.mac = mac;
    report.profile = Some(profile.id.clone());
    report.family = Some(profile.family.clone());
    let Some(password) = job.passwords.first().cloned() else {
        return attention(LoginError::NoPassword);
    };
    let outcome = follow(
        job,
        profiles,
        &profile,
        &mut client,
        &password,
        resume.boots_before_save,
        report,
        events,
        Until::Inactive,
    )
    .await;
    report.address = client.base().host_str().unwrap_or("").to_string();
    outcome
}

/// Recognise a saved phone the journal did not name the family of, for as long as any family's reboot could last
/// (three boot times of the slowest): it may be rebooting right now.
async fn recognise_again(
    job: &Job,
    profiles: &ProfileSet,
    client: &PhoneClient,
) -> Option<crate::profile::Profile> {
    let window = profiles
        .iter()
        .map(|p| p.timeline.boot_secs as f64 * 3.0)
        .fold(0.0, f64::max);
    let start = job.clock.now();
    loop {
        if let Ok((p, _)) = super::probe::recognise(client, profiles).await {
            return Some(p);
        }
        if job.stopped() || job.clock.since(start) > window {
            return None;
        }
        tokio::time::sleep(job.clock.wall(5.0)).await;
    }
}

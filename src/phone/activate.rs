//! Past Inactive: once the admin has entered the phones' MACs in the admin console, each phone must reboot to
//! fetch its activated configuration — 8x8's last step of activation by MAC is "Reboot the phone", and "if the
//! device does not reboot itself … power cycle the device" (`seed-8x8-activate-desk-phones.txt`). This reboots
//! the phone through its web UI (the profile's reboot call) instead of someone walking to every desk, then follows
//! it until its line registers (**Active**) or a named failure (`still-inactive`: the MAC is probably not saved on
//! the user's profile).

use std::time::Duration;

use super::client::{ClientError, PhoneClient};
use super::event::{Event, Sink};
use super::follow::{self, Until};
use super::outcome::{Outcome, Report};
use super::run::{Job, attention, client_outcome, failed, logout};
use super::session::{self, LoginError};
use super::tls::Trust;
use crate::profile::ProfileSet;

/// Reboot one Inactive phone and follow it to Active; returns its report with the new outcome (the earlier
/// report's identity and history kept).
pub async fn activate(
    job: &Job,
    profiles: &ProfileSet,
    before: &Report,
    events: Sink<'_>,
) -> Report {
    let mut report = before.clone();
    report.warnings.clear();
    report.evidence.clear();
    let start = job.clock.now();
    let reboots_before = report.reboots;
    report.reboots = 0;
    report.outcome = run(job, profiles, &mut report, events).await;
    report.reboots += reboots_before;
    report.elapsed_secs += job.clock.since(start);
    report
}

async fn run(job: &Job, profiles: &ProfileSet, report: &mut Report, events: Sink<'_>) -> Outcome {
    let Some(profile) = report
        .profile
        .as_deref()
        .and_then(|p| profiles.get(p))
        .cloned()
    else {
        return failed("the phone's device profile is not known: it was never recognised");
    };
    let Some(reboot) = profile.pages.reboot.clone() else {
        return attention(format!(
            "{} has no web call to reboot it. Fix: power-cycle the phone for one full minute",
            profile.family
        ));
    };
    // The phone may have moved during onboarding: talk to it where it was last seen, trusting only its MAC.
    let mut base = job.base.clone();
    if let Ok(ip) = report.address.parse::<std::net::IpAddr>() {
        let _ = base.set_ip_host(ip);
    }
    let mac = report.mac.or(job.expected_mac);
    let client = PhoneClient::remembering(
        base,
        Trust::PolyPhone(mac),
        job.known.clone(),
        Duration::from_secs(15),
    )
    .map(|c| c.paced(job.port.clone()));
    let mut client = match client {
        Ok(c) => c,
        Err(e) => return client_outcome(e),
    };
    if let Err(outcome) = wait_while_rebooting(&client, &profile, job, report, events).await {
        return outcome;
    }
    let login = match session::login(
        &client,
        &profile,
        &job.passwords,
        &job.clock,
        job.patience,
        job.memory(mac),
        events,
    )
    .await
    {
        Ok(l) => l,
        Err(LoginError::Client(c)) => return client_outcome(c),
        Err(e) => return attention(e),
    };
    let password = job.passwords[login.candidate].clone();
    let boots = follow::read_log(&client, &profile, &login.auth)
        .await
        .map(|b| b.boots);
    events(Event::RebootRequested);
    let answer = client
        .send(
            "POST",
            &reboot,
            &login.auth.headers(true),
            Some(String::new()),
        )
        .await;
    match answer {
        Ok(r) if r.status == 200 => {}
        // The phone may drop the connection as it goes down.
        Err(ClientError::Reset { .. } | ClientError::Timeout { .. }) => {}
        Ok(r) => {
            logout(&client, &profile, &login.auth, events).await;
            return failed(format!(
                "the phone refused the reboot ({reboot} answered HTTP {}). Fix: power-cycle it for one full minute",
                r.status
            ));
        }
        Err(e) => return client_outcome(e),
    }
    // Our session ends with the reboot; a logout is sent in case the phone is slow to go down.
    logout(&client, &profile, &login.auth, events).await;
    let outcome = follow::follow(
        job,
        profiles,
        &profile,
        &mut client,
        &password,
        boots,
        report,
        events,
        Until::Active,
    )
    .await;
    report.address = client.base().host_str().unwrap_or("").to_string();
    outcome
}

/// Seconds of phone time between two looks at a phone that is down.
const LOOK_EVERY_SECS: f64 = 10.0;

/// A phone that is down when activation starts is usually rebooting on its own — the admin console tells some
/// phones to fetch their activated configuration at once — so it is waited for, as long as two reboots of its
/// family take and a minute more, rather than failed at the first refused connection. The reboot is counted.
async fn wait_while_rebooting(
    client: &PhoneClient,
    profile: &crate::profile::Profile,
    job: &Job,
    report: &mut Report,
    events: Sink<'_>,
) -> Result<(), Outcome> {
    if client.alive("/").await != Some(false) {
        return Ok(());
    }
    let t = &profile.timeline;
    let limit = 2.0 * (t.shutdown_delay_secs + t.boot_secs) as f64 + 60.0;
    report.reboots += 1;
    events(Event::Rebooting {
        reboot: report.reboots,
    });
    let start = job.clock.now();
    loop {
        job.clock.sleep(LOOK_EVERY_SECS).await;
        match client.alive("/").await {
            Some(false) if job.clock.since(start) < limit => {}
            Some(false) => {
                return Err(failed(format!(
                    "the phone was down when activation started (rebooting?) and did not answer within {limit:.0} s. Fix: check its power and cable, then run polyprov activate again"
                )));
            }
            _ => {
                events(Event::Back {
                    reboot: report.reboots,
                    firmware: None,
                });
                return Ok(());
            }
        }
    }
}

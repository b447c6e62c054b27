//! Following one phone after its save until its own evidence decides: polling whether it is up, logging in again
//! after each reboot, reading its application log (and firmware) into the monitor, looking for it elsewhere when
//! it comes back on a new address, and, once it shows that it loaded the service's configuration, gathering the
//! rest of its evidence (its provisioning page's `config=` values, its REST line state, the firmware it took).

use std::net::IpAddr;

use super::applog::{Attempt, Boot, Patterns};
use super::client::PhoneClient;
use super::event::{Event, Sink};
use super::locate::{self, Search};
use super::monitor::{Expect, Failure, Monitor, Observation, Verdict, same_server};
use super::outcome::{LOOK_AT_THE_PHONE, Outcome, Report, ServerFailure};
use super::page;
use super::probe;
use super::provisioning;
use super::run::{Job, failed, logout, warn};
use super::session::{self, Auth, LoginError, Patience};
use crate::profile::{Profile, ProfileSet};
use crate::secret::Secret;

/// While the phone is not expected to have news, its pages are read at least every this many polls.
const LOOK_EVERY: u32 = 6;

/// What the watch waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The phone loaded the service's configuration (after a save).
    Inactive,
    /// Its line registered (after activation).
    Active,
}

/// Watch the phone from the save (or the activation reboot) to a verdict.
#[allow(clippy::too_many_arguments)]
pub(super) async fn follow(
    job: &Job,
    profiles: &ProfileSet,
    profile: &Profile,
    client: &mut PhoneClient,
    password: &Secret,
    boots_before: Option<usize>,
    report: &mut Report,
    events: Sink<'_>,
    until: Until,
) -> Outcome {
    let mut profile = profile.clone();
    let t = profile.timeline.clone();
    let window = match until {
        Until::Inactive => t.settle_secs,
        Until::Active => t.activation_secs,
    };
    let expect = Expect {
        boot_secs: t.boot_secs as f64,
        return_secs: job.timing.return_secs.unwrap_or(t.boot_secs as f64 * 3.0),
        update_reboots: t.update_reboots,
        settle_secs: job.timing.settle_secs.unwrap_or(window as f64),
        timeout_secs: job.timing.timeout_secs.unwrap_or(t.timeout_secs as f64),
        busy_secs: profile.login.session_lifetime_secs as f64,
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
        monitor = monitor.resumed(report.reboots);
    }
    if until == Until::Active {
        monitor = monitor.until_active();
    }
    let start = job.clock.now();
    let mut auth: Option<Auth> = None;
    let mut last_search: Option<f64> = None;
    let mut blind_told = false;
    // After a refused password (the service's configuration may change it) no more logins: each would count
    // toward the lockout. The phone is then watched by reachability alone, and its outcome cannot be proven.
    let mut logins_allowed = true;
    let mut refused_after_save = false;
    let mut looks_skipped = 0u32;
    // The web session was last seen held by another client: an inconclusive login (a dropped answer) does not
    // mean it has ended, so the wait for it goes on; only a login that gets in, or a reboot, ends it.
    let mut held = false;
    let passwords = vec![password.clone()];
    // The profile's log lines compiled once (again only when an update brings another profile).
    let mut patterns: Option<(String, std::sync::Arc<Patterns>)> = None;
    loop {
        job.clock.sleep(poll).await;
        if job.stopped() {
            if let Some(a) = auth.take() {
                logout(client, &profile, &a, events).await;
            }
            return Outcome::Interrupted { saved: true };
        }
        let reach = client.alive(&profile.pages.login).await;
        // Every observation is dated when its evidence came in: a refusal when it came, the pages of a phone that
        // is up once they are read (a slow phone takes seconds per answer). Time spent waiting on a phone's answers
        // is time it was up, never counted toward a down window.
        let at = job.clock.since(start);
        let up = match reach {
            Some(up) => up,
            // Inconclusive (handshakes that failed): look again, unless time is up.
            None if at <= expect.timeout_secs => continue,
            None => false,
        };
        let mut obs = Observation {
            at,
            up,
            ..Observation::default()
        };
        if !up {
            held = false;
        }
        if up {
            let mut busy = held && auth.is_none();
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
                let memory = job.memory(report.mac);
                match session::login(
                    client, &profile, &passwords, &job.clock, patience, memory, quiet,
                )
                .await
                {
                    Ok(l) => {
                        auth = Some(l.auth);
                        busy = false;
                    }
                    Err(LoginError::Busy { .. }) => busy = true,
                    // A dropped or garbled answer (flaky firmware, a phone mid-boot): try again next poll.
                    Err(LoginError::Client(_) | LoginError::Page(_)) => {}
                    Err(e) => {
                        busy = false;
                        logins_allowed = false;
                        refused_after_save = matches!(e, LoginError::WrongPassword { .. });
                        let why = if refused_after_save {
                            "the admin password that worked before the save was refused after it — the service's configuration may have changed it, which suggests it was applied; no further login is tried so the web UI does not lock".to_string()
                        } else {
                            format!("stopped logging in while watching ({e})")
                        };
                        warn(report, events, &why);
                    }
                }
            }
            if auth.is_none() && !logins_allowed {
                obs.blind = true;
            }
            held = busy;
            if auth.is_none() && busy {
                obs.busy = true;
                if !blind_told {
                    blind_told = true;
                    warn(
                        report,
                        events,
                        "the phone's single web session is held by another client (someone in its web UI, or a session whose answer was lost on the network): its log, which proves the outcome, is read once that session ends",
                    );
                }
            }
            // Reachability is checked every poll; the log and version after a fresh login, on every poll while the
            // phone's evidence is awaited, and every few polls otherwise: a light touch on the phone and the LAN.
            looks_skipped += 1;
            let look = fresh || monitor.wants_log() || looks_skipped >= LOOK_EVERY;
            if let (Some(a), true) = (&auth, look) {
                looks_skipped = 0;
                obs.firmware = read_version(client, &profile, a).await;
                if patterns.as_ref().map(|p| p.0.as_str()) != Some(profile.id.as_str()) {
                    patterns = profile
                        .log
                        .as_ref()
                        .map(|l| (profile.id.clone(), Patterns::shared(l)));
                }
                obs.log = match &patterns {
                    Some((_, p)) => read_log_with(client, &profile, a, p).await,
                    None => None,
                };
                if obs.firmware.is_none() && obs.log.is_none() {
                    // The session expired or the phone went down mid-look: end it (if it still exists) and log in
                    // again next time, so our own stale session never blocks us.
                    if let Some(a) = auth.take() {
                        let _ = session::logout(client, &profile, &a).await;
                    }
                }
            }
            obs.at = job.clock.since(start);
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
        let registered = matches!(verdict, Verdict::Active { .. });
        let outcome = match verdict {
            Verdict::Watching => continue,
            Verdict::Inactive { evidence } | Verdict::Active { evidence } => {
                report.evidence = evidence;
                let seen = match &auth {
                    Some(a) => {
                        corroborate(client, &profile, a, password, &job.wanted.url, report).await
                    }
                    None => 0,
                };
                if registered {
                    // The phone's own registration line is the proof.
                    Outcome::Active
                } else if seen > 0 {
                    Outcome::Inactive
                } else {
                    unproven()
                }
            }
            Verdict::Failed(f) => {
                if matches!(f, Failure::NeverCameBack { .. }) {
                    if let Some(why) = out_of_reach(job, client, report) {
                        warn(report, events, &why);
                    }
                }
                failure_outcome(f, &profile, refused_after_save)
            }
        };
        if let Some(a) = &auth {
            logout(client, &profile, a, events).await;
        }
        return outcome;
    }
}

/// The outcome a monitor failure means.
fn failure_outcome(f: Failure, profile: &Profile, refused_after_save: bool) -> Outcome {
    match f {
        Failure::Server { failure, lines } => Outcome::server_failed(failure.into(), &lines),
        Failure::Reverted { now } => {
            let line = profile.log.as_ref().map_or_else(
                || format!("Provisioning server address is {now}."),
                |l| l.server_address.fill(&[("server", &now)]),
            );
            Outcome::server_failed(ServerFailure::ServerReverted, &[line])
        }
        Failure::Unconfirmed { why } => {
            let also = if refused_after_save {
                "; the admin password was refused after the save, which suggests the service's configuration was applied and changed it"
            } else {
                ""
            };
            Outcome::unconfirmed(format!("{why}{also}"), LOOK_AT_THE_PHONE)
        }
        Failure::StillInactive { lines } => {
            Outcome::server_failed(ServerFailure::StillInactive, &lines)
        }
        Failure::NeverCameBack { .. } | Failure::UpdateLoop { .. } | Failure::TimedOut { .. } => {
            failed(f)
        }
    }
}

/// A phone that already has the wanted server saved (nothing is written): where it stands, from its own evidence.
/// Its log since the last boot must show a pass that loaded the service's configuration from that server, and
/// something the configuration sets must be visible, before it is reported as provisioned; a failed pass is the
/// named failure, and anything else is unconfirmed.
pub(super) async fn standing(
    client: &PhoneClient,
    profile: &Profile,
    auth: &Auth,
    password: &Secret,
    wanted: &str,
    report: &mut Report,
    events: Sink<'_>,
) -> Outcome {
    let unsure = |why: &str| {
        Outcome::unconfirmed(
            format!(
                "the phone already has this provisioning server saved, but {why}, so nothing shows it loaded the service's configuration"
            ),
            "restart the phone (Settings → Basic → Restart Phone, or power-cycle it) so it fetches its configuration, then run polyprov again to follow it",
        )
    };
    let Some(log) = read_log(client, profile, auth).await else {
        return unsure("its application log could not be read");
    };
    let names_wanted = log
        .server
        .as_deref()
        .is_some_and(|s| same_server(s, wanted));
    match log.attempt {
        Attempt::Failed { failure, lines } => {
            events(Event::PhoneSays {
                line: lines.last().cloned().unwrap_or_default(),
            });
            Outcome::server_failed(failure.into(), &lines)
        }
        Attempt::Loaded { lines, registered } if names_wanted => {
            report.evidence = lines.iter().map(|l| format!("app log: {l:?}")).collect();
            if let Some(r) = registered {
                report.evidence.push(format!("app log: {r:?}"));
                return Outcome::Active;
            }
            if corroborate(client, profile, auth, password, wanted, report).await > 0 {
                events(Event::AlreadyProvisioned);
                Outcome::AlreadyProvisioned
            } else {
                unproven()
            }
        }
        Attempt::Running | Attempt::Updating { .. } | Attempt::Restarting { .. } => {
            Outcome::unconfirmed(
                "the phone already has this provisioning server saved and is provisioning from it right now (its log shows a pass under way)",
                "run polyprov again in a few minutes, once the phone has settled",
            )
        }
        Attempt::Loaded { .. } => unsure(&format!(
            "its log since its last boot shows a pass from {:?}",
            log.server.unwrap_or_default()
        )),
        Attempt::None => unsure("its log since its last boot shows no provisioning pass"),
    }
}

/// A finished pass with no failure line but nothing of the service's configuration in sight: a finished pass is also
/// written after failed steps (S53), and a failure may be worded in a way the profile does not know.
pub(super) fn unproven() -> Outcome {
    Outcome::unconfirmed(
        "the phone's log shows a provisioning pass that finished without a failure line the profile knows, but nothing the service's configuration sets is visible (no config= value naming the server on its provisioning page, no REST line label, no firmware update), so the load cannot be confirmed",
        LOOK_AT_THE_PHONE,
    )
}

/// The rest of the phone's evidence once its log shows the configuration loaded: what its provisioning page says
/// the service's files set, its REST line state where REST answers, and the firmware it took. Returns how many of
/// these positive signs were seen (the log alone proves no load).
pub(super) async fn corroborate(
    client: &PhoneClient,
    profile: &Profile,
    auth: &Auth,
    password: &Secret,
    wanted: &str,
    report: &mut Report,
) -> usize {
    let mut seen = 0;
    if let Ok(fields) = provisioning::read(client, profile, auth).await {
        report.server_after = Some(provisioning::current(profile, &fields));
        let name = profile.provisioning.server_name.as_deref().unwrap_or("");
        if let Some(c) = fields
            .iter()
            .find(|f| f.paramname == name)
            .and_then(|f| f.config.as_deref())
            .filter(|c| same_server(c, wanted))
        {
            seen += 1;
            report.evidence.push(format!(
                "{}: Server Address config={c:?} (set by the service's configuration files)",
                profile
                    .pages
                    .provisioning
                    .as_deref()
                    .unwrap_or("provisioning page")
                    .trim_start_matches('/')
            ));
        }
    }
    if profile.rest.available {
        if let Some((label, state)) = rest_line(client, profile, password).await {
            // The service's label on an unregistered line: what "Inactive" means on the phone itself.
            if label == profile.inactive.line_label && state == profile.inactive.registration {
                seen += 1;
            }
            report
                .evidence
                .push(format!("REST lineInfo: line 1 {label:?}, {state}"));
        }
    }
    if let (Some(before), Some(after)) = (&report.firmware_before, &report.firmware_after) {
        if before != after {
            seen += 1;
            report.evidence.push(format!(
                "firmware {after}: the update the server named is installed"
            ));
        }
    }
    seen
}

/// Line 1's label and registration state from REST `lineInfo`, where the REST API is enabled.
async fn rest_line(
    client: &PhoneClient,
    profile: &Profile,
    password: &Secret,
) -> Option<(String, String)> {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        profile.login.admin_user,
        password.expose()
    ));
    let r = client
        .send(
            "GET",
            "/api/v1/mgmt/lineInfo",
            &[("Authorization", format!("Basic {basic}"))],
            None,
        )
        .await
        .ok()?;
    if r.status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
    let line = v.get("data")?.as_array()?.first()?;
    let label = line.get("Label")?.as_str()?;
    let state = line.get("RegistrationStatus")?.as_str()?;
    Some((label.to_string(), state.to_string()))
}

pub(super) async fn read_version(
    client: &PhoneClient,
    profile: &Profile,
    auth: &Auth,
) -> Option<String> {
    let r = client
        .send("GET", &profile.pages.version, &auth.headers(false), None)
        .await
        .ok()?;
    (r.status == 200 && !r.body.trim().is_empty() && !r.body.contains('<'))
        .then(|| r.body.trim().to_string())
}

/// The application log since the last boot, read through the profile's log lines.
pub(super) async fn read_log(client: &PhoneClient, profile: &Profile, auth: &Auth) -> Option<Boot> {
    let patterns = Patterns::shared(profile.log.as_ref()?);
    read_log_with(client, profile, auth, &patterns).await
}

/// The same with the patterns compiled once (a watch reads the log on every poll).
async fn read_log_with(
    client: &PhoneClient,
    profile: &Profile,
    auth: &Auth,
    patterns: &std::sync::Arc<Patterns>,
) -> Option<Boot> {
    let path = match (
        profile.pages.app_log.as_deref()?,
        profile.pages.app_log_cache_buster.as_deref(),
    ) {
        (path, Some(buster)) => {
            let sep = if path.contains('?') { '&' } else { '?' };
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            format!("{path}{sep}{buster}={ms}")
        }
        (path, None) => path.to_string(),
    };
    let r = client
        .send_capped(
            "GET",
            &path,
            &auth.headers(false),
            profile.http.max_log_bytes,
        )
        .await
        .ok()?;
    if r.status != 200 {
        return None;
    }
    let patterns = patterns.clone();
    page::off_runtime(r.body, move |log| Some(patterns.read(log))).await
}

/// Why a phone that did not come back may well be up: live discovery heard it again in a VLAN the agent's
/// interface is not on, at an address that was tried and did not answer.
fn out_of_reach(job: &Job, client: &PhoneClient, report: &Report) -> Option<String> {
    let mac = report.mac.or(job.expected_mac)?;
    let heard = job.heard.as_ref()?.of(mac)?;
    let vlan = heard.other_vlan?;
    let current: Option<IpAddr> = client
        .base()
        .host_str()
        .and_then(|h| h.trim_matches(['[', ']']).parse().ok());
    let ip = heard.ip.filter(|ip| Some(*ip) != current)?;
    Some(locate::unreachable_vlan(vlan, Some(ip)))
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
        known: job.known.clone(),
        arp: job.port.clone(),
    };
    tokio::time::timeout(budget, locate::find(&search, skip))
        .await
        .ok()
        .flatten()
}

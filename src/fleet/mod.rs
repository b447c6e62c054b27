//! Many phones at once: each target runs `phone::provision` with bounded concurrency; every event goes to the
//! journal (synced) and to the display; Ctrl-C stops new phones from starting and interrupted phones are
//! recorded, so `resume` continues exactly where the run stopped.
//!
//! - `targets`: the targets file; `progress`: what a person sees while it runs; `activation`: the run's Inactive
//!   phones rebooted and followed to Active once their MACs are entered.

pub mod activation;
pub mod progress;
pub mod targets;

use std::sync::Arc;

use tokio::sync::{Semaphore, watch};

use crate::clock::Clock;
use crate::journal::{Journal, Phones};
use crate::phone::provisioning::Wanted;
use crate::phone::session::Patience;
use crate::phone::{Allow, Event, Job, Outcome, Report, Resume, Timing, provision};
use crate::profile::ProfileSet;
use crate::secret::Secret;
use progress::Progress;
use targets::Target;

/// What every phone of a run shares.
#[derive(Debug, Clone)]
pub struct Settings {
    pub wanted: Wanted,
    pub passwords: Vec<Secret>,
    pub allow_factory: bool,
    pub new_password: Option<Secret>,
    pub dry_run: bool,
    /// Repoint phones whose provisioning server is already set to another one.
    pub force: bool,
    pub concurrency: usize,
    pub clock: Clock,
    pub timing: Timing,
    pub patience: Patience,
    pub allow: Allow,
    pub search_range: Option<ipnet::IpNet>,
    pub search_rate: u32,
    /// Where live discovery last heard each MAC (`onboard --interface`).
    pub heard: Option<crate::phone::locate::Heard>,
    /// The port's ARP budget searches for moved phones take from (shared with live discovery's listener).
    pub port: Option<Arc<crate::discover::budget::PortBudget>>,
    /// Our own failed logins per phone, remembered across runs.
    pub attempts: Option<Arc<crate::phone::attempts::Attempts>>,
    /// The certificate each phone presented first, by MAC (`None`: not checked).
    pub known: Option<Arc<crate::phone::known::KnownPhones>>,
}

impl Settings {
    pub(crate) fn job(
        &self,
        t: &Target,
        stop: watch::Receiver<bool>,
        resume: Option<Resume>,
    ) -> Job {
        let mut wanted = self.wanted.clone();
        if let Some(url) = &t.server_url {
            wanted.url = url.clone();
        }
        Job {
            base: t.base.clone(),
            wanted,
            passwords: self.passwords.clone(),
            allow_factory: self.allow_factory,
            new_password: self.new_password.clone(),
            dry_run: self.dry_run,
            force: self.force,
            expected_mac: t.mac,
            search_range: self.search_range,
            search_rate: self.search_rate,
            heard: self.heard.clone(),
            port: self.port.clone(),
            clock: self.clock,
            timing: self.timing,
            patience: self.patience,
            stop: Some(stop),
            resume,
            allow: self.allow.clone(),
            claims: None,
            attempts: self.attempts.clone(),
            known: self.known.clone(),
        }
    }
}

/// Where one phone's events go: its journal (synced, with the phone's MAC once an event names it, or the
/// target's from the start) and the display.
pub(crate) fn journaled(
    journal: &Arc<Journal>,
    progress: &Arc<Progress>,
    key: &str,
    mac: Option<crate::mac::Mac>,
) -> impl Fn(Event) + Send + Sync + 'static {
    let (journal, progress, key) = (journal.clone(), progress.clone(), key.to_string());
    let mac = std::sync::Mutex::new(mac);
    move |e: Event| {
        let known = {
            let mut m = mac.lock().unwrap_or_else(|p| p.into_inner());
            if let Event::Identified {
                mac: Some(found), ..
            } = &e
            {
                *m = Some(*found);
            }
            *m
        };
        if let Err(err) = journal.event(&key, known, &e) {
            tracing::error!("{err}");
        }
        progress.event(&key, &e);
    }
}

/// A finished phone: its target and report.
pub type Done = (Target, Report);

/// How one phone is worked on: [`provisioner`] (`phone::provision`), or a stand-in that a test gives.
pub type Provisioner =
    Arc<dyn Fn(Job, Arc<ProfileSet>, Arc<dyn Fn(Event) + Send + Sync>) -> BoxFuture + Send + Sync>;

/// A phone's work as a future the fleet can spawn.
pub type BoxFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Report> + Send>>;

/// `phone::provision`, as the fleet runs it.
pub fn provisioner() -> Provisioner {
    Arc::new(|job, profiles, sink| {
        Box::pin(async move { provision(&job, &profiles, &*sink).await })
    })
}

/// Onboard `targets`. With `previous` (a resumed run) finished phones keep their recorded report, saved phones
/// are only watched, the rest start over.
pub async fn run(
    targets: Vec<Target>,
    settings: Arc<Settings>,
    profiles: Arc<ProfileSet>,
    journal: Arc<Journal>,
    progress: Arc<Progress>,
    stop: watch::Receiver<bool>,
    previous: Option<&Phones>,
) -> Vec<Done> {
    let work = provisioner();
    run_with(
        targets,
        settings,
        profiles,
        (journal, progress),
        stop,
        previous,
        work,
    )
    .await
}

/// [`run`] with each phone's work done by `work`. A phone whose work panics still ends in the reports and the
/// journal, as failed with the panic's message; the other phones go on.
pub async fn run_with(
    targets: Vec<Target>,
    settings: Arc<Settings>,
    profiles: Arc<ProfileSet>,
    (journal, progress): (Arc<Journal>, Arc<Progress>),
    stop: watch::Receiver<bool>,
    previous: Option<&Phones>,
    work: Provisioner,
) -> Vec<Done> {
    let sem = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let claims = crate::phone::Claims::default();
    let mut tasks = tokio::task::JoinSet::new();
    let mut running = std::collections::HashMap::new();
    let mut done: Vec<Done> = Vec::new();
    for (i, t) in targets.into_iter().enumerate() {
        let before = previous.and_then(|phones| phones.get(&t.key));
        if let Some(report) = before
            .filter(|p| p.finished())
            .and_then(|p| p.report.clone())
        {
            progress.finished(&t, &report);
            done.push((t, report));
            continue;
        }
        let resume = before.filter(|p| p.saved).map(|p| Resume {
            profile: p.known.profile.clone(),
            so_far: {
                let mut r = p.report_so_far(&t.base);
                r.mac = r.mac.or(t.mac);
                r
            },
            boots_before_save: p.known.boots_before_save,
        });
        let stale_session = before
            .filter(|p| p.session_open)
            .and_then(|p| p.known.profile.as_deref())
            .and_then(|id| profiles.get(id))
            .map(|p| p.login.session_lifetime_secs);
        let (settings, profiles, journal, progress, sem, stop, work) = (
            settings.clone(),
            profiles.clone(),
            journal.clone(),
            progress.clone(),
            sem.clone(),
            stop.clone(),
            work.clone(),
        );
        let claims = claims.clone();
        let spawned = (i, t.clone());
        let handle = tasks.spawn(async move {
            let _permit = sem.acquire_owned().await.ok();
            let key = t.key.clone();
            if *stop.borrow() {
                let mut r = Report::interrupted(&t.base, resume.is_some());
                r.mac = t.mac;
                let _ = journal.finished(&key, &r);
                progress.finished(&t, &r);
                return (i, t, r);
            }
            progress.started(&key);
            let mut job = settings.job(&t, stop, resume);
            job.claims = Some(claims);
            if let Some(lifetime) = stale_session {
                // Our own session from the interrupted run may still hold the phone's single web session: wait
                // for it to expire rather than give up.
                job.patience.busy_secs = job.patience.busy_secs.max(lifetime + 60);
            }
            let sink = Arc::new(journaled(&journal, &progress, &key, t.mac));
            let report = work(job, profiles, sink).await;
            if let Err(err) = journal.finished(&key, &report) {
                tracing::error!("{err}");
            }
            progress.finished(&t, &report);
            (i, t, report)
        });
        running.insert(handle.id(), spawned);
    }
    let mut finished: Vec<(usize, Target, Report)> = Vec::new();
    while let Some(r) = tasks.join_next_with_id().await {
        match r {
            Ok((_, x)) => finished.push(x),
            Err(e) => {
                let Some((i, t)) = running.remove(&e.id()) else {
                    continue;
                };
                let report = crashed(&t, e);
                tracing::error!(phone = %t.key, "{:?}", report.outcome);
                if let Err(err) = journal.finished(&t.key, &report) {
                    tracing::error!("{err}");
                }
                progress.finished(&t, &report);
                finished.push((i, t, report));
            }
        }
    }
    finished.sort_by_key(|(i, _, _)| *i);
    done.extend(finished.into_iter().map(|(_, t, r)| (t, r)));
    done
}

/// The report of a phone whose work panicked (a bug in polyprov): failed, with the panic's message.
fn crashed(t: &Target, e: tokio::task::JoinError) -> Report {
    let what = if e.is_panic() {
        let payload = e.into_panic();
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        format!("polyprov failed internally on this phone (panic: {text})")
    } else {
        "polyprov's work on this phone was cancelled".to_string()
    };
    let mut r = Report::new(&t.base);
    r.mac = t.mac;
    r.outcome = Outcome::Failed {
        reason: format!("{what}; what it did is in the journal"),
        fix: Some(
            "look at the phone, run `polyprov resume` for the run to try it again, and report this as a bug with \
             the journal"
                .into(),
        ),
    };
    r
}

/// The exit code of a whole run: 130 interrupted, 1 any failure, 3 anything needing a person, else 0.
pub fn exit_code(done: &[Done]) -> u8 {
    let codes: Vec<u8> = done.iter().map(|(_, r)| r.outcome.exit_code()).collect();
    if codes.contains(&130) {
        130
    } else if codes.contains(&1) {
        1
    } else if codes.contains(&3) {
        3
    } else {
        0
    }
}

/// True when some phone still has work to do (interrupted).
pub fn incomplete(done: &[Done]) -> bool {
    done.iter()
        .any(|(_, r)| matches!(r.outcome, Outcome::Interrupted { .. }))
}

//! Activating a finished run's phones at once: every phone the run left Inactive (or already provisioned) is
//! rebooted through its web UI and followed to Active, with bounded concurrency, each step journaled and shown, as
//! `fleet::run` does for onboarding.

use std::sync::Arc;

use tokio::sync::{Semaphore, watch};

use super::progress::Progress;
use super::{Done, Settings};
use crate::journal::Journal;
use crate::phone::activate::activate;
use crate::phone::{Outcome, Report};
use crate::profile::ProfileSet;

/// Whether a phone's report makes it one to activate.
pub fn awaits_activation(r: &Report) -> bool {
    matches!(r.outcome, Outcome::Inactive | Outcome::AlreadyProvisioned)
}

/// Reboot and follow every phone awaiting activation; the others keep their reports. Order is kept.
pub async fn activate_all(
    done: Vec<Done>,
    settings: Arc<Settings>,
    profiles: Arc<ProfileSet>,
    journal: Arc<Journal>,
    progress: Arc<Progress>,
    stop: watch::Receiver<bool>,
) -> Vec<Done> {
    let sem = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut out: Vec<Option<Done>> = Vec::with_capacity(done.len());
    for (i, (t, r)) in done.into_iter().enumerate() {
        if !awaits_activation(&r) {
            out.push(Some((t, r)));
            continue;
        }
        // Kept until the activation's own report replaces it: a phone is never lost from the run.
        out.push(Some((t.clone(), r.clone())));
        let (settings, profiles, journal, progress, sem, stop) = (
            settings.clone(),
            profiles.clone(),
            journal.clone(),
            progress.clone(),
            sem.clone(),
            stop.clone(),
        );
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await.ok();
            let key = t.key.clone();
            if *stop.borrow() {
                return (i, t, r);
            }
            progress.started(&key);
            let mut job = settings.job(&t, stop, None);
            job.expected_mac = r.mac.or(t.mac);
            let sink = super::journaled(&journal, &progress, &key, job.expected_mac);
            let after = activate(&job, &profiles, &r, &sink).await;
            if let Err(err) = journal.finished(&key, &after) {
                tracing::error!("{err}");
            }
            progress.finished(&t, &after);
            (i, t, after)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, t, r)) = joined {
            out[i] = Some((t, r));
        }
    }
    out.into_iter().flatten().collect()
}

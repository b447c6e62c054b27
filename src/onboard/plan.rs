//! The plan shown before a run changes anything: a read-only look at each target's web UI (its login page and
//! certificate, no password sent — what discovery's fingerprint does) counts the phones by family and firmware
//! generation, finds those that need hands-on work (no web provisioning, no answer, not recognised), and estimates
//! how long the run takes from the device profiles' timelines at the run's concurrency.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::discover::Web;
use crate::fleet::targets::Target;
use crate::profile::{Profile, ProfileSet};

use super::RunSpec;

/// How long the look at one phone may take.
pub const LOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// What the look found, for the person about to say yes (a `run-plan` line in a `--json` stream).
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Plan {
    pub phones: usize,
    /// Phones per recognised profile that provisions over the web.
    pub groups: Vec<Group>,
    /// Phones a person must set up by hand, per profile, with what to do instead.
    pub hands_on: Vec<HandsOn>,
    /// Phones whose web UI did not answer or was not recognised: the key and why (the run tries them anyway).
    pub unknown: Vec<(String, String)>,
    pub concurrency: usize,
    /// Wall seconds the run is expected to take (the profiles' nominal timelines, a firmware update included).
    pub expected_secs: u64,
    pub dry_run: bool,
    pub force: bool,
    /// Phones in service, from a read-only login to each (`[target, why]`); absent when not looked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_service: Option<Vec<(String, String)>>,
    /// Phones per model and firmware, from the same login; absent when not looked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<ModelCount>>,
}

/// Phones of one profile that cannot be provisioned from the web.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct HandsOn {
    pub family: String,
    pub profile: String,
    pub targets: Vec<String>,
    pub instead: String,
}

/// Phones of one profile.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Group {
    pub family: String,
    pub profile: String,
    pub generation: String,
    pub count: usize,
    /// Wall seconds one phone of this profile is expected to take from login to Inactive.
    pub expected_secs: u64,
}

/// Phone seconds from login to Inactive by a profile's nominal timeline, with a firmware update: the save's
/// reboot, the update's reboots, the first fetch, and a minute for logging in, saving and reading the evidence.
pub fn expected_phone_secs(p: &Profile) -> u64 {
    let t = &p.timeline;
    let reboot = t.shutdown_delay_secs + t.boot_secs;
    60 + reboot * (1 + u64::from(t.update_reboots)) + t.first_fetch_secs
}

/// How long `jobs` take on `workers` at once, longest first onto the least loaded worker (what a bounded pool of
/// equal workers does, give or take the order).
pub fn makespan(mut jobs: Vec<u64>, workers: usize) -> u64 {
    jobs.sort_unstable_by(|a, b| b.cmp(a));
    let mut load = vec![0u64; workers.max(1)];
    for j in jobs {
        if let Some(least) = load.iter_mut().min() {
            *least += j;
        }
    }
    load.into_iter().max().unwrap_or(0)
}

/// `work` on every target, at most `concurrency` at once; the results in the targets' order (a task that panicked
/// leaves its target out).
async fn each<T, F, Fut>(targets: &[Target], concurrency: usize, work: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Target) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, t) in targets.iter().enumerate() {
        let (sem, job) = (sem.clone(), work(t.clone()));
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await.ok();
            (i, job.await)
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(x) = joined {
            done.push(x);
        }
    }
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, x)| x).collect()
}

/// Look at every target of `spec` (at most `spec.concurrency` at once) and make the plan.
pub async fn look(spec: &RunSpec, profiles: Arc<ProfileSet>) -> Plan {
    let looked = each(&spec.to_contact(), spec.concurrency, |t| {
        let profiles = profiles.clone();
        async move {
            let web = crate::discover::fingerprint::look(t.base.clone(), &profiles, LOOK_TIMEOUT)
                .await
                .map_err(|e| e.to_string());
            (t, web)
        }
    })
    .await;
    plan(spec, &profiles, &looked)
}

/// The plan from what was seen at each target.
pub fn plan(
    spec: &RunSpec,
    profiles: &ProfileSet,
    looked: &[(Target, Result<Web, String>)],
) -> Plan {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut hands_on: BTreeMap<String, HandsOn> = BTreeMap::new();
    let (mut unknown, mut jobs) = (Vec::new(), Vec::new());
    let scale = if spec.time_scale > 0.0 {
        spec.time_scale
    } else {
        1.0
    };
    let wall = |secs: u64| (secs as f64 / scale).round() as u64;
    let slowest = profiles.iter().map(expected_phone_secs).max().unwrap_or(0);
    for (t, web) in looked {
        let profile = web
            .as_ref()
            .ok()
            .and_then(|w| w.profile.as_deref())
            .and_then(|id| profiles.get(id));
        match (profile, web) {
            (Some(p), _) if !p.provisioning.web => {
                let instead =
                    p.provisioning.instead.clone().unwrap_or_else(|| {
                        "set the provisioning server on the phone itself".into()
                    });
                hands_on
                    .entry(p.id.clone())
                    .or_insert_with(|| HandsOn {
                        family: p.family.clone(),
                        profile: p.id.clone(),
                        targets: Vec::new(),
                        instead,
                    })
                    .targets
                    .push(t.key.clone());
            }
            (Some(p), _) => {
                let secs = expected_phone_secs(p);
                jobs.push(secs);
                groups
                    .entry(p.id.clone())
                    .or_insert_with(|| Group {
                        family: p.family.clone(),
                        profile: p.id.clone(),
                        generation: p.login.generation.to_string(),
                        count: 0,
                        expected_secs: wall(secs),
                    })
                    .count += 1;
            }
            (None, Ok(w)) => {
                jobs.push(slowest);
                unknown.push((
                    t.key.clone(),
                    w.problem
                        .clone()
                        .unwrap_or_else(|| "web UI not recognised".into()),
                ));
            }
            (None, Err(e)) => {
                jobs.push(slowest);
                unknown.push((t.key.clone(), e.clone()));
            }
        }
    }
    Plan {
        phones: looked.len(),
        groups: groups.into_values().collect(),
        hands_on: hands_on.into_values().collect(),
        unknown,
        concurrency: spec.concurrency.max(1),
        expected_secs: wall(makespan(jobs, spec.concurrency)),
        dry_run: spec.dry_run,
        force: spec.force,
        in_service: None,
        models: None,
    }
}

/// What a read-only login to each phone showed: the phones in service (the target's key and why) and how many of
/// each model run which firmware.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Read {
    pub in_service: Vec<(String, String)>,
    pub models: Vec<ModelCount>,
}

/// Phones of one model on one firmware build.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct ModelCount {
    pub model: String,
    pub firmware: String,
    pub count: usize,
}

/// Read every phone before a person says yes: a dry run of each (log in, read the provisioning page, write
/// nothing), at most `settings.concurrency` at once. A phone is in service when its line is registered or its
/// provisioning server is one this run did not set.
pub async fn read(
    targets: &[Target],
    settings: &crate::fleet::Settings,
    profiles: Arc<ProfileSet>,
) -> Read {
    let (_keep, never) = tokio::sync::watch::channel(false);
    let seen = each(targets, settings.concurrency, |t| {
        let mut job = settings.job(&t, never.clone(), None);
        job.dry_run = true;
        job.force = false;
        let profiles = profiles.clone();
        async move {
            let r = crate::phone::provision(&job, &profiles, &|_| {}).await;
            let why = match &r.outcome {
                crate::phone::Outcome::Active => Some("its line is registered".to_string()),
                _ => r
                    .warnings
                    .iter()
                    .find(|w| w.starts_with("in service"))
                    .map(|w| {
                        w.split(": a run leaves it alone")
                            .next()
                            .unwrap_or(w)
                            .to_string()
                    }),
            };
            (t.key, why, r.model, r.firmware_before)
        }
    })
    .await;
    let mut models: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut in_service = Vec::new();
    for (key, why, model, firmware) in seen {
        if let Some(model) = model {
            *models
                .entry((model, firmware.unwrap_or_default()))
                .or_default() += 1;
        }
        if let Some(why) = why {
            in_service.push((key, why));
        }
    }
    Read {
        in_service,
        models: models
            .into_iter()
            .map(|((model, firmware), count)| ModelCount {
                model,
                firmware,
                count,
            })
            .collect(),
    }
}

impl Plan {
    /// What a read-only login to each phone showed, added to the plan.
    pub fn with(mut self, read: Read) -> Plan {
        self.in_service = Some(read.in_service);
        self.models = Some(read.models);
        self
    }
}

/// `95 s`, `4 min`, `1 h 20 min`.
pub fn duration(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 3600 => format!("{} min", (s + 30) / 60),
        s => format!("{} h {} min", s / 3600, (s % 3600 + 30) / 60),
    }
}

impl Plan {
    /// The plan as lines for a person (device text made safe by the caller's printing).
    pub fn lines(&self) -> Vec<String> {
        let phones = |n: usize| format!("{n} {}", if n == 1 { "phone" } else { "phones" });
        let mut out = vec![format!(
            "Plan: {} (a look at each login page, no password sent):",
            phones(self.phones)
        )];
        for g in &self.groups {
            out.push(format!(
                "  {:<4} {} ({}, {} login) — about {} each",
                g.count,
                g.family,
                g.profile,
                g.generation,
                duration(g.expected_secs)
            ));
        }
        for h in &self.hands_on {
            let n = h.targets.len();
            out.push(format!(
                "  {:<4} {} ({}): hands-on work, no web provisioning: {}",
                n,
                h.family,
                h.profile,
                h.targets.join(", ")
            ));
            out.push(format!("       {}", h.instead));
        }
        if !self.unknown.is_empty() {
            out.push(format!(
                "  {} not recognised yet (tried anyway; booting phones answer later):",
                phones(self.unknown.len())
            ));
            out.extend(
                self.unknown
                    .iter()
                    .map(|(k, why)| format!("    {k}: {why}")),
            );
        }
        if let Some(models) = self.models.as_ref().filter(|m| !m.is_empty()) {
            out.push(format!(
                "  Models (read after login): {}",
                models
                    .iter()
                    .map(|m| format!("{} × {} on {}", m.count, m.model, m.firmware))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        match &self.in_service {
            Some(found) if found.is_empty() => out.push(
                "  In service: none (a read-only login to each: no registered line, no other provisioning server)".into(),
            ),
            Some(found) => {
                out.push(format!(
                    "  In service: {} — {}:",
                    phones(found.len()),
                    if self.force {
                        "--force repoints them"
                    } else {
                        "left alone (--force repoints them)"
                    }
                ));
                out.extend(found.iter().map(|(k, why)| format!("    {k}: {why}")));
            }
            None if self.force => out.push(
                "  In service: --force repoints phones with a registered line or another provisioning server.".into(),
            ),
            None => out.push(
                "  In service: a phone with a registered line or another provisioning server is left alone (seen after login; --force repoints it).".into(),
            ),
        }
        let rounds = self.phones.div_ceil(self.concurrency.max(1));
        out.push(format!(
            "  {} at a time; expected about {} in all ({} {}, with firmware updates; the phones' own pace decides)",
            self.concurrency,
            duration(self.expected_secs),
            rounds,
            if rounds == 1 { "round" } else { "rounds" }
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_jobs_spread_over_the_workers() {
        assert_eq!(makespan(vec![], 4), 0);
        assert_eq!(makespan(vec![300; 12], 16), 300);
        assert_eq!(makespan(vec![300; 12], 4), 900);
        assert_eq!(makespan(vec![600, 300, 300], 2), 600);
        assert_eq!(makespan(vec![100, 100], 0), 200, "no worker counts as one");
    }

    #[test]
    fn durations_read_like_a_person_says_them() {
        assert_eq!(duration(95), "95 s");
        assert_eq!(duration(600), "10 min");
        assert_eq!(duration(4_800), "1 h 20 min");
    }

    #[test]
    fn every_bundled_profile_expects_minutes_not_hours() {
        let profiles = ProfileSet::bundled().unwrap();
        for p in profiles.iter() {
            let secs = expected_phone_secs(p);
            assert!((120..3600).contains(&secs), "{}: {secs}", p.id);
        }
    }
}

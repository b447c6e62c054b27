//! One onboarding run, end to end, as library calls (as mini-redis's `server::run` is): the typed [`RunSpec`]
//! (`spec`), the run directory with its typed journal, the hand-off from discovery (`discovery`), and
//! [`start`] / [`resume`] / [`load`] / [`activate`], each ending in the run's [`Ended`] — reports written, exit
//! code decided. The command line only parses flags into an [`Asked`] and prints what comes back.

pub mod discovery;
pub mod merge;
pub mod plan;
pub mod site_plan;
pub mod spec;

pub use spec::{Asked, RunSpec};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use crate::fleet::progress::{Mode, Progress};
use crate::fleet::{self, Done, Settings};
use crate::journal::{History, Journal, JournalError, Phones};
use crate::profile::ProfileSet;
use crate::report::{self, Row};
use crate::server_check::Checked;

/// Why a run could not be started, continued or reported.
#[derive(Debug, thiserror::Error)]
pub enum OnboardError {
    /// A setting the run cannot use, in words naming it and the fix.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Site(#[from] crate::config::SiteError),
    #[error(transparent)]
    Targets(#[from] crate::fleet::targets::TargetsError),
    #[error(transparent)]
    Secret(#[from] crate::secret::SecretError),
    #[error(transparent)]
    Ca(#[from] crate::server_check::CaFileError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error("cannot create a run directory in {path}: {source}")]
    RunDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the journal in {dir} records a run that cannot go on: {why}. Fix: start a new run with `polyprov onboard`"
    )]
    Spec { dir: PathBuf, why: String },
}

/// How a run ended: every phone's report, the files written, the exit code.
#[derive(Debug)]
pub struct Ended {
    pub dir: PathBuf,
    /// When, where, by whom, to which server.
    pub run: report::RunInfo,
    pub done: Vec<Done>,
    pub rows: Vec<Row>,
    /// The report files written in the run directory.
    pub files: Vec<PathBuf>,
    /// What the provisioning-server check found.
    pub checks: Vec<Checked>,
    /// 130 interrupted, 1 any failure, 3 anything needing a person, else 0.
    pub code: u8,
    /// Some phone still has work to do: `resume` continues it.
    pub incomplete: bool,
    /// Phones of the run with no final report at all (a `report` of a run still going, or killed).
    pub pending: usize,
}

/// One run directory of a state directory, as `polyprov runs` lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub dir: PathBuf,
    /// What its journal says, or why it could not be read.
    pub read: Result<ListedRun, String>,
}

/// A listed run's facts.
#[derive(Debug, Clone)]
pub struct ListedRun {
    pub info: report::RunInfo,
    /// Of the phones with a final result.
    pub summary: report::Summary,
    /// Phones with no final result yet (`resume` continues them).
    pub pending: usize,
}

/// The run directories under `state_dir`, oldest first (their names are their start times).
pub fn runs(state_dir: &Path) -> Result<Vec<Listed>, OnboardError> {
    let err = |source| OnboardError::RunDir {
        path: state_dir.to_path_buf(),
        source,
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(state_dir)
        .map_err(err)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(crate::journal::FILE).is_file())
        .collect();
    dirs.sort();
    Ok(dirs
        .into_iter()
        .map(|dir| {
            let read = load(&dir).map_err(|e| e.to_string()).map(|run| {
                let rows: Vec<Row> = run.done.iter().map(|(t, r)| Row::new(t, r)).collect();
                let reports: Vec<&crate::phone::Report> = run.done.iter().map(|(_, r)| r).collect();
                ListedRun {
                    info: report::RunInfo::new(&run.spec, &reports),
                    summary: report::summary(&rows),
                    pending: run.spec.targets.len().saturating_sub(rows.len()),
                }
            });
            Listed { dir, read }
        })
        .collect())
}

/// The newest run directory under `state_dir`.
pub fn latest(state_dir: &Path) -> Result<PathBuf, OnboardError> {
    runs(state_dir)?.pop().map(|l| l.dir).ok_or_else(|| {
        OnboardError::Invalid(format!(
            "no run in {}: give --state-dir (or --run DIR) where the runs are",
            state_dir.display()
        ))
    })
}

/// A new run directory under `state_dir`, named for now.
pub fn new_run_dir(state_dir: &Path) -> Result<PathBuf, OnboardError> {
    let stamp = crate::clock::stamp(std::time::SystemTime::now());
    let err = |source| OnboardError::RunDir {
        path: state_dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(state_dir).map_err(err)?;
    for n in 0..100 {
        let name = if n == 0 {
            format!("run-{stamp}")
        } else {
            format!("run-{stamp}-{n}")
        };
        match std::fs::create_dir(state_dir.join(&name)) {
            Ok(()) => return Ok(state_dir.join(name)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(err(e)),
        }
    }
    Err(err(std::io::Error::other(
        "a hundred runs this second already",
    )))
}

/// Whether `dir` holds a run (a journal that starts with the run's spec): `onboard --run DIR` then resumes it
/// instead of starting one.
pub fn holds_run(dir: &Path) -> bool {
    crate::journal::has_start(dir)
}

/// `dir` as the directory of a new run (`onboard --run DIR`): created when missing, used when empty, refused when
/// it holds anything else (a run's files are never mixed with others').
pub fn fresh_run_dir(dir: &Path) -> Result<PathBuf, OnboardError> {
    let err = |source| OnboardError::RunDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    // What a run that died before its first journal line leaves (an empty journal, the lock) does not count.
    let leftovers = [crate::journal::FILE, crate::journal::LOCK];
    let mut others = std::fs::read_dir(dir)
        .map_err(err)?
        .filter_map(|e| e.ok())
        .filter(|e| !leftovers.iter().any(|l| e.file_name() == *l));
    if others.next().is_some() {
        return Err(OnboardError::Invalid(format!(
            "{} is not empty and holds no run (no {}): name a new or empty directory for the run, or the directory \
             of an earlier run to resume it",
            dir.display(),
            crate::journal::FILE
        )));
    }
    if !crate::journal::has_start(dir) {
        match std::fs::remove_file(dir.join(crate::journal::FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
            _ => {}
        }
    }
    Ok(dir.to_path_buf())
}

/// What a run's journal holds, read back: its spec, every phone's history, the phones that finished.
#[derive(Debug)]
pub struct Loaded {
    pub dir: PathBuf,
    pub spec: RunSpec,
    pub phones: Phones,
    /// Phones with a final report, in target order.
    pub done: Vec<Done>,
}

/// Read a run directory's journal; the spec in it is checked as when it was made.
pub fn load(dir: &Path) -> Result<Loaded, OnboardError> {
    let history: History<RunSpec> = History::load(dir)?;
    history.spec.check().map_err(|e| OnboardError::Spec {
        dir: dir.to_path_buf(),
        why: e.to_string(),
    })?;
    let done = history
        .spec
        .targets
        .iter()
        .filter_map(|t| {
            let r = history.phones.get(&t.key)?.report.clone()?;
            Some((t.clone(), r))
        })
        .collect();
    Ok(Loaded {
        dir: dir.to_path_buf(),
        spec: history.spec,
        phones: history.phones,
        done,
    })
}

/// Start a run in `dir` (see [`new_run_dir`]): journal the spec, onboard every target, write the reports.
pub async fn start(
    dir: &Path,
    spec: &RunSpec,
    settings: Settings,
    profiles: Arc<ProfileSet>,
    mode: Mode,
    stop: watch::Receiver<bool>,
) -> Result<Ended, OnboardError> {
    let journal = Arc::new(Journal::open(dir)?);
    journal.started(spec)?;
    execute(dir, spec, settings, profiles, journal, mode, stop, None).await
}

/// What reopening a run's journal had to repair, in words (a torn last line cut off), if anything.
pub type Repaired = Option<String>;

/// Continue an interrupted (or killed) run: finished phones keep their reports, saved phones are only watched
/// from what the journal knew of them, the rest start over. `password_file` replaces the run's own source.
pub async fn resume(
    dir: &Path,
    password_file: Option<&Path>,
    profiles: Arc<ProfileSet>,
    mode: Mode,
    stop: watch::Receiver<bool>,
) -> Result<(Repaired, Ended), OnboardError> {
    resume_with(dir, password_file, profiles, mode, stop, |_| {}).await
}

/// [`resume`], with `adjust` applied to the run's settings first (`onboard --run DIR --interface IF` gives them
/// live discovery's ears and the port's ARP budget).
pub async fn resume_with(
    dir: &Path,
    password_file: Option<&Path>,
    profiles: Arc<ProfileSet>,
    mode: Mode,
    stop: watch::Receiver<bool>,
    adjust: impl FnOnce(&mut Settings),
) -> Result<(Repaired, Ended), OnboardError> {
    // The torn tail is cut before reading, so what is read is what the run continues from.
    let journal = Arc::new(Journal::open(dir)?);
    let repaired = journal.repaired().map(str::to_string);
    let run = load(dir)?;
    let mut settings = run.spec.settings(password_file)?;
    adjust(&mut settings);
    journal.resumed()?;
    let ended = execute(
        dir,
        &run.spec,
        settings,
        profiles,
        journal,
        mode,
        stop,
        Some(&run.phones),
    )
    .await?;
    Ok((repaired, ended))
}

/// Onboard the spec's targets with the journal open; write the reports.
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    dir: &Path,
    spec: &RunSpec,
    settings: Settings,
    profiles: Arc<ProfileSet>,
    journal: Arc<Journal>,
    mode: Mode,
    stop: watch::Receiver<bool>,
    previous: Option<&Phones>,
) -> Result<Ended, OnboardError> {
    let pace = fleet::progress::Pace::new(&profiles, spec.concurrency, spec.time_scale);
    let progress = Arc::new(Progress::paced(mode, spec.targets.len(), Some(pace)));
    progress.note(&format!("run directory {}", dir.display()));
    let done = fleet::run(
        spec.targets.clone(),
        Arc::new(settings),
        profiles,
        journal.clone(),
        progress.clone(),
        stop.clone(),
        previous,
    )
    .await;
    progress.finish();
    if *stop.borrow() {
        journal.interrupted()?;
    }
    conclude(dir, done, spec)
}

/// Write the reports of `done` into `dir` and decide the exit code.
pub fn conclude(dir: &Path, done: Vec<Done>, spec: &RunSpec) -> Result<Ended, OnboardError> {
    let (checks, targets) = (&spec.server_checks, spec.targets.len());
    let rows: Vec<Row> = done.iter().map(|(t, r)| Row::new(t, r)).collect();
    let reports: Vec<&crate::phone::Report> = done.iter().map(|(_, r)| r).collect();
    let run = report::RunInfo::new(spec, &reports);
    let files = report::write_files(dir, &run, &rows, checks)?;
    Ok(Ended {
        dir: dir.to_path_buf(),
        run,
        code: fleet::exit_code(&done),
        incomplete: fleet::incomplete(&done),
        pending: targets.saturating_sub(done.len()),
        done,
        rows,
        files,
        checks: checks.to_vec(),
    })
}

/// The reports of a run as its journal has them now (rewritten in its directory).
pub fn report(dir: &Path) -> Result<Ended, OnboardError> {
    let run = load(dir)?;
    conclude(dir, run.done, &run.spec)
}

impl Loaded {
    /// The MACs (as a person enters them) of the phones waiting for activation: those the run left Inactive.
    pub fn awaiting_activation(&self) -> Vec<String> {
        self.done
            .iter()
            .filter(|(_, r)| fleet::activation::awaits_activation(r))
            .map(|(t, r)| {
                let mac = r
                    .mac
                    .or(t.mac)
                    .map_or("(MAC unknown)".to_string(), |m| m.to_string());
                if r.mac_activation_only {
                    format!("{mac}  (activate by MAC only)")
                } else {
                    mac
                }
            })
            .collect()
    }
}

/// Once the MACs are in the admin console: reboot the run's Inactive phones and follow them to Active; rewrite
/// its reports. A run with none waiting is only reported.
pub async fn activate(
    run: Loaded,
    password_file: Option<&Path>,
    profiles: Arc<ProfileSet>,
    mode: Mode,
    stop: watch::Receiver<bool>,
) -> Result<(Repaired, Ended), OnboardError> {
    let waiting = run.awaiting_activation().len();
    if waiting == 0 {
        return Ok((None, conclude(&run.dir, run.done, &run.spec)?));
    }
    let settings = Arc::new(run.spec.settings(password_file)?);
    let journal = Arc::new(Journal::open(&run.dir)?);
    let repaired = journal.repaired().map(str::to_string);
    journal.resumed()?;
    let progress = Arc::new(Progress::new(mode, waiting));
    let done = fleet::activation::activate_all(
        run.done,
        settings,
        profiles,
        journal.clone(),
        progress.clone(),
        stop.clone(),
    )
    .await;
    progress.finish();
    if *stop.borrow() {
        journal.interrupted()?;
    }
    Ok((repaired, conclude(&run.dir, done, &run.spec)?))
}

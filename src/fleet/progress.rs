//! What a person (or a program) sees while a fleet runs. On a terminal: an overall bar (phones done / total, ETA)
//! and one line per active phone with its phase and elapsed time; finished phones scroll up as one-line results.
//! Without a terminal: plain timestamped lines. With `--json`: one JSON object per event.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::fleet::targets::Target;
use crate::phone::{Event, Report};

/// How to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Terminal,
    Plain,
    Json,
}

/// The live display of a run.
pub struct Progress {
    mode: Mode,
    multi: MultiProgress,
    overall: ProgressBar,
    bars: Mutex<HashMap<String, ProgressBar>>,
    start: Instant,
}

/// A phone's phase in a few words, for its progress line.
pub fn phase(e: &Event) -> Option<String> {
    Some(match e {
        Event::Probing { .. } => "probing".into(),
        Event::Recognised { family, .. } => format!("recognised {family}"),
        Event::LoggingIn { .. } => "logging in".into(),
        Event::Locked { seconds } => format!("web UI locked, waiting {seconds} s"),
        Event::Busy { .. } => "web UI in use elsewhere, retrying".into(),
        Event::LoggedIn => "logged in".into(),
        Event::Plan { .. } => "planning".into(),
        Event::Saving { .. } => "saving".into(),
        Event::Saved { .. } => "saved".into(),
        Event::Rebooting { reboot } => format!("rebooting {reboot}"),
        Event::Back { reboot, .. } => format!("back after reboot {reboot}"),
        Event::Updating { from, to } => format!("updating firmware {from} → {to}"),
        Event::Moved { to, .. } => format!("moved to {to}"),
        Event::Fetching { .. } => "loading its configuration".into(),
        Event::PhoneSays { line } => format!("phone: {line}"),
        Event::Inactive { .. } => "Inactive".into(),
        Event::RebootRequested => "rebooting for activation".into(),
        _ => return None,
    })
}

impl Progress {
    pub fn new(mode: Mode, total: usize) -> Progress {
        let multi = MultiProgress::with_draw_target(if mode == Mode::Terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let overall = multi.add(ProgressBar::new(total as u64));
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:32.green/white} {pos}/{len} phones done  {elapsed_precise}  ETA {eta}",
        ) {
            overall.set_style(style);
        }
        if mode == Mode::Terminal {
            overall.enable_steady_tick(Duration::from_millis(200));
        }
        Progress {
            mode,
            multi,
            overall,
            bars: Mutex::new(HashMap::new()),
            start: Instant::now(),
        }
    }

    /// Print one line; what devices said in it is shown, never obeyed (no control character reaches the terminal).
    fn line(&self, text: String) {
        let text = crate::text::for_terminal(&text);
        match self.mode {
            Mode::Terminal => {
                let _ = self.multi.println(text);
            }
            Mode::Plain => println!("{:>8.1}s  {text}", self.start.elapsed().as_secs_f64()),
            Mode::Json => {}
        }
    }

    /// A phone's task started.
    pub fn started(&self, phone: &str) {
        if self.mode != Mode::Terminal {
            return;
        }
        let bar = self
            .multi
            .insert_before(&self.overall, ProgressBar::new_spinner());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix:<22} {msg} [{elapsed}]")
        {
            bar.set_style(style);
        }
        bar.set_prefix(format!("{phone:<44}"));
        bar.set_message("starting");
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(phone.to_string(), bar);
    }

    /// A phone's event.
    pub fn event(&self, phone: &str, e: &Event) {
        match self.mode {
            Mode::Json => {
                let at = self.start.elapsed().as_secs_f64();
                crate::output::emit(crate::output::Line::phone(phone, at, e));
            }
            Mode::Plain => self.line(format!("{phone:<22} {e}")),
            Mode::Terminal => {
                if let Event::Warning { message } = e {
                    self.line(format!("  {phone}: warning: {message}"));
                }
                if let Event::Identified { mac, model, .. } = e {
                    // Name the line by what the technician sees on the phone's label.
                    if let Some(bar) = self
                        .bars
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(phone)
                    {
                        let who = [mac.map(|m| m.to_string()), model.clone()]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" ");
                        let who = crate::text::for_terminal(&who).into_owned();
                        bar.set_prefix(format!("{:<44}", format!("{phone} {who}")));
                    }
                }
                if let (Some(p), Some(bar)) = (
                    phase(e),
                    self.bars
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(phone),
                ) {
                    bar.set_message(crate::text::for_terminal(&p).into_owned());
                }
            }
        }
    }

    /// A phone finished.
    pub fn finished(&self, target: &Target, r: &Report) {
        let phone = target.key.as_str();
        self.overall.inc(1);
        if let Some(bar) = self
            .bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(phone)
        {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        match self.mode {
            Mode::Json => {
                crate::output::emit_run(crate::output::Run::Result {
                    phone: phone.to_string(),
                    at: self.start.elapsed().as_secs_f64(),
                    result: Box::new(crate::report::Row::new(target, r)),
                });
            }
            _ => {
                let who = [r.mac.map(|m| m.shown()), r.model.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                self.line(format!(
                    "{phone:<22} {who:<32} {} ({} {}, {:.0} s)",
                    r.outcome.label(),
                    r.reboots,
                    if r.reboots == 1 { "reboot" } else { "reboots" },
                    r.elapsed_secs
                ));
            }
        }
    }

    /// Print a line above the bars (or as a plain line).
    pub fn note(&self, text: &str) {
        if self.mode == Mode::Json {
            crate::output::emit_run(crate::output::Run::Note {
                note: text.to_string(),
            });
        } else {
            self.line(text.to_string());
        }
    }

    pub fn finish(&self) {
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}

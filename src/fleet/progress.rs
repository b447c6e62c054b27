//! What a person (or a program) sees while a fleet runs. On a terminal: one line per active phone (address, MAC,
//! model, phase, reboots, phone time) and an overall line (done out of all, split by how they ended, elapsed, and
//! an ETA from the profiles' expected durations); finished phones scroll up as one-line results with the reason
//! when one failed, warnings as they come and when they are resolved. No line is wider than the terminal.
//! Without a terminal: plain timestamped lines. With `--json`: one JSON line per event (`crate::output`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::fleet::targets::Target;
use crate::phone::{Event, Report};
use crate::profile::ProfileSet;
use crate::report::Summary;

/// How to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Terminal,
    Plain,
    Json,
}

/// The run's pace, for the ETA and the phones' clocks: each profile's expected wall seconds per phone (from its
/// timeline), how many phones run at once, and phone seconds per wall second.
#[derive(Debug, Clone)]
pub struct Pace {
    by_profile: HashMap<String, f64>,
    /// A phone not recognised yet is expected to take as long as the slowest profile.
    unknown: f64,
    concurrency: usize,
    scale: f64,
}

impl Pace {
    pub fn new(profiles: &ProfileSet, concurrency: usize, scale: f64) -> Pace {
        let scale = if scale > 0.0 { scale } else { 1.0 };
        let by_profile: HashMap<String, f64> = profiles
            .iter()
            .map(|p| {
                let secs = crate::onboard::plan::expected_phone_secs(p) as f64 / scale;
                (p.id.clone(), secs)
            })
            .collect();
        let unknown = by_profile.values().copied().fold(0.0, f64::max);
        Pace {
            by_profile,
            unknown,
            concurrency: concurrency.max(1),
            scale,
        }
    }
}

/// A phone being worked on.
struct Live {
    bar: Option<ProgressBar>,
    since: Instant,
    expected: f64,
    reboots: u32,
    /// The phone's label: address, MAC, model.
    who: (String, String, String),
}

/// What the overall line and the ETA are computed from.
#[derive(Default)]
struct Board {
    live: HashMap<String, Live>,
    waiting: usize,
    ended: Summary,
}

/// The live display of a run.
pub struct Progress {
    mode: Mode,
    multi: MultiProgress,
    overall: ProgressBar,
    board: Arc<Mutex<Board>>,
    pace: Option<Pace>,
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
        Event::Rebooting { .. } => "rebooting".into(),
        Event::Back { .. } => "back up".into(),
        Event::Updating { from, to } => format!("updating firmware {from} → {to}"),
        Event::Moved { to, .. } => format!("moved to {to}"),
        Event::Fetching { .. } => "loading its configuration".into(),
        Event::PhoneSays { line } => format!("phone: {line}"),
        Event::Inactive { .. } => "Inactive".into(),
        Event::RebootRequested => "rebooting for activation".into(),
        _ => return None,
    })
}

/// `42 s`, `3 min 05 s`, `1 h 02 min`.
pub fn clock(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {:02} s", s / 60, s % 60),
        s => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// `s` in exactly `width` columns: cut with an ellipsis, or padded.
pub fn fit(s: &str, width: usize) -> String {
    let cut = console::truncate_str(s, width, "…");
    console::pad_str(&cut, width, console::Alignment::Left, None).into_owned()
}

/// The terminal's width (80 when unknown).
fn columns() -> usize {
    let (_, cols) = console::Term::stderr().size();
    usize::from(cols).max(40)
}

impl Board {
    /// Wall seconds until the last phone is expected to finish: the remaining work of running phones and the
    /// expected work of waiting ones, spread over the concurrency, longest first.
    fn eta(&self, pace: &Pace) -> f64 {
        let mut jobs: Vec<u64> = self
            .live
            .values()
            .map(|l| {
                let left = l.expected - l.since.elapsed().as_secs_f64();
                // Past its expected time a phone is still going: count a tenth of it rather than nothing.
                left.max(l.expected / 10.0) as u64
            })
            .collect();
        jobs.extend(std::iter::repeat_n(pace.unknown as u64, self.waiting));
        crate::onboard::plan::makespan(jobs, pace.concurrency) as f64
    }
}

impl Progress {
    /// A display without an ETA (the number of phones is all it knows).
    pub fn new(mode: Mode, total: usize) -> Progress {
        Progress::paced(mode, total, None)
    }

    /// A display that knows the run's pace: an ETA from the profiles, phone time on each phone's line.
    pub fn paced(mode: Mode, total: usize, pace: Option<Pace>) -> Progress {
        let multi = MultiProgress::with_draw_target(if mode == Mode::Terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let overall = multi.add(ProgressBar::new(total as u64));
        let board = Arc::new(Mutex::new(Board {
            waiting: total,
            ..Board::default()
        }));
        let eta = {
            let (board, pace) = (board.clone(), pace.clone());
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let Some(pace) = &pace else { return };
                let b = board.lock().unwrap_or_else(|e| e.into_inner());
                if b.live.is_empty() && b.waiting == 0 {
                    return;
                }
                let _ = write!(w, " · about {} left", clock(b.eta(pace)));
            }
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:20.green/white} {pos}/{len} done · {elapsed}{eta_plan} · {wide_msg}",
        ) {
            overall.set_style(style.with_key("eta_plan", eta));
        }
        if mode == Mode::Terminal {
            overall.enable_steady_tick(Duration::from_millis(200));
        }
        Progress {
            mode,
            multi,
            overall,
            board,
            pace,
            start: Instant::now(),
        }
    }

    fn board(&self) -> std::sync::MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Print one line; what devices said in it is shown, never obeyed (no control character reaches the terminal),
    /// and on a terminal it is cut to its width rather than wrapped.
    fn line(&self, text: String) {
        let text = crate::text::for_terminal(&text);
        match self.mode {
            Mode::Terminal => {
                let _ = self
                    .multi
                    .println(console::truncate_str(&text, columns(), "…"));
            }
            Mode::Plain => println!("{:>8.1}s  {text}", self.start.elapsed().as_secs_f64()),
            Mode::Json => {}
        }
    }

    /// The fixed-width label of a phone's line: address, MAC, model.
    fn label(who: &(String, String, String)) -> String {
        let mac = console::measure_text_width(&crate::mac::shown("0004F2A1B2C3"));
        format!(
            "{} {} {}",
            fit(&who.0, 15),
            fit(&who.1, mac),
            fit(&who.2, 12)
        )
    }

    /// A phone's task started.
    pub fn started(&self, phone: &str) {
        let scale = self.pace.as_ref().map_or(1.0, |p| p.scale);
        let expected = self.pace.as_ref().map_or(0.0, |p| p.unknown);
        let who = (phone.to_string(), String::new(), String::new());
        let bar = (self.mode == Mode::Terminal).then(|| {
            let bar = self
                .multi
                .insert_before(&self.overall, ProgressBar::new_spinner());
            let phone_time = move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", clock(s.elapsed().as_secs_f64() * scale));
            };
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {prefix} {phone_time:>9} {wide_msg}")
            {
                bar.set_style(style.with_key("phone_time", phone_time));
            }
            bar.set_prefix(Progress::label(&who));
            bar.set_message("starting");
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let mut board = self.board();
        board.waiting = board.waiting.saturating_sub(1);
        board.live.insert(
            phone.to_string(),
            Live {
                bar,
                since: Instant::now(),
                expected,
                reboots: 0,
                who,
            },
        );
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
                match e {
                    Event::Warning { message } => {
                        self.line(format!("  {phone}: warning: {message}"))
                    }
                    Event::Resolved { warning, how } => {
                        self.line(format!("  {phone}: resolved ({how}): {warning}"))
                    }
                    _ => {}
                }
                // Indicatif draws (and so calls the ETA, which locks the board) inside its setters: the board's
                // lock is never held across one.
                let pace = self.pace.clone();
                let (bar, label, message) = {
                    let mut board = self.board();
                    let Some(live) = board.live.get_mut(phone) else {
                        return;
                    };
                    let mut label = None;
                    match e {
                        Event::Identified { mac, model, .. } => {
                            // Name the line by what the technician sees on the phone's label.
                            live.who.1 = mac.map(|m| m.shown()).unwrap_or_default();
                            live.who.2 = model.clone().unwrap_or_default();
                            label = Some(
                                crate::text::for_terminal(&Progress::label(&live.who)).into_owned(),
                            );
                        }
                        Event::Recognised { profile, .. } => {
                            if let Some(secs) =
                                pace.as_ref().and_then(|p| p.by_profile.get(profile))
                            {
                                live.expected = *secs;
                            }
                        }
                        Event::Rebooting { reboot } => live.reboots = *reboot,
                        _ => {}
                    }
                    let message = phase(e).map(|p| {
                        let reboots = match live.reboots {
                            0 => String::new(),
                            1 => " · 1 reboot".into(),
                            n => format!(" · {n} reboots"),
                        };
                        crate::text::for_terminal(&format!("{p}{reboots}")).into_owned()
                    });
                    (live.bar.clone(), label, message)
                };
                if let Some(bar) = bar {
                    if let Some(label) = label {
                        bar.set_prefix(label);
                    }
                    if let Some(message) = message {
                        bar.set_message(message);
                    }
                }
            }
        }
    }

    /// A phone finished.
    pub fn finished(&self, target: &Target, r: &Report) {
        let phone = target.key.as_str();
        let (bar, split) = {
            let mut board = self.board();
            let bar = match board.live.remove(phone) {
                Some(live) => live.bar,
                None => {
                    // Finished without starting (already done in the journal, or interrupted before its turn).
                    board.waiting = board.waiting.saturating_sub(1);
                    None
                }
            };
            board.ended.count(r.outcome.label());
            (bar, board.ended.parts().join(", "))
        };
        if let Some(bar) = bar {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.overall.inc(1);
        self.overall.set_message(split);
        match self.mode {
            Mode::Json => {
                crate::output::emit_run(crate::output::Run::Result {
                    phone: phone.to_string(),
                    at: self.start.elapsed().as_secs_f64(),
                    result: Box::new(crate::report::Row::new(target, r)),
                });
            }
            _ => {
                let mac = r.mac.or(target.mac).map(|m| m.shown()).unwrap_or_default();
                let model = r.model.clone().unwrap_or_default();
                let why = r
                    .outcome
                    .reason()
                    .map_or(String::new(), |w| format!(": {w}"));
                self.line(format!(
                    "{} {} ({}, {}){why}",
                    Progress::label(&(phone.to_string(), mac, model)),
                    r.outcome.label(),
                    match r.reboots {
                        1 => "1 reboot".to_string(),
                        n => format!("{n} reboots"),
                    },
                    clock(r.elapsed_secs)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_time_reads_in_units() {
        assert_eq!(clock(42.4), "42 s");
        assert_eq!(clock(185.0), "3 min 05 s");
        assert_eq!(clock(3720.0), "1 h 02 min");
    }

    #[test]
    fn labels_keep_their_columns() {
        assert_eq!(fit("VVX 411", 10), "VVX 411   ");
        assert_eq!(fit("Polycom SoundPoint IP 650", 10), "Polycom S…");
        assert_eq!(console::measure_text_width(&fit("x", 16)), 16);
    }

    /// The ETA comes from the profiles, not from the last interval: with nothing started it is the plan's
    /// makespan, and it does not jump when a phone finishes early.
    #[test]
    fn the_eta_is_the_remaining_expected_work_over_the_concurrency() {
        let profiles = ProfileSet::bundled().unwrap();
        let pace = Pace::new(&profiles, 2, 1.0);
        let board = Board {
            waiting: 4,
            ..Board::default()
        };
        let eta = board.eta(&pace);
        assert!((eta - 2.0 * pace.unknown.floor()).abs() < 1.0, "{eta}");
    }
}

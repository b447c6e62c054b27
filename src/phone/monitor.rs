//! Following a phone from "saved" to a verdict: a state machine fed with observations (is it up, what its
//! application log says since its last boot, its firmware) taken at phone-time instants. Pure: the driver in
//! `follow.rs` polls the phone; the tests here feed synthetic observations.
//!
//! saved → rebooting → back → (updating firmware: further reboots) → the phone's own evidence decides:
//! - its log shows a provisioning pass that loaded the service's configuration → **Inactive** (at once: no quiet
//!   window is waited out), or **Active** when its line registered;
//! - its log shows the pass failed → the named failure (server unreachable, refused, config missing …);
//! - its log shows another server than the saved one → server reverted;
//! - nothing readable that long after the last change → **unconfirmed** (never Inactive);
//! - and the transport failures: never came back, update loop, timed out.

use serde::Serialize;

use super::applog::{Attempt, Boot, LogFailure};
use super::event::Event;

/// What the profile (or the command line) expects of this phone's reboot path, in phone seconds.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    pub boot_secs: f64,
    /// Down longer than this: the phone is not coming back (at this address).
    pub return_secs: f64,
    /// Further reboots a firmware update normally takes.
    pub update_reboots: u32,
    /// No evidence this long after the last change (a boot, an update): the outcome is unconfirmed.
    pub settle_secs: f64,
    pub timeout_secs: f64,
    /// How long a web session may hold the phone (its idle lifetime): the longest a busy phone is waited for.
    pub busy_secs: f64,
}

impl Expect {
    /// More reboots than this is an update loop: the save's reboot, the update's, and three to spare (a phone
    /// may take two updates in a row, or reboot once more after fetching its configuration).
    pub fn max_reboots(&self) -> u32 {
        1 + self.update_reboots + 3
    }
}

/// One look at the phone.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// Phone seconds since the save, when the look's evidence came in (a refusal when it came, pages once read).
    pub at: f64,
    pub up: bool,
    pub firmware: Option<String>,
    /// Its application log since its last boot, when read.
    pub log: Option<Boot>,
    /// The phone is up but its pages cannot be read (its single web session is held by another client, or the
    /// password was refused after the save).
    pub blind: bool,
    /// Its single web session is held (someone in its web UI, or a session of ours whose answer was lost): the log
    /// cannot be read until that session ends.
    pub busy: bool,
}

/// Why the phone did not reach Inactive.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Failure {
    #[error(
        "the phone went down to reboot and did not come back within {waited:.0} s. Fix: check its power and cable, then look for it by MAC (it may have a new address)"
    )]
    NeverCameBack { waited: f64 },
    #[error(
        "the phone rebooted {reboots} times without settling: a firmware update loop. Fix: check the provisioning server's firmware for this model, or power-cycle the phone"
    )]
    UpdateLoop { reboots: u32 },
    #[error("the phone uses the provisioning server {now:?}, not the one saved")]
    Reverted { now: String },
    #[error("the phone's log says its provisioning failed")]
    Server {
        failure: LogFailure,
        lines: Vec<String>,
    },
    #[error("{why}")]
    Unconfirmed { why: String },
    /// Activated, the phone keeps loading its configuration without a registered line.
    #[error("the phone loaded its configuration but its line did not register")]
    StillInactive { lines: Vec<String> },
    #[error(
        "the phone did not settle within {waited:.0} s. Fix: look at the phone's screen; run `polyprov provision` again to resume watching"
    )]
    TimedOut { waited: f64 },
}

/// Where the monitor is.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Watching,
    /// The phone loaded the service's configuration; `evidence`: its own lines that show it.
    Inactive {
        evidence: Vec<String>,
    },
    /// The phone loaded it and its line registered.
    Active {
        evidence: Vec<String>,
    },
    Failed(Failure),
}

/// The monitor's state.
#[derive(Debug, Clone)]
pub struct Monitor {
    expect: Expect,
    wanted_server: String,
    baseline_boots: Option<usize>,
    firmware: Option<String>,
    pub reboots: u32,
    down_since: Option<f64>,
    last_change: f64,
    waiting_told: bool,
    updating_told: Option<String>,
    /// Watching resumed after an interruption: the reboots may already be over.
    resumed: bool,
    /// What the last readable look showed, for an unconfirmed verdict's reason.
    last_log: Option<Attempt>,
    /// When (phone seconds) the log was last read.
    last_log_at: Option<f64>,
    /// Since when the phone's web session has been held by someone else, in the current streak.
    busy_since: Option<f64>,
    /// Following an activation: only a registered line ends the watch well; a loaded configuration without one
    /// is waited on, then `still-inactive`.
    until_active: bool,
    /// The phone's lines that showed the configuration loaded without a registered line (activation).
    loaded_unregistered: Option<Vec<String>>,
}

impl Monitor {
    /// Start watching right after a save; `boots` and `firmware` as read before the save.
    pub fn new(
        expect: Expect,
        wanted_server: &str,
        boots: Option<usize>,
        firmware: Option<String>,
    ) -> Monitor {
        Monitor {
            expect,
            wanted_server: wanted_server.to_string(),
            baseline_boots: boots,
            firmware,
            reboots: 0,
            down_since: None,
            last_change: 0.0,
            waiting_told: false,
            updating_told: None,
            resumed: false,
            last_log: None,
            last_log_at: None,
            busy_since: None,
            until_active: false,
            loaded_unregistered: None,
        }
    }

    /// Follow an activation: the watch ends well only when the phone's line registers.
    pub fn until_active(mut self) -> Monitor {
        self.until_active = true;
        self
    }

    /// Watching a phone saved before an interruption, after the `reboots` the journal counted: it may have
    /// rebooted since, and its log's boot count less those reboots is taken as the baseline when first read, so the
    /// count goes on from where it was.
    pub fn resumed(mut self, reboots: u32) -> Monitor {
        self.resumed = true;
        self.reboots = reboots;
        self
    }

    fn rebooted_or_resumed(&self) -> bool {
        self.reboots > 0 || self.resumed
    }

    /// The firmware last seen.
    pub fn firmware(&self) -> Option<&str> {
        self.firmware.as_deref()
    }

    /// Down since when (phone seconds), if down.
    pub fn down_since(&self) -> Option<f64> {
        self.down_since
    }

    /// Whether the next look should read the log: the phone is back and its evidence has not been seen yet.
    pub fn wants_log(&self) -> bool {
        self.rebooted_or_resumed() && self.down_since.is_none()
    }

    /// Take one observation; returns what happened and where things stand. What the phone shows decides even when
    /// the look came in after the overall timeout (a slow phone's pages take long to read); only a watch that is
    /// still undecided then ends, timed out.
    pub fn observe(&mut self, o: &Observation) -> (Vec<Event>, Verdict) {
        self.busy_since = match (o.busy, self.busy_since) {
            (false, _) => None,
            (true, None) => Some(o.at),
            (true, since) => since,
        };
        let (events, verdict) = self.judge(o);
        if verdict != Verdict::Watching || o.at <= self.expect.timeout_secs {
            return (events, verdict);
        }
        let verdict = if o.busy {
            Verdict::Failed(Failure::Unconfirmed {
                why: self.unconfirmed_why(o),
            })
        } else {
            Verdict::Failed(Failure::TimedOut { waited: o.at })
        };
        (events, verdict)
    }

    /// The verdict of the evidence so far, this observation included.
    fn judge(&mut self, o: &Observation) -> (Vec<Event>, Verdict) {
        let mut events = Vec::new();
        if !o.up {
            match self.down_since {
                None => {
                    self.down_since = Some(o.at);
                    self.reboots += 1;
                    self.last_change = o.at;
                    events.push(Event::Rebooting {
                        reboot: self.reboots,
                    });
                }
                Some(since) if o.at - since > self.expect.return_secs => {
                    return (
                        events,
                        Verdict::Failed(Failure::NeverCameBack {
                            waited: o.at - since,
                        }),
                    );
                }
                Some(_) => {}
            }
            return (events, self.loop_check());
        }
        let was_down = self.down_since.take().is_some();
        let boots = o.log.as_ref().map(|l| l.boots);
        if self.baseline_boots.is_none() {
            self.baseline_boots = boots.map(|b| b.saturating_sub(self.reboots as usize));
        }
        if let (Some(base), Some(now)) = (self.baseline_boots, boots) {
            // The log counts every boot, including ones that happened between two looks.
            let seen = now.saturating_sub(base) as u32;
            if seen > self.reboots {
                for r in self.reboots + 1..=seen {
                    events.push(Event::Rebooting { reboot: r });
                }
                self.reboots = seen;
                self.last_change = o.at;
            }
        }
        if was_down {
            self.last_change = o.at;
            events.push(Event::Back {
                reboot: self.reboots,
                firmware: o.firmware.clone(),
            });
            self.waiting_told = false;
        }
        if let Some(fw) = &o.firmware {
            if self.firmware.as_deref() != Some(fw.as_str()) {
                events.push(Event::Updating {
                    from: self.firmware.clone().unwrap_or_else(|| "?".into()),
                    to: fw.clone(),
                });
                self.firmware = Some(fw.clone());
                self.last_change = o.at;
            }
        }
        let verdict = self.loop_check();
        if verdict != Verdict::Watching {
            return (events, verdict);
        }
        if !self.rebooted_or_resumed() {
            return (events, Verdict::Watching);
        }
        // Before a reboot is seen, a resumed watch may be looking at the boot before the save: only a success
        // with the wanted server counts then.
        let settled_boot = self.reboots > 0;
        if let Some(log) = &o.log {
            self.last_log = Some(log.attempt.clone());
            self.last_log_at = Some(o.at);
            let server_ok = log
                .server
                .as_deref()
                .is_none_or(|s| same_server(s, &self.wanted_server));
            // A success must name the saved server: a pass without the phone's server line proves nothing.
            let names_wanted = log
                .server
                .as_deref()
                .is_some_and(|s| same_server(s, &self.wanted_server));
            if !server_ok && settled_boot {
                let now = log.server.clone().unwrap_or_default();
                return (events, Verdict::Failed(Failure::Reverted { now }));
            }
            match &log.attempt {
                Attempt::Failed { failure, lines } if settled_boot => {
                    events.push(Event::PhoneSays {
                        line: lines.last().cloned().unwrap_or_default(),
                    });
                    return (
                        events,
                        Verdict::Failed(Failure::Server {
                            failure: *failure,
                            lines: lines.clone(),
                        }),
                    );
                }
                Attempt::Loaded { lines, registered } if names_wanted => {
                    let mut evidence: Vec<String> =
                        lines.iter().map(|l| format!("app log: {l:?}")).collect();
                    return match registered {
                        Some(r) => {
                            evidence.push(format!("app log: {r:?}"));
                            (events, Verdict::Active { evidence })
                        }
                        None if self.until_active => {
                            if self.loaded_unregistered.is_none() {
                                self.loaded_unregistered = Some(lines.clone());
                            }
                            if o.at - self.last_change >= self.expect.settle_secs {
                                (
                                    events,
                                    Verdict::Failed(Failure::StillInactive {
                                        lines: lines.clone(),
                                    }),
                                )
                            } else {
                                (events, Verdict::Watching)
                            }
                        }
                        None => {
                            events.push(Event::Inactive {
                                evidence: evidence.clone(),
                            });
                            (events, Verdict::Inactive { evidence })
                        }
                    };
                }
                Attempt::Updating { version, line }
                    if self.updating_told.as_deref() != Some(version.as_str()) =>
                {
                    self.updating_told = Some(version.clone());
                    self.last_change = o.at;
                    events.push(Event::PhoneSays { line: line.clone() });
                }
                Attempt::Restarting { line } if self.updating_told.as_deref() != Some(line) => {
                    self.updating_told = Some(line.clone());
                    self.last_change = o.at;
                    events.push(Event::PhoneSays { line: line.clone() });
                }
                _ => {}
            }
        }
        if !self.waiting_told {
            self.waiting_told = true;
            events.push(Event::Fetching {
                for_secs: self.expect.settle_secs as u64,
            });
        }
        if self.window_over(o) {
            if let Some(lines) = self.loaded_unregistered.clone() {
                return (events, Verdict::Failed(Failure::StillInactive { lines }));
            }
            return (
                events,
                Verdict::Failed(Failure::Unconfirmed {
                    why: self.unconfirmed_why(o),
                }),
            );
        }
        (events, Verdict::Watching)
    }

    /// The quiet window after the last change is over, and a look taken after it says so: "no evidence" rests on a
    /// log read once the window had passed, not on one read early in it (a read can fail, or a busy laptop can be
    /// slow to look). A log that cannot be read at all is given twice the window; pages that cannot be read at
    /// all (blind) end it at once. A phone whose web session is held is waited for until that session must have
    /// ended (its idle lifetime).
    fn window_over(&self, o: &Observation) -> bool {
        let settle = self.expect.settle_secs;
        let quiet = o.at - self.last_change;
        if quiet < settle {
            return false;
        }
        if let Some(since) = self.busy_since {
            return o.at - since >= self.expect.busy_secs;
        }
        let read_late = self
            .last_log_at
            .is_some_and(|t| t - self.last_change >= settle);
        read_late || o.blind || quiet >= 2.0 * settle
    }

    /// Why nothing could be concluded, from what the looks showed.
    fn unconfirmed_why(&self, o: &Observation) -> String {
        let secs = self.expect.settle_secs;
        if let (true, Some(since)) = (o.busy, self.busy_since) {
            return format!(
                "the phone's single web session was held by another client for {:.0} s (someone in its web UI, or a session whose answer was lost on the network), so its log — which shows whether it loaded the service's configuration — could not be read",
                o.at - since
            );
        }
        if o.blind {
            return format!(
                "the phone is up but its pages could not be read for {secs:.0} s after its last reboot, so its log — which shows whether it loaded the service's configuration — was not read"
            );
        }
        match &self.last_log {
            None => format!(
                "the phone's application log could not be read in the {secs:.0} s after its last reboot"
            ),
            Some(Attempt::None) => format!(
                "the phone's log shows no provisioning attempt in the {secs:.0} s after its last reboot"
            ),
            Some(Attempt::Running) => format!(
                "the phone's provisioning attempt had not finished {secs:.0} s after its last reboot (a slow server?)"
            ),
            Some(_) => {
                format!("the phone's log showed no final result {secs:.0} s after its last change")
            }
        }
    }

    fn loop_check(&self) -> Verdict {
        if self.reboots > self.expect.max_reboots() {
            Verdict::Failed(Failure::UpdateLoop {
                reboots: self.reboots,
            })
        } else {
            Verdict::Watching
        }
    }
}

/// Provisioning server addresses compare without case, trailing slash, or a scheme's default port; a scheme given
/// on only one side does not make them differ (the phone may show the address as typed).
pub fn same_server(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> (Option<String>, String) {
        let s = s.trim().to_ascii_lowercase();
        let (scheme, rest) = match s.split_once("://") {
            Some((sc, r)) => (Some(sc.to_string()), r.to_string()),
            None => (None, s.clone()),
        };
        let (host, path) = rest.split_once('/').unwrap_or((rest.as_str(), ""));
        let default = match scheme.as_deref() {
            Some("https") => ":443",
            Some("http") => ":80",
            Some("ftp") => ":21",
            _ => "",
        };
        let host = if default.is_empty() {
            host
        } else {
            host.strip_suffix(default).unwrap_or(host)
        };
        (scheme, format!("{host}/{}", path.trim_end_matches('/')))
    }
    let ((sa, ra), (sb, rb)) = (norm(a), norm(b));
    ra == rb && (sa.is_none() || sb.is_none() || sa == sb)
}

#[cfg(test)]
mod tests;

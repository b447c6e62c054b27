//! Following a phone from "saved" to Inactive: a state machine fed with observations (is it up, how many boots
//! its log shows, its firmware, its provisioning server) taken at phone-time instants. Pure: the driver in
//! `run.rs` polls the phone; the tests here feed synthetic observations.
//!
//! saved → rebooting → back → (updating firmware: version changed / further reboots) → settling (no reboot for
//! the settle window) → **Inactive**; or a named failure: never came back, update loop, provisioning server
//! reverted, timed out.

use serde::Serialize;

use super::event::Event;

/// What the profile (or the command line) expects of this phone's reboot path, in phone seconds.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    pub boot_secs: f64,
    /// Down longer than this: the phone is not coming back (at this address).
    pub return_secs: f64,
    /// Further reboots a firmware update normally takes.
    pub update_reboots: u32,
    pub settle_secs: f64,
    pub timeout_secs: f64,
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
    /// Phone seconds since the save.
    pub at: f64,
    pub up: bool,
    /// "Initial log entry." lines in its application log, when read.
    pub boots: Option<usize>,
    pub firmware: Option<String>,
    /// Provisioning server address, when read.
    pub server: Option<String>,
    /// The phone is up but its pages cannot be read (its single web session is held by another client):
    /// settling is then judged from reachability alone.
    pub blind: bool,
}

/// Why the phone did not reach Inactive.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "failure", rename_all = "kebab-case")]
pub enum Failure {
    #[error(
        "the phone went down to reboot and did not come back within {waited:.0} s. Fix: check its power and cable, then look for it by MAC (it may have a new address)"
    )]
    NeverCameBack { waited: f64 },
    #[error(
        "the phone rebooted {reboots} times without settling: a firmware update loop. Fix: check the provisioning server's firmware for this model, or power-cycle the phone"
    )]
    UpdateLoop { reboots: u32 },
    #[error(
        "the provisioning server changed back to {now:?} after the save. Fix: something (DHCP option 160/66, or a config file) overrides it; check the DHCP server"
    )]
    Reverted { now: String },
    #[error(
        "the phone did not settle within {waited:.0} s. Fix: look at the phone's screen; run `polyprov provision` again to resume watching"
    )]
    TimedOut { waited: f64 },
}

/// Where the monitor is.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Watching,
    Inactive,
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
    settling_told: bool,
    /// Watching resumed after an interruption: the reboots may already be over.
    resumed: bool,
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
            settling_told: false,
            resumed: false,
        }
    }

    /// Watching a phone saved before an interruption: it may settle without a reboot being seen, and its log's
    /// boot count is taken as the baseline when first read.
    pub fn resumed(mut self) -> Monitor {
        self.resumed = true;
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

    /// Take one observation; returns what happened and where things stand.
    pub fn observe(&mut self, o: &Observation) -> (Vec<Event>, Verdict) {
        let mut events = Vec::new();
        if o.at > self.expect.timeout_secs {
            let verdict = match self.loop_check() {
                Verdict::Watching => Verdict::Failed(Failure::TimedOut { waited: o.at }),
                looping => looping,
            };
            return (events, verdict);
        }
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
        if self.baseline_boots.is_none() {
            self.baseline_boots = o.boots.map(|b| b.saturating_sub(self.reboots as usize));
        }
        if let (Some(base), Some(now)) = (self.baseline_boots, o.boots) {
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
            self.settling_told = false;
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
        if let Some(server) = &o.server {
            if self.rebooted_or_resumed() && !same_server(server, &self.wanted_server) {
                return (
                    events,
                    Verdict::Failed(Failure::Reverted {
                        now: server.clone(),
                    }),
                );
            }
        }
        let verdict = self.loop_check();
        if verdict != Verdict::Watching {
            return (events, verdict);
        }
        if !self.settling_told && self.rebooted_or_resumed() {
            self.settling_told = true;
            events.push(Event::Settling {
                for_secs: self.expect.settle_secs as u64,
            });
        }
        let quiet = o.at - self.last_change;
        if self.rebooted_or_resumed()
            && quiet >= self.expect.settle_secs
            && (o.server.is_some() || o.blind)
        {
            events.push(Event::Inactive);
            return (events, Verdict::Inactive);
        }
        (events, Verdict::Watching)
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

    /// Whether the next observation should read the provisioning server (the settle window is nearly over).
    pub fn wants_server(&self, at: f64) -> bool {
        self.rebooted_or_resumed() && at - self.last_change >= self.expect.settle_secs * 0.8
    }
}

/// Provisioning server addresses compare without case and trailing slash.
pub fn same_server(a: &str, b: &str) -> bool {
    a.trim()
        .trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim().trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://prov.example.test/";

    fn expect() -> Expect {
        Expect {
            boot_secs: 150.0,
            return_secs: 450.0,
            update_reboots: 2,
            settle_secs: 180.0,
            timeout_secs: 1500.0,
        }
    }

    fn up(at: f64, boots: usize, fw: &str) -> Observation {
        Observation {
            at,
            up: true,
            boots: Some(boots),
            firmware: Some(fw.into()),
            server: Some(URL.into()),
            blind: false,
        }
    }

    fn down(at: f64) -> Observation {
        Observation {
            at,
            ..Observation::default()
        }
    }

    /// Save, reboot, update in two more reboots, then quiet for the settle window: Inactive.
    #[test]
    fn reboot_update_settle_is_inactive() {
        let mut m = Monitor::new(expect(), URL, Some(1), Some("6.4.5".into()));
        let mut all = Vec::new();
        let script = [
            down(5.0),
            up(160.0, 2, "6.4.5"),
            down(200.0),
            up(350.0, 3, "6.4.5"),
            down(360.0),
            up(510.0, 4, "6.4.7"),
            up(600.0, 4, "6.4.7"),
        ];
        for o in &script {
            let (ev, v) = m.observe(o);
            all.extend(ev);
            assert_eq!(v, Verdict::Watching);
        }
        let (ev, v) = m.observe(&up(700.0, 4, "6.4.7"));
        all.extend(ev);
        assert_eq!(v, Verdict::Inactive);
        assert_eq!(m.reboots, 3);
        assert!(all.contains(&Event::Updating {
            from: "6.4.5".into(),
            to: "6.4.7".into()
        }));
        assert_eq!(all.last(), Some(&Event::Inactive));
    }

    /// Reboots that happen between two looks are counted from the log's boot entries.
    #[test]
    fn missed_reboots_are_counted_from_the_log() {
        let mut m = Monitor::new(expect(), URL, Some(1), Some("1".into()));
        let (ev, _) = m.observe(&up(400.0, 4, "1"));
        assert_eq!(m.reboots, 3);
        assert_eq!(
            ev.iter()
                .filter(|e| matches!(e, Event::Rebooting { .. }))
                .count(),
            3
        );
    }

    /// Down longer than the return window: never came back.
    #[test]
    fn never_came_back() {
        let mut m = Monitor::new(expect(), URL, Some(1), None);
        m.observe(&down(5.0));
        assert_eq!(m.observe(&down(300.0)).1, Verdict::Watching);
        let (_, v) = m.observe(&down(460.0));
        assert!(
            matches!(v, Verdict::Failed(Failure::NeverCameBack { .. })),
            "{v:?}"
        );
    }

    /// Reboot after reboot without settling: an update loop.
    #[test]
    fn update_loop() {
        let mut m = Monitor::new(expect(), URL, Some(1), None);
        let mut t = 0.0;
        let mut verdict = Verdict::Watching;
        for b in 2..20 {
            t += 10.0;
            m.observe(&down(t));
            t += 150.0;
            verdict = m.observe(&up(t, b, "x")).1;
            if verdict != Verdict::Watching {
                break;
            }
        }
        assert!(
            matches!(verdict, Verdict::Failed(Failure::UpdateLoop { .. })),
            "{verdict:?}"
        );
    }

    /// The server reverting after the reboot is named.
    #[test]
    fn reverted_server() {
        let mut m = Monitor::new(expect(), URL, Some(1), None);
        m.observe(&down(5.0));
        let mut o = up(160.0, 2, "x");
        o.server = Some("tftp.example.test".into());
        let (_, v) = m.observe(&o);
        assert_eq!(
            v,
            Verdict::Failed(Failure::Reverted {
                now: "tftp.example.test".into()
            })
        );
    }

    /// With the web session held by someone else, a quiet phone settles on reachability alone.
    #[test]
    fn blind_settling() {
        let mut m = Monitor::new(expect(), URL, Some(1), None);
        m.observe(&down(5.0));
        let blind = |at| Observation {
            at,
            up: true,
            blind: true,
            ..Observation::default()
        };
        assert_eq!(m.observe(&blind(160.0)).1, Verdict::Watching);
        assert_eq!(m.observe(&blind(345.0)).1, Verdict::Inactive);
    }

    /// Past the overall timeout: timed out.
    #[test]
    fn timeout() {
        let mut m = Monitor::new(expect(), URL, Some(1), None);
        let (_, v) = m.observe(&up(1600.0, 1, "x"));
        assert!(matches!(v, Verdict::Failed(Failure::TimedOut { .. })));
    }

    /// Trailing slashes and case do not make a server "different".
    #[test]
    fn server_comparison() {
        assert!(same_server(
            "HTTPS://Prov.example.test",
            "https://prov.example.test/"
        ));
        assert!(!same_server(
            "https://a.example.test/",
            "https://b.example.test/"
        ));
    }
}

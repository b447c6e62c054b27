//! What one phone's onboarding is given: the [`Job`] (where the phone is, what to set, the passwords to try, the
//! clock and patience), which phones may be touched ([`Allow`]), what a resumed run knew of it ([`Resume`]), and the
//! run-wide [`Claims`] that keep one phone from being worked on twice at once.

use ipnet::IpNet;
use serde::Serialize;

use super::attempts::Attempts;
use super::locate::Heard;
use super::provisioning::Wanted;
use super::session::Patience;
use crate::clock::Clock;
use crate::mac::Mac;
use crate::secret::Secret;

/// Everything needed to onboard one phone.
#[derive(Debug, Clone)]
pub struct Job {
    /// `https://HOST[:PORT]/` (or `http://` for phones served over plain HTTP).
    pub base: url::Url,
    pub wanted: Wanted,
    /// Admin passwords to try, in order.
    pub passwords: Vec<Secret>,
    /// Also try the profile's factory passwords (after the given ones).
    pub allow_factory: bool,
    /// Replace a factory admin password with this one before provisioning.
    pub new_password: Option<Secret>,
    /// Log in, read and show the plan; change nothing.
    pub dry_run: bool,
    /// Repoint a phone in service (its provisioning server already set to another one); without it such a phone
    /// is left alone and reported.
    pub force: bool,
    /// The phone's MAC when known (discovery, neighbour table): the certificate must name it.
    pub expected_mac: Option<Mac>,
    /// A range the user named, to look for the phone by MAC if it comes back elsewhere.
    pub search_range: Option<IpNet>,
    /// Addresses probed per second while looking for it (politeness on the customer's LAN).
    pub search_rate: u32,
    /// Where live discovery last heard each MAC (`onboard --interface`).
    pub heard: Option<Heard>,
    /// The port's ARP budget the search for a moved phone takes from (`None`: no search, or not paced).
    pub port: Option<std::sync::Arc<crate::discover::budget::PortBudget>>,
    /// Phone time, scaled when the phones are simulated.
    pub clock: Clock,
    pub timing: Timing,
    pub patience: Patience,
    /// Turns true when the user interrupts: stop before a save, or stop watching after one.
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// A phone an interrupted run already saved: only watch it (never save twice).
    pub resume: Option<Resume>,
    /// Only phones passing this filter are logged into.
    pub allow: Allow,
    /// The phones the whole run has claimed, by MAC (`None`: a single phone).
    pub claims: Option<Claims>,
    /// Our own failed logins per phone, remembered across runs (`None`: not remembered).
    pub attempts: Option<std::sync::Arc<Attempts>>,
    /// The certificate each phone presented first, by MAC: a different one is refused (`None`: not checked).
    pub known: Option<std::sync::Arc<super::known::KnownPhones>>,
}

/// The phones a run works on, by MAC, each claimed by the first target that reached it: a phone listed under two
/// addresses (or two names) is logged into once, never twice at once.
#[derive(Debug, Clone, Default)]
pub struct Claims(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<Mac, String>>>);

impl Claims {
    /// Claim `mac` for `target`; the other target holding it already, if there is one.
    pub fn claim(&self, mac: Mac, target: &str) -> Option<String> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match held.get(&mac) {
            Some(first) if first != target => Some(first.clone()),
            Some(_) => None,
            None => {
                held.insert(mac, target.to_string());
                None
            }
        }
    }
}

/// Which phones may be touched (an empty list allows all).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Allow {
    pub macs: Vec<Mac>,
    /// OUIs (6 uppercase hex digits).
    pub ouis: Vec<String>,
    pub models: Vec<String>,
    /// The site's plan (`onboard --plan`), unless unplanned phones are allowed: only its phones are touched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlannedOnly>,
}

/// The MACs a site's plan lists, the only ones a run following it touches.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PlannedOnly {
    /// The plan's site, as its rows name it.
    pub site: String,
    pub macs: Vec<Mac>,
}

impl Allow {
    /// Why a phone with this MAC may not be touched, if it may not.
    pub fn refuse_mac(&self, mac: Option<Mac>) -> Option<String> {
        let Some(mac) = mac else {
            if let Some(plan) = &self.plan {
                return Some(format!(
                    "its MAC could not be read, so it cannot be matched to site {}'s plan",
                    plan.site
                ));
            }
            return (!self.macs.is_empty())
                .then(|| "its MAC could not be read and a MAC allow-list is set".to_string());
        };
        if !self.macs.is_empty() && !self.macs.contains(&mac) {
            return Some(format!("MAC {mac} is not on the allow-list"));
        }
        if let Some(plan) = self.plan.as_ref().filter(|p| !p.macs.contains(&mac)) {
            return Some(format!(
                "not planned: MAC {mac} is on site {}'s network but not in its plan, so it was left alone (no \
                 password sent, nothing changed). Fix: if it belongs here, add it to the company plan under site {} and split the plan \
                 again, or run with --allow-unplanned",
                plan.site, plan.site
            ));
        }
        if !self.ouis.is_empty() && !self.ouis.contains(&mac.oui()) {
            return Some(format!(
                "MAC {mac} has an OUI ({}) outside the allowed ones",
                mac.oui()
            ));
        }
        None
    }

    /// Why a phone of this model may not be touched, if it may not.
    pub fn refuse_model(&self, model: Option<&str>) -> Option<String> {
        if self.models.is_empty() {
            return None;
        }
        match model {
            Some(m) if self.models.iter().any(|a| a.eq_ignore_ascii_case(m)) => None,
            Some(m) => Some(format!("model {m} is not among the allowed models")),
            None => Some("its model could not be read and a model allow-list is set".into()),
        }
    }
}

/// What the journal knew of an already-saved phone: the profile it was recognised as and its report so far
/// (MAC, model, firmware, reboots, where it was last, warnings), which the watch continues.
#[derive(Debug, Clone)]
pub struct Resume {
    /// The profile it was recognised as (`None`: the journal does not say; it is recognised again).
    pub profile: Option<String>,
    pub so_far: super::Report,
    /// The phone log's boot count just before the save, when the journal has it.
    pub boots_before_save: Option<usize>,
}

impl Job {
    /// A job for the phone at `base` with everything else at its default: no factory password, no dry run, no
    /// force, MAC unknown, no search, nothing remembered across runs, never stopped.
    pub fn new(base: url::Url, wanted: Wanted, passwords: Vec<Secret>, clock: Clock) -> Job {
        Job {
            base,
            wanted,
            passwords,
            allow_factory: false,
            new_password: None,
            dry_run: false,
            force: false,
            expected_mac: None,
            search_range: None,
            search_rate: 20,
            heard: None,
            port: None,
            clock,
            timing: Timing::default(),
            patience: Patience::default(),
            stop: None,
            resume: None,
            allow: Allow::default(),
            claims: None,
            attempts: None,
            known: None,
        }
    }

    pub(super) fn stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| *s.borrow())
    }

    /// Where this phone's failed logins are remembered, once its MAC is known.
    pub(super) fn memory(&self, mac: Option<Mac>) -> Option<(&Attempts, Mac)> {
        self.attempts.as_deref().zip(mac)
    }
}

/// Overrides of the profile's timeline, phone seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    pub return_secs: Option<f64>,
    pub settle_secs: Option<f64>,
    pub timeout_secs: Option<f64>,
    pub poll_secs: Option<f64>,
}

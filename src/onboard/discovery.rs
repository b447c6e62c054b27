//! The hand-off from discovery to a run (`onboard --interface`): the inventory's phones that are ready become
//! targets (by MAC, so the run's claims know each phone from the start), and a [`Listener`] keeps discovery
//! listening — sending nothing — while the run goes on, so a phone that comes back from a reboot on another address
//! is found again by its MAC as soon as it announces itself (DHCP, gratuitous ARP, LLDP).

use std::sync::{Arc, Mutex};

use super::OnboardError;
use crate::discover::inventory::Inventory;
use crate::discover::oui::Ouis;
use crate::discover::vlan::Segment;
use crate::discover::{self, Plan, live};
use crate::fleet::targets::{self, Target};
use crate::phone::locate::{Heard, Whereabouts};
use crate::profile::ProfileSet;

/// The inventory's phones ready to onboard, as targets (one per MAC); an error when there is none.
pub fn ready_targets(inv: &Inventory, range: &str) -> Result<Vec<Target>, OnboardError> {
    let mut out = Vec::new();
    for d in inv
        .listed(false)
        .filter(|d| d.readiness() == discover::Readiness::Ready)
    {
        let Some(web) = &d.web else { continue };
        let base = targets::parse_address(&web.value.url, false)
            .map_err(|e| OnboardError::Invalid(format!("phone {}: {e}", d.mac)))?;
        out.push(Target {
            key: targets::key_of(&base),
            base,
            mac: Some(d.mac),
            extension: None,
            user: None,
            server_url: None,
        });
    }
    if out.is_empty() {
        return Err(OnboardError::Invalid(format!(
            "discovery found no phone ready to onboard in {range} (see the table above for why each candidate is not)"
        )));
    }
    Ok(out)
}

/// Discovery kept listening during a run.
pub struct Listener {
    /// Where each MAC was last heard, for the phones' searches.
    pub heard: Heard,
    /// The port's ARP budget, whose kernel frames this listener counts: the searches for moved phones take from it.
    pub budget: Arc<crate::discover::budget::PortBudget>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Listener {
    /// Listen with `plan`'s interface only: no sweep, no mDNS browse, no fingerprints — nothing sent.
    pub fn start(mut plan: Plan, ouis: Ouis, profiles: Arc<ProfileSet>) -> Listener {
        plan.range = None;
        plan.targets.clear();
        plan.mdns = None;
        plan.fingerprint = false;
        plan.background = true;
        let inventory = Arc::new(Mutex::new(Inventory::new(ouis)));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let inv = inventory.clone();
        let budget = plan.budget.clone();
        // Watched from now on, before any phone client is built: every one of them is paced.
        budget.watch();
        let task = tokio::spawn(async move {
            if let Err(e) = live::run(plan, profiles, inv, Some(stopped), |_| {}).await {
                tracing::warn!("background discovery stopped: {e}");
            }
        });
        let heard = Heard(Arc::new(move |mac| {
            let inv = inventory.lock().unwrap_or_else(|p| p.into_inner());
            inv.get(mac).map(|d| Whereabouts {
                ip: d.ip.as_ref().map(|f| std::net::IpAddr::V4(f.value)),
                other_vlan: match d.segment.as_ref().map(|f| f.value) {
                    Some(Segment::Tagged { vlan, .. }) => Some(vlan),
                    _ => None,
                },
            })
        }));
        Listener {
            heard,
            budget,
            stop,
            task,
        }
    }

    /// Stop listening and wait for the listener to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

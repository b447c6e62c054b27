//! The phone's life after a save: reboot, first contact with the provisioning server, firmware update with its
//! further reboots, settling as Inactive; and activation from the admin console. One task per phone runs these
//! paths one after another, in phone time.

use std::sync::Arc;

use super::phone::Phase;
use super::runtime::SimPhone;
use crate::profile::UpdateTarget;

/// What the lifecycle task is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// The provisioning server was saved.
    Provisioned,
    /// Reboot (web UI or control endpoint).
    Reboot,
    /// The admin console activated the phone by MAC.
    Activate,
}

/// Run commands until the simulator stops.
pub async fn run(phone: Arc<SimPhone>, mut rx: tokio::sync::mpsc::UnboundedReceiver<Command>) {
    while let Some(cmd) = rx.recv().await {
        let delay = phone.with(|p| p.profile.timeline.shutdown_delay_secs) as f64;
        phone.clock.sleep(delay).await;
        let alive = match cmd {
            Command::Provisioned => provisioning_path(&phone).await,
            Command::Reboot => reboot(&phone).await,
            Command::Activate => activation_path(&phone).await,
        };
        if !alive {
            // Dead phones take no further orders; keep the channel open so senders do not fail.
            std::future::pending::<()>().await;
        }
    }
}

/// Down for `boot-secs`, then up with a fresh boot. False when the phone never comes back.
async fn reboot(phone: &SimPhone) -> bool {
    reboot_into(phone, None).await
}

/// A reboot that comes back running the firmware of `update` (the last reboot of an update).
async fn reboot_into(phone: &SimPhone, update: Option<&UpdateTarget>) -> bool {
    let boot = phone.with(|p| {
        p.up = false;
        if p.phase != Phase::UpdateLoop
            && p.phase != Phase::Updating
            && p.phase != Phase::Activating
        {
            p.phase = Phase::Rebooting;
        }
        p.profile.timeline.boot_secs
    });
    phone.power_down();
    phone.clock.sleep(boot as f64).await;
    if let (Some(target), false) = (update, phone.with(|p| p.faults.never_returns)) {
        phone.apply_update(target);
    }
    let back = phone.with(|p| {
        if p.faults.never_returns {
            p.phase = Phase::Dead;
            return false;
        }
        p.reboots += 1;
        if let Some(ip) = p.faults.new_ip.take() {
            p.ip = ip;
        }
        p.booted();
        p.up = true;
        true
    });
    if back {
        phone.power_up();
    }
    back
}

/// Save → reboot → first contact → optional firmware update → Inactive.
async fn provisioning_path(phone: &SimPhone) -> bool {
    if !reboot(phone).await {
        return false;
    }
    let fetch = phone.with(|p| {
        p.phase = Phase::Contacting;
        p.profile.timeline.first_fetch_secs
    });
    phone.clock.sleep(fetch as f64).await;
    let update = phone.with(|p| {
        if p.server_name().is_empty() {
            p.phase = Phase::Unprovisioned;
            return None;
        }
        let server = p.server_name();
        p.log(
            "prov",
            format!("Prov|Contacting provisioning server '{server}'"),
        );
        p.pending_update.take().map(|u| (u, p.update_reboots()))
    });
    if phone.with(|p| p.phase == Phase::Unprovisioned) {
        return true;
    }
    if let Some((target, reboots)) = update {
        phone.with(|p| {
            p.phase = Phase::Updating;
            p.log(
                "prov",
                format!("Upgrading application to {}", target.firmware),
            );
        });
        for i in 0..reboots {
            let last = i + 1 == reboots;
            let looping = phone.with(|p| p.faults.update_loop);
            // The update is installed by the last of its reboots (never, in an update loop).
            let into = (last && !looping).then_some(&target);
            if !reboot_into(phone, into).await {
                return false;
            }
            if looping {
                return update_loop(phone).await;
            }
            if !last {
                phone.clock.sleep(fetch as f64).await;
            }
        }
    }
    if phone.with(|p| p.faults.update_loop) {
        return update_loop(phone).await;
    }
    phone.with(|p| {
        p.phase = Phase::Inactive;
        p.line.registered = false;
        p.line.label = p.profile.inactive.line_label.clone();
        p.log(
            "prov",
            "Configuration complete; phone is waiting for activation",
        );
    });
    true
}

/// The update that never completes: fetch, fail, reboot, forever.
async fn update_loop(phone: &SimPhone) -> bool {
    let fetch = phone.with(|p| {
        p.phase = Phase::UpdateLoop;
        p.profile.timeline.first_fetch_secs
    });
    loop {
        phone.clock.sleep(fetch as f64).await;
        phone.with(|p| {
            p.phase = Phase::UpdateLoop;
            p.log("prov", "Software update failed; rebooting");
        });
        if !reboot(phone).await {
            return false;
        }
    }
}

/// Activation by MAC in the admin console: reboot, maybe another update, then the line registers.
async fn activation_path(phone: &SimPhone) -> bool {
    phone.with(|p| p.phase = Phase::Activating);
    if !reboot(phone).await {
        return false;
    }
    let (fetch, update) = phone.with(|p| {
        p.phase = Phase::Activating;
        p.log("prov", "Software update in progress");
        (
            p.profile.timeline.first_fetch_secs,
            p.activation_update.take().map(|v| (v, p.update_reboots())),
        )
    });
    phone.clock.sleep(fetch as f64).await;
    if let Some((firmware, reboots)) = update {
        for _ in 0..reboots {
            if !reboot(phone).await {
                return false;
            }
            phone.with(|p| p.phase = Phase::Activating);
        }
        phone.with(|p| p.set_firmware(firmware));
        phone.clock.sleep(fetch as f64).await;
    }
    phone.with(|p| {
        p.phase = Phase::Registered;
        p.line.registered = true;
        p.line.label = p.extension.clone().unwrap_or_else(|| "Line 1".into());
        p.log("sip", "Line 1 registered");
    });
    true
}

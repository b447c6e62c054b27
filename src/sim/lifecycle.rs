//! The phone's life after a save or a reboot: down for its boot time, back with a fresh log, then — whenever a
//! provisioning server is set — a real fetch from it (`fetch.rs`): a firmware update with its further reboots
//! when the server names other firmware, the server's configuration applied (its line label, a registered line
//! once activated), or the failure written to the application log while the phone keeps what it had. One task
//! per phone runs these paths one after another, in phone time.

use std::time::Duration;

use super::fetch::{self, FetchFailure, Fetched, Image};
use super::phone::Phase;
use super::runtime::SimPhone;

/// What the lifecycle task is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// The provisioning server was saved: the phone reboots to use it.
    Provisioned,
    /// Reboot (web UI or control endpoint).
    Reboot,
    /// The service activated the phone and told it to reboot.
    Activate,
}

/// Run commands until the simulator stops. A phone that is up obeys a reboot at once, as a real phone's web UI
/// restarts it mid-way through a provisioning pass or a download; an order that comes while it is down (only the
/// control endpoint can give one then) waits until the current path has settled.
pub async fn run(
    phone: std::sync::Arc<SimPhone>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Command>,
) {
    let mut backlog = std::collections::VecDeque::new();
    loop {
        let cmd = match backlog.pop_front() {
            Some(c) => c,
            None => match rx.recv().await {
                Some(c) => c,
                None => return,
            },
        };
        let work = async {
            let delay = phone.with(|p| p.profile.timeline.shutdown_delay_secs) as f64;
            phone.clock.sleep(delay).await;
            if cmd == Command::Activate {
                phone.with(|p| p.phase = Phase::Activating);
            }
            boot_and_provision(&phone).await
        };
        tokio::pin!(work);
        loop {
            tokio::select! {
                alive = &mut work => {
                    if !alive {
                        // Dead phones take no further orders; keep the channel open so senders do not fail.
                        std::future::pending::<()>().await;
                    }
                    break;
                }
                Some(next) = rx.recv() => {
                    if phone.with(|p| p.up) {
                        backlog.push_front(next);
                        break;
                    }
                    backlog.push_back(next);
                }
            }
        }
    }
}

/// Down for `boot-secs`, then up with a fresh boot (running `install`, the last reboot of an update). False when
/// the phone never comes back.
async fn reboot_into(phone: &SimPhone, install: Option<&Image>) -> bool {
    let boot = phone.with(|p| {
        p.up = false;
        if !matches!(
            p.phase,
            Phase::UpdateLoop | Phase::Updating | Phase::Activating
        ) {
            p.phase = Phase::Rebooting;
        }
        p.profile.timeline.boot_secs
    });
    phone.power_down();
    phone.clock.sleep(boot as f64).await;
    if let (Some(image), false) = (install, phone.with(|p| p.faults.never_returns)) {
        phone.install(image);
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

/// Reboot, then provision from the server as every boot does, through any firmware update, until the phone has
/// settled (Inactive, registered, or failed and running on what it had).
async fn boot_and_provision(phone: &SimPhone) -> bool {
    let mut install: Option<Image> = None;
    loop {
        if !reboot_into(phone, install.take().as_ref()).await {
            return false;
        }
        let (server, fetch_secs) = phone.with(|p| {
            (
                p.effective_server(),
                p.profile.timeline.first_fetch_secs as f64,
            )
        });
        if server.is_empty() {
            phone.with(|p| {
                if p.phase == Phase::Rebooting {
                    p.phase = Phase::Unprovisioned;
                }
            });
            return true;
        }
        phone.clock.sleep(fetch_secs).await;
        let image = match attempt(phone).await {
            Next::Settled => return true,
            Next::Restart => continue,
            Next::Install(image) => image,
        };
        let (reboots, looping) = phone.with(|p| (p.update_reboots(), p.faults.update_loop));
        if looping {
            return update_loop(phone, &image.version).await;
        }
        // The download's further reboots; the last one installs the image (the next turn of the loop).
        for _ in 1..reboots {
            if !reboot_into(phone, None).await {
                return false;
            }
            phone.clock.sleep(fetch_secs).await;
        }
        install = Some(image);
    }
}

/// A phone the simulator starts "already provisioned" fetched its configuration on the boot it is running: that pass
/// is made for real when the simulator starts (the service's files take effect, or the failure is in its log). What
/// the configuration asked of the device before the start — a settings restart, a firmware image — is taken as
/// done then: the boot count grows, the reboot counter (reboots since the start) does not.
pub async fn provisioned_at_start(phone: &SimPhone) {
    for _ in 0..4 {
        match attempt(phone).await {
            Next::Settled => return,
            Next::Restart => {}
            Next::Install(image) => phone.install(&image),
        }
        phone.with(|p| p.booted());
    }
}

/// What a provisioning attempt leads to.
enum Next {
    /// Loaded (or failed): the phone runs as it is.
    Settled,
    /// The configuration changed device settings: reboot to apply them.
    Restart,
    /// The server names this firmware: download it and reboot into it.
    Install(Image),
}

/// One provisioning attempt: fetch, then log and apply what came of it.
async fn attempt(phone: &SimPhone) -> Next {
    let req = phone.with(|p| {
        p.prov.attempts += 1;
        if !matches!(p.phase, Phase::Activating) {
            p.phase = Phase::Contacting;
        }
        let server = p.effective_server();
        p.prov.server = Some(server.clone());
        if let Some(l) = p.profile.log.clone() {
            p.log_line(&l.pass_start, &[]);
        }
        let prov = p.profile.provisioning.clone();
        let param = |k: &Option<String>| {
            k.as_deref()
                .map(|k| p.param(k).to_string())
                .filter(|v| !v.is_empty())
        };
        let timeout = p
            .clock
            .wall(p.profile.timeline.fetch_timeout_secs as f64)
            .max(Duration::from_secs(2));
        fetch::Request {
            server,
            server_type: p.server_type_name(),
            user: param(&prov.server_user),
            password: param(&prov.server_password),
            mac: p.mac,
            model_key: prov.model_key(&p.model),
            firmware: p.firmware.clone(),
            user_agent: prov.user_agent_of(&p.model, &p.firmware, p.mac),
            timeout,
            resolver: phone.net.resolver.clone(),
            roots: phone.net.roots.clone(),
            clock_wrong: p.faults.clock_wrong,
        }
    });
    let result = fetch::fetch(&req).await;
    phone.with(|p| {
        let log = p.profile.log.clone();
        let server = req.server.clone();
        match result {
            Ok(Fetched::Update { master, image }) => {
                p.prov.last = Some("update".into());
                p.prov.master = Some(master);
                p.prov.detail = None;
                if let Some(l) = &log {
                    p.log_line(&l.upgrading, &[("version", &image.version)]);
                }
                if p.phase != Phase::Activating {
                    p.phase = Phase::Updating;
                }
                Next::Install(image)
            }
            Ok(Fetched::Loaded {
                master,
                files,
                params,
            }) => {
                p.prov.last = Some("loaded".into());
                p.prov.detail = None;
                p.prov.master = Some(master);
                p.prov.files = files;
                let restart = apply(p, params);
                if let Some(l) = &log {
                    if restart {
                        p.log_line(&l.restart, &[]);
                    }
                    p.log_line(&l.pass_end, &[]);
                }
                if restart {
                    Next::Restart
                } else {
                    Next::Settled
                }
            }
            Err(f) => {
                p.prov.last = Some(failure_name(&f).into());
                p.prov.detail = Some(f.to_string());
                if let Some(l) = &log {
                    for (line, values) in failure_lines(l, &f, &server, &p.firmware) {
                        p.log_line(
                            line,
                            &values
                                .iter()
                                .map(|(k, v)| (*k, v.as_str()))
                                .collect::<Vec<_>>(),
                        );
                    }
                    p.log_line(&l.pass_end, &[]);
                }
                p.phase = Phase::ProvisioningFailed;
                Next::Settled
            }
        }
    })
}

/// The configuration files' parameters take effect: the line label, a registered line, a pushed admin password.
/// True when device settings changed (the admin password): the phone reboots to apply them.
fn apply(
    p: &mut super::phone::PhoneState,
    params: std::collections::BTreeMap<String, String>,
) -> bool {
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    if !get("reg.1.label").is_empty() {
        p.line.label = get("reg.1.label").to_string();
    }
    let device_set = get("device.set") == "1";
    let pushed = get("device.auth.localAdminPassword");
    let restart = device_set
        && get("device.auth.localAdminPassword.set") == "1"
        && !pushed.is_empty()
        && pushed != p.password;
    if restart {
        p.password = pushed.to_string();
    }
    let address = get("reg.1.address").to_string();
    let user = match get("reg.1.auth.userId") {
        "" => address.clone(),
        u => u.to_string(),
    };
    p.from_files = params;
    let now = p.now();
    if restart {
        return true;
    }
    if address.is_empty() {
        p.line.registered = false;
        p.phase = Phase::Inactive;
        p.prov.inactive_at = Some(now);
        p.inactive_at = Some(tokio::time::Instant::now());
    } else {
        p.line.registered = true;
        p.phase = Phase::Registered;
        p.prov.registered_at = Some(now);
        if let Some(l) = p.profile.log.clone() {
            p.log_line(&l.registered, &[("user", &user)]);
        }
    }
    false
}

/// The short name of a failure in the ground truth.
fn failure_name(f: &FetchFailure) -> &'static str {
    match f {
        FetchFailure::BadAddress(_) => "bad-address",
        FetchFailure::Unsupported { .. } => "unsupported",
        FetchFailure::Dns { .. } => "dns",
        FetchFailure::Connect { .. } => "connect",
        FetchFailure::Tls { .. } => "tls",
        FetchFailure::Timeout { .. } => "timeout",
        FetchFailure::Refused { .. } => "refused",
        FetchFailure::ServerError { .. } => "server-error",
        FetchFailure::Missing { .. } => "missing",
        FetchFailure::Invalid { .. } => "invalid",
        FetchFailure::Cut { .. } => "cut",
        FetchFailure::UpdateFailed { .. } => "update-failed",
    }
}

type Lines<'a> = Vec<(&'a crate::profile::LogLine, Vec<(&'static str, String)>)>;

/// The log lines a failure leaves, in order.
fn failure_lines<'a>(
    l: &'a crate::profile::LogLines,
    f: &FetchFailure,
    server: &str,
    firmware: &str,
) -> Lines<'a> {
    let unresponsive = (&l.unresponsive, vec![("server", server.to_string())]);
    match f {
        FetchFailure::Dns { host } => vec![(&l.dns, vec![("host", host.clone())]), unresponsive],
        FetchFailure::Connect { host, .. } => {
            vec![(&l.connect, vec![("host", host.clone())]), unresponsive]
        }
        FetchFailure::Tls { host, detail } => vec![
            (
                &l.tls,
                vec![("host", host.clone()), ("detail", detail.clone())],
            ),
            unresponsive,
        ],
        FetchFailure::Refused { file, status } => vec![(
            &l.refused,
            vec![("file", file.clone()), ("status", status.to_string())],
        )],
        FetchFailure::Missing { file } => vec![(
            &l.missing,
            vec![("file", file.clone()), ("server", server.to_string())],
        )],
        FetchFailure::Invalid { file, detail } => vec![(
            &l.invalid,
            vec![("file", file.clone()), ("detail", detail.clone())],
        )],
        FetchFailure::UpdateFailed { file } => vec![(
            &l.update_failed,
            vec![("file", file.clone()), ("version", firmware.to_string())],
        )],
        FetchFailure::BadAddress(_)
        | FetchFailure::Unsupported { .. }
        | FetchFailure::Timeout { .. }
        | FetchFailure::ServerError { .. }
        | FetchFailure::Cut { .. } => vec![unresponsive],
    }
}

/// The update that never completes: fetch, try to upgrade, reboot, forever.
async fn update_loop(phone: &SimPhone, version: &str) -> bool {
    let fetch_secs = phone.with(|p| {
        p.phase = Phase::UpdateLoop;
        p.profile.timeline.first_fetch_secs as f64
    });
    loop {
        if !reboot_into(phone, None).await {
            return false;
        }
        phone.clock.sleep(fetch_secs).await;
        phone.with(|p| {
            p.phase = Phase::UpdateLoop;
            if let Some(l) = p.profile.log.clone() {
                p.log_line(&l.pass_start, &[]);
                p.log_line(&l.upgrading, &[("version", version)]);
            }
        });
    }
}

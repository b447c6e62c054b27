//! mDNS/DNS-SD enrichment (mdns-sd), pinned to the technician's interface and short: browse the service types
//! phones and their neighbours might announce for a few seconds, and report every resolved instance as a sighting
//! keyed by IP (mDNS carries no MAC; the inventory joins it through ARP). There is no evidence that VVX or
//! SoundPoint phones announce anything and CCX is unknown (`discovery.md` §3), so this never gates discovery: a
//! failure (port 5353 taken by another responder, multicast not permitted) is a note, not an error.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent};

use super::sighting::{Sighting, Source};

/// Service types browsed directly; the DNS-SD meta query adds whatever else answers.
pub const SERVICE_TYPES: [&str; 4] = [
    "_http._tcp.local.",
    "_https._tcp.local.",
    "_sip._udp.local.",
    "_services._dns-sd._udp.local.",
];

/// Browses on `interface` for `window`, handing each resolved instance to `found`. Blocking: run it on its own
/// thread. Returns the number of instances resolved.
pub fn browse(
    interface: &str,
    window: Duration,
    mut found: impl FnMut(Sighting),
) -> Result<usize, String> {
    let daemon = ServiceDaemon::new().map_err(|e| format!("mDNS not started: {e}"))?;
    let setup = daemon
        .disable_interface(IfKind::All)
        .and_then(|()| daemon.enable_interface(IfKind::Name(interface.to_string())));
    if let Err(e) = setup {
        let _ = daemon.shutdown();
        return Err(format!("mDNS could not be pinned to {interface}: {e}"));
    }
    let mut receivers = Vec::new();
    for ty in SERVICE_TYPES {
        match daemon.browse(ty) {
            Ok(r) => receivers.push(r),
            Err(e) => tracing::debug!("mDNS browse {ty}: {e}"),
        }
    }
    let deadline = Instant::now() + window;
    let mut browsed: BTreeSet<String> = SERVICE_TYPES.iter().map(|s| s.to_string()).collect();
    let mut resolved = 0;
    while Instant::now() < deadline {
        let mut idle = true;
        let mut more = Vec::new();
        for r in &receivers {
            while let Ok(event) = r.try_recv() {
                idle = false;
                match event {
                    // The meta query names service types; browse each new one too.
                    ServiceEvent::ServiceFound(ty, name) if ty.starts_with("_services._dns-sd") => {
                        let name = name.trim_end_matches('.').to_string() + ".";
                        if browsed.insert(name.clone()) {
                            if let Ok(r) = daemon.browse(&name) {
                                more.push(r);
                            }
                        }
                    }
                    ServiceEvent::ServiceResolved(info) => {
                        let host = info
                            .host
                            .trim_end_matches('.')
                            .trim_end_matches(".local")
                            .to_string();
                        for ip in info.get_addresses_v4() {
                            let mut s = Sighting::new(None, Source::Mdns, SystemTime::now());
                            s.ip = Some(ip);
                            s.hostname = Some(host.clone()).filter(|h| !h.is_empty());
                            s.services = vec![info.fullname.clone()];
                            found(s);
                            resolved += 1;
                        }
                    }
                    _ => {}
                }
            }
        }
        receivers.extend(more);
        if idle {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    if let Ok(done) = daemon.shutdown() {
        let _ = done.recv_timeout(Duration::from_secs(1));
    }
    Ok(resolved)
}

//! Conformance: public third-party clients that work on real Poly phones, each written as its own request sequence
//! — the exact paths, headers, cookies and bodies it sends, and the parsing assumptions it makes (XML or HTML,
//! regexes, exact-match strings, one `Set-Cookie`, reason phrases) — run against every simulated persona the
//! client claims to support. Where a client is documented to fail on some firmware, the failure is asserted.
//!
//! The clients' code was read, never copied: each module describes one client's behaviour in our own code, with
//! the source it was read from (repository, file and commit; `docs/conformance.md` has the table).

#[path = "../common/mod.rs"]
mod common;

mod s1_teams_gateway;
mod s3_mass_provision;
mod s4_polyboot_improved;
mod s7_default_cred_check;
mod s8_polyboot;
mod wire;

use common::*;
use polyprov::sim::Simulator;
use wire::Target;

/// A simulated phone of one persona (profile and firmware build), with its admin password.
pub struct Persona {
    pub sim: Simulator,
    pub target: Target,
}

impl Persona {
    pub async fn start(profile: &str, firmware: &str, mac_text: &str, password: &str) -> Persona {
        let mut spec = phone(profile, firmware, mac_text);
        spec.password = password.into();
        let sim = start(vec![spec], 60.0).await;
        let p = &sim.phones()[0];
        let (https, http) = p.addrs();
        let (addr, tls) = match (https, http) {
            (Some(a), _) => (a, true),
            (None, Some(a)) => (a, false),
            (None, None) => panic!("persona {profile}/{firmware} serves no web UI"),
        };
        Persona {
            target: Target {
                addr,
                tls,
                mac: mac(mac_text),
            },
            sim,
        }
    }

    /// The provisioning server the phone has saved now (its ground truth).
    pub async fn saved_server(&self) -> String {
        let r = report(&self.sim, self.target.mac).await;
        r["server-name"].as_str().unwrap_or_default().to_string()
    }

    pub async fn stop(self) {
        self.sim.shutdown().await;
    }
}

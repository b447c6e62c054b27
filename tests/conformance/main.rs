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
mod s5_posh_ucs;
mod s6_polycom_upgrade;
mod s7_default_cred_check;
mod s8_polyboot;
mod s9_vvx_control;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use common::wire::Target;
use common::*;
use polyprov::sim::{PhoneSpec, Simulator};

/// A simulated phone of one persona (profile and firmware build), with its admin password.
pub struct Persona {
    pub sim: Simulator,
    pub target: Target,
}

/// How a client reaches the phone's web server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// HTTPS where the phone serves it (plain HTTP for phones that have only that).
    Https,
    /// Plain HTTP only, as S5 and S6 speak it.
    Http,
}

impl Persona {
    pub async fn start(profile: &str, firmware: &str, mac_text: &str, password: &str) -> Persona {
        Persona::custom(profile, firmware, mac_text, password, Scheme::Https, |_| {}).await
    }

    /// A persona as a client speaking `scheme` sees it, with `edit` applied to the phone first (its model, its
    /// variants). Each such phone has an address of its own in 127.0.0.0/8, so where it does not serve `scheme` the
    /// client meets a closed port there, as it would meet the phone's closed port 80.
    pub async fn custom(
        profile: &str,
        firmware: &str,
        mac_text: &str,
        password: &str,
        scheme: Scheme,
        edit: impl FnOnce(&mut PhoneSpec),
    ) -> Persona {
        let mut spec = phone(profile, firmware, mac_text);
        spec.password = password.into();
        if scheme == Scheme::Http {
            let m = mac(mac_text).0;
            spec.ip = IpAddr::V4(Ipv4Addr::new(127, 80, m[4], m[5]));
        }
        edit(&mut spec);
        let ip = spec.ip;
        let sim = start(vec![spec], 60.0).await;
        let p = &sim.phones()[0];
        let (https, http) = p.addrs();
        let (addr, tls) = match (scheme, https, http) {
            (Scheme::Https, Some(a), _) => (a, true),
            (Scheme::Https, None, Some(a)) | (Scheme::Http, _, Some(a)) => (a, false),
            (Scheme::Http, _, None) => (SocketAddr::new(ip, 80), false),
            (Scheme::Https, None, None) => panic!("persona {profile}/{firmware} serves no web UI"),
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

    /// Wait (up to 20 s) until the phone has rebooted once and is back on the network.
    pub async fn rebooted(&self) {
        wait_for(
            &self.sim,
            self.target.mac,
            std::time::Duration::from_secs(20),
            "the reboot",
            |r| r["reboots"].as_u64() >= Some(1) && r["up"] == true,
        )
        .await;
    }

    pub async fn stop(self) {
        self.sim.shutdown().await;
    }
}

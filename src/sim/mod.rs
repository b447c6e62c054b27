//! The phone simulator: any number of phones from the recorded fixtures, each with its own MAC, model, firmware,
//! admin password, certificate and listeners, behaving as its device profile says (login generation, lockout,
//! sessions, CSRF, provisioning form, reboots, firmware updates, Inactive, activation) and showing faults on
//! demand. A control endpoint reports every phone's true state as JSON.
//!
//! - `lockout`: the web-UI lockout state machine.
//! - `phone`: one phone's state; `web`: its web UI, one request at a time; `live`: recorded pages made live.
//! - `lifecycle`: reboots, updates, Inactive, activation; `runtime`: listeners and connections.
//! - `control`: the JSON control endpoint; `fleet`: mixed fleets for `polyprov sim` and the demo.

pub mod control;
pub mod fleet;
pub mod lifecycle;
pub mod live;
pub mod lockout;
pub mod phone;
pub mod runtime;
pub mod tls;
pub mod web;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::task::JoinSet;

pub use crate::clock::Clock;
pub use lifecycle::Command;
pub use phone::{Faults, Phase, PhoneReport};
pub use runtime::SimPhone;

use crate::fixture::Catalog;
use crate::mac::Mac;

/// One phone to simulate.
#[derive(Debug, Clone)]
pub struct PhoneSpec {
    pub profile: String,
    /// A build of that profile with fixtures.
    pub firmware: String,
    pub mac: Mac,
    /// Model; the recorded one when `None`.
    pub model: Option<String>,
    pub password: String,
    /// Address to listen on (loopback, or an address inside a network namespace).
    pub ip: IpAddr,
    /// HTTPS port (0: any free port).
    pub https_port: u16,
    /// HTTP port (0: any free port), where the profile serves HTTP.
    pub http_port: u16,
    /// REST API enabled (where the family has it).
    pub rest_enabled: bool,
    /// Already pointed at this provisioning server (type name, address) and settled.
    pub provisioned: Option<(String, String)>,
    /// Extension the line registers with after activation.
    pub extension: Option<String>,
    /// Firmware pushed on first contact with the provisioning server; `None`: the build's `update-to`.
    pub update_to: Option<String>,
    /// Reboots that update takes; `None`: the profile's.
    pub update_reboots: Option<u32>,
    /// Firmware the admin console pushes on activation.
    pub activation_update: Option<String>,
    pub faults: Faults,
}

impl PhoneSpec {
    /// A factory-fresh phone of this build on loopback.
    pub fn new(profile: &str, firmware: &str, mac: Mac, password: &str) -> PhoneSpec {
        PhoneSpec {
            profile: profile.into(),
            firmware: firmware.into(),
            mac,
            model: None,
            password: password.into(),
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            https_port: 0,
            http_port: 0,
            rest_enabled: false,
            provisioned: None,
            extension: None,
            update_to: None,
            update_reboots: None,
            activation_update: None,
            faults: Faults::default(),
        }
    }
}

/// Simulator-wide settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Phone seconds per wall second.
    pub time_scale: f64,
    /// Seed of every random choice (tokens, fault draws), for reproducible runs.
    pub seed: u64,
    /// Where the control endpoint listens.
    pub control: SocketAddr,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            time_scale: 1.0,
            seed: 1,
            control: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("phone {mac}: no device profile {profile:?} (profiles: {known})")]
    UnknownProfile {
        mac: Mac,
        profile: String,
        known: String,
    },
    #[error(
        "phone {mac}: profile {profile} has no recorded build {firmware} (fixtures/{profile}/{firmware}/pages.har)"
    )]
    UnknownBuild {
        mac: Mac,
        profile: String,
        firmware: String,
    },
    #[error("phone {mac}: the MAC is used twice")]
    DuplicateMac { mac: Mac },
    #[error("phone {mac}: {source}")]
    Listen { mac: Mac, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("control endpoint: cannot listen on {addr}: {source}")]
    Control {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running simulator. Dropping it stops every phone.
pub struct Simulator {
    phones: Vec<Arc<SimPhone>>,
    by_mac: BTreeMap<Mac, usize>,
    control: SocketAddr,
    config: SimConfig,
    tasks: JoinSet<()>,
}

impl Simulator {
    /// Start every phone and the control endpoint; returns once all listen.
    pub async fn start(
        catalog: Arc<Catalog>,
        specs: Vec<PhoneSpec>,
        config: SimConfig,
    ) -> Result<Simulator, SimError> {
        crate::init_tls();
        let _ = rlimit::increase_nofile_limit(u64::MAX);
        let clock = Clock::new(config.time_scale);
        let epoch = tokio::time::Instant::now();
        let mut tasks = JoinSet::new();
        let mut phones = Vec::with_capacity(specs.len());
        let mut by_mac = BTreeMap::new();
        for spec in specs {
            let mac = spec.mac;
            if by_mac.insert(mac, phones.len()).is_some() {
                return Err(SimError::DuplicateMac { mac });
            }
            let state = fleet::initial_state(&catalog, &spec, clock, epoch, config.seed)?;
            let (phone, rx) =
                SimPhone::new(state, catalog.clone(), (spec.https_port, spec.http_port))?;
            let listeners = phone
                .bind()
                .map_err(|source| SimError::Listen { mac, source })?;
            tasks.spawn(runtime::serve(phone.clone(), Some(listeners)));
            tasks.spawn(lifecycle::run(phone.clone(), rx));
            phones.push(phone);
        }
        let listener = tokio::net::TcpListener::bind(config.control)
            .await
            .map_err(|source| SimError::Control {
                addr: config.control,
                source,
            })?;
        let control = listener.local_addr().map_err(|source| SimError::Control {
            addr: config.control,
            source,
        })?;
        let index: Arc<BTreeMap<Mac, Arc<SimPhone>>> =
            Arc::new(phones.iter().map(|p| (p.mac, p.clone())).collect());
        tasks.spawn(control::serve(listener, index, config.clone()));
        Ok(Simulator {
            phones,
            by_mac,
            control,
            config,
            tasks,
        })
    }

    pub fn phones(&self) -> &[Arc<SimPhone>] {
        &self.phones
    }

    pub fn phone(&self, mac: Mac) -> Option<&Arc<SimPhone>> {
        self.by_mac.get(&mac).map(|i| &self.phones[*i])
    }

    /// Address of the JSON control endpoint.
    pub fn control_addr(&self) -> SocketAddr {
        self.control
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Stop every phone and the control endpoint.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}

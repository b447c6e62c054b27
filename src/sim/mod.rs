//! The phone simulator: any number of phones from the recorded fixtures, each with its own MAC, model, firmware,
//! admin password, certificate and listeners, behaving as its device profile says (login generation, lockout,
//! sessions, CSRF, provisioning form, reboots, firmware updates, Inactive, activation) and showing faults on
//! demand. A control endpoint reports every phone's true state as JSON.
//!
//! - `lockout`: the web-UI lockout state machine.
//! - `phone`: one phone's state; `web`: its web UI, one request at a time; `live`: recorded pages made live.
//! - `lifecycle`: reboots, updates, Inactive, activation; `runtime`: listeners and connections.
//! - `fetch`: a phone fetching its configuration over the network; `provserver`: the provisioning server it
//!   fetches from; `ca`: the test CA the phones trust.
//! - `control`: the JSON control endpoint; `fleet`: mixed fleets for `polyprov sim` and the demo.
//! - `tls`: each phone's device certificate (deterministic per seed, MAC and factory resets); `hostile`: devices
//!   posing as phones that attack the agent, for its tests and benchmarks.

pub mod ca;
pub mod control;
pub mod fetch;
pub mod fleet;
pub mod hostile;
pub mod lifecycle;
pub mod live;
pub mod lockout;
pub mod phone;
pub mod provserver;
pub mod runtime;
pub mod spelling;
pub mod tls;
pub mod variant;
pub mod web;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::JoinSet;

pub use crate::clock::Clock;
pub use lifecycle::Command;
pub use phone::{Faults, Phase, PhoneReport};
pub use runtime::SimPhone;

use crate::fixture::Catalog;
use crate::mac::Mac;
use crate::resolve::Resolver;
pub use provserver::{ProvServer, ServerFaults};

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
    /// Already pointed at this provisioning server (type name, address) and settled; an empty address means the
    /// simulator's own provisioning service ([`PhoneSpec::provisioned_here`]).
    pub provisioned: Option<(String, String)>,
    /// Extension the line registers with after activation.
    pub extension: Option<String>,
    /// Firmware the simulated service names for this phone; `None`: the build's `update-to`.
    pub update_to: Option<String>,
    /// The simulated service knows this phone (its MAC was entered); `false`: its files answer 404.
    pub enrolled: bool,
    /// Reboots that update takes; `None`: the profile's.
    pub update_reboots: Option<u32>,
    /// Configuration values it starts with, by `paramname` (server credentials, the boot-server mode …).
    pub params: BTreeMap<String, String>,
    /// Opt-in differences from the recorded pages and answers ([`variant::Variant`]); none in the default mix.
    pub variants: Vec<variant::Variant>,
    /// Firmware the admin console pushes on activation.
    pub activation_update: Option<String>,
    pub faults: Faults,
}

impl PhoneSpec {
    /// Already provisioned by the simulator's own service (HTTPS) and settled as Inactive.
    pub fn provisioned_here(mut self) -> PhoneSpec {
        self.provisioned = Some(("HTTPS".into(), String::new()));
        self
    }

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
            enrolled: true,
            update_reboots: None,
            params: BTreeMap::new(),
            activation_update: None,
            variants: Vec::new(),
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
    /// The simulated provisioning service the phones can be pointed at.
    pub prov: Option<ProvSetup>,
    /// Further names the phones' DNS answers (the provisioning server's is added by itself).
    pub hosts: BTreeMap<String, IpAddr>,
    /// CAs the phones trust besides the simulator's own (another simulator's provisioning server).
    pub trust: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            time_scale: 1.0,
            seed: 1,
            control: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            prov: Some(ProvSetup::default()),
            hosts: BTreeMap::new(),
            trust: Vec::new(),
        }
    }
}

/// The simulated provisioning service.
#[derive(Debug, Clone)]
pub struct ProvSetup {
    /// Its host name (in its certificate and in the phones' name table).
    pub name: String,
    pub ip: IpAddr,
    /// HTTPS port (0: any free port).
    pub https_port: u16,
    /// Also serve plain HTTP (0: any free port).
    pub http_port: Option<u16>,
    /// Path the files live under.
    pub root: String,
    /// Server user and password the phones must send.
    pub credentials: Option<(String, String)>,
    /// A directory of files served as given (configuration files, per-MAC files, firmware images).
    pub dir: Option<PathBuf>,
    /// Serve a default `000000000000.cfg` to phones the service does not know.
    pub default_master: bool,
    /// Line label of a phone waiting for activation.
    pub line_label: String,
    /// An admin password the service pushes to every phone it provisions.
    pub admin_password: Option<String>,
    pub faults: ServerFaults,
}

impl Default for ProvSetup {
    fn default() -> Self {
        ProvSetup {
            name: "prov.sim.test".into(),
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            https_port: 0,
            http_port: None,
            root: "/poly/".into(),
            credentials: None,
            dir: None,
            default_master: false,
            line_label: "Inactive".into(),
            admin_password: None,
            faults: ServerFaults::default(),
        }
    }
}

/// The network as simulated phones see it.
#[derive(Debug)]
pub struct SimNet {
    /// Their DNS: the simulator's own table, never the host's resolver.
    pub resolver: Resolver,
    /// The CAs they trust for HTTPS provisioning (the simulator's test CA).
    pub roots: Arc<rustls::RootCertStore>,
    /// The simulated provisioning server, if one runs.
    pub prov: Option<Arc<ProvServer>>,
    /// Response header names as each build's recordings spell them ([`spelling`]), by (profile, firmware).
    pub header_spelling: BTreeMap<(String, String), http::Extensions>,
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
    #[error(transparent)]
    Ca(#[from] ca::CaError),
    #[error(transparent)]
    ProvServer(#[from] provserver::ProvServerError),
    #[error(transparent)]
    Site(#[from] provserver::site::SiteError),
}

/// A running simulator. Dropping it stops every phone.
pub struct Simulator {
    phones: Vec<Arc<SimPhone>>,
    by_mac: BTreeMap<Mac, usize>,
    control: SocketAddr,
    config: SimConfig,
    net: Arc<SimNet>,
    ca: Arc<ca::TestCa>,
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
        let ca = Arc::new(ca::TestCa::generate("polyprov simulator CA")?);
        let mut seen = std::collections::BTreeSet::new();
        for spec in &specs {
            if !seen.insert(spec.mac) {
                return Err(SimError::DuplicateMac { mac: spec.mac });
            }
        }
        let prov = match &config.prov {
            Some(setup) => Some(start_prov(setup, &catalog, &specs, ca.clone(), &mut tasks)?),
            None => None,
        };
        let mut hosts = config.hosts.clone();
        if let Some(p) = &prov {
            hosts.insert(p.name().to_string(), p.ip());
        }
        let mut roots = ca.roots();
        for c in &config.trust {
            let _ = roots.add(c.clone());
        }
        let mut header_spelling = BTreeMap::new();
        for (profile, firmware) in catalog.builds() {
            let names = catalog.header_names(profile, firmware).into_iter().chain(
                ["Server", "Content-Type", "Set-Cookie", "WWW-Authenticate"].map(String::from),
            );
            header_spelling.insert(
                (profile.to_string(), firmware.to_string()),
                spelling::case_map(names).await,
            );
        }
        let net = Arc::new(SimNet {
            resolver: Resolver::closed(hosts),
            roots: Arc::new(roots),
            prov,
            header_spelling,
        });
        let mut phones = Vec::with_capacity(specs.len());
        let mut passes = JoinSet::new();
        let mut by_mac = BTreeMap::new();
        for mut spec in specs {
            let mac = spec.mac;
            by_mac.insert(mac, phones.len());
            if let (Some((_, url)), Some(p)) = (&mut spec.provisioned, &net.prov) {
                if url.is_empty() {
                    *url = p.url();
                }
            }
            let at_start = spec.provisioned.is_some();
            let state = fleet::initial_state(&catalog, &spec, clock, epoch, config.seed)?;
            let (phone, rx) = SimPhone::new(
                state,
                catalog.clone(),
                (spec.https_port, spec.http_port),
                net.clone(),
            )?;
            let listeners = phone
                .bind()
                .map_err(|source| SimError::Listen { mac, source })?;
            if at_start {
                let phone = phone.clone();
                passes.spawn(async move { lifecycle::provisioned_at_start(&phone).await });
            }
            tasks.spawn(runtime::serve(phone.clone(), Some(listeners)));
            tasks.spawn(lifecycle::run(phone.clone(), rx));
            phones.push(phone);
        }
        // Phones started "already provisioned" make the pass of the boot they run before anyone looks at them.
        while passes.join_next().await.is_some() {}
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
        tasks.spawn(control::serve(
            listener,
            index,
            config.clone(),
            net.prov.clone(),
        ));
        Ok(Simulator {
            phones,
            by_mac,
            control,
            config,
            net,
            ca,
            tasks,
        })
    }

    /// The simulated provisioning server, if one runs.
    pub fn prov(&self) -> Option<&Arc<ProvServer>> {
        self.net.prov.as_ref()
    }

    /// The URL to point phones at (the provisioning server's), if one runs.
    pub fn prov_url(&self) -> Option<String> {
        self.prov().map(|p| p.url())
    }

    /// The test CA the phones trust, PEM: what the agent's `--server-ca` takes.
    pub fn ca_pem(&self) -> &str {
        self.ca.pem()
    }

    /// The `--resolve NAME:PORT:ADDR` pin that makes the agent find the provisioning server.
    pub fn prov_pin(&self) -> Option<crate::resolve::Pin> {
        self.prov().map(|p| crate::resolve::Pin {
            name: p.name().to_string(),
            port: url::Url::parse(&p.url()).ok().and_then(|u| u.port()),
            addr: p.ip(),
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

/// Start the provisioning service with every enrolled phone of the fleet.
fn start_prov(
    setup: &ProvSetup,
    catalog: &Catalog,
    specs: &[PhoneSpec],
    ca: Arc<ca::TestCa>,
    tasks: &mut JoinSet<()>,
) -> Result<Arc<ProvServer>, SimError> {
    let mut site = provserver::Site {
        default_master: setup.default_master,
        line_label: setup.line_label.clone(),
        sip_domain: "sip.sim.test".into(),
        admin_password: setup.admin_password.clone(),
        ..provserver::Site::default()
    };
    if let Some(dir) = &setup.dir {
        site.load_dir(dir)?;
    }
    for spec in specs {
        if let Some(e) = fleet::enrolment(catalog, spec) {
            site.phones.insert(spec.mac, e);
        }
    }
    let config = provserver::ProvServerConfig {
        name: setup.name.clone(),
        ip: setup.ip,
        https_port: setup.https_port,
        http_port: setup.http_port,
        root: setup.root.clone(),
        credentials: setup.credentials.clone(),
        site,
        faults: setup.faults.clone(),
    };
    Ok(ProvServer::start(config, ca, tasks)?)
}

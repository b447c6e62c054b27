//! polyprov onboards Poly desk phones (CCX, VVX, SoundPoint IP) on a local network: it finds them, logs in to each
//! phone's web configuration utility, points it at a cloud provisioning server, follows it through reboots and
//! firmware updates until it settles as Inactive, and reports what happened to every phone.
//!
//! # Layout
//! Data flows top to bottom:
//! - [`mac`]: the MAC address type every phone is keyed by; [`clock`]: phone time, scaled for simulations;
//!   [`secret`]: passwords that never reach logs; [`text`]: device text made safe for terminals and spreadsheets.
//! - [`wire`]: pure byte parsers for discovery (ARP, LLDP/LLDP-MED, CDP, DHCP): zero-copy views and owned reprs.
//! - [`profile`]: `device-profiles/*.toml` → checked [`profile::Profile`]: everything that differs per family.
//! - [`find_data_dir`]: where `device-profiles/` and `fixtures/` are read from at run time ($POLYPROV_DATA_DIR,
//!   the install's `share/polyprov`, or the source tree).
//! - [`fixture`]: recorded web UIs (HAR 1.2 files and their sidecars) → typed page sets and scenarios.
//! - [`sim`]: the phone simulator: serves fixtures made live over HTTPS with each family's login, lockout,
//!   sessions, provisioning form, reboot/firmware timeline and faults, plus a JSON control endpoint.
//! - [`phone`]: one phone from the agent's side: certificate trust, recognition, login, provisioning, monitoring.
//! - [`fleet`]: many phones at once, bounded, with live progress; [`config`]: the site file.
//! - [`journal`]: the crash-safe, typed run log read back as each phone's history; [`report`]: tables, JSON, CSV,
//!   MAC lists and the self-contained `report.html`.
//! - [`onboard`]: one onboarding run end to end — its typed spec (flags > site file > defaults), run directory,
//!   journal, discovery hand-off, start, resume, report and activation — as library calls.
//! - [`output`]: the JSON polyprov prints and writes, as types with a `schema-version`, and their JSON Schemas.
//! - [`server_check`]: the provisioning server checked from the agent's vantage point before any phone is touched.
//! - [`resolve`]: name resolution that never looks up reserved names and honours `--resolve` pins.
//! - [`record`]: the recorder, a local reverse proxy that writes a redacted HAR of a browser session.
//! - [`cli`]: command-line definitions and printing only; `main.rs` parses them and maps errors to exit codes.

pub mod cli;
pub mod clock;
pub mod config;
pub mod discover;
pub mod fixture;
pub mod fleet;
pub mod journal;
pub mod mac;
pub mod onboard;
pub mod output;
pub mod phone;
pub mod profile;
pub mod record;
pub mod report;
pub mod resolve;
pub mod secret;
pub mod server_check;
pub mod sim;
pub mod sites;
#[cfg(test)]
pub(crate) mod testing;
pub mod text;
pub mod wire;

mod data;
pub use data::{Candidate, DataDirError, choose_data_dir, data_dir, find_data_dir};

/// Installs the one TLS crypto provider the crate uses (ring), once per process.
pub fn init_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

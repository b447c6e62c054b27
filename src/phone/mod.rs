//! One phone, from the agent's side, in the order the data flows:
//! - `tls`: trusting a phone's self-signed certificate by subject; `known`: and by the fingerprint it presented
//!   first (trust on first use); `client`: its web server and transport errors;
//! - `probe`: recognising the family before logging in; `page`: every page scraped into typed values;
//! - `applog`: the application log as evidence of what the phone's provisioning did;
//! - `session`: logging in per generation without locking the phone out, logging out; `attempts`: our own failed
//!   logins per phone, remembered across runs;
//! - `provisioning`: read → plan → save the provisioning server;
//! - `monitor`: the reboot/update/evidence state machine; `follow`: watching the phone after its save;
//!   `resume`: continuing a phone a run saved before it was interrupted; `locate`: finding a moved phone again by
//!   MAC; `outcome`: how it ended, the evidence, the named failures;
//! - `activate`: past Inactive, the reboot after the admin entered the MACs, followed to Active;
//! - `event`: what happens, as it happens; `job`: what one phone's run is given; `run`: all of it for one phone,
//!   ending in a `Report`; `configure`: its steps between login and watch (identify, preflight, read → plan →
//!   save); `password`: replacing a factory admin password.

pub mod activate;
pub mod applog;
pub mod attempts;
pub mod client;
pub mod configure;
pub mod event;
pub mod follow;
pub mod job;
pub mod known;
pub mod locate;
pub mod monitor;
pub mod outcome;
pub mod page;
pub mod password;
pub mod probe;
pub mod provisioning;
pub mod resume;
pub mod run;
pub mod session;
pub mod tls;

pub use event::Event;
pub use job::{Allow, Claims, Job, PlannedOnly, Resume, Timing};
pub use outcome::{Outcome, Report, ServerFailure};
pub use run::provision;

//! One phone, from the agent's side, in the order the data flows:
//! - `tls`: trusting a phone's self-signed certificate by subject; `client`: its web server and transport errors;
//! - `probe`: recognising the family before logging in; `page`: every page scraped into typed values;
//! - `session`: logging in per generation without locking the phone out, logging out;
//! - `provisioning`: read → plan → save the provisioning server;
//! - `monitor`: the reboot/update/settle state machine; `locate`: finding a moved phone again by MAC;
//! - `event`: what happens, as it happens; `run`: all of it for one phone, ending in a `Report`.

pub mod client;
pub mod event;
pub mod locate;
pub mod monitor;
pub mod page;
pub mod probe;
pub mod provisioning;
pub mod run;
pub mod session;
pub mod tls;

pub use event::Event;
pub use run::{Allow, Job, Outcome, Report, Resume, Timing, provision};

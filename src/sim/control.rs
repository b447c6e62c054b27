//! The simulator's control endpoint (plain HTTP, its own port): the truth about every phone as JSON, so tests
//! assert outcomes instead of trusting the client, plus the admin-console side of things.
//!
//! - `GET /phones`: every phone's [`PhoneReport`](super::PhoneReport).
//! - `GET /phones/<MAC>`: one phone.
//! - `POST /phones/<MAC>/activate`: activation by MAC, as the admin console does it: the simulated service now
//!   serves the phone a registering line configuration. Body (optional JSON): `{"reboot": false}` leaves the phone
//!   to be rebooted by someone else (8x8: "if the device does not reboot itself … power cycle"); by default the
//!   service tells it to reboot at once. The phone must be Inactive and provisioned by this service.
//! - `POST /phones/<MAC>/reboot`: power-cycle the phone.
//! - `PUT /phones/<MAC>/faults`: replace the phone's faults (JSON, keys as in [`Faults`](super::Faults)).
//! - `GET /prov`: the provisioning server: its URL, faults and every request it answered.
//! - `PUT /prov/faults`: replace its faults (JSON, keys as in [`ServerFaults`](super::ServerFaults)).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use super::lifecycle::Command;
use super::phone::Phase;
use super::{Faults, ProvServer, ServerFaults, SimConfig, SimPhone};
use crate::mac::Mac;

type Phones = Arc<BTreeMap<Mac, Arc<SimPhone>>>;
type Prov = Option<Arc<ProvServer>>;

/// Serve the control endpoint until the simulator stops.
pub async fn serve(
    listener: tokio::net::TcpListener,
    phones: Phones,
    config: SimConfig,
    prov: Prov,
) {
    let config = Arc::new(config);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let phones = phones.clone();
        let config = config.clone();
        let prov = prov.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                handle(phones.clone(), config.clone(), prov.clone(), req)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn json(status: u16, value: &serde_json::Value) -> hyper::Response<Full<Bytes>> {
    let body = serde_json::to_vec_pretty(value).unwrap_or_default();
    hyper::Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

fn error(status: u16, message: String) -> hyper::Response<Full<Bytes>> {
    json(status, &serde_json::json!({ "error": message }))
}

async fn handle(
    phones: Phones,
    config: Arc<SimConfig>,
    prov: Prov,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().trim_end_matches('/').to_string();
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let reply = match (method.as_str(), parts.as_slice()) {
        ("GET", []) => json(
            200,
            &serde_json::json!({
                "phones": phones.len(),
                "time-scale": config.time_scale,
                "seed": config.seed,
                "provisioning-server": prov.as_ref().map(|p| p.url()),
            }),
        ),
        ("GET", ["prov"]) => match &prov {
            Some(p) => json(200, &serde_json::to_value(p.report()).unwrap_or_default()),
            None => error(404, "no simulated provisioning server runs".into()),
        },
        ("PUT", ["prov", "faults"]) => match (&prov, serde_json::from_slice::<ServerFaults>(&body))
        {
            (None, _) => error(404, "no simulated provisioning server runs".into()),
            (_, Err(e)) => error(400, format!("faults JSON: {e}")),
            (Some(p), Ok(f)) => match p.set_faults(f) {
                Ok(()) => json(200, &serde_json::to_value(p.report()).unwrap_or_default()),
                Err(e) => error(500, e.to_string()),
            },
        },
        ("GET", ["phones"]) => {
            let all: Vec<_> = phones.values().map(|p| p.report()).collect();
            json(200, &serde_json::to_value(all).unwrap_or_default())
        }
        (m, ["phones", mac, rest @ ..]) => {
            match mac.parse::<Mac>().ok().and_then(|m| phones.get(&m)) {
                None => error(404, format!("no simulated phone with MAC {mac}")),
                Some(phone) => phone_action(phone, prov.as_deref(), m, rest, &body),
            }
        }
        _ => error(404, format!("no such control call: {method} {path}")),
    };
    Ok(reply)
}

fn phone_action(
    phone: &SimPhone,
    prov: Option<&ProvServer>,
    method: &str,
    rest: &[&str],
    body: &[u8],
) -> hyper::Response<Full<Bytes>> {
    match (method, rest) {
        ("GET", []) => json(
            200,
            &serde_json::to_value(phone.report()).unwrap_or_default(),
        ),
        ("POST", ["activate"]) => {
            let phase = phone.with(|p| p.phase);
            if phase != Phase::Inactive {
                return error(
                    409,
                    format!(
                        "phone {} is {phase:?}, not Inactive: it cannot be activated yet",
                        phone.mac
                    ),
                );
            }
            let Some(server) = prov else {
                return error(409, "no simulated provisioning server runs".into());
            };
            let uses = phone
                .with(|p| crate::phone::monitor::same_server(&p.effective_server(), &server.url()));
            if !uses {
                return error(
                    409,
                    format!(
                        "phone {} is not provisioned by this simulator's service ({})",
                        phone.mac,
                        server.url()
                    ),
                );
            }
            if !server.edit(|site| match site.phones.get_mut(&phone.mac) {
                Some(e) => {
                    e.activated = true;
                    true
                }
                None => false,
            }) {
                return error(
                    409,
                    format!("the service does not know phone {}", phone.mac),
                );
            }
            let reboot = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("reboot").and_then(|r| r.as_bool()))
                .unwrap_or(true);
            if reboot {
                phone.with(|p| p.phase = Phase::Activating);
                phone.command(Command::Activate);
            }
            json(
                202,
                &serde_json::json!({ "activated": phone.mac, "rebooting": reboot }),
            )
        }
        ("POST", ["reboot"]) => {
            phone.command(Command::Reboot);
            json(202, &serde_json::json!({ "rebooting": phone.mac }))
        }
        ("PUT", ["faults"]) => match serde_json::from_slice::<Faults>(body) {
            Err(e) => error(400, format!("faults JSON: {e}")),
            Ok(f) => match phone.set_faults(f) {
                Ok(()) => json(
                    200,
                    &serde_json::to_value(phone.report()).unwrap_or_default(),
                ),
                Err(e) => error(500, e.to_string()),
            },
        },
        _ => error(404, format!("no such control call on phone {}", phone.mac)),
    }
}

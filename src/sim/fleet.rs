//! Building simulated phones: one [`PhoneSpec`] into its starting [`PhoneState`], and mixed fleets across every
//! recorded build for `polyprov sim --phones N` and the demo.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use tokio::time::Instant;

use super::lockout::LockoutState;
use super::phone::{Line, Phase, PhoneState, ProvTruth, Session, Stats, phone_rng};
use super::provserver::{Enrolled, FirmwareRef};
use super::{PhoneSpec, SimError};
use crate::clock::Clock;
use crate::fixture::Catalog;
use crate::mac::Mac;

/// The state a phone starts in.
pub fn initial_state(
    catalog: &Catalog,
    spec: &PhoneSpec,
    clock: Clock,
    epoch: Instant,
    seed: u64,
) -> Result<PhoneState, SimError> {
    let profile = catalog
        .profiles
        .get(&spec.profile)
        .ok_or_else(|| SimError::UnknownProfile {
            mac: spec.mac,
            profile: spec.profile.clone(),
            known: catalog
                .profiles
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let pages = catalog
        .page_set(&spec.profile, &spec.firmware)
        .ok_or_else(|| SimError::UnknownBuild {
            mac: spec.mac,
            profile: spec.profile.clone(),
            firmware: spec.firmware.clone(),
        })?;
    let mut config: BTreeMap<String, String> = pages
        .fields
        .iter()
        .map(|f| (f.paramname.clone(), f.value.clone()))
        .collect();
    config.extend(spec.params.clone());
    let model = spec
        .model
        .clone()
        .unwrap_or_else(|| pages.recorded.model.clone());
    let pages = Arc::new(super::variant::pages(&pages, &spec.variants));
    let profile = super::variant::profile(profile, &spec.firmware, &spec.variants);
    let mut state = PhoneState {
        mac: spec.mac,
        profile: Arc::new(profile.clone()),
        pages,
        variants: spec.variants.clone(),
        model: model.clone(),
        firmware: spec.firmware.clone(),
        password: spec.password.clone(),
        ip: spec.ip,
        config,
        rest_enabled: spec.rest_enabled,
        faults: spec.faults.clone(),
        lockout: LockoutState::default(),
        session: None,
        up: true,
        booted_at: epoch,
        reboots: 0,
        log: Vec::new(),
        phase: Phase::Unprovisioned,
        line: Line {
            registered: false,
            label: model,
        },
        extension: spec.extension.clone(),
        firmware_history: vec![spec.firmware.clone()],
        stats: Stats::default(),
        update_reboots_override: spec.update_reboots,
        prov: ProvTruth::default(),
        from_files: BTreeMap::new(),
        inactive_at: None,
        rng: phone_rng(seed, spec.mac),
        seed,
        epoch,
        clock,
    };
    if let Some((kind, url)) = &spec.provisioned {
        let prov = state.profile.provisioning.clone();
        if let (Some(t), Some(n), Some(v)) = (
            &prov.server_type,
            &prov.server_name,
            prov.server_type_values.get(kind),
        ) {
            state.config.insert(t.clone(), v.clone());
            state.config.insert(n.clone(), url.clone());
        }
        // What came of the pass on this boot is decided by really making it, once the service runs
        // (`lifecycle::provisioned_at_start`).
    }
    state.booted();
    if spec.faults.locked {
        let policy = state.profile.lockout.clone();
        for i in 0..policy.attempts {
            state.lockout.attempt(&policy, f64::from(i) * 0.001, false);
        }
    }
    if spec.faults.busy_secs > 0 {
        let token = state.token(24);
        let csrf = state.token(32);
        // A session last seen now that lasts busy-secs: backdate it so it expires at busy-secs.
        let lifetime = state.profile.login.session_lifetime_secs as f64;
        let back = clock.wall((lifetime - spec.faults.busy_secs as f64).max(0.0));
        state.session = Some(Session {
            token,
            csrf,
            last_seen: epoch.checked_sub(back).unwrap_or(epoch),
            foreign: true,
        });
    }
    Ok(state)
}

/// What the simulated service knows of this phone: its model and the firmware it names (the spec's `update-to`,
/// else the build's), or `None` when the phone is not enrolled.
pub fn enrolment(catalog: &Catalog, spec: &PhoneSpec) -> Option<Enrolled> {
    if !spec.enrolled {
        return None;
    }
    let profile = catalog.profiles.get(&spec.profile)?;
    let firmware = match &spec.update_to {
        Some(to) if *to == spec.firmware => None,
        Some(to) => Some(match to.split_once('/') {
            Some((p, v)) => FirmwareRef {
                version: v.into(),
                profile: Some(p.into()),
            },
            None => FirmwareRef {
                version: to.clone(),
                profile: None,
            },
        }),
        None => profile
            .build(&spec.firmware)
            .and_then(|b| b.update())
            .map(|u| FirmwareRef {
                version: u.firmware,
                profile: u.profile,
            }),
    };
    let catalog_pages = catalog.page_set(&spec.profile, &spec.firmware);
    let model = spec
        .model
        .clone()
        .or_else(|| catalog_pages.map(|p| p.recorded.model.clone()))
        .unwrap_or_default();
    Some(Enrolled {
        model_key: profile.provisioning.model_key(&model),
        model,
        firmware,
        activation_firmware: spec.activation_update.clone().map(|v| FirmwareRef {
            version: v,
            profile: None,
        }),
        extension: spec.extension.clone(),
        activated: false,
    })
}

/// A mixed fleet of `n` factory-fresh phones across every recorded build, on `ip`, all with `password`.
/// MACs are the profile's first OUI and a running number, so they are stable between runs.
pub fn mixed(catalog: &Catalog, n: usize, ip: IpAddr, password: &str) -> Vec<PhoneSpec> {
    let builds: Vec<(String, String)> = catalog
        .builds()
        .map(|(p, f)| (p.to_string(), f.to_string()))
        .collect();
    if builds.is_empty() {
        return Vec::new();
    }
    (0..n)
        .map(|i| {
            let (profile_id, firmware) = &builds[i % builds.len()];
            let profile = catalog.profiles.get(profile_id);
            let oui = profile
                .and_then(|p| p.recognise.ouis.first())
                .and_then(|o| {
                    o.parse::<Mac>()
                        .ok()
                        .or_else(|| format!("{o}000000").parse().ok())
                })
                .map_or([0x00, 0x04, 0xF2], |m| [m.0[0], m.0[1], m.0[2]]);
            let mac = Mac([oui[0], oui[1], oui[2], 0x5A, (i >> 8) as u8, i as u8]);
            let mut spec = PhoneSpec::new(profile_id, firmware, mac, password);
            spec.ip = ip;
            spec.model = profile
                .map(|p| p.recognise.models[(i / builds.len()) % p.recognise.models.len()].clone());
            spec.rest_enabled = profile.is_some_and(|p| p.rest.available && p.rest.default_enabled);
            spec.extension = Some(format!("{}", 2001 + i));
            spec
        })
        .collect()
}

/// The demo's fleet and the provisioning-service faults it shows.
#[derive(Debug, Clone)]
pub struct Demo {
    pub phones: Vec<PhoneSpec>,
    /// Phones the service refuses (wrong server credentials for them: 401).
    pub refused: Vec<Mac>,
    /// The phone the technician gives a mistyped server address.
    pub typo: Option<Mac>,
}

/// The demo's fleet: two dozen phones across every build, a few REST-enabled, and the faults a technician meets:
/// a factory password, an unknown password, a locked web UI, a phone that never comes back, one stuck updating,
/// one whose web UI someone has open; on the provisioning side a mistyped server address, a MAC the service does not
/// know, and a phone whose server credentials the service refuses; plus the SIP 3.x SoundPoints that cannot be
/// provisioned from the web.
pub fn demo(catalog: &Catalog, password: &str) -> Demo {
    let mut fleet = mixed(
        catalog,
        24,
        IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        password,
    );
    let fresh = |s: &PhoneSpec| {
        catalog
            .profiles
            .get(&s.profile)
            .is_some_and(|p| p.provisioning.web)
    };
    let web: Vec<usize> = (0..fleet.len()).filter(|i| fresh(&fleet[*i])).collect();
    let mut pick = web.into_iter().rev();
    let mut next = || pick.next();
    if let Some(i) = next() {
        fleet[i].password = "456".into();
    }
    if let Some(i) = next() {
        fleet[i].password = "not-the-site-password".into();
    }
    if let Some(i) = next() {
        fleet[i].faults.locked = true;
    }
    if let Some(i) = next() {
        fleet[i].faults.never_returns = true;
    }
    if let Some(i) = next() {
        fleet[i].faults.update_loop = true;
    }
    if let Some(i) = next() {
        fleet[i].faults.busy_secs = 120;
    }
    let typo = next().map(|i| fleet[i].mac);
    if let Some(i) = next() {
        fleet[i].enrolled = false;
    }
    let refused = next().map(|i| fleet[i].mac).into_iter().collect();
    for s in fleet.iter_mut().step_by(5) {
        s.rest_enabled = catalog
            .profiles
            .get(&s.profile)
            .is_some_and(|p| p.rest.available);
    }
    Demo {
        phones: fleet,
        refused,
        typo,
    }
}

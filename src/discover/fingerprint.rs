//! The HTTP(S) fingerprint of a candidate: without a password, read its certificate subject (a Poly phone's is
//! `CN=<MAC>, O=Polycom Inc.`), Server header, login page title and login script, and match them against the
//! device profiles with the same recogniser `provision` uses (`phone::probe`), which gives the profile and login
//! generation. HTTPS first; plain HTTP when 443 refuses, does not answer in time, or fails the TLS handshake
//! (SoundPoint SIP 3.x, TLS-1.0 builds, a web server that hangs on 443). Only GETs of public pages are sent;
//! nothing is written.

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};

use super::sighting::{Sighting, Source, Web};
use crate::mac::Mac;
use crate::phone::client::{ClientError, PhoneClient};
use crate::phone::probe;
use crate::phone::tls::Trust;
use crate::profile::ProfileSet;

/// Fingerprints the device `mac` at `ip`; the result is a sighting whose `ip` is set only when the web server
/// proved it is that device (certificate CN = MAC), so a stale address never overrides ARP.
pub async fn probe(mac: Mac, ip: Ipv4Addr, profiles: &ProfileSet, timeout: Duration) -> Sighting {
    // Stamped when the look began: a phone that moved to another VLAN meanwhile makes this look stale.
    let started = SystemTime::now();
    let https = try_scheme("https", ip, profiles, timeout).await;
    let web = match https {
        Err(
            first @ (ClientError::Down { .. }
            | ClientError::Timeout { .. }
            | ClientError::Tls { .. }),
        ) => match try_scheme("http", ip, profiles, timeout).await {
            Ok(web) => web,
            Err(e) => Web {
                url: format!("https://{ip}/"),
                problem: Some(format!(
                    "no web UI answered on 443 ({first}) or 80 ({e}); booting, or the web server is disabled"
                )),
                ..Web::default()
            },
        },
        Ok(web) => web,
        Err(e) => Web {
            url: format!("https://{ip}/"),
            problem: Some(e.to_string()),
            ..Web::default()
        },
    };
    let mut s = Sighting::new(Some(mac), Source::Http, started);
    let proven = web.cert_cn.as_deref() == Some(mac.to_string().as_str());
    if proven {
        s.ip = Some(ip);
    }
    s.web = Some(web);
    s
}

async fn try_scheme(
    scheme: &str,
    ip: Ipv4Addr,
    profiles: &ProfileSet,
    timeout: Duration,
) -> Result<Web, ClientError> {
    let url = format!("{scheme}://{ip}/");
    let base = url::Url::parse(&url).map_err(|e| ClientError::Other {
        target: url.clone(),
        reason: e.to_string(),
    })?;
    look(base, profiles, timeout).await
}

/// The fingerprint of the web UI at `base` (any scheme and port): the profile it matches, its login generation,
/// whether it provisions over the web, and what its certificate and pages said. Read-only, no password sent.
pub async fn look(
    base: url::Url,
    profiles: &ProfileSet,
    timeout: Duration,
) -> Result<Web, ClientError> {
    let url = base.to_string();
    let client = PhoneClient::new(base, Trust::RecordOnly, timeout)?;
    let signals = probe::signals(&client, profiles).await?;
    let cert = client.certificate();
    let profile = probe::best(profiles, &signals);
    Ok(Web {
        url,
        profile: profile.map(|p| p.id.clone()),
        generation: profile.map(|p| p.login.generation.to_string()),
        web_provisioning: profile.is_some_and(|p| p.provisioning.web),
        instead: profile.and_then(|p| p.provisioning.instead.clone()),
        problem: profile.is_none().then(|| {
            format!(
                "web UI not recognised (Server {:?}, title {:?}); if it is a Poly phone on new firmware, record it with `polyprov record`",
                signals.server, signals.login_title
            )
        }),
        server: signals.server,
        login_title: signals.login_title,
        cert_cn: cert.as_ref().map(|c| c.common_name.clone()),
        cert_o: cert.map(|c| c.organization),
    })
}

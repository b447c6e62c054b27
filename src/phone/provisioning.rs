//! Read first, then write: fetch the provisioning page, find the fields by `paramname` (never by the firmware's
//! numeric names), compare with what is wanted, and submit only what differs.

use super::client::{ClientError, PhoneClient};
use super::page::{self, Field};
use super::session::Auth;
use crate::profile::Profile;
use crate::secret::Secret;

/// What the provisioning server should be.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// Server type name as the profile's `server-type-values` know it (`HTTPS`).
    pub server_type: String,
    pub url: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

/// What the phone has now.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Current {
    pub server_type: String,
    pub url: String,
    pub user: String,
}

/// One field to change. Its `Debug` hides the value of a secret field.
#[derive(Clone, PartialEq, Eq)]
pub struct Change {
    pub label: &'static str,
    /// The firmware's form name.
    pub name: String,
    pub from: String,
    pub to: String,
    /// What the values mean, where the form's values are codes (`2` → `HTTP`); else the values themselves.
    pub from_shown: String,
    pub to_shown: String,
    /// A password: shown as `(set)`, never printed.
    pub secret: bool,
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let to: &str = if self.secret { "[secret]" } else { &self.to };
        f.debug_struct("Change")
            .field("label", &self.label)
            .field("name", &self.name)
            .field("from", &self.from)
            .field("to", &to)
            .finish()
    }
}

/// The planned write.
#[derive(Debug, Clone)]
pub struct Plan {
    pub current: Current,
    pub changes: Vec<Change>,
}

impl Plan {
    /// Visible values already as wanted (a server password, which pages never show, may still be sent).
    pub fn visible_unchanged(&self) -> bool {
        self.changes.iter().all(|c| c.secret)
    }

    /// Human lines: `Server Type: HTTP → HTTPS`, `Server Address: (empty) → https://…` (device text made safe
    /// for a terminal).
    pub fn describe(&self) -> Vec<String> {
        let show = |s: &str| match s {
            "" => "(empty)".to_string(),
            s => crate::text::for_terminal(s).into_owned(),
        };
        self.changes
            .iter()
            .map(|c| {
                if c.secret {
                    format!("{}: (set)", c.label)
                } else {
                    format!(
                        "{}: {} → {}",
                        c.label,
                        show(&c.from_shown),
                        show(&c.to_shown)
                    )
                }
            })
            .collect()
    }

    /// The urlencoded form body.
    pub fn form_body(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                self.changes
                    .iter()
                    .map(|c| (c.name.as_str(), c.to.as_str())),
            )
            .finish()
    }
}

/// Why the provisioning page could not be read or written.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProvisionError {
    #[error("{family} cannot set the provisioning server from its web UI. Instead: {instead}")]
    NotOnWeb { family: String, instead: String },
    #[error(
        "{page} of firmware {firmware} has no field with paramname {param}. Fix: this build's page differs from the recordings; record it with `polyprov record` and update the device profile"
    )]
    MissingField {
        page: String,
        firmware: String,
        param: String,
    },
    #[error(
        "server type {wanted:?} is not offered by {page} (options {options:?}) or not known to profile {profile}"
    )]
    UnknownServerType {
        wanted: String,
        page: String,
        options: Vec<String>,
        profile: String,
    },
    #[error(
        "{path} answered HTTP {status} ({body:?}); the session may have expired or the CSRF token was refused"
    )]
    Refused {
        path: String,
        status: u16,
        body: String,
    },
    #[error("{path} answered {body:?}, expected {expected:?}")]
    Unexpected {
        path: String,
        body: String,
        expected: String,
    },
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// The provisioning page and where its form is posted. A profile check requires both where `provisioning.web` is
/// set; a profile without them cannot provision from the web UI.
fn form_pages(profile: &Profile) -> Result<(&str, &str), ProvisionError> {
    match (
        profile.pages.provisioning.as_deref(),
        profile.pages.form_submit.as_deref(),
    ) {
        (Some(page), Some(submit)) => Ok((page, submit)),
        _ => Err(ProvisionError::NotOnWeb {
            family: profile.family.clone(),
            instead: profile.provisioning.instead.clone().unwrap_or_default(),
        }),
    }
}

/// Fetch the provisioning page and parse its fields.
pub async fn read(
    client: &PhoneClient,
    profile: &Profile,
    auth: &Auth,
) -> Result<Vec<Field>, ProvisionError> {
    let (path, _) = form_pages(profile)?;
    let r = client.get_retrying(path, &auth.headers(false), 3).await?;
    if r.status != 200 {
        return Err(ProvisionError::Refused {
            path: path.to_string(),
            status: r.status,
            body: r.body.chars().take(80).collect(),
        });
    }
    Ok(page::off_runtime(r.body, page::parse_fields).await)
}

/// The current values, by the profile's paramnames.
pub fn current(profile: &Profile, fields: &[Field]) -> Current {
    let p = &profile.provisioning;
    let value = |param: &Option<String>| {
        param
            .as_deref()
            .and_then(|n| fields.iter().find(|f| f.paramname == n))
            .map(|f| f.value.clone())
            .unwrap_or_default()
    };
    let type_value = value(&p.server_type);
    Current {
        server_type: p
            .server_type_values
            .iter()
            .find(|(_, v)| **v == type_value)
            .map(|(k, _)| k.clone())
            .unwrap_or(type_value),
        url: value(&p.server_name),
        user: value(&p.server_user),
    }
}

/// Compare the page with what is wanted.
pub fn plan(
    profile: &Profile,
    firmware: &str,
    fields: &[Field],
    wanted: &Wanted,
) -> Result<Plan, ProvisionError> {
    let p = &profile.provisioning;
    let page_path = profile.pages.provisioning.clone().unwrap_or_default();
    if !p.web {
        return Err(ProvisionError::NotOnWeb {
            family: profile.family.clone(),
            instead: p.instead.clone().unwrap_or_default(),
        });
    }
    let field = |param: &Option<String>| -> Result<&Field, ProvisionError> {
        let param = param.clone().unwrap_or_default();
        fields
            .iter()
            .find(|f| f.paramname == param)
            .ok_or(ProvisionError::MissingField {
                page: page_path.clone(),
                firmware: firmware.to_string(),
                param,
            })
    };
    let type_field = field(&p.server_type)?;
    let name_field = field(&p.server_name)?;
    let wanted_type = p
        .server_type_values
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&wanted.server_type))
        .map(|(_, v)| v.clone())
        .filter(|v| type_field.options.is_empty() || type_field.options.contains(v))
        .ok_or_else(|| ProvisionError::UnknownServerType {
            wanted: wanted.server_type.clone(),
            page: page_path.clone(),
            options: type_field.options.clone(),
            profile: profile.id.clone(),
        })?;
    let mut changes = Vec::new();
    let mut want = |label, f: &Field, to: String, secret: bool| {
        if secret || f.value != to {
            // A server type is a code on the form: show the name the profile gives it.
            let shown = |v: &String| match label {
                "Server Type" => p
                    .server_type_values
                    .iter()
                    .find(|(_, code)| *code == v)
                    .map_or_else(|| v.clone(), |(name, _)| name.clone()),
                _ => v.clone(),
            };
            changes.push(Change {
                label,
                name: f.name.clone(),
                from_shown: shown(&f.value),
                to_shown: shown(&to),
                from: f.value.clone(),
                to,
                secret,
            });
        }
    };
    want("Server Type", type_field, wanted_type, false);
    want("Server Address", name_field, wanted.url.clone(), false);
    if let Some(user) = &wanted.user {
        want("Server User", field(&p.server_user)?, user.clone(), false);
    }
    if let Some(pw) = &wanted.password {
        want(
            "Server Password",
            field(&p.server_password)?,
            pw.expose().to_string(),
            true,
        );
    }
    Ok(Plan {
        current: current(profile, fields),
        changes,
    })
}

/// What the save answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// `CONF_CHANGE`: applied; a reboot follows.
    Changed,
    /// `CONF_NO_CHANGE`: nothing differed.
    Unchanged,
    /// The connection dropped before the answer: the save may or may not have been applied.
    AnswerLost,
}

/// Submit the changed fields.
pub async fn save(
    client: &PhoneClient,
    profile: &Profile,
    auth: &Auth,
    plan: &Plan,
) -> Result<Saved, ProvisionError> {
    let (page_path, path) = form_pages(profile)?;
    let mut headers = auth.headers(true);
    let base = client.base().as_str().trim_end_matches('/').to_string();
    headers.push(("Referer", format!("{base}{page_path}")));
    let r = match client
        .send("POST", path, &headers, Some(plan.form_body()))
        .await
    {
        Ok(r) => r,
        Err(ClientError::Reset { .. } | ClientError::Timeout { .. }) => {
            return Ok(Saved::AnswerLost);
        }
        Err(e) => return Err(e.into()),
    };
    let changed = profile
        .provisioning
        .changed_body
        .clone()
        .unwrap_or_default();
    let unchanged = profile
        .provisioning
        .unchanged_body
        .clone()
        .unwrap_or_default();
    if r.status != 200 {
        return Err(ProvisionError::Refused {
            path: path.to_string(),
            status: r.status,
            body: r.body.chars().take(80).collect(),
        });
    }
    match r.body.trim() {
        b if b == changed => Ok(Saved::Changed),
        b if b == unchanged => Ok(Saved::Unchanged),
        b => Err(ProvisionError::Unexpected {
            path: path.to_string(),
            body: b.chars().take(80).collect(),
            expected: changed,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileSet;

    fn fields() -> Vec<Field> {
        page::parse_fields(
            r#"<select name="482" paramname="device.prov.serverType"><option value="2" selected="selected">HTTP</option><option value="3">HTTPS</option></select>
               <input name="480" paramname="device.prov.serverName" value="old.example.test"/>
               <input name="488" paramname="device.prov.user" value=""/>
               <input name="474" type="password" paramname="device.prov.password" value=""/>"#,
        )
    }

    fn wanted(url: &str) -> Wanted {
        Wanted {
            server_type: "https".into(),
            url: url.into(),
            user: None,
            password: None,
        }
    }

    /// Only the differing fields are planned, under the firmware's own numeric names.
    #[test]
    fn plans_only_the_differences() {
        let set = ProfileSet::bundled().unwrap();
        let p = set.get("poly-vvx-6").unwrap();
        let plan = plan(
            p,
            "6.4.5.1210",
            &fields(),
            &wanted("https://prov.example.test/"),
        )
        .unwrap();
        assert_eq!(plan.current.server_type, "HTTP");
        assert_eq!(
            plan.form_body(),
            "482=3&480=https%3A%2F%2Fprov.example.test%2F"
        );
        // The form's codes are shown as the names the profile gives them.
        assert_eq!(plan.describe()[0], "Server Type: HTTP → HTTPS");
        assert_eq!(
            plan.describe()[1],
            "Server Address: old.example.test → https://prov.example.test/"
        );
    }

    /// Nothing to change when the page already shows the wanted values.
    #[test]
    fn already_as_wanted() {
        let set = ProfileSet::bundled().unwrap();
        let p = set.get("poly-vvx-6").unwrap();
        let mut f = fields();
        f[0].value = "3".into();
        f[1].value = "https://prov.example.test/".into();
        let plan = plan(p, "6.4.5.1210", &f, &wanted("https://prov.example.test/")).unwrap();
        assert!(plan.changes.is_empty());
    }

    /// A page without the expected paramname names the page, firmware and parameter.
    #[test]
    fn missing_field_is_explained() {
        let set = ProfileSet::bundled().unwrap();
        let p = set.get("poly-vvx-6").unwrap();
        let e = plan(p, "9.9", &fields()[..1], &wanted("x"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("device.prov.serverName")
                && e.contains("9.9")
                && e.contains("polyprov record"),
            "{e}"
        );
    }

    /// A password is always sent when given, and never shown.
    #[test]
    fn server_password_is_hidden() {
        let set = ProfileSet::bundled().unwrap();
        let p = set.get("poly-vvx-6").unwrap();
        let mut w = wanted("old.example.test");
        w.server_type = "HTTP".into();
        w.password = Some(Secret::new("pw-123"));
        let plan = plan(p, "6.4.5.1210", &fields(), &w).unwrap();
        assert!(plan.visible_unchanged());
        assert_eq!(plan.describe(), ["Server Password: (set)"]);
    }
}

//! What the simulated provisioning service serves: a directory of configuration files, firmware images and
//! per-MAC files, laid out the way Poly phones look for them (`docs/provisioning-server.md`):
//!
//! - `<mac>.cfg` — the per-MAC master configuration file (XML `<APPLICATION …>`): which firmware image each model
//!   runs (`APP_FILE_PATH`, or `APP_FILE_PATH_<MODEL>`) and which configuration files to load (`CONFIG_FILES`);
//! - `000000000000.cfg` — the default master configuration, for phones without a per-MAC file (only when the
//!   site has one: a cloud service that provisions by MAC answers 404 for a MAC it does not know);
//! - `site.cfg`, `<mac>-line.cfg` — configuration files (`<PHONE_CONFIG>` with parameters as attributes): the
//!   line label a not-yet-activated phone shows, and after activation its registration;
//! - `firmware/<version>/sip.ld` — firmware images. The simulator's image is a few lines of TOML naming the
//!   version (and the device profile it brings); a real `sip.ld` is a binary the phone checks the same way.
//!
//! Files from a directory (`polyprov sim --prov-dir`) are served byte for byte and win over generated ones.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;

use crate::mac::Mac;

/// A firmware version the service names, and the device profile whose pages that firmware serves (for updates
/// that change the login generation, e.g. VVX 5.6 → 6.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareRef {
    pub version: String,
    pub profile: Option<String>,
}

/// A phone the service knows (its MAC was entered, or it is on the service's device list).
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// Model as the phone names itself (`VVX 411`).
    pub model: String,
    /// The model as master files name it (`VVX411`, from the device profile).
    pub model_key: String,
    /// Firmware the service names for it before activation.
    pub firmware: Option<FirmwareRef>,
    /// Firmware the service names once it is activated.
    pub activation_firmware: Option<FirmwareRef>,
    pub extension: Option<String>,
    /// Activated in the admin console: the line configuration now registers.
    pub activated: bool,
}

/// Everything the service can answer.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// Files from a directory, by path relative to the server's root.
    pub files: BTreeMap<String, Bytes>,
    pub phones: BTreeMap<Mac, Enrolled>,
    /// Serve a generated `000000000000.cfg` (naming no firmware) for phones the service does not know.
    pub default_master: bool,
    /// Line label of a phone waiting for activation.
    pub line_label: String,
    /// SIP domain lines register to after activation.
    pub sip_domain: String,
    /// An admin password the service pushes (`device.auth.localAdminPassword`), as cloud services often do.
    pub admin_password: Option<String>,
    /// The service's own address: its configuration pins the phones to it (`device.prov.serverName`), as cloud
    /// services do (S56 shows a Teams-provisioned phone's `config=` value).
    pub server_url: Option<String>,
}

/// Largest file read from a `--prov-dir` directory.
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// Why a directory could not be served.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("provisioning directory {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "provisioning directory: {path} is larger than {MAX_FILE} bytes; the simulated server keeps files in memory"
    )]
    TooLarge { path: String },
}

impl Site {
    /// Load every file under `dir` (recursively) to serve as given.
    pub fn load_dir(&mut self, dir: &Path) -> Result<(), SiteError> {
        fn walk(
            root: &Path,
            dir: &Path,
            out: &mut BTreeMap<String, Bytes>,
        ) -> Result<(), SiteError> {
            let read = |e: std::io::Error| SiteError::Read {
                path: dir.display().to_string(),
                source: e,
            };
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .map_err(read)?
                .filter_map(|e| e.ok())
                .collect();
            entries.sort_by_key(|e| e.path());
            for e in entries {
                let path = e.path();
                let meta = e.metadata().map_err(read)?;
                if meta.is_dir() {
                    walk(root, &path, out)?;
                } else if meta.is_file() {
                    let rel = path
                        .strip_prefix(root)
                        .unwrap_or(&path)
                        .to_string_lossy()
                        .replace('\\', "/");
                    if meta.len() > MAX_FILE {
                        return Err(SiteError::TooLarge { path: rel });
                    }
                    let bytes = std::fs::read(&path).map_err(|source| SiteError::Read {
                        path: path.display().to_string(),
                        source,
                    })?;
                    out.insert(rel, Bytes::from(bytes));
                }
            }
            Ok(())
        }
        walk(dir, dir, &mut self.files)
    }

    /// The bytes of `rel` (a path below the server's root), if the service has such a file.
    pub fn file(&self, rel: &str) -> Option<Bytes> {
        if let Some(b) = self.files.get(rel) {
            return Some(b.clone());
        }
        if rel == "000000000000.cfg" {
            return self
                .default_master
                .then(|| master(None, &["site.cfg", "000000000000-line.cfg"]).into());
        }
        if rel == "000000000000-line.cfg" {
            return self.default_master.then(|| {
                phone_config(&[(
                    "reg",
                    vec![
                        ("reg.1.address", String::new()),
                        ("reg.1.label", self.line_label.clone()),
                    ],
                )])
                .into()
            });
        }
        if rel == "site.cfg" {
            return Some(self.site_cfg().into());
        }
        if let Some(version) = rel
            .strip_prefix("firmware/")
            .and_then(|r| r.strip_suffix("/sip.ld"))
        {
            return self.image(version).map(Into::into);
        }
        let (mac, rest) = mac_file(rel)?;
        let phone = self.phones.get(&mac)?;
        match rest {
            ".cfg" => {
                let fw = if phone.activated {
                    phone
                        .activation_firmware
                        .as_ref()
                        .or(phone.firmware.as_ref())
                } else {
                    phone.firmware.as_ref()
                };
                let line = format!("{}-line.cfg", mac.plain_lower());
                Some(
                    master(
                        fw.map(|f| (phone.model_key.as_str(), f)),
                        &["site.cfg", &line],
                    )
                    .into(),
                )
            }
            "-line.cfg" => Some(self.line_cfg(mac, phone).into()),
            _ => None,
        }
    }

    /// A firmware image the service can hand out (any version some phone is named, or a directory file).
    fn image(&self, version: &str) -> Option<String> {
        let named = self
            .phones
            .values()
            .flat_map(|p| [p.firmware.as_ref(), p.activation_firmware.as_ref()])
            .flatten()
            .find(|f| f.version == version)?;
        Some(image(named))
    }

    fn site_cfg(&self) -> String {
        let mut attrs = vec![("device.set", "1".to_string())];
        if let Some(url) = &self.server_url {
            attrs.push(("device.prov.serverName", url.clone()));
            attrs.push(("device.prov.serverName.set", "1".into()));
        }
        if let Some(pw) = &self.admin_password {
            attrs.push(("device.auth.localAdminPassword", pw.clone()));
            attrs.push(("device.auth.localAdminPassword.set", "1".into()));
        }
        phone_config(&[("device", attrs)])
    }

    fn line_cfg(&self, mac: Mac, phone: &Enrolled) -> String {
        let attrs = match (&phone.extension, phone.activated) {
            (Some(ext), true) => vec![
                ("reg.1.address", format!("{ext}@{}", self.sip_domain)),
                ("reg.1.label", ext.clone()),
                ("reg.1.auth.userId", ext.clone()),
            ],
            (None, true) => vec![
                (
                    "reg.1.address",
                    format!("{}@{}", mac.plain_lower(), self.sip_domain),
                ),
                ("reg.1.label", "Line 1".into()),
            ],
            (_, false) => vec![
                ("reg.1.address", String::new()),
                ("reg.1.label", self.line_label.clone()),
            ],
        };
        phone_config(&[("reg", attrs)])
    }
}

/// `0004f2a1b2c3.cfg` → (MAC, ".cfg"); `0004f2a1b2c3-line.cfg` → (MAC, "-line.cfg").
pub fn mac_file(rel: &str) -> Option<(Mac, &str)> {
    let (hex, rest) = (rel.get(..12)?, rel.get(12..)?);
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        || hex == "000000000000"
    {
        return None;
    }
    Some((hex.parse().ok()?, rest))
}

/// A master configuration file; with `firmware`, the model's (by its key, `VVX411`) image path.
pub fn master(firmware: Option<(&str, &FirmwareRef)>, config_files: &[&str]) -> String {
    let files = config_files.join(", ");
    let per_model = match firmware {
        Some((key, f)) => {
            format!(
                "\n  <APPLICATION_{key} APP_FILE_PATH_{key}=\"firmware/{}/sip.ld\" CONFIG_FILES_{key}=\"\"/>",
                f.version
            )
        }
        None => String::new(),
    };
    format!(
        "<?xml version=\"1.0\" standalone=\"yes\"?>\n<!-- polyprov simulated provisioning service: master configuration -->\n<APPLICATION APP_FILE_PATH=\"\" CONFIG_FILES=\"{files}\" MISC_FILES=\"\" LOG_FILE_DIRECTORY=\"\" OVERRIDES_DIRECTORY=\"\" CONTACTS_DIRECTORY=\"\" LICENSE_DIRECTORY=\"\" USER_PROFILES_DIRECTORY=\"\" CALL_LISTS_DIRECTORY=\"\" COREFILE_DIRECTORY=\"\">{per_model}\n</APPLICATION>\n"
    )
}

/// The simulator's stand-in for a `sip.ld` image.
pub fn image(f: &FirmwareRef) -> String {
    let mut s = format!(
        "# polyprov simulated firmware image: stands in for Poly's sip.ld\nversion = \"{}\"\n",
        f.version
    );
    if let Some(p) = &f.profile {
        s.push_str(&format!("profile = \"{p}\"\n"));
    }
    s
}

/// A configuration file: one element per group, parameters as attributes.
fn phone_config(groups: &[(&str, Vec<(&str, String)>)]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<PHONE_CONFIG>\n",
    );
    for (name, attrs) in groups {
        s.push_str(&format!("  <{name}"));
        for (k, v) in attrs {
            s.push_str(&format!(" {k}=\"{}\"", xml_escape(v)));
        }
        s.push_str("/>\n");
    }
    s.push_str("</PHONE_CONFIG>\n");
    s
}

fn xml_escape(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        let mut s = Site {
            line_label: "Inactive".into(),
            sip_domain: "sip.sim.test".into(),
            ..Site::default()
        };
        s.phones.insert(
            "64167F000101".parse().unwrap(),
            Enrolled {
                model: "VVX 411".into(),
                model_key: "VVX411".into(),
                firmware: Some(FirmwareRef {
                    version: "6.4.7.4560".into(),
                    profile: None,
                }),
                activation_firmware: None,
                extension: Some("2001".into()),
                activated: false,
            },
        );
        s
    }

    /// A known MAC gets its master file naming its model's image and its config files; an unknown MAC and the
    /// default master file are 404 unless the site serves a default.
    #[test]
    fn per_mac_master_files() {
        let mut s = site();
        let m = String::from_utf8(s.file("64167f000101.cfg").unwrap().to_vec()).unwrap();
        assert!(
            m.contains("APP_FILE_PATH_VVX411=\"firmware/6.4.7.4560/sip.ld\""),
            "{m}"
        );
        assert!(
            m.contains("CONFIG_FILES=\"site.cfg, 64167f000101-line.cfg\""),
            "{m}"
        );
        assert!(s.file("64167f0001ff.cfg").is_none());
        assert!(s.file("000000000000.cfg").is_none());
        s.default_master = true;
        assert!(s.file("000000000000.cfg").is_some());
        assert!(s.file("firmware/6.4.7.4560/sip.ld").is_some());
        assert!(s.file("firmware/9.9.9/sip.ld").is_none());
    }

    /// Before activation the line shows the service's label; after it, the line registers.
    #[test]
    fn line_config_follows_activation() {
        let mut s = site();
        let mac: Mac = "64167F000101".parse().unwrap();
        let before = String::from_utf8(s.file("64167f000101-line.cfg").unwrap().to_vec()).unwrap();
        assert!(before.contains("reg.1.label=\"Inactive\""), "{before}");
        s.phones.get_mut(&mac).unwrap().activated = true;
        let after = String::from_utf8(s.file("64167f000101-line.cfg").unwrap().to_vec()).unwrap();
        assert!(
            after.contains("reg.1.address=\"2001@sip.sim.test\""),
            "{after}"
        );
    }

    /// Directory files win over generated ones.
    #[test]
    fn directory_files_win() {
        let mut s = site();
        s.files
            .insert("64167f000101.cfg".into(), Bytes::from_static(b"mine"));
        assert_eq!(&s.file("64167f000101.cfg").unwrap()[..], b"mine");
    }
}

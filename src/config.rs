//! The site file (`--site site.toml`): what a technician reuses from one closet to the next — server type and
//! URL, server user, where passwords come from, allow-lists, concurrency, timeouts. Command-line flags override it;
//! unknown keys are refused with the file and line.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A site file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Site {
    /// The site's name, shown in the reports (default: the site file's name without `.toml`).
    pub name: Option<String>,
    pub server_type: Option<String>,
    pub server_url: Option<String>,
    pub server_user: Option<String>,
    /// File holding the provisioning server's password.
    pub server_password_file: Option<PathBuf>,
    /// Names answered without DNS, `NAME:PORT:ADDR` as curl's `--resolve`.
    #[serde(default)]
    pub resolve: Vec<crate::resolve::Pin>,
    /// PEM file of CA certificates to trust for the provisioning server besides the system's.
    pub server_ca: Option<PathBuf>,
    /// Do not check the provisioning server from this machine first.
    pub skip_server_check: Option<bool>,
    /// File with the phones' admin password(s), one per line.
    pub password_file: Option<PathBuf>,
    pub allow_factory_password: Option<bool>,
    /// File with the new admin password for phones still on the factory one.
    pub new_password_file: Option<PathBuf>,
    pub concurrency: Option<usize>,
    /// File listing the MACs that may be touched, one per line.
    pub allow_mac_file: Option<PathBuf>,
    #[serde(default)]
    pub allow_models: Vec<String>,
    #[serde(default)]
    pub allow_ouis: Vec<String>,
    /// Where run directories go.
    pub state_dir: Option<PathBuf>,
    /// This site's plan (its file from `polyprov plan split`): only its phones are onboarded.
    pub plan: Option<PathBuf>,
    /// Phones found on the site that its plan does not list are onboarded too (default: left alone, reported).
    pub allow_unplanned: Option<bool>,
    #[serde(default)]
    pub timeouts: Timeouts,
}

/// `[timeouts]`, phone seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Timeouts {
    pub return_secs: Option<f64>,
    pub settle_secs: Option<f64>,
    pub timeout_secs: Option<f64>,
    pub patience_secs: Option<u64>,
}

/// A site file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("cannot read site file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("site file {path}: {message}")]
    Parse { path: PathBuf, message: String },
}

impl Site {
    /// Read a site file; relative paths inside it are taken relative to the file.
    pub fn load(path: &Path) -> Result<Site, SiteError> {
        let text = std::fs::read_to_string(path).map_err(|source| SiteError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut site: Site = toml::from_str(&text).map_err(|e| SiteError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        site.check().map_err(|message| SiteError::Parse {
            path: path.to_path_buf(),
            message,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut site.server_password_file,
            &mut site.server_ca,
            &mut site.password_file,
            &mut site.new_password_file,
            &mut site.allow_mac_file,
            &mut site.state_dir,
            &mut site.plan,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(site)
    }
}

/// Server types a phone's provisioning page offers (`--server-type`, `server-type`).
pub const SERVER_TYPES: [&str; 5] = ["https", "http", "ftp", "tftp", "ftps"];
/// Most phones worked on at once (`--concurrency`, `concurrency`): far beyond what one closet needs, far below
/// what would exhaust the laptop's sockets.
pub const MAX_CONCURRENCY: usize = 1024;
/// Longest wait a site file may set: a week of phone time.
pub const MAX_WAIT_SECS: f64 = 7.0 * 24.0 * 3600.0;

impl Site {
    /// Values TOML accepts but a run cannot use: each refused with the key and the allowed range.
    fn check(&self) -> Result<(), String> {
        if let Some(t) = &self.server_type
            && !SERVER_TYPES.contains(&t.to_ascii_lowercase().as_str())
        {
            return Err(format!(
                "server-type = {t:?}: the phones offer {}",
                SERVER_TYPES.join(", ")
            ));
        }
        if let Some(c) = self.concurrency {
            check_concurrency("concurrency =", c)?;
        }
        let t = &self.timeouts;
        check_waits([
            ("[timeouts] return-secs =", t.return_secs),
            ("[timeouts] settle-secs =", t.settle_secs),
            ("[timeouts] timeout-secs =", t.timeout_secs),
            (
                "[timeouts] patience-secs =",
                t.patience_secs.map(|p| p as f64),
            ),
        ])?;
        Ok(())
    }
}

/// Each wait that is set must be a number of seconds above 0 and at most [`MAX_WAIT_SECS`]; the error names the
/// first that is not by its `label` (a flag or a site-file key).
pub fn check_waits<'a>(
    waits: impl IntoIterator<Item = (&'a str, Option<f64>)>,
) -> Result<(), String> {
    for (label, value) in waits {
        if let Some(v) = value
            && !(v.is_finite() && v > 0.0 && v <= MAX_WAIT_SECS)
        {
            return Err(format!(
                "{label} {v}: use a number of seconds above 0 and at most {MAX_WAIT_SECS} (a week)"
            ));
        }
    }
    Ok(())
}

/// Phones worked on at once must be 1 to [`MAX_CONCURRENCY`]; the error names the value by its `label` (a flag, a
/// site-file key, a journal's setting).
pub fn check_concurrency(label: &str, value: usize) -> Result<(), String> {
    if (1..=MAX_CONCURRENCY).contains(&value) {
        Ok(())
    } else {
        Err(format!("{label} {value}: use 1 to {MAX_CONCURRENCY}"))
    }
}

/// The first value that is set: command line, then site file, then default.
pub fn layer<T>(cli: Option<T>, site: Option<T>, default: T) -> T {
    cli.or(site).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A misspelt key is refused with its line.
    #[test]
    fn unknown_key_names_the_line() {
        let path = std::env::temp_dir().join(format!("polyprov-site-{}.toml", std::process::id()));
        std::fs::write(
            &path,
            "server-url = \"https://p.example.test/\"\nconcurency = 4\n",
        )
        .unwrap();
        let e = Site::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("concurency"), "{e}");
        std::fs::remove_file(&path).ok();
    }

    /// Values TOML accepts but a run cannot use are refused with the key: infinite or negative waits, a
    /// concurrency that would exhaust the machine, a server type no phone offers.
    #[test]
    fn unusable_values_are_refused() {
        let path =
            std::env::temp_dir().join(format!("polyprov-site-bad-{}.toml", std::process::id()));
        for (text, key) in [
            ("[timeouts]\nreturn-secs = inf\n", "return-secs"),
            ("[timeouts]\nsettle-secs = nan\n", "settle-secs"),
            ("[timeouts]\ntimeout-secs = -5\n", "timeout-secs"),
            ("[timeouts]\npatience-secs = 0\n", "patience-secs"),
            ("concurrency = 2305843009213693952\n", "concurrency"),
            ("concurrency = 0\n", "concurrency"),
            ("server-type = \"gopher\"\n", "server-type"),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = Site::load(&path).unwrap_err().to_string();
            assert!(
                e.contains(key) && e.contains("polyprov-site-bad"),
                "{text}: {e}"
            );
        }
        std::fs::write(
            &path,
            "server-type = \"HTTPS\"\nconcurrency = 64\n[timeouts]\nsettle-secs = 90\n",
        )
        .unwrap();
        assert!(Site::load(&path).is_ok());
        std::fs::remove_file(&path).ok();
    }

    /// Paths in the file are relative to it; the command line wins over the file.
    #[test]
    fn paths_and_layering() {
        let dir = std::env::temp_dir().join(format!("polyprov-site-dir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("site.toml");
        std::fs::write(
            &path,
            "password-file = \"pw.txt\"\nconcurrency = 8\n[timeouts]\nsettle-secs = 90\n",
        )
        .unwrap();
        let s = Site::load(&path).unwrap();
        assert_eq!(s.password_file, Some(dir.join("pw.txt")));
        assert_eq!(layer(Some(4), s.concurrency, 16), 4);
        assert_eq!(layer(None, s.concurrency, 16), 8);
        assert_eq!(s.timeouts.settle_secs, Some(90.0));
        std::fs::write(
            &path,
            "resolve = [\"prov.example.test:443:198.18.0.5\"]\nserver-ca = \"ca.pem\"\nskip-server-check = false\n",
        )
        .unwrap();
        let s = Site::load(&path).unwrap();
        assert_eq!(s.resolve[0].to_string(), "prov.example.test:443:198.18.0.5");
        assert_eq!(s.server_ca, Some(dir.join("ca.pem")));
        std::fs::write(&path, "resolve = [\"prov.example.test:443\"]\n").unwrap();
        let e = Site::load(&path).unwrap_err().to_string();
        assert!(e.contains("NAME:PORT:ADDR"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}

//! Reading device profiles: one file's text into a checked [`Profile`] (the TOML reader refuses unknown keys; the
//! checks here refuse what TOML alone cannot, naming the file, the line and the field), and a directory of them
//! into a [`ProfileSet`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Build, Generation, Profile};

/// A profile file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("profile {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("profile {path}, line {line}, field `{field}`: {problem}")]
    Invalid {
        path: PathBuf,
        line: usize,
        field: String,
        problem: String,
    },
    #[error("no device profiles in {0} (expected one *.toml per phone family)")]
    Empty(PathBuf),
    #[error(transparent)]
    DataDir(#[from] crate::DataDirError),
}

impl Profile {
    /// Parse and check one profile file's text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Profile, ProfileError> {
        let profile: Profile = toml::from_str(text).map_err(|e| ProfileError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        profile.check(path, text)?;
        Ok(profile)
    }

    /// Read and check one profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Profile::parse(path, &text)
    }

    /// The build with this firmware version.
    pub fn build(&self, firmware: &str) -> Option<&Build> {
        self.builds.iter().find(|b| b.firmware == firmware)
    }

    fn check(&self, path: &Path, text: &str) -> Result<(), ProfileError> {
        let bad = |field: &str, problem: String| ProfileError::Invalid {
            path: path.to_path_buf(),
            line: line_of(text, field),
            field: field.to_string(),
            problem,
        };
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if !stem.is_empty() && self.id != stem {
            return Err(bad(
                "id",
                format!(
                    "is {:?} but the file is {stem}.toml; they must match",
                    self.id
                ),
            ));
        }
        for oui in &self.recognise.ouis {
            if oui.len() != 6
                || !oui
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
            {
                return Err(bad(
                    "ouis",
                    format!("{oui:?} is not 6 uppercase hex digits"),
                ));
            }
        }
        if self.recognise.models.is_empty() {
            return Err(bad("models", "names no model".into()));
        }
        if self.builds.is_empty() {
            return Err(bad(
                "build",
                "the profile needs at least one [[build]]".into(),
            ));
        }
        let l = &self.lockout;
        if l.enabled {
            if !(3..=20).contains(&l.attempts) {
                return Err(bad(
                    "attempts",
                    format!("{} is outside the phone's range 3–20", l.attempts),
                ));
            }
            for (field, v) in [("window-secs", l.window_secs), ("lock-secs", l.lock_secs)] {
                if !(60..=300).contains(&v) {
                    return Err(bad(
                        field,
                        format!("{v} is outside the phone's range 60–300 s"),
                    ));
                }
            }
        }
        let needs_bodies = matches!(
            self.login.generation,
            Generation::SessionCsrf | Generation::AuthHtm
        );
        match (&self.login.bodies, needs_bodies) {
            (None, true) => {
                return Err(bad(
                    "bodies",
                    format!("[login.bodies] is required for {}", self.login.generation),
                ));
            }
            (Some(b), true)
                if l.enabled
                    && (b.one_attempt_left.is_none()
                        || b.locked_for.is_none()
                        || b.locked.is_none()) =>
            {
                return Err(bad(
                    "bodies",
                    "a locking phone needs one-attempt-left, locked-for and locked bodies".into(),
                ));
            }
            _ => {}
        }
        if self.login.generation == Generation::SessionCsrf {
            for (field, v) in [
                ("session-cookie", &self.login.session_cookie),
                ("csrf-header", &self.login.csrf_header),
                ("conflict-body", &self.login.conflict_body),
                ("index", &self.pages.index),
            ] {
                if v.is_none() {
                    return Err(bad(
                        field,
                        "is required for session-csrf: the session login uses it".into(),
                    ));
                }
            }
        }
        if self.pages.change_password.is_some() && self.change_password.is_none() {
            return Err(bad(
                "change-password",
                "pages.change-password needs [change-password], the names of the form's fields"
                    .into(),
            ));
        }
        let p = &self.provisioning;
        if p.web {
            for (field, v) in [
                ("server-type", &p.server_type),
                ("server-name", &p.server_name),
                ("changed-body", &p.changed_body),
                ("unchanged-body", &p.unchanged_body),
            ] {
                if v.is_none() {
                    return Err(bad(
                        field,
                        "is required when provisioning.web = true".into(),
                    ));
                }
            }
            if !p.server_type_values.contains_key("HTTPS") {
                return Err(bad("server-type-values", "has no HTTPS entry".into()));
            }
            if self.pages.provisioning.is_none() || self.pages.form_submit.is_none() {
                return Err(bad(
                    "provisioning",
                    "pages.provisioning and pages.form-submit are required".into(),
                ));
            }
        } else if p.instead.is_none() {
            return Err(bad(
                "instead",
                "say what the technician does instead when web = false".into(),
            ));
        }
        if p.web && self.log.is_none() {
            return Err(bad(
                "log",
                "[log] is required when provisioning.web = true: the agent reads the provisioning outcome from it"
                    .into(),
            ));
        }
        if self.timeline.boot_secs == 0 || self.timeline.timeout_secs <= self.timeline.boot_secs {
            return Err(bad(
                "timeout-secs",
                "must be longer than boot-secs, which must not be 0".into(),
            ));
        }
        Ok(())
    }
}

/// 1-based line of the first `key =` in `text`, or 1 when absent (a missing key is reported at the top).
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
                || l.trim_start_matches('[').starts_with(key)
        })
        .map_or(1, |i| i + 1)
}

/// All profiles of a directory, keyed by id.
#[derive(Debug, Clone)]
pub struct ProfileSet {
    profiles: BTreeMap<String, Profile>,
}

impl ProfileSet {
    /// Load every `*.toml` in `dir`.
    pub fn load_dir(dir: &Path) -> Result<ProfileSet, ProfileError> {
        let entries = std::fs::read_dir(dir).map_err(|source| ProfileError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut profiles = BTreeMap::new();
        for path in paths {
            let p = Profile::load(&path)?;
            profiles.insert(p.id.clone(), p);
        }
        if profiles.is_empty() {
            return Err(ProfileError::Empty(dir.to_path_buf()));
        }
        Ok(ProfileSet { profiles })
    }

    /// The profiles shipped in the crate's `device-profiles/`, from wherever [`crate::find_data_dir`] finds them.
    pub fn bundled() -> Result<ProfileSet, ProfileError> {
        ProfileSet::load_dir(&crate::find_data_dir()?.join("device-profiles"))
    }

    pub fn get(&self, id: &str) -> Option<&Profile> {
        self.profiles.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }

    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }
}

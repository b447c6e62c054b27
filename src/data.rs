//! Where polyprov's data — `device-profiles/` and `fixtures/`, read at run time — lives: `$POLYPROV_DATA_DIR`; else
//! `<the executable's directory>/../share/polyprov` (the .deb: `/usr/bin/polyprov` reads `/usr/share/polyprov`);
//! else the source tree the binary was built from (a checkout, `cargo install --path .`).

use std::fmt;
use std::path::{Path, PathBuf};

/// One place polyprov looks for its data, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    /// Why this place: "beside the executable /usr/bin/polyprov", "the source tree it was built from".
    pub why: String,
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.path.display(), self.why)
    }
}

/// The data cannot be found: each message names where polyprov looked and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataDirError {
    #[error(
        "POLYPROV_DATA_DIR is {0}, which has no device-profiles/ directory. Fix: point POLYPROV_DATA_DIR at the \
         directory holding polyprov's device-profiles/ and fixtures/ (/usr/share/polyprov where the .deb is \
         installed, or a polyprov source checkout), or unset it"
    )]
    EnvWithoutProfiles(PathBuf),
    #[error(
        "polyprov's data (device-profiles/ and fixtures/) is not installed: looked in {}. Fix: set \
         POLYPROV_DATA_DIR to the directory holding them (a polyprov source checkout has them), or reinstall \
         polyprov (the .deb puts them in /usr/share/polyprov; `cargo install --path .` reads them from the source \
         tree it was built from, so that tree must stay where it was)",
        list(.0)
    )]
    NotFound(Vec<Candidate>),
    #[error(
        "polyprov's data directory {0} has device-profiles/ but no fixtures/. Fix: set POLYPROV_DATA_DIR to a \
         directory holding both (a polyprov source checkout has them), or reinstall polyprov"
    )]
    NoFixtures(PathBuf),
}

fn list(candidates: &[Candidate]) -> String {
    candidates
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The pure choice behind [`find_data_dir`]: `env` (`$POLYPROV_DATA_DIR`, empty counts as unset) wins outright — it
/// must have `device-profiles/`; else the first of `<exe's dir>/../share/polyprov` and `source_tree` that
/// `has_profiles` says holds `device-profiles/`.
pub fn choose_data_dir(
    env: Option<PathBuf>,
    exe: Option<&Path>,
    source_tree: &Path,
    has_profiles: impl Fn(&Path) -> bool,
) -> Result<PathBuf, DataDirError> {
    if let Some(dir) = env.filter(|d| !d.as_os_str().is_empty()) {
        return if has_profiles(&dir) {
            Ok(dir)
        } else {
            Err(DataDirError::EnvWithoutProfiles(dir))
        };
    }
    let mut tried = Vec::new();
    if let Some(exe) = exe
        && let Some(prefix) = exe.parent().and_then(Path::parent)
    {
        tried.push(Candidate {
            path: prefix.join("share").join("polyprov"),
            why: format!("beside the executable {}", exe.display()),
        });
    }
    tried.push(Candidate {
        path: source_tree.to_path_buf(),
        why: "the source tree it was built from".into(),
    });
    match tried.iter().find(|c| has_profiles(&c.path)) {
        Some(c) => Ok(c.path.clone()),
        None => Err(DataDirError::NotFound(tried)),
    }
}

/// Where `device-profiles/` and `fixtures/` are, for this process: see the module doc.
pub fn find_data_dir() -> Result<PathBuf, DataDirError> {
    choose_data_dir(
        std::env::var_os("POLYPROV_DATA_DIR").map(PathBuf::from),
        std::env::current_exe().ok().as_deref(),
        Path::new(env!("CARGO_MANIFEST_DIR")),
        |dir| dir.join("device-profiles").is_dir(),
    )
}

/// [`find_data_dir`], or where the data would be expected when it is nowhere (`$POLYPROV_DATA_DIR`, else the
/// source tree), so that reading from it fails naming a path. Loaders that can say why use [`find_data_dir`].
pub fn data_dir() -> PathBuf {
    find_data_dir().unwrap_or_else(|_| {
        std::env::var_os("POLYPROV_DATA_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(dirs: &[&str]) -> impl Fn(&Path) -> bool {
        let dirs: Vec<PathBuf> = dirs.iter().map(PathBuf::from).collect();
        move |d: &Path| dirs.iter().any(|x| x == d)
    }

    const SRC: &str = "/home/tech/polyprov";

    #[test]
    fn the_deb_layout_reads_usr_share_polyprov() {
        let got = choose_data_dir(
            None,
            Some(Path::new("/usr/bin/polyprov")),
            Path::new(SRC),
            has(&["/usr/share/polyprov", SRC]),
        );
        assert_eq!(got, Ok(PathBuf::from("/usr/share/polyprov")));
    }

    #[test]
    fn without_share_the_source_tree_is_used() {
        // `cargo install --path .`: ~/.cargo/bin/polyprov, no ~/.cargo/share/polyprov.
        let got = choose_data_dir(
            None,
            Some(Path::new("/home/tech/.cargo/bin/polyprov")),
            Path::new(SRC),
            has(&[SRC]),
        );
        assert_eq!(got, Ok(PathBuf::from(SRC)));
        // No executable path known at all.
        assert_eq!(
            choose_data_dir(None, None, Path::new(SRC), has(&[SRC])),
            Ok(PathBuf::from(SRC))
        );
    }

    #[test]
    fn the_environment_wins_and_must_hold_the_profiles() {
        let exe = Some(Path::new("/usr/bin/polyprov"));
        let all = has(&["/srv/data", "/usr/share/polyprov", SRC]);
        assert_eq!(
            choose_data_dir(Some("/srv/data".into()), exe, Path::new(SRC), &all),
            Ok(PathBuf::from("/srv/data"))
        );
        // Set but wrong: said so, not silently replaced by another place.
        let err =
            choose_data_dir(Some("/srv/nothing".into()), exe, Path::new(SRC), &all).unwrap_err();
        assert_eq!(err, DataDirError::EnvWithoutProfiles("/srv/nothing".into()));
        let msg = err.to_string();
        assert!(
            msg.contains("/srv/nothing") && msg.contains("unset it"),
            "{msg}"
        );
        // Empty counts as unset.
        assert_eq!(
            choose_data_dir(Some("".into()), exe, Path::new(SRC), &all),
            Ok(PathBuf::from("/usr/share/polyprov"))
        );
    }

    #[test]
    fn nowhere_names_the_places_tried_and_the_fix() {
        let err = choose_data_dir(
            None,
            Some(Path::new("/opt/tools/bin/polyprov")),
            Path::new("/gone/polyprov"),
            has(&[]),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(
                "/opt/tools/share/polyprov (beside the executable /opt/tools/bin/polyprov)"
            ) && msg.contains("/gone/polyprov (the source tree it was built from)")
                && msg.contains("POLYPROV_DATA_DIR")
                && msg.contains("reinstall"),
            "{msg}"
        );
    }

    #[test]
    fn this_checkout_is_found() {
        // Test binaries live in target/*/deps, with no share/polyprov beside them: the source tree is used.
        if std::env::var_os("POLYPROV_DATA_DIR").is_none() {
            assert_eq!(
                find_data_dir(),
                Ok(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
            );
        }
    }
}

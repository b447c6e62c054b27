//! Test support shared by the unit tests of every layer (compiled for tests only): how many cases a
//! never-panic property over device data runs, and inputs made by mutating real recorded pages.

use proptest::prelude::*;
use proptest::test_runner::Config;

/// Cases for a never-panic property over what devices send: `n` in a debug run; in CI's release run
/// (`CI` set, optimised build) at least 100,000, the bar for parsers of untrusted bytes.
pub fn device_cases(n: u32) -> Config {
    let release_ci = !cfg!(debug_assertions) && std::env::var_os("CI").is_some();
    Config {
        cases: if release_ci { n.max(100_000) } else { n },
        failure_persistence: None,
        ..Config::default()
    }
}

/// Every HAR file of the bundled fixtures.
fn fixture_hars() -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "har") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The bundled HAR files as one-exchange HAR texts, for mutation.
pub fn recorded_hars() -> Vec<String> {
    let mut out = Vec::new();
    for p in fixture_hars() {
        let Some(har) = std::fs::read_to_string(&p)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        else {
            continue;
        };
        // One exchange per document: small enough to mutate 100,000 times in a CI run.
        for entry in har["log"]["entries"].as_array().into_iter().flatten() {
            let mut one = har.clone();
            one["log"]["entries"] = serde_json::Value::Array(vec![entry.clone()]);
            out.push(serde_json::to_string_pretty(&one).unwrap_or_default());
        }
    }
    out
}

/// A real page text from the bundled fixtures (every response body of every HAR), for mutation.
pub fn recorded_bodies() -> Vec<String> {
    let mut out: Vec<String> = fixture_hars()
        .iter()
        .filter_map(|p| crate::fixture::read_har(p).ok())
        .flat_map(|har| har.log.entries)
        .filter_map(|e| e.response.content.text)
        .filter(|t| !t.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// One of `bases`, mutated at up to 24 places: bytes replaced, inserted or removed (kept UTF-8), so the parsers
/// see pages that are almost right as well as pages that are wrong everywhere.
pub fn mutated(bases: Vec<String>) -> impl Strategy<Value = String> {
    let edits = prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 0..24);
    (prop::sample::select(bases), edits).prop_map(|(base, edits)| {
        let mut chars: Vec<char> = base.chars().collect();
        for (at, op, c) in edits {
            if chars.is_empty() {
                chars.push(c);
                continue;
            }
            let i = at.index(chars.len());
            match op {
                0 => chars[i] = c,
                1 => chars.insert(i, c),
                _ => {
                    chars.remove(i);
                }
            }
        }
        chars.into_iter().collect()
    })
}

//! polyprov's JSON output checked against the JSON Schemas generated from its output types (`polyprov schema`):
//! every test that reads `--json` lines or a `report.json` reads them through here.
#![allow(dead_code)]

use std::sync::OnceLock;

fn errors(schema: &jsonschema::Validator, v: &serde_json::Value) -> Vec<String> {
    schema
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Every line of a `--json` stream, parsed and checked against the JSON Schema generated from polyprov's output
/// types (`polyprov schema`): a line that does not match fails the test, naming the line and what is wrong.
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    let schema = SCHEMA.get_or_init(|| {
        jsonschema::validator_for(&polyprov::output::line_schema())
            .expect("the line schema compiles")
    });
    stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            let errors = errors(schema, &v);
            assert!(
                errors.is_empty(),
                "line does not match the schema: {errors:?}\n{l}"
            );
            assert_eq!(v["schema-version"], 1, "{l}");
            v
        })
        .collect()
}

/// A run directory's `report.json`, checked against its JSON Schema.
pub fn report_json(run: &std::path::Path) -> serde_json::Value {
    let path = run.join("report.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).expect("report.json is JSON");
    let schema = jsonschema::validator_for(&polyprov::output::report_schema())
        .expect("the report schema compiles");
    let errors = errors(&schema, &v);
    assert!(
        errors.is_empty(),
        "report.json does not match its schema: {errors:?}"
    );
    v
}

//! The configuration reference (docs/src/configuration.md) and the config
//! structs cannot drift: every variable a service reads is documented, and
//! every documented variable is read. The list of variables comes from the
//! binary itself (`socorro config keys`), which reads it off the structs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::Command;

const DOCS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/src/configuration.md"
);

/// `socorro config keys`: exact names, and `X__*` for maps.
fn keys() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_socorro"))
        .args(["config", "keys"])
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(keys.len() > 50, "too few keys: {keys:?}");
    keys
}

/// Documented names: exact ones, and prefixes written `X__*` or `X__<NAME>…`.
fn documented(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut exact = BTreeSet::new();
    let mut prefixes = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("SOCORRO_") {
        let start = i + pos;
        let mut end = start + "SOCORRO_".len();
        while end < bytes.len()
            && (bytes[end].is_ascii_uppercase()
                || bytes[end].is_ascii_digit()
                || bytes[end] == b'_')
        {
            end += 1;
        }
        let name = &text[start..end];
        match bytes.get(end) {
            Some(b'*') | Some(b'<') => {
                prefixes.insert(name.to_owned());
            }
            _ if name.ends_with('_') => {
                // `SOCORRO_` in prose, or a prefix named on its own.
            }
            _ => {
                exact.insert(name.to_owned());
            }
        }
        i = end;
    }
    (exact, prefixes)
}

#[test]
fn every_setting_is_documented_and_every_documented_setting_exists() {
    let keys = keys();
    let text = std::fs::read_to_string(DOCS).unwrap();
    let (exact, prefixes) = documented(&text);

    let undocumented: Vec<&String> = keys
        .iter()
        .filter(|k| {
            let name = k.trim_end_matches('*');
            !exact.contains(name) && !prefixes.iter().any(|p| name.starts_with(p.as_str()))
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "settings missing from docs/src/configuration.md: {undocumented:#?}"
    );

    let exact_keys: BTreeSet<&str> = keys
        .iter()
        .filter(|k| !k.ends_with('*'))
        .map(String::as_str)
        .collect();
    let map_keys: Vec<&str> = keys.iter().filter_map(|k| k.strip_suffix('*')).collect();
    let unknown: Vec<&String> = exact
        .iter()
        .filter(|d| {
            !d.starts_with("SOCORRO_TEST_")
                && !exact_keys.contains(d.as_str())
                && !map_keys.iter().any(|m| d.starts_with(m))
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "docs/src/configuration.md documents settings no service reads: {unknown:#?}"
    );
    let dangling: Vec<&String> = prefixes
        .iter()
        .filter(|p| !keys.iter().any(|k| k.starts_with(p.as_str())))
        .collect();
    assert!(
        dangling.is_empty(),
        "docs/src/configuration.md documents setting groups that do not exist: {dangling:#?}"
    );
}

#[test]
fn config_check_rejects_unknown_and_invalid_settings() {
    let dir = tempfile::tempdir().unwrap();
    let check = |vars: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_socorro"))
            .args(["config", "check"])
            .env_clear()
            .env("SOCORRO_DATA_DIR", dir.path())
            .envs(vars.iter().copied())
            .output()
            .unwrap()
    };
    // A command-line option's variable is not an unknown setting.
    let ok = check(&[
        ("SOCORRO_COLLECTOR__LISTEN", "127.0.0.1:9999"),
        ("SOCORRO_DEMO_CORPUS", "/corpus"),
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("configuration ok"));

    let typo = check(&[("SOCORRO_COLLECTOR__LISTNE", "127.0.0.1:9999")]);
    assert!(!typo.status.success());
    let err = String::from_utf8_lossy(&typo.stderr);
    assert!(err.contains("SOCORRO_COLLECTOR__LISTNE"), "{err}");

    let bad = check(&[("SOCORRO_PROCESSOR__WORKERS", "many")]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("SOCORRO_PROCESSOR__WORKERS"), "{err}");
}

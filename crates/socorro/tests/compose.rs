//! docker-compose.yml cannot drift from the code: it is valid against the
//! Compose specification's schema (scripts/compose-check.py), every service
//! running our image starts one of our binaries, and each service's
//! `SOCORRO_*` environment is accepted by the config structs (`socorro
//! config check`: no unknown variable, every value valid).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const BINARIES: [&str; 5] = [
    "socorro",
    "socorro-collector",
    "socorro-processor",
    "socorro-webapp",
    "socorro-crontabber",
];

fn services() -> BTreeMap<String, Value> {
    let out = Command::new("python3")
        .arg(Path::new(ROOT).join("scripts/compose-check.py"))
        .arg(Path::new(ROOT).join("docker-compose.yml"))
        .output()
        .expect("python3 runs scripts/compose-check.py");
    assert!(
        out.status.success(),
        "docker-compose.yml is not valid:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn compose_services_match_the_binaries_and_config() {
    let services = services();
    for wanted in [
        "collector",
        "processor",
        "webapp",
        "crontabber",
        "setup",
        "postgres",
        "elasticsearch",
        "minio",
        "pubsub",
    ] {
        assert!(services.contains_key(wanted), "no {wanted} service");
    }
    let mut checked = 0;
    for (name, svc) in &services {
        if svc["image"] != "socorro-rs" {
            continue;
        }
        let command: Vec<&str> = svc["command"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: command must be a list"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            BINARIES.contains(&command[0]),
            "{name}: {} is not one of our binaries",
            command[0]
        );
        if command[0] == "socorro" {
            // The subcommand exists.
            let help = Command::new(env!("CARGO_BIN_EXE_socorro"))
                .args(&command[1..])
                .arg("--help")
                .output()
                .unwrap();
            assert!(
                help.status.success(),
                "{name}: `{}` is not a socorro command: {}",
                command.join(" "),
                String::from_utf8_lossy(&help.stderr)
            );
        }
        let env: BTreeMap<String, String> =
            serde_json::from_value(svc["environment"].clone()).unwrap();
        assert!(
            env.keys().any(|k| k.starts_with("SOCORRO_")),
            "{name}: no SOCORRO_* settings"
        );
        let dir = tempfile::tempdir().unwrap();
        let check = Command::new(env!("CARGO_BIN_EXE_socorro"))
            .args(["config", "check"])
            .env_clear()
            .envs(&env)
            .env("SOCORRO_DATA_DIR", dir.path())
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{name}: its environment is rejected by the config structs:\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} services checked");
}

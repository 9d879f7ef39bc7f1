//! Typed configuration from `SOCORRO_*` environment variables.
//!
//! Nesting uses `__`: `SOCORRO_STORAGE__FS__ROOT=/srv/crashes` sets
//! `storage.fs.root`. Values are parsed into the service's `Config` struct
//! (serde), whose defaults give the embedded stack. Errors name the variable.

use std::collections::HashMap;

use serde::de::DeserializeOwned;

/// The environment variable prefix of every setting.
pub const ENV_PREFIX: &str = "SOCORRO";

/// A configuration value is missing, malformed or inconsistent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A variable could not be parsed into the setting's type.
    #[error("{var}: {message}")]
    Invalid { var: String, message: String },
    /// Settings that are each valid but do not go together.
    #[error("{0}")]
    Inconsistent(String),
}

/// The environment variable that sets a dotted config key, e.g.
/// `storage.fs.root` → `SOCORRO_STORAGE__FS__ROOT`.
pub fn env_var_name(key: &str) -> String {
    format!("{ENV_PREFIX}_{}", key.replace('.', "__").to_uppercase())
}

/// Load `T` from the process environment.
pub fn load_config<T: DeserializeOwned>() -> Result<T, ConfigError> {
    let vars: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    load_config_from(vars)
}

/// Load `T` from an explicit set of variables (tests build configs this way
/// instead of mutating the process environment).
pub fn load_config_from<T: DeserializeOwned>(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let map: config::Map<String, String> = vars.into_iter().collect();
    let env = config::Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("_")
        .separator("__")
        .try_parsing(true)
        .list_separator(",")
        .with_list_parse_key("collector.throttler.products")
        .with_list_parse_key("only")
        .source(Some(map));
    let built = config::Config::builder()
        .add_source(env)
        .build()
        .map_err(|e| convert(&e))?;
    built.try_deserialize::<T>().map_err(|e| convert(&e))
}

fn convert(e: &config::ConfigError) -> ConfigError {
    match e {
        config::ConfigError::Type {
            key: Some(key),
            unexpected,
            expected,
            ..
        } => ConfigError::Invalid {
            var: env_var_name(key),
            message: format!("invalid value: got {unexpected}, expected {expected}"),
        },
        config::ConfigError::At {
            error,
            key: Some(key),
            ..
        } => ConfigError::Invalid {
            var: env_var_name(key),
            message: error.to_string(),
        },
        other => {
            let text = other.to_string();
            // serde messages such as "unknown variant `s4` ... for key `storage.backend`"
            let var = text
                .split("for key `")
                .nth(1)
                .and_then(|rest| rest.split('`').next())
                .map(env_var_name)
                .unwrap_or_else(|| format!("{ENV_PREFIX}_*"));
            ConfigError::Invalid { var, message: text }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    struct Inner {
        port: u16,
        name: String,
    }

    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    struct Outer {
        data_dir: String,
        server: Inner,
        only: Vec<String>,
    }

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn nested_keys_and_lists() {
        let cfg: Outer = load_config_from(vars(&[
            ("SOCORRO_DATA_DIR", "/tmp/x"),
            ("SOCORRO_SERVER__PORT", "8800"),
            ("SOCORRO_SERVER__NAME", "abc"),
            ("SOCORRO_ONLY", "collector,processor"),
        ]))
        .unwrap();
        assert_eq!(cfg.data_dir, "/tmp/x");
        assert_eq!(cfg.server.port, 8800);
        assert_eq!(cfg.server.name, "abc");
        assert_eq!(cfg.only, vec!["collector", "processor"]);
    }

    #[test]
    fn bad_value_names_the_variable() {
        let err = load_config_from::<Outer>(vars(&[("SOCORRO_SERVER__PORT", "eighty")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("SOCORRO_SERVER__PORT"), "{err}");
    }

    #[test]
    fn env_names() {
        assert_eq!(env_var_name("storage.fs.root"), "SOCORRO_STORAGE__FS__ROOT");
    }
}

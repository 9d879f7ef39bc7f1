//! Small annotation-derived fields: `MajorVersionRule`, `PluginRule`,
//! `ProcessTypeRule`, `AccessibilityRule`, `UtilityActorsNameRule`,
//! `ThemePrettyNameRule`, `DistributionIdRule`.

use async_trait::async_trait;
use serde_json::Value;

use super::client_annotations;
use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

/// `major_version` = leading integer of `Version`, or 0. Without a
/// (non-blank) `Version` annotation, the `version` that
/// `ClientAnnotationsRule` took from Electron's `_version` or Crashpad's
/// `ver` is used.
pub struct MajorVersionRule;

#[async_trait]
impl Rule for MajorVersionRule {
    fn name(&self) -> &'static str {
        "MajorVersionRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let version = match crash.raw.get("Version") {
            Some(Value::String(v)) if !v.trim().is_empty() => Some(v.as_str()),
            // Socorro reads only a string `Version`: anything else gives 0
            Some(v) if !v.is_null() && !v.is_string() => None,
            _ => crash.get_str("version"),
        };
        let major = version
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.trim().parse::<i64>().ok())
            .unwrap_or(0);
        crash.set("major_version", major);
        Ok(())
    }
}

/// Plugin fields for `ProcessType=plugin`.
pub struct PluginRule;

#[async_trait]
impl Rule for PluginRule {
    fn name(&self) -> &'static str {
        "PluginRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash.raw_str("ProcessType") == Some("plugin")
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        for (key, ann) in [
            ("plugin_filename", "PluginFilename"),
            ("plugin_name", "PluginName"),
            ("plugin_version", "PluginVersion"),
        ] {
            let v = crash.raw_str(ann).unwrap_or("").to_owned();
            crash.set(key, v);
        }
        Ok(())
    }
}

/// `process_type`: the `ProcessType` annotation (`main` becomes `parent`),
/// else Electron's `process_type` or Crashpad's `ptype` mapped to Socorro's
/// names (`browser` → `parent`, `renderer` → `content`, `gpu-process` →
/// `gpu`, ...; see `client_annotations`), else `parent`.
pub struct ProcessTypeRule;

#[async_trait]
impl Rule for ProcessTypeRule {
    fn name(&self) -> &'static str {
        "ProcessTypeRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let pt = client_annotations::resolve(&crash.raw)
            .process_type
            .map_or_else(|| "parent".to_owned(), |s| s.value);
        crash.set("process_type", pt);
        Ok(())
    }
}

/// `accessibility = (Accessibility == "Active")`.
pub struct AccessibilityRule;

#[async_trait]
impl Rule for AccessibilityRule {
    fn name(&self) -> &'static str {
        "AccessibilityRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let a = crash.raw_str("Accessibility") == Some("Active");
        crash.set("accessibility", a);
        Ok(())
    }
}

/// `utility_actors_name`: comma-split list.
pub struct UtilityActorsNameRule;

#[async_trait]
impl Rule for UtilityActorsNameRule {
    fn name(&self) -> &'static str {
        "UtilityActorsNameRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash.raw_str("UtilityActorsName").is_some()
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let list: Vec<Value> = crash
            .raw_str("UtilityActorsName")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.to_owned()))
            .collect();
        crash.set("utility_actors_name", list);
        Ok(())
    }
}

/// The default theme id gets a readable suffix in `addons`.
pub struct ThemePrettyNameRule;

const DEFAULT_THEME: &str = "{972ce4c6-7e08-4474-a285-3208198ce6fd}";

#[async_trait]
impl Rule for ThemePrettyNameRule {
    fn name(&self) -> &'static str {
        "ThemePrettyNameRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        if let Some(Value::Array(addons)) = crash.processed.get_mut("addons") {
            for a in addons.iter_mut() {
                if let Value::String(s) = a
                    && s.starts_with(DEFAULT_THEME)
                    && !s.contains("(default theme)")
                {
                    *s = s.replacen(
                        DEFAULT_THEME,
                        &format!("{DEFAULT_THEME} (default theme)"),
                        1,
                    );
                }
            }
        }
        Ok(())
    }
}

/// `distribution_id`: the `DistributionID` annotation, else the
/// TelemetryEnvironment `partner.distributionId`; missing gives `unknown`,
/// null or empty `mozilla`.
pub struct DistributionIdRule;

#[async_trait]
impl Rule for DistributionIdRule {
    fn name(&self) -> &'static str {
        "DistributionIdRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let from_env = || -> Option<Value> {
            let env = crash.raw_str("TelemetryEnvironment")?;
            let env: Value = serde_json::from_str(env).ok()?;
            env.get("partner")?.get("distributionId").cloned()
        };
        let value = match crash.raw.get("DistributionID").cloned().or_else(from_env) {
            None => "unknown".to_owned(),
            Some(Value::String(s)) if !s.is_empty() => s,
            Some(Value::Null) | Some(Value::String(_)) => "mozilla".to_owned(),
            Some(other) => other.to_string(),
        };
        crash.set("distribution_id", value);
        Ok(())
    }
}

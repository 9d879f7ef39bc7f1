//! `MinidumpStackwalkRule`: every `upload_file_minidump*` dump through
//! `minidump-processor`; the main dump's results go to the top level, the
//! others to `processed[<dump name>]` and `additional_minidumps`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::error::RuleError;
use crate::metrics::ProcessorMetrics;
use crate::pipeline::{Crash, Rule};
use crate::stackwalk::{STACKWALK_VERSION, WalkOutput, stackwalk};
use crate::symbols::Symbols;

/// The main dump's name.
pub const MAIN_DUMP: &str = "upload_file_minidump";

pub struct MinidumpStackwalkRule {
    pub symbols: Arc<Symbols>,
    /// Budget for all dumps of one crash.
    pub budget: Duration,
    pub metrics: Option<ProcessorMetrics>,
}

/// `dump` is how storage names the main dump.
fn canonical(name: &str) -> &str {
    if name == "dump" { MAIN_DUMP } else { name }
}

impl MinidumpStackwalkRule {
    fn count(&self, outcome: &str) {
        if let Some(m) = &self.metrics {
            m.stackwalk_total.with_label_values(&[outcome]).inc();
        }
    }

    fn count_symbols(&self, json_dump: &Value) {
        let Some(m) = &self.metrics else { return };
        for module in json_dump
            .get("modules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let loaded = module.get("loaded_symbols").and_then(Value::as_bool) == Some(true);
            let missing = module.get("missing_symbols").and_then(Value::as_bool) == Some(true);
            if loaded {
                m.symbol_lookups_total.with_label_values(&["hit"]).inc();
            } else if missing {
                m.symbol_lookups_total.with_label_values(&["miss"]).inc();
            }
        }
    }
}

#[async_trait]
impl Rule for MinidumpStackwalkRule {
    fn name(&self) -> &'static str {
        "MinidumpStackwalkRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        crash.set("additional_minidumps", Value::Array(Vec::new()));
        let mut names: Vec<(String, String)> = crash
            .dumps
            .names()
            .map(|n| (canonical(n).to_owned(), n.to_owned()))
            .filter(|(c, _)| c.starts_with(MAIN_DUMP))
            .collect();
        // main dump first, then the others by name
        names.sort_by(|a, b| (a.0 != MAIN_DUMP, &a.0).cmp(&(b.0 != MAIN_DUMP, &b.0)));
        let deadline = Instant::now() + self.budget;
        let evil = crash.raw.to_sorted_json();
        let start = Instant::now();
        for (name, stored) in names {
            let Some(data) = crash.dumps.get(&stored).cloned() else {
                continue;
            };
            let mut out = Map::new();
            if data.is_empty() {
                out.insert("mdsw_status_string".into(), "EmptyMinidump".into());
                out.insert(
                    "mdsw_stderr".into(),
                    "Shortcut for 0-bytes minidump.".into(),
                );
                out.insert("success".into(), false.into());
                crash.note(format!(
                    "MinidumpStackwalkRule: {name} is empty--skipping minidump processing"
                ));
                self.count("empty");
            } else {
                let left = deadline.saturating_duration_since(Instant::now());
                let walked = if left.is_zero() {
                    WalkOutput {
                        json_dump: None,
                        return_code: -9,
                        status: "unknown error".into(),
                        stderr: "time budget exhausted before this dump".into(),
                    }
                } else {
                    stackwalk(data, Some(evil.clone()), self.symbols.symbolizer(), left).await
                };
                self.count(match walked.return_code {
                    0 if walked.status == "OK" => "ok",
                    -9 => "timeout",
                    _ => "error",
                });
                if walked.return_code != 0 || walked.status != "OK" {
                    crash.note(match walked.return_code {
                        -6 => "MinidumpStackwalkRule: minidump-stackwalk: timeout (SIGABRT)"
                            .to_owned(),
                        -9 => "MinidumpStackwalkRule: minidump-stackwalk: timeout (SIGKILL)"
                            .to_owned(),
                        rc => format!(
                            "MinidumpStackwalkRule: minidump-stackwalk: failed: {rc}: {}",
                            walked.status
                        ),
                    });
                }
                if let Some(json) = walked.json_dump {
                    self.count_symbols(&json);
                    out.insert("json_dump".into(), json);
                }
                out.insert("mdsw_return_code".into(), walked.return_code.into());
                out.insert("success".into(), (walked.status == "OK").into());
                out.insert("mdsw_status_string".into(), walked.status.into());
                out.insert("mdsw_stderr".into(), walked.stderr.into());
                out.insert("stackwalk_version".into(), STACKWALK_VERSION.into());
            }
            if name == MAIN_DUMP {
                out.remove("success");
                for (k, v) in out {
                    crash.set(&k, v);
                }
            } else {
                if let Some(Value::Array(extra)) = crash.processed.get_mut("additional_minidumps") {
                    extra.push(Value::String(name.clone()));
                }
                crash.set(&name, Value::Object(out));
            }
        }
        if let Some(m) = &self.metrics {
            m.stage_seconds
                .with_label_values(&["stackwalk"])
                .observe(start.elapsed().as_secs_f64());
        }
        Ok(())
    }
}

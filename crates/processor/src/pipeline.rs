//! The rule pipeline: a [`Rule`] trait over one [`Crash`] (raw crash, dumps,
//! processed crash, notes) and the rulesets built from it, wrapped like
//! Socorro's `pipeline.py` (start note, `success`, history, timestamps).

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{SecondsFormat, Utc};
use crash_storage::{CrashId, DumpSet, RawCrash};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::RuleError;
use crate::metrics::ProcessorMetrics;

/// A processed crash under construction.
pub type Processed = Map<String, Value>;

/// Everything rules read and write for one crash.
#[derive(Debug, Clone)]
pub struct Crash {
    pub id: CrashId,
    /// Raw crash; a few rules clean it in place (`DeNullRule`, ...).
    pub raw: RawCrash,
    pub dumps: DumpSet,
    pub processed: Processed,
    /// Processor notes of this round (public: never put secrets here).
    pub notes: Vec<String>,
}

impl Crash {
    /// A crash about to be processed; `processed` is the stored processed
    /// crash when reprocessing, else empty.
    pub fn new(id: CrashId, raw: RawCrash, dumps: DumpSet, processed: Processed) -> Self {
        Self {
            id,
            raw,
            dumps,
            processed,
            notes: Vec::new(),
        }
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.processed.insert(key.to_owned(), value.into());
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.processed.get(key)
    }

    /// A processed string field.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.processed.get(key).and_then(Value::as_str)
    }

    /// A raw annotation as a string (`None` when absent or not a string).
    pub fn raw_str(&self, key: &str) -> Option<&str> {
        self.raw.get_str(key)
    }

    /// `processed.json_dump` if it is an object.
    pub fn json_dump(&self) -> Option<&Map<String, Value>> {
        self.processed.get("json_dump").and_then(Value::as_object)
    }
}

/// One step of the pipeline.
#[async_trait]
pub trait Rule: Send + Sync + 'static {
    /// Socorro's class name (`CopyFromRawCrashRule`), used in notes and metrics.
    fn name(&self) -> &'static str;

    /// Whether the rule applies (Socorro's `predicate`).
    fn predicate(&self, _crash: &Crash) -> bool {
        true
    }

    /// Does the work. An error adds a note; the pipeline goes on.
    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError>;
}

/// The ruleset chosen by `SOCORRO_PROCESSOR__RULESET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RulesetName {
    /// Generic rules for any Breakpad/Crashpad product.
    Default,
    /// Socorro's `DEFAULT_RULESET`, in order.
    #[default]
    Mozilla,
    /// Only the signature rule, on the stored `json_dump` (reprocessing).
    RegenerateSignature,
}

impl RulesetName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Mozilla => "mozilla",
            Self::RegenerateSignature => "regenerate_signature",
        }
    }
}

impl fmt::Display for RulesetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ordered list of rules.
#[derive(Clone)]
pub struct Ruleset {
    pub name: &'static str,
    pub rules: Vec<Arc<dyn Rule>>,
}

impl fmt::Debug for Ruleset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ruleset")
            .field("name", &self.name)
            .field(
                "rules",
                &self.rules.iter().map(|r| r.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Ruleset {
    /// Runs every rule in order, with Socorro's bookkeeping around them.
    /// `ruleset` is `None` for an unknown ruleset name (`requested`): the
    /// crash gets the note `error: no ruleset: <name>` and is returned.
    pub async fn process(
        ruleset: Option<&Ruleset>,
        requested: &str,
        crash: &mut Crash,
        metrics: Option<&ProcessorMetrics>,
    ) {
        let now = now_iso();
        crash.set("success", false);
        crash.set("started_datetime", now.clone());
        crash.note(format!(">>> Start processing: {now} ({})", hostname()));
        crash.set("signature", "EMPTY: crash failed to process");
        match ruleset {
            None => crash.note(format!("error: no ruleset: {requested}")),
            Some(rs) => {
                for rule in &rs.rules {
                    run_rule(rs.name, rule.as_ref(), crash, metrics).await;
                }
            }
        }
        finish(crash);
    }
}

async fn run_rule(
    ruleset: &str,
    rule: &dyn Rule,
    crash: &mut Crash,
    metrics: Option<&ProcessorMetrics>,
) {
    if !rule.predicate(crash) {
        return;
    }
    let start = Instant::now();
    let outcome = rule.act(crash).await;
    if let Some(m) = metrics {
        m.rule_seconds
            .with_label_values(&[rule.name()])
            .observe(start.elapsed().as_secs_f64());
    }
    if let Err(error) = outcome {
        tracing::warn!(crash_id = %crash.id, rule = rule.name(), %error, "rule failed; note added");
        if let Some(m) = metrics {
            m.rule_failures_total
                .with_label_values(&[rule.name()])
                .inc();
        }
        crash.note(format!(
            "ruleset '{ruleset}' rule '{}' failed: {}",
            rule.name(),
            error.class
        ));
    }
}

fn finish(crash: &mut Crash) {
    crash.set("success", true);
    let previous = crash.processed.remove("processor_notes");
    let mut history = match crash.processed.remove("processor_history") {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    if let Some(prev) = previous {
        history.insert(0, prev);
    }
    crash.set("processor_history", Value::Array(history));
    crash.set("processor_notes", crash.notes.join("\n"));
    crash.set("completed_datetime", now_iso());
}

/// UTC now as Socorro writes it (`2024-01-02T03:04:05.678901+00:00`).
pub fn now_iso() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fails;
    #[async_trait]
    impl Rule for Fails {
        fn name(&self) -> &'static str {
            "FailsRule"
        }
        async fn act(&self, _: &mut Crash) -> Result<(), RuleError> {
            Err(RuleError::new("ValueError", "secret detail"))
        }
    }

    struct Sets;
    #[async_trait]
    impl Rule for Sets {
        fn name(&self) -> &'static str {
            "SetsRule"
        }
        async fn act(&self, c: &mut Crash) -> Result<(), RuleError> {
            c.set("x", 1);
            Ok(())
        }
    }

    fn crash() -> Crash {
        let id = CrashId::parse("de1bb258-cbbf-4589-a673-34f800160918").unwrap();
        let mut prev = Processed::new();
        prev.insert("processor_notes".into(), "old notes".into());
        prev.insert("kept".into(), true.into());
        Crash::new(id, RawCrash::new(), DumpSet::new(), prev)
    }

    #[tokio::test]
    async fn failing_rule_adds_note_and_pipeline_goes_on() {
        let rs = Ruleset {
            name: "test",
            rules: vec![Arc::new(Fails), Arc::new(Sets)],
        };
        let mut c = crash();
        Ruleset::process(Some(&rs), "test", &mut c, None).await;
        assert_eq!(c.processed["x"], 1);
        assert_eq!(c.processed["success"], true);
        assert_eq!(c.processed["kept"], true);
        assert_eq!(
            c.processed["processor_history"],
            serde_json::json!(["old notes"])
        );
        let notes = c.processed["processor_notes"].as_str().unwrap();
        assert!(notes.starts_with(">>> Start processing: "), "{notes}");
        assert!(notes.contains("ruleset 'test' rule 'FailsRule' failed: ValueError"));
        assert!(!notes.contains("secret detail"));
    }

    #[tokio::test]
    async fn unknown_ruleset_is_a_note() {
        let mut c = crash();
        Ruleset::process(None, "bogus", &mut c, None).await;
        assert!(
            c.processed["processor_notes"]
                .as_str()
                .unwrap()
                .contains("error: no ruleset: bogus")
        );
        assert_eq!(c.processed["signature"], "EMPTY: crash failed to process");
    }
}

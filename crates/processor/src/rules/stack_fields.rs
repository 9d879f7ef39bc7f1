//! Fields read from the crashing thread and the module list:
//! `TopMostFilesRule`, `ModulesInStackRule`, `MissingSymbolsRule`,
//! `SoftErrors`, `ThreadCountRule`.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

fn crashing_frames(crash: &Crash) -> Option<&Vec<Value>> {
    let jd = crash.json_dump()?;
    let idx = jd.get("crash_info")?.get("crashing_thread")?.as_u64()?;
    jd.get("threads")?
        .get(idx as usize)?
        .get("frames")?
        .as_array()
}

fn str_of<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// `topmost_filenames`: first non-empty `file` of the crashing thread,
/// inlines before their frame.
pub struct TopMostFilesRule;

#[async_trait]
impl Rule for TopMostFilesRule {
    fn name(&self) -> &'static str {
        "TopMostFilesRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crashing_frames(crash).is_some()
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let mut found = None;
        'frames: for frame in crashing_frames(crash).into_iter().flatten() {
            let inlines = frame.get("inlines").and_then(Value::as_array);
            for f in inlines.into_iter().flatten().chain(std::iter::once(frame)) {
                if let Some(file) = str_of(f, "file").filter(|s| !s.is_empty()) {
                    found = Some(file.to_owned());
                    break 'frames;
                }
            }
        }
        crash.set(
            "topmost_filenames",
            found.map(Value::String).unwrap_or(Value::Null),
        );
        Ok(())
    }
}

/// `modules_in_stack`: `filename/debugid` of modules in the crashing thread.
pub struct ModulesInStackRule;

#[async_trait]
impl Rule for ModulesInStackRule {
    fn name(&self) -> &'static str {
        "ModulesInStackRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crashing_frames(crash).is_some()
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let debug_ids: HashMap<&str, &str> = crash
            .json_dump()
            .and_then(|j| j.get("modules"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| Some((str_of(m, "filename")?, str_of(m, "debug_id").unwrap_or(""))))
            .collect();
        let mut seen = BTreeSet::new();
        for frame in crashing_frames(crash).into_iter().flatten() {
            if let Some(module) = str_of(frame, "module") {
                let id = debug_ids.get(module).copied().unwrap_or("");
                seen.insert(format!("{module}/{id}"));
            }
        }
        let joined = seen.into_iter().collect::<Vec<_>>().join(";");
        crash.set("modules_in_stack", joined);
        Ok(())
    }
}

/// `missing_symbols`: `filename/version/debugid[/codeid]` of modules
/// without symbols.
pub struct MissingSymbolsRule;

#[async_trait]
impl Rule for MissingSymbolsRule {
    fn name(&self) -> &'static str {
        "MissingSymbolsRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash.json_dump().is_some_and(|j| j.contains_key("modules"))
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let esc = |s: &str| s.replace('/', "\\/");
        let mut out = BTreeSet::new();
        for m in crash
            .json_dump()
            .and_then(|j| j.get("modules"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if m.get("missing_symbols").and_then(Value::as_bool) != Some(true) {
                continue;
            }
            let name = esc(str_of(m, "filename").unwrap_or(""));
            let version = esc(str_of(m, "version").unwrap_or("None"));
            let debug_id =
                esc(str_of(m, "debug_id").unwrap_or("000000000000000000000000000000000"));
            let mut item = format!("{name}/{version}/{debug_id}");
            if let Some(code_id) = str_of(m, "code_id") {
                item.push('/');
                item.push_str(&esc(code_id));
            }
            out.insert(item);
        }
        crash.set(
            "missing_symbols",
            out.into_iter().collect::<Vec<_>>().join(";"),
        );
        Ok(())
    }
}

/// `soft_errors`: JSON text of `json_dump.soft_errors`, at most 4096 chars.
pub struct SoftErrorsRule;

#[async_trait]
impl Rule for SoftErrorsRule {
    fn name(&self) -> &'static str {
        "SoftErrors"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let text = crash
            .json_dump()
            .and_then(|j| j.get("soft_errors"))
            .filter(|v| !v.is_null())
            .map(|v| v.to_string().chars().take(4096).collect::<String>());
        if let Some(t) = text {
            crash.set("soft_errors", t);
        }
        Ok(())
    }
}

/// `thread_count` from `json_dump.thread_count`.
pub struct ThreadCountRule;

#[async_trait]
impl Rule for ThreadCountRule {
    fn name(&self) -> &'static str {
        "ThreadCountRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        if let Some(n) = crash
            .json_dump()
            .and_then(|j| j.get("thread_count"))
            .and_then(Value::as_i64)
        {
            crash.set("thread_count", n);
        }
        Ok(())
    }
}

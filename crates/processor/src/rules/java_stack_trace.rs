//! `JavaStackTraceRule`: `java_stack_trace_raw` (protected) and a
//! sanitized `java_stack_trace` without exception messages.

use async_trait::async_trait;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct JavaStackTraceRule;

/// Drops the message of each `Exception: message` line.
fn sanitize(trace: &str) -> Option<String> {
    let mut lines = trace.lines();
    let first = lines.next()?;
    if first.trim().is_empty() {
        return None;
    }
    let mut out = Vec::new();
    let head = |line: &str| -> String {
        match line.split_once(": ") {
            Some((exc, _)) if !exc.contains(' ') => exc.to_owned(),
            _ => line.to_owned(),
        }
    };
    out.push(head(first));
    for line in lines {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("Caused by: ") {
            out.push(format!("Caused by: {}", head(rest)));
        } else {
            out.push(line.to_owned());
        }
    }
    Some(out.join("\n"))
}

#[async_trait]
impl Rule for JavaStackTraceRule {
    fn name(&self) -> &'static str {
        "JavaStackTraceRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash.raw_str("JavaStackTrace").is_some()
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let raw = crash.raw_str("JavaStackTrace").unwrap_or("").to_owned();
        crash.set("java_stack_trace_raw", raw.clone());
        match sanitize(&raw) {
            Some(s) => crash.set("java_stack_trace", s),
            None => {
                crash.set("java_stack_trace", "malformed");
                crash.note("JavaStackTraceRule: malformed java stack trace");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_removed() {
        let t = "java.lang.NullPointerException: secret\n\tat a.b(c.java:1)\nCaused by: java.io.IOException: more\n\tat d";
        assert_eq!(
            sanitize(t).unwrap(),
            "java.lang.NullPointerException\n\tat a.b(c.java:1)\nCaused by: java.io.IOException\n\tat d"
        );
        assert_eq!(sanitize(""), None);
    }
}

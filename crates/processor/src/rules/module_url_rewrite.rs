//! `ModuleURLRewriteRule`: redact `localhost` symbol urls and drop the
//! query string of `symbols.mozilla.org` urls.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct ModuleUrlRewriteRule;

fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.rsplit('@').next().unwrap_or("")
}

#[async_trait]
impl Rule for ModuleUrlRewriteRule {
    fn name(&self) -> &'static str {
        "ModuleURLRewriteRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash.json_dump().is_some_and(|j| j.contains_key("modules"))
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let mut notes = Vec::new();
        if let Some(Value::Array(modules)) = crash
            .processed
            .get_mut("json_dump")
            .and_then(|j| j.get_mut("modules"))
        {
            for module in modules.iter_mut().filter_map(Value::as_object_mut) {
                let Some(url) = module
                    .get("symbol_url")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                else {
                    continue;
                };
                let h = host(&url);
                if h.contains("localhost") {
                    let name = module.get("filename").and_then(Value::as_str).unwrap_or("");
                    notes.push(format!("Redacting symbol url for module {name}"));
                    module.insert("symbol_url".into(), Value::Null);
                } else if h.contains("symbols.mozilla.org")
                    && let Some((base, _)) = url.split_once('?')
                {
                    module.insert("symbol_url".into(), Value::String(base.to_owned()));
                }
            }
        }
        for n in notes {
            crash.note(n);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(host("http://localhost:8080/x"), "localhost:8080");
        assert_eq!(
            host("https://u@symbols.mozilla.org/a?b"),
            "symbols.mozilla.org"
        );
    }
}

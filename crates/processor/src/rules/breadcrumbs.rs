//! `BreadcrumbsRule`: the `Breadcrumbs` annotation as a list.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct BreadcrumbsRule;

fn check(list: &[Value]) -> Result<(), String> {
    for (i, item) in list.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            return Err(format!("item {i} is not an object"));
        };
        if !obj.get("timestamp").is_some_and(Value::is_string) {
            return Err(format!(
                "item {i}: timestamp is required and must be a string"
            ));
        }
    }
    Ok(())
}

#[async_trait]
impl Rule for BreadcrumbsRule {
    fn name(&self) -> &'static str {
        "BreadcrumbsRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash.raw.contains_key("Breadcrumbs")
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let parsed = match crash.raw.get("Breadcrumbs") {
            Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
            Some(other) => Some(other.clone()),
            None => return Ok(()),
        };
        let Some(mut value) = parsed else {
            crash.note("Breadcrumbs: malformed: not valid json");
            return Ok(());
        };
        if let Some(values) = value.get_mut("values").map(Value::take) {
            value = values;
        }
        match value.as_array().map(|a| check(a)) {
            Some(Ok(())) => crash.set("breadcrumbs", value),
            Some(Err(msg)) => crash.note(format!("Breadcrumbs: malformed: {msg}")),
            None => crash.note("Breadcrumbs: malformed: not a list"),
        }
        Ok(())
    }
}

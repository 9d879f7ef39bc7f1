//! `AddonsRule`: `addons_checked` and the `addons` list.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct AddonsRule;

/// Python's `unquote_plus` (invalid escapes are kept as they are).
pub fn unquote_plus(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[async_trait]
impl Rule for AddonsRule {
    fn name(&self) -> &'static str {
        "AddonsRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let checked = crash
            .raw_str("EMCheckCompatibility")
            .map(|v| Value::Bool(v.eq_ignore_ascii_case("true")))
            .unwrap_or(Value::Null);
        crash.set("addons_checked", checked);
        let addons: Vec<Value> = crash
            .raw_str("Add-ons")
            .unwrap_or("")
            .split(',')
            .filter(|a| !a.is_empty())
            .map(|a| {
                let a = if a.contains(':') {
                    a.to_owned()
                } else {
                    format!("{a}:NO_VERSION")
                };
                Value::String(unquote_plus(&a))
            })
            .collect();
        crash.set("addons", addons);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoting() {
        assert_eq!(unquote_plus("a%40b+c%2"), "a@b c%2");
        assert_eq!(unquote_plus("%7B972%7D:1.0"), "{972}:1.0");
    }
}

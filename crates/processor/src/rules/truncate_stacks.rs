//! `TruncateStacksRule`: threads with more than 500 frames keep the first
//! 250, a `truncated` marker, and the last 249.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct TruncateStacksRule;

const MAX_FRAMES: usize = 500;
const HEAD: usize = 250;
const TAIL: usize = 249;

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Truncates every thread of one json_dump; returns whether any was.
fn truncate(json_dump: &mut Value) -> bool {
    let mut any = false;
    let threads = json_dump.get_mut("threads").and_then(Value::as_array_mut);
    for thread in threads.into_iter().flatten() {
        let Some(frames) = thread.get_mut("frames").and_then(Value::as_array_mut) else {
            continue;
        };
        if frames.len() > MAX_FRAMES {
            let dropped = frames.len() - HEAD - TAIL;
            let tail = frames.split_off(frames.len() - TAIL);
            frames.truncate(HEAD);
            frames.push(
                json!({"truncated": {"msg": format!("{} frames truncated", thousands(dropped))}}),
            );
            frames.extend(tail);
            any = true;
        }
    }
    any
}

#[async_trait]
impl Rule for TruncateStacksRule {
    fn name(&self) -> &'static str {
        "TruncateStacksRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let mut truncated = false;
        for (key, value) in crash.processed.iter_mut() {
            let jd = if key == "json_dump" {
                Some(value)
            } else {
                value.get_mut("json_dump")
            };
            if let Some(jd) = jd {
                truncated |= truncate(jd);
            }
        }
        if truncated {
            crash.set("truncated", true);
            crash.note("TruncateStacksRule: truncated stacks with more than 500 frames");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_head_marker_tail() {
        let frames: Vec<Value> = (0..1200).map(|i| json!({"frame": i})).collect();
        let mut jd = json!({"threads": [{"frames": frames}]});
        assert!(truncate(&mut jd));
        let f = jd["threads"][0]["frames"].as_array().unwrap();
        assert_eq!(f.len(), 500);
        assert_eq!(f[249]["frame"], 249);
        assert_eq!(f[250]["truncated"]["msg"], "701 frames truncated");
        assert_eq!(f[251]["frame"], 951);
        assert_eq!(thousands(1234567), "1,234,567");
    }
}

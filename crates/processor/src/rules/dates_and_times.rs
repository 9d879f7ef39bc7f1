//! `DatesAndTimesRule`: submitted and crash dates, ages, uptime.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct DatesAndTimesRule;

/// Python's `int(str)` on an annotation (which may also be a JSON number).
fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn iso(epoch: i64) -> String {
    DateTime::<Utc>::from_timestamp(epoch, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

#[async_trait]
impl Rule for DatesAndTimesRule {
    fn name(&self) -> &'static str {
        "DatesAndTimesRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let submitted_raw = crash
            .raw_str("submitted_timestamp")
            .map(str::to_owned)
            .unwrap_or_else(|| {
                // no collector timestamp: the crash id's date
                format!("{}T00:00:00+00:00", crash.id.date().format("%Y-%m-%d"))
            });
        let submitted_epoch = DateTime::parse_from_rfc3339(&submitted_raw)
            .map(|d| d.timestamp())
            .unwrap_or(0);
        crash.set("submitted_timestamp", submitted_raw.clone());
        crash.set("date_processed", submitted_raw);

        let crash_time = match crash.raw.get("CrashTime") {
            None => {
                crash.note("WARNING: raw_crash missing CrashTime");
                submitted_epoch
            }
            Some(v) => {
                let head: Option<i64> = match v {
                    Value::String(s) => {
                        s.get(..s.len().min(10)).and_then(|h| h.trim().parse().ok())
                    }
                    other => as_int(other),
                };
                match head {
                    Some(t) => t,
                    None => {
                        crash.note("non-integer value of \"CrashTime\"");
                        0
                    }
                }
            }
        };
        if crash_time == submitted_epoch {
            crash.note("client_crash_date is unknown");
        }
        crash.set("crash_time", crash_time);
        crash.set("client_crash_date", iso(crash_time));

        let startup = crash
            .raw
            .get("StartupTime")
            .and_then(as_int)
            .unwrap_or(crash_time);
        crash.set("startup_time", startup);
        let install = crash
            .raw
            .get("InstallTime")
            .and_then(as_int)
            .unwrap_or(startup);
        crash.set("install_age", crash_time - install);
        crash.set("uptime", (crash_time - startup).max(0));
        let last = crash
            .raw
            .get("SecondsSinceLastCrash")
            .and_then(as_int)
            .map(Value::from)
            .unwrap_or(Value::Null);
        crash.set("last_crash", last);
        Ok(())
    }
}

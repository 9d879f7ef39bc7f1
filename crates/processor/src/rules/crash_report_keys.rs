//! `CrashReportKeysRule`: the annotation and dump names in the report.

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct CrashReportKeysRule;

fn valid(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[async_trait]
impl Rule for CrashReportKeysRule {
    fn name(&self) -> &'static str {
        "CrashReportKeysRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let mut keys = BTreeSet::new();
        let mut rejected = false;
        let names = crash
            .raw
            .0
            .keys()
            .map(String::as_str)
            .chain(crash.dumps.names());
        for key in names {
            let key: String = key.chars().take(100).collect();
            if valid(&key) {
                keys.insert(key);
            } else {
                rejected = true;
            }
        }
        crash.set("crash_report_keys", keys.into_iter().collect::<Vec<_>>());
        if rejected {
            crash.note("invalidkeys: Crash report contains invalid keys");
        }
        Ok(())
    }
}

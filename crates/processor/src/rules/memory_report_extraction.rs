//! `MemoryReportExtraction`: key measures of `memory_report` for the
//! crashed process (`json_dump.pid`) into `memory_measures`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct MemoryReportExtraction;

const KIND_NONHEAP: i64 = 0;
const KIND_HEAP: i64 = 1;
const UNITS_BYTES: i64 = 0;

/// Reported as they are (path -> measure).
const MEASURED: [(&str, &str); 11] = [
    ("gfx-textures", "gfx_textures"),
    ("ghost-windows", "ghost_windows"),
    ("heap-allocated", "heap_allocated"),
    ("heap-overhead", "heap_overhead"),
    ("host-object-urls", "host_object_urls"),
    ("private", "private"),
    ("resident", "resident"),
    ("resident-unique", "resident_unique"),
    ("system-heap-allocated", "system_heap_allocated"),
    ("vsize", "vsize"),
    ("vsize-max-contiguous", "vsize_max_contiguous"),
];

/// The measures, or why the report is unusable.
pub fn measures(report: &Value, pid: i64) -> Result<BTreeMap<&'static str, i64>, String> {
    let (Some(reports), true, true) = (
        report.get("reports").and_then(Value::as_array),
        report.get("version").is_some(),
        report.get("hasMozMallocUsableSize").is_some(),
    ) else {
        return Err("not a recognisable memory report".into());
    };
    let mut m: BTreeMap<&'static str, i64> = MEASURED.iter().map(|(_, k)| (*k, 0)).collect();
    for k in [
        "explicit",
        "heap_unclassified",
        "images",
        "js_main_runtime",
        "top_none_detached",
    ] {
        m.insert(k, 0);
    }
    let (mut explicit_heap, mut explicit_nonheap) = (0i64, 0i64);
    let pid_str = format!("(pid {pid})");
    let mut found = false;
    for r in reports {
        let field = |k: &str| r.get(k).ok_or_else(|| format!("report without {k}"));
        let process = field("process")?.as_str().unwrap_or("");
        if !process.contains(&pid_str) {
            continue;
        }
        found = true;
        let path = field("path")?.as_str().unwrap_or("");
        let kind = field("kind")?.as_i64().unwrap_or(-1);
        let units = field("units")?.as_i64().unwrap_or(-1);
        let amount = field("amount")?.as_i64().unwrap_or(0);
        if let Some(rest) = path.strip_prefix("explicit/") {
            if units != UNITS_BYTES {
                return Err(format!(
                    "bad units for an explicit/ report: {path}, {units}"
                ));
            }
            match kind {
                KIND_NONHEAP => explicit_nonheap += amount,
                KIND_HEAP => explicit_heap += amount,
                _ => return Err(format!("bad kind for an explicit/ report: {path}, {kind}")),
            }
            if path.contains("top(none)/detached") {
                *m.entry("top_none_detached").or_default() += amount;
            }
            if rest.starts_with("images/") {
                *m.entry("images").or_default() += amount;
            }
        } else if path.starts_with("js-main-runtime/") {
            *m.entry("js_main_runtime").or_default() += amount;
        } else if let Some((_, key)) = MEASURED.iter().find(|(p, _)| *p == path) {
            *m.entry(key).or_default() += amount;
        }
    }
    if !found {
        return Err(format!("no measurements found for pid {pid}"));
    }
    let heap = m.get("heap_allocated").copied().unwrap_or(0);
    m.insert("heap_unclassified", heap - explicit_heap);
    m.insert("explicit", heap + explicit_nonheap);
    Ok(m)
}

#[async_trait]
impl Rule for MemoryReportExtraction {
    fn name(&self) -> &'static str {
        "MemoryReportExtraction"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash
            .get("memory_report")
            .is_some_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
            && crash.json_dump().is_some_and(|j| j.contains_key("pid"))
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let pid = crash
            .json_dump()
            .and_then(|j| j.get("pid"))
            .and_then(Value::as_i64)
            .unwrap_or(-1);
        let Some(report) = crash.get("memory_report") else {
            return Ok(());
        };
        match measures(report, pid) {
            Ok(m) => {
                let v = serde_json::to_value(m).unwrap_or(Value::Null);
                crash.set("memory_measures", v);
            }
            Err(e) => {
                tracing::info!(crash_id = %crash.id, error = %e, "unable to extract measurements from memory report")
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/../../../shared/testdata/socorro/fixtures/memory_reports/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn socorro_fixtures() {
        let m = measures(&fixture("good"), 11620).unwrap();
        assert!(
            m["resident"] > 0 && m["explicit"] >= m["heap_allocated"],
            "{m:?}"
        );
        assert_eq!(
            m["heap_unclassified"],
            m["heap_allocated"] - {
                // explicit heap reports of the pid
                let r = fixture("good");
                r["reports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|x| x["process"].as_str().unwrap().contains("(pid 11620)"))
                    .filter(|x| {
                        x["path"].as_str().unwrap().starts_with("explicit/") && x["kind"] == 1
                    })
                    .map(|x| x["amount"].as_i64().unwrap())
                    .sum::<i64>()
            }
        );
        assert!(
            measures(&fixture("good"), 1)
                .unwrap_err()
                .contains("no measurements")
        );
        assert!(
            measures(&fixture("bad_kind"), 11620)
                .unwrap_err()
                .contains("bad kind")
        );
        assert!(
            measures(&fixture("bad_units"), 11620)
                .unwrap_err()
                .contains("bad units")
        );
        assert!(measures(&fixture("bad_missing_key"), 11620).is_err());
        assert!(
            measures(&fixture("bad_unrecognizable"), 11620)
                .unwrap_err()
                .contains("not a recognisable")
        );
    }
}

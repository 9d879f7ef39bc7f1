//! The full processing pipeline (mozilla ruleset, in-process stackwalk,
//! signature) over arbitrary input: it must never panic or hang, and must
//! always produce a processed crash.
//!
//! Input layout: `u16 LE n`, then `n` bytes of annotations (JSON object,
//! ignored when invalid), then the minidump bytes. Seed the corpus with the
//! dumps from `../../../../shared/testdata` (see README in this directory).
#![no_main]

use std::sync::{Arc, OnceLock};

use crash_storage::{CrashId, DumpSet, RawCrash};
use libfuzzer_sys::fuzz_target;
use processor::{Engine, ProcessorSettings, RulesetName, Symbols};

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let settings = ProcessorSettings {
            ruleset: RulesetName::Mozilla,
            time_budget_secs: 10,
            ..Default::default()
        };
        match Engine::with_symbols(&settings, Arc::new(Symbols::local(Vec::new())), None) {
            Ok(e) => e,
            Err(e) => panic!("engine: {e}"),
        }
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static R: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    R.get_or_init(|| match tokio::runtime::Builder::new_current_thread().enable_time().build() {
        Ok(r) => r,
        Err(e) => panic!("runtime: {e}"),
    })
}

fuzz_target!(|data: &[u8]| {
    let (n, rest) = match data {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, data),
    };
    let (extra, dump) = rest.split_at(n.min(rest.len()));
    let raw = match serde_json::from_slice::<serde_json::Value>(extra) {
        Ok(serde_json::Value::Object(map)) => RawCrash(map),
        _ => RawCrash::new(),
    };
    let mut dumps = DumpSet::new();
    dumps.insert("upload_file_minidump", dump.to_vec());
    let id = match CrashId::parse("de1bb258-cbbf-4589-a673-34f800160918") {
        Ok(id) => id,
        Err(e) => panic!("{e}"),
    };
    let pc = runtime().block_on(engine().process(id, raw, dumps, Default::default(), None));
    assert_eq!(pc["success"], true);
    assert!(pc["processor_notes"].is_string());
    assert!(pc["signature"].is_string());
});

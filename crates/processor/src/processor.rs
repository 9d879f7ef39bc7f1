//! [`Processor`]: one crash from storage through the ruleset back to storage.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crash_queue::{CrashQueue, QueueItem};
use crash_storage::{CrashId, CrashStorage, DumpSet, RawCrash};
use prometheus::Registry;
use serde_json::Value;
use signature::SignatureGenerator;

use crate::config::ProcessorSettings;
use crate::error::{BuildError, ProcessError};
use crate::hooks::AfterSave;
use crate::metrics::ProcessorMetrics;
use crate::pipeline::{Crash, Processed, Ruleset, RulesetName};
use crate::rules::{self, RuleDeps};
use crate::schema::Schema;
use crate::symbols::Symbols;

/// The processor: settings, backends, rulesets, hooks and metrics.
pub struct Processor {
    pub(crate) settings: ProcessorSettings,
    pub(crate) storage: Arc<dyn CrashStorage>,
    pub(crate) queue: Arc<dyn CrashQueue>,
    pub(crate) db: db::Db,
    pub(crate) metrics: ProcessorMetrics,
    engine: Engine,
    hooks: Vec<Arc<dyn AfterSave>>,
}

/// Rulesets and everything they need, without backends (`socorro process
/// --dump`, tests, fuzzing).
pub struct Engine {
    rulesets: HashMap<RulesetName, Ruleset>,
    default: RulesetName,
    schema: Option<Schema>,
    metrics: Option<ProcessorMetrics>,
}

impl Engine {
    /// Builds the rulesets from settings (`data_dir` hosts the symbol cache).
    pub fn new(
        settings: &ProcessorSettings,
        data_dir: &Path,
        metrics: Option<ProcessorMetrics>,
    ) -> Result<Self, BuildError> {
        let symbols = Arc::new(Symbols::new(&settings.symbols, data_dir)?);
        Self::with_symbols(settings, symbols, metrics)
    }

    /// Same with a ready symbol supply (no database: no `BetaVersionRule`).
    pub fn with_symbols(
        settings: &ProcessorSettings,
        symbols: Arc<Symbols>,
        metrics: Option<ProcessorMetrics>,
    ) -> Result<Self, BuildError> {
        Self::build(settings, symbols, metrics, None)
    }

    /// Everything explicit; `db` enables `BetaVersionRule`.
    pub fn build(
        settings: &ProcessorSettings,
        symbols: Arc<Symbols>,
        metrics: Option<ProcessorMetrics>,
        db: Option<db::Db>,
    ) -> Result<Self, BuildError> {
        let signatures = Arc::new(match &settings.siglists_dir {
            Some(dir) => SignatureGenerator::mozilla_default(dir)?,
            None => SignatureGenerator::generic()?,
        });
        let deps = RuleDeps {
            symbols,
            signatures,
            time_budget: settings.time_budget(),
            metrics: metrics.clone(),
            db,
        };
        let rulesets = [
            RulesetName::Default,
            RulesetName::Mozilla,
            RulesetName::RegenerateSignature,
        ]
        .into_iter()
        .map(|n| (n, rules::build(n, &deps)))
        .collect();
        let schema = match &settings.schema_file {
            Some(p) => Some(Schema::from_file(p).map_err(|message| BuildError::Schema {
                path: p.display().to_string(),
                message,
            })?),
            None => None,
        };
        Ok(Self {
            rulesets,
            default: settings.ruleset,
            schema,
            metrics,
        })
    }

    /// The ruleset for a queue message suffix: none or `default` is the
    /// configured ruleset; `None` means unknown.
    pub fn ruleset(&self, requested: Option<&str>) -> Option<&Ruleset> {
        let name = match requested {
            None | Some("") | Some("default") => self.default,
            Some("mozilla") => RulesetName::Mozilla,
            Some("generic") => RulesetName::Default,
            Some("regenerate_signature") => RulesetName::RegenerateSignature,
            Some(_) => return None,
        };
        self.rulesets.get(&name)
    }

    /// Runs the pipeline over one crash and returns the processed crash.
    /// `previous` is the stored processed crash when reprocessing.
    pub async fn process(
        &self,
        id: CrashId,
        raw: RawCrash,
        dumps: DumpSet,
        previous: Processed,
        ruleset: Option<&str>,
    ) -> Value {
        let mut crash = Crash::new(id, raw, dumps, previous);
        let rs = self.ruleset(ruleset);
        let start = Instant::now();
        Ruleset::process(
            rs,
            ruleset.unwrap_or("default"),
            &mut crash,
            self.metrics.as_ref(),
        )
        .await;
        if let Some(m) = &self.metrics {
            m.stage_seconds
                .with_label_values(&["rules"])
                .observe(start.elapsed().as_secs_f64());
        }
        let mut doc = Value::Object(crash.processed);
        if let Some(schema) = &self.schema {
            let errors = schema.check(&doc);
            if !errors.is_empty() {
                tracing::warn!(crash_id = %crash.id, ?errors, "processed crash does not match the schema");
                if let Some(Value::String(notes)) = doc.get_mut("processor_notes") {
                    notes.push_str(&format!(
                        "\nschema: processed crash does not match the schema: {}",
                        errors.join("; ")
                    ));
                }
            }
        }
        doc
    }
}

impl Processor {
    /// A processor over shared backends, registering its metrics in
    /// `registry` (so `socorro run` can serve one registry).
    pub fn new(
        settings: ProcessorSettings,
        data_dir: &Path,
        storage: Arc<dyn CrashStorage>,
        queue: Arc<dyn CrashQueue>,
        db: db::Db,
        registry: &Registry,
    ) -> Result<Self, BuildError> {
        settings.validate()?;
        let metrics = ProcessorMetrics::new(registry)?;
        let symbols = Arc::new(Symbols::new(&settings.symbols, data_dir)?);
        let engine = Engine::build(&settings, symbols, Some(metrics.clone()), Some(db.clone()))?;
        Ok(Self {
            settings,
            storage,
            queue,
            db,
            metrics,
            engine,
            hooks: Vec::new(),
        })
    }

    /// Adds a hook run after every save (e.g. search indexing).
    pub fn with_hook(mut self, hook: Arc<dyn AfterSave>) -> Self {
        self.hooks.push(hook);
        self
    }

    pub fn settings(&self) -> &ProcessorSettings {
        &self.settings
    }

    pub fn metrics(&self) -> &ProcessorMetrics {
        &self.metrics
    }

    /// The rulesets (for `socorro process`).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Loads, processes, saves and runs the hooks for one crash. Returns
    /// the saved processed crash.
    #[tracing::instrument(skip_all, fields(crash_id = %item.crash_id))]
    pub async fn process_crash(&self, item: &QueueItem) -> Result<Value, ProcessError> {
        let id = &item.crash_id;
        let started = Instant::now();
        let raw = match self.storage.load_raw_crash(id).await {
            Ok(raw) => raw,
            Err(e) if e.is_not_found() => {
                return Err(ProcessError::RawCrashMissing(id.to_string()));
            }
            Err(e) => return Err(ProcessError::Load(e)),
        };
        let dumps = match self.storage.load_dumps(id).await {
            Ok(d) => d,
            Err(e) if e.is_not_found() => DumpSet::new(),
            Err(e) => return Err(ProcessError::Load(e)),
        };
        let previous = match self.storage.load_processed_crash(id).await {
            Ok(Value::Object(map)) => map,
            Ok(_) => Processed::new(),
            Err(e) if e.is_not_found() => Processed::new(),
            Err(e) => return Err(ProcessError::Load(e)),
        };
        self.metrics
            .stage_seconds
            .with_label_values(&["load"])
            .observe(started.elapsed().as_secs_f64());

        let processed = self
            .engine
            .process(id.clone(), raw, dumps, previous, item.ruleset.as_deref())
            .await;

        let save_start = Instant::now();
        self.storage
            .save_processed_crash(id, &processed)
            .await
            .map_err(ProcessError::Save)?;
        self.metrics
            .stage_seconds
            .with_label_values(&["save"])
            .observe(save_start.elapsed().as_secs_f64());

        let hooks_start = Instant::now();
        for hook in &self.hooks {
            if let Err(error) = hook.after_save(id, &processed).await {
                tracing::warn!(hook = hook.name(), %error, "after_save hook failed; crash stays saved");
                self.metrics.hook_failures_total.inc();
            }
        }
        self.metrics
            .stage_seconds
            .with_label_values(&["hooks"])
            .observe(hooks_start.elapsed().as_secs_f64());
        self.metrics
            .stage_seconds
            .with_label_values(&["total"])
            .observe(started.elapsed().as_secs_f64());
        Ok(processed)
    }
}

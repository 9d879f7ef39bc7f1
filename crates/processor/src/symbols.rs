//! Symbol supply shared by all workers: local symbol directories and HTTP
//! symbol servers (Breakpad/Tecken layout `<debug file>/<debug id>/<name>.sym`),
//! an on-disk cache of downloads, and one in-memory [`Symbolizer`] that keeps
//! parsed symbol files *and misses* (the negative cache) across crashes.
//!
//! The in-memory cache is bounded: once it knows more than
//! `max_cached_modules` modules, the next crash starts a fresh symbolizer
//! (parsed files are dropped; downloads stay in the on-disk cache).
//!
//! The local [symbol store](store) (`<data dir>/symbols`) is always the first
//! local path. Adding to it (`socorro symbols add`, `POST /symbols/upload`)
//! rewrites its generation file; the next crash sees the change (one small
//! file read per crash) and starts a fresh symbolizer, so a module that was
//! missing before is found.

pub mod store;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use minidump_unwind::Symbolizer;

use crate::config::SymbolSettings;
use crate::error::BuildError;

/// Builds and hands out the shared symbolizer.
pub struct Symbols {
    /// The local symbol store, searched first; its generation resets the cache.
    store: Option<PathBuf>,
    paths: Vec<PathBuf>,
    urls: Vec<String>,
    cache_dir: PathBuf,
    tmp_dir: PathBuf,
    timeout: Duration,
    max_cached_modules: usize,
    current: Mutex<Current>,
}

/// The shared symbolizer and the store generation it was built at.
struct Current {
    symbolizer: Arc<Symbolizer>,
    generation: Option<String>,
}

impl std::fmt::Debug for Symbols {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Symbols")
            .field("store", &self.store)
            .field("paths", &self.paths)
            .field("urls", &self.urls)
            .field("cache_dir", &self.cache_dir)
            .finish_non_exhaustive()
    }
}

impl Symbols {
    /// Creates the cache directories when symbol servers are configured.
    /// The symbol store is `settings.store_dir`, else `<data dir>/symbols`.
    pub fn new(settings: &SymbolSettings, data_dir: &Path) -> Result<Self, BuildError> {
        let cache_dir = settings.cache_dir(data_dir);
        let tmp_dir = cache_dir.join(".tmp");
        if !settings.urls.is_empty() {
            for dir in [&cache_dir, &tmp_dir] {
                std::fs::create_dir_all(dir).map_err(|source| BuildError::SymbolCache {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
        }
        let store = settings
            .store_dir
            .clone()
            .unwrap_or_else(|| store::StoreConfig::default().dir(data_dir));
        Ok(Self::with(settings, Some(store), cache_dir, tmp_dir))
    }

    /// Symbols from local directories only, no store (tests, benchmarks).
    pub fn local(paths: Vec<PathBuf>) -> Self {
        let settings = SymbolSettings {
            paths,
            ..SymbolSettings::default()
        };
        Self::with(&settings, None, PathBuf::new(), PathBuf::new())
    }

    fn with(
        settings: &SymbolSettings,
        store: Option<PathBuf>,
        cache_dir: PathBuf,
        tmp_dir: PathBuf,
    ) -> Self {
        let mut s = Self {
            store,
            paths: settings.paths.clone(),
            urls: settings.urls.clone(),
            cache_dir,
            tmp_dir,
            timeout: Duration::from_secs(settings.download_timeout_secs.max(1)),
            max_cached_modules: settings.max_cached_modules.max(1),
            current: Mutex::new(Current {
                symbolizer: Arc::new(Symbolizer::new(minidump_unwind::simple_symbol_supplier(
                    Vec::new(),
                ))),
                generation: None,
            }),
        };
        s.reset();
        s
    }

    /// Builds the first symbolizer, at the store's current generation.
    fn reset(&mut self) {
        let generation = self.store.as_deref().and_then(store::read_generation);
        let symbolizer = Arc::new(self.build());
        *self.current.get_mut().unwrap_or_else(|p| p.into_inner()) = Current {
            symbolizer,
            generation,
        };
    }

    /// The local paths: the store first, then the configured ones.
    fn local_paths(&self) -> Vec<PathBuf> {
        self.store.iter().chain(&self.paths).cloned().collect()
    }

    fn build(&self) -> Symbolizer {
        if self.urls.is_empty() {
            Symbolizer::new(minidump_unwind::simple_symbol_supplier(self.local_paths()))
        } else {
            // The HTTP supplier looks in the cache, then the local paths,
            // then each URL; downloads land in tmp and are renamed into the
            // cache atomically, so several workers (or processes) can share it.
            Symbolizer::new(minidump_unwind::http_symbol_supplier(
                self.local_paths(),
                self.urls.clone(),
                self.cache_dir.clone(),
                self.tmp_dir.clone(),
                self.timeout,
            ))
        }
    }

    /// The symbolizer for the next crash; `None` when no symbol source is
    /// configured and the store does not exist (no lookups, like
    /// `minidump-stackwalk` without symbols).
    pub fn symbolizer(&self) -> Option<Arc<Symbolizer>> {
        if self.paths.is_empty()
            && self.urls.is_empty()
            && !self.store.as_deref().is_some_and(Path::is_dir)
        {
            return None;
        }
        let generation = self.store.as_deref().and_then(store::read_generation);
        let mut current = match self.current.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if current.generation != generation {
            tracing::info!("the symbol store changed; resetting the in-memory symbol cache");
            *current = Current {
                symbolizer: Arc::new(self.build()),
                generation,
            };
        } else if current.symbolizer.stats().len() > self.max_cached_modules {
            tracing::info!(
                modules = current.symbolizer.stats().len(),
                "resetting the in-memory symbol cache"
            );
            current.symbolizer = Arc::new(self.build());
        }
        Some(Arc::clone(&current.symbolizer))
    }

    /// The symbol store searched first, if any.
    pub fn store_dir(&self) -> Option<&Path> {
        self.store.as_deref()
    }
}

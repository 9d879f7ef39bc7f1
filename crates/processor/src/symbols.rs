//! Symbol supply shared by all workers: local symbol directories and HTTP
//! symbol servers (Breakpad/Tecken layout `<debug file>/<debug id>/<name>.sym`),
//! an on-disk cache of downloads, and one in-memory [`Symbolizer`] that keeps
//! parsed symbol files *and misses* (the negative cache) across crashes.
//!
//! The in-memory cache is bounded: once it knows more than
//! `max_cached_modules` modules, the next crash starts a fresh symbolizer
//! (parsed files are dropped; downloads stay in the on-disk cache).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use minidump_unwind::Symbolizer;

use crate::config::SymbolSettings;
use crate::error::BuildError;

/// Builds and hands out the shared symbolizer.
pub struct Symbols {
    paths: Vec<PathBuf>,
    urls: Vec<String>,
    cache_dir: PathBuf,
    tmp_dir: PathBuf,
    timeout: Duration,
    max_cached_modules: usize,
    current: Mutex<Arc<Symbolizer>>,
}

impl std::fmt::Debug for Symbols {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Symbols")
            .field("paths", &self.paths)
            .field("urls", &self.urls)
            .field("cache_dir", &self.cache_dir)
            .finish_non_exhaustive()
    }
}

impl Symbols {
    /// Creates the cache directories when symbol servers are configured.
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
        Ok(Self::with(settings, cache_dir, tmp_dir))
    }

    /// Symbols from local directories only (tests, benchmarks).
    pub fn local(paths: Vec<PathBuf>) -> Self {
        let settings = SymbolSettings {
            paths,
            ..SymbolSettings::default()
        };
        Self::with(&settings, PathBuf::new(), PathBuf::new())
    }

    fn with(settings: &SymbolSettings, cache_dir: PathBuf, tmp_dir: PathBuf) -> Self {
        let mut s = Self {
            paths: settings.paths.clone(),
            urls: settings.urls.clone(),
            cache_dir,
            tmp_dir,
            timeout: Duration::from_secs(settings.download_timeout_secs.max(1)),
            max_cached_modules: settings.max_cached_modules.max(1),
            current: Mutex::new(Arc::new(Symbolizer::new(
                minidump_unwind::simple_symbol_supplier(Vec::new()),
            ))),
        };
        s.current = Mutex::new(Arc::new(s.build()));
        s
    }

    fn build(&self) -> Symbolizer {
        if self.urls.is_empty() {
            Symbolizer::new(minidump_unwind::simple_symbol_supplier(self.paths.clone()))
        } else {
            // The HTTP supplier looks in the cache, then the local paths,
            // then each URL; downloads land in tmp and are renamed into the
            // cache atomically, so several workers (or processes) can share it.
            Symbolizer::new(minidump_unwind::http_symbol_supplier(
                self.paths.clone(),
                self.urls.clone(),
                self.cache_dir.clone(),
                self.tmp_dir.clone(),
                self.timeout,
            ))
        }
    }

    /// The symbolizer for the next crash; `None` when no symbol source is
    /// configured (no lookups, like `minidump-stackwalk` without symbols).
    pub fn symbolizer(&self) -> Option<Arc<Symbolizer>> {
        if self.paths.is_empty() && self.urls.is_empty() {
            return None;
        }
        let mut current = match self.current.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if current.stats().len() > self.max_cached_modules {
            tracing::info!(
                modules = current.stats().len(),
                "resetting the in-memory symbol cache"
            );
            *current = Arc::new(self.build());
        }
        Some(Arc::clone(&current))
    }
}

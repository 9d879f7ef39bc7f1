//! The local symbol store: a directory (`SOCORRO_SYMBOLS__DIR`, default
//! `<data dir>/symbols`) in the Breakpad/Tecken layout
//! `<debug file>/<debug id>/<debug file without .pdb>.sym`, e.g.
//! `xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym` or
//! `libxul.so/0F9C6B3A1E2D4C5B8A7F6E5D4C3B2A190/libxul.so.sym`.
//!
//! `socorro symbols add` and the webapp's `POST /symbols/upload` fill it;
//! the webapp serves it at the Tecken download path; the processor reads it
//! before any other symbol source.
//!
//! A file is placed by its first line, `MODULE <os> <arch> <debug id>
//! <debug file>`; the debug id is normalised the way the stackwalker looks it
//! up (`DebugId::breakpad()`: upper-case GUID, lower-case age). Writes go to
//! `<dir>/.tmp`, are fsync'd and renamed into place, so readers never see a
//! partial file. Every change rewrites `<dir>/.generation`, which the
//! processor checks to forget the modules it could not find before.
//!
//! Sizes are capped while streaming (a zip bomb stops after the cap, in
//! bounded memory): one `.sym` file, the uncompressed total of one zip, the
//! number of entries of a zip, and the compressed upload.

use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use debugid::DebugId;
use serde::{Deserialize, Serialize};
use service::ConfigError;

/// Rewritten after every change of the store (its content changes each time).
pub const GENERATION_FILE: &str = ".generation";
/// Staging directory inside the store (same file system: renames are atomic).
pub const TMP_DIR: &str = ".tmp";
/// The MODULE line must end within this many bytes.
pub const MAX_MODULE_LINE: usize = 4096;
/// Longest debug file name accepted (a path component, `.sym` is appended).
pub const MAX_NAME_LEN: usize = 200;
/// Longest zip entry name accepted.
pub const MAX_ENTRY_NAME_LEN: usize = 1024;

const GIB: u64 = 1024 * 1024 * 1024;

/// `SOCORRO_SYMBOLS__*`: where the store lives and its limits.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct StoreConfig {
    /// `SOCORRO_SYMBOLS__DIR`; unset: `<data dir>/symbols`.
    pub dir: Option<PathBuf>,
    /// One `.sym` file, uncompressed (default 2 GiB).
    pub max_file_bytes: u64,
    /// All `.sym` files of one zip, uncompressed (default 8 GiB).
    pub max_total_bytes: u64,
    /// One upload as sent (the compressed zip or multipart body; default 2 GiB).
    pub max_upload_bytes: u64,
    /// Entries of one zip (default 100000).
    pub max_files: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            dir: None,
            max_file_bytes: 2 * GIB,
            max_total_bytes: 8 * GIB,
            max_upload_bytes: 2 * GIB,
            max_files: 100_000,
        }
    }
}

impl StoreConfig {
    /// The store directory: `dir`, else `<data dir>/symbols`.
    pub fn dir(&self, data_dir: &Path) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| data_dir.join("symbols"))
    }

    /// Checks the limits; the error names the variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |var: &str, message: &str| ConfigError::Invalid {
            var: format!("SOCORRO_SYMBOLS__{var}"),
            message: message.to_owned(),
        };
        if self.max_file_bytes == 0 {
            return Err(invalid("MAX_FILE_BYTES", "must be at least 1"));
        }
        if self.max_total_bytes == 0 {
            return Err(invalid("MAX_TOTAL_BYTES", "must be at least 1"));
        }
        if self.max_upload_bytes == 0 {
            return Err(invalid("MAX_UPLOAD_BYTES", "must be at least 1"));
        }
        if self.max_files == 0 {
            return Err(invalid("MAX_FILES", "must be at least 1"));
        }
        if self.dir.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
            return Err(invalid("DIR", "must not be empty (unset it)"));
        }
        Ok(())
    }
}

/// Why a name cannot be a path component of the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    #[error("empty name")]
    Empty,
    #[error("longer than {0} bytes")]
    TooLong(usize),
    #[error("`.` and `..` are not allowed")]
    Dots,
    #[error("names starting with `.` are not allowed")]
    Hidden,
    #[error("path separators (`/`, `\\`) are not allowed")]
    Separator,
    #[error("control characters (NUL, newline, ...) are not allowed")]
    Control,
    #[error("absolute paths are not allowed")]
    Absolute,
}

/// Why a first line is not a usable `MODULE` record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleLineError {
    #[error("the first line does not start with `MODULE `")]
    NotModule,
    #[error("the first line is not `MODULE <os> <arch> <debug id> <debug file>`")]
    MissingFields,
    #[error("the first line is not UTF-8")]
    NotUtf8,
    #[error("no end of line in the first {MAX_MODULE_LINE} bytes")]
    LineTooLong,
    #[error("bad {field} {value:?} in the MODULE line")]
    BadField { field: &'static str, value: String },
    #[error("bad debug id {0:?} in the MODULE line")]
    BadDebugId(String),
    #[error("bad debug file {name:?} in the MODULE line: {source}")]
    BadDebugFile { name: String, source: NameError },
}

/// What went wrong adding or reading symbols. [`StoreError::is_client_error`]
/// tells bad input (HTTP 400/413) from local failures (500).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{name}: not a Breakpad symbol file: {source}")]
    NotSymbolFile {
        name: String,
        source: ModuleLineError,
    },
    #[error("{name:?}: unsafe name: {source}")]
    UnsafeName { name: String, source: NameError },
    #[error("{name}: larger than {limit} bytes uncompressed (SOCORRO_SYMBOLS__MAX_FILE_BYTES)")]
    FileTooLarge { name: String, limit: u64 },
    #[error(
        "the symbol files add up to more than {limit} bytes uncompressed (SOCORRO_SYMBOLS__MAX_TOTAL_BYTES)"
    )]
    TotalTooLarge { limit: u64 },
    #[error("the upload is larger than {limit} bytes (SOCORRO_SYMBOLS__MAX_UPLOAD_BYTES)")]
    UploadTooLarge { limit: u64 },
    #[error("the zip has {count} entries, more than {limit} (SOCORRO_SYMBOLS__MAX_FILES)")]
    TooManyFiles { count: usize, limit: usize },
    #[error("{name}: is at the path of {expected} but its MODULE line places it at {actual}")]
    PathMismatch {
        name: String,
        expected: String,
        actual: String,
    },
    #[error("{name}: not a zip file: {message}")]
    BadZip { name: String, message: String },
    #[error("{name}: {message}")]
    UnsupportedEntry { name: String, message: String },
    #[error("{name}: no .sym file in it")]
    NoSymbolFiles { name: String },
    #[error("{name}: not a .sym file, a .zip file or a directory")]
    UnsupportedInput { name: String },
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

impl StoreError {
    /// Bad input (the caller's fault) rather than a local failure.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::Io { .. })
    }

    /// A size limit was hit (HTTP 413).
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            Self::FileTooLarge { .. }
                | Self::TotalTooLarge { .. }
                | Self::UploadTooLarge { .. }
                | Self::TooManyFiles { .. }
        )
    }

    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Checks that `name` is safe as one path component of the store.
pub fn check_component(name: &str, max_len: usize) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > max_len {
        return Err(NameError::TooLong(max_len));
    }
    if name.contains(['/', '\\']) {
        return Err(NameError::Separator);
    }
    if name == "." || name == ".." {
        return Err(NameError::Dots);
    }
    if name.starts_with('.') {
        return Err(NameError::Hidden);
    }
    if name.chars().any(char::is_control) {
        return Err(NameError::Control);
    }
    Ok(())
}

/// Checks a zip entry name: relative, `/`-separated, no `.`/`..` components.
pub fn check_entry_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_ENTRY_NAME_LEN {
        return Err(NameError::TooLong(MAX_ENTRY_NAME_LEN));
    }
    if name.chars().any(char::is_control) {
        return Err(NameError::Control);
    }
    if name.contains('\\') {
        return Err(NameError::Separator);
    }
    if name.starts_with('/') || name.as_bytes().get(1) == Some(&b':') {
        return Err(NameError::Absolute);
    }
    let body = name.strip_suffix('/').unwrap_or(name);
    if body
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(NameError::Dots);
    }
    Ok(())
}

/// Breakpad's symbol file name for a debug file: `xul.pdb` → `xul.sym`,
/// `libxul.so` → `libxul.so.sym` (only a `.pdb` extension is replaced).
pub fn sym_file_name(debug_file: &str) -> String {
    match debug_file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.eq_ignore_ascii_case("pdb") => {
            format!("{stem}.sym")
        }
        _ => format!("{debug_file}.sym"),
    }
}

/// A debug id in the form the stackwalker looks up, if it is one.
pub fn normalize_debug_id(id: &str) -> Option<String> {
    DebugId::from_breakpad(id)
        .ok()
        .map(|d| d.breakpad().to_string())
}

/// The `MODULE` record that starts every Breakpad `.sym` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleLine {
    pub os: String,
    pub arch: String,
    /// Normalised (`DebugId::breakpad()`).
    pub debug_id: String,
    pub debug_file: String,
}

impl ModuleLine {
    /// Parses `MODULE <os> <arch> <debug id> <debug file>` (the file name
    /// is the rest of the line and may contain spaces; CR and a BOM are
    /// ignored).
    pub fn parse(line: &str) -> Result<Self, ModuleLineError> {
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        let line = line.trim_end_matches(['\r', '\n']);
        let Some(rest) = line.strip_prefix("MODULE ") else {
            return Err(ModuleLineError::NotModule);
        };
        let mut parts = rest.splitn(4, ' ');
        let (Some(os), Some(arch), Some(id), Some(file)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ModuleLineError::MissingFields);
        };
        let file = file.trim_end();
        if os.is_empty() || arch.is_empty() || id.is_empty() || file.is_empty() {
            return Err(ModuleLineError::MissingFields);
        }
        for (field, value) in [("os", os), ("arch", arch)] {
            if value.len() > 64 || !value.chars().all(|c| c.is_ascii_graphic()) {
                return Err(ModuleLineError::BadField {
                    field,
                    value: value.chars().take(80).collect(),
                });
            }
        }
        let debug_id = normalize_debug_id(id)
            .ok_or_else(|| ModuleLineError::BadDebugId(id.chars().take(80).collect()))?;
        check_component(file, MAX_NAME_LEN).map_err(|source| ModuleLineError::BadDebugFile {
            name: file.chars().take(MAX_NAME_LEN + 20).collect(),
            source,
        })?;
        Ok(Self {
            os: os.to_owned(),
            arch: arch.to_owned(),
            debug_id,
            debug_file: file.to_owned(),
        })
    }

    /// `<debug file without .pdb>.sym`.
    pub fn sym_file_name(&self) -> String {
        sym_file_name(&self.debug_file)
    }

    /// Where the file goes in the store (and on a symbol server), `/`-separated.
    pub fn rel_path(&self) -> String {
        format!(
            "{}/{}/{}",
            self.debug_file,
            self.debug_id,
            self.sym_file_name()
        )
    }
}

/// A file now in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredFile {
    /// `<debug file>/<debug id>/<name>.sym`.
    pub path: String,
    /// Uncompressed bytes.
    pub size: u64,
    /// An older file with the same path was replaced.
    pub replaced: bool,
}

/// What a zip added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ZipAdded {
    pub stored: Vec<StoredFile>,
    /// Entries that are not `.sym` files (skipped; directories not listed).
    pub ignored: Vec<String>,
}

/// The result for one input of [`SymbolStore::add_paths`].
#[derive(Debug)]
pub struct PathOutcome {
    /// The `.sym` or `.zip` file (each `.sym` of a directory on its own).
    pub source: PathBuf,
    pub result: Result<ZipAdded, StoreError>,
}

/// A validated file in the staging directory, not yet in place.
struct Staged {
    tmp: tempfile::NamedTempFile,
    module: ModuleLine,
    size: u64,
}

/// The store: a directory plus limits. Cheap to clone; every method is
/// blocking file IO (call it from `spawn_blocking` in async code).
#[derive(Debug, Clone)]
pub struct SymbolStore {
    dir: PathBuf,
    limits: StoreConfig,
}

static GENERATION_COUNTER: AtomicU64 = AtomicU64::new(0);

impl SymbolStore {
    /// The store these settings name (nothing is created until a write).
    pub fn new(cfg: &StoreConfig, data_dir: &Path) -> Self {
        Self {
            dir: cfg.dir(data_dir),
            limits: cfg.clone(),
        }
    }

    /// A store at `dir` with `limits` (`limits.dir` is ignored).
    pub fn at(dir: impl Into<PathBuf>, limits: StoreConfig) -> Self {
        Self {
            dir: dir.into(),
            limits,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn limits(&self) -> &StoreConfig {
        &self.limits
    }

    fn tmp_dir(&self) -> PathBuf {
        self.dir.join(TMP_DIR)
    }

    /// A new file in the staging directory (removed when dropped), e.g. to
    /// spool an upload before reading it as a zip.
    pub fn temp_file(&self) -> Result<tempfile::NamedTempFile, StoreError> {
        self.staging_file("upload-")
    }

    /// The content of the generation file (`None` before the first write).
    pub fn generation(&self) -> Option<String> {
        read_generation(&self.dir)
    }

    /// Marks the store as changed (readers drop their negative caches).
    pub fn bump_generation(&self) -> Result<(), StoreError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let n = GENERATION_COUNTER.fetch_add(1, Ordering::Relaxed);
        let value = format!("{nanos}-{}-{n}\n", std::process::id());
        let mut tmp = self.staging_file("generation-")?;
        let path = tmp.path().to_owned();
        tmp.write_all(value.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| StoreError::io(&path, e))?;
        let dest = self.dir.join(GENERATION_FILE);
        tmp.persist(&dest)
            .map_err(|e| StoreError::io(&dest, e.error))?;
        Ok(())
    }

    fn staging_file(&self, prefix: &str) -> Result<tempfile::NamedTempFile, StoreError> {
        let tmp = self.tmp_dir();
        fs::create_dir_all(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        tempfile::Builder::new()
            .prefix(prefix)
            .tempfile_in(&tmp)
            .map_err(|e| StoreError::io(&tmp, e))
    }

    /// The path of a stored file for a download request, if the names are
    /// safe (`file` must end in `.sym`). The file may not exist.
    pub fn locate(&self, debug_file: &str, debug_id: &str, file: &str) -> Option<PathBuf> {
        check_component(debug_file, MAX_NAME_LEN).ok()?;
        check_component(file, MAX_NAME_LEN + 4).ok()?;
        if !file.ends_with(".sym") {
            return None;
        }
        let id = normalize_debug_id(debug_id)?;
        Some(self.dir.join(debug_file).join(id).join(file))
    }

    /// Stores one `.sym` file read from `reader`; `name` is for messages.
    pub fn add_sym(&self, name: &str, reader: impl Read) -> Result<StoredFile, StoreError> {
        let staged = self.stage(name, reader, self.limits.max_file_bytes, None)?;
        let stored = self.commit(staged)?;
        self.bump_generation()?;
        tracing::info!(path = %stored.path, size = stored.size, "stored symbol file");
        Ok(stored)
    }

    /// Stores every `.sym` entry of a zip, or nothing: entries are checked
    /// (names, sizes, MODULE lines) and staged first, then renamed into place.
    pub fn add_zip<R: Read + Seek>(&self, name: &str, reader: R) -> Result<ZipAdded, StoreError> {
        let bad_zip = |e: zip::result::ZipError| StoreError::BadZip {
            name: name.to_owned(),
            message: e.to_string(),
        };
        let mut archive = zip::ZipArchive::new(reader).map_err(bad_zip)?;
        if archive.len() > self.limits.max_files {
            return Err(StoreError::TooManyFiles {
                count: archive.len(),
                limit: self.limits.max_files,
            });
        }
        // Pass 1, no decompression: names, methods and declared sizes, so a
        // bomb that admits its size is refused at once.
        let mut wanted = Vec::new();
        let mut ignored = Vec::new();
        let mut declared: u64 = 0;
        for i in 0..archive.len() {
            let entry = archive.by_index_data(i).map_err(bad_zip)?;
            let entry_name = entry.name().map_err(bad_zip)?.into_owned();
            check_entry_name(&entry_name).map_err(|source| StoreError::UnsafeName {
                name: entry_name.clone(),
                source,
            })?;
            if entry.is_dir() {
                continue;
            }
            let base = entry_name.rsplit('/').next().unwrap_or(&entry_name);
            if !base.to_ascii_lowercase().ends_with(".sym") {
                ignored.push(entry_name);
                continue;
            }
            if entry.encrypted() {
                return Err(StoreError::UnsupportedEntry {
                    name: entry_name,
                    message: "encrypted entries are not supported".into(),
                });
            }
            let method = entry.compression();
            if !matches!(
                method,
                zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
            ) {
                return Err(StoreError::UnsupportedEntry {
                    name: entry_name,
                    message: format!("compression {method} is not supported (use deflate)"),
                });
            }
            if entry.size() > self.limits.max_file_bytes {
                return Err(StoreError::FileTooLarge {
                    name: entry_name,
                    limit: self.limits.max_file_bytes,
                });
            }
            declared = declared.saturating_add(entry.size());
            if declared > self.limits.max_total_bytes {
                return Err(StoreError::TotalTooLarge {
                    limit: self.limits.max_total_bytes,
                });
            }
            wanted.push((i, entry_name));
        }
        if wanted.is_empty() {
            return Err(StoreError::NoSymbolFiles {
                name: name.to_owned(),
            });
        }
        // Pass 2: decompress into the staging directory, counting the bytes
        // really produced (headers can lie).
        let mut used: u64 = 0;
        let mut staged = Vec::with_capacity(wanted.len());
        for (i, entry_name) in wanted {
            let entry = archive.by_index(i).map_err(bad_zip)?;
            let remaining = self.limits.max_total_bytes.saturating_sub(used);
            let s = self.stage(
                &entry_name,
                entry,
                self.limits.max_file_bytes,
                Some(remaining),
            )?;
            check_placement(&entry_name, &s.module)?;
            used += s.size;
            staged.push(s);
        }
        let mut stored = Vec::with_capacity(staged.len());
        for s in staged {
            stored.push(self.commit(s)?);
        }
        self.bump_generation()?;
        tracing::info!(zip = %name, files = stored.len(), ignored = ignored.len(), "stored symbol files");
        Ok(ZipAdded { stored, ignored })
    }

    /// `socorro symbols add`: each path is a `.sym` file, a `.zip` of them
    /// or a directory searched recursively for `.sym` files (symbolic links
    /// to directories are not followed). Each `.sym` and each zip succeeds
    /// or fails on its own; a zip is all or nothing.
    pub fn add_paths(&self, paths: &[PathBuf]) -> Vec<PathOutcome> {
        let mut out = Vec::new();
        for path in paths {
            match fs::metadata(path) {
                Ok(m) if m.is_dir() => {
                    let mut files = Vec::new();
                    if let Err(e) = find_sym_files(path, &mut files) {
                        out.push(PathOutcome {
                            source: path.clone(),
                            result: Err(e),
                        });
                        continue;
                    }
                    if files.is_empty() {
                        out.push(PathOutcome {
                            source: path.clone(),
                            result: Err(StoreError::NoSymbolFiles {
                                name: path.display().to_string(),
                            }),
                        });
                    }
                    for f in files {
                        let result = self.add_file(&f);
                        out.push(PathOutcome { source: f, result });
                    }
                }
                Ok(_) => {
                    let result = self.add_file(path);
                    out.push(PathOutcome {
                        source: path.clone(),
                        result,
                    });
                }
                Err(e) => out.push(PathOutcome {
                    source: path.clone(),
                    result: Err(StoreError::io(path, e)),
                }),
            }
        }
        out
    }

    /// One `.sym` or `.zip` file.
    fn add_file(&self, path: &Path) -> Result<ZipAdded, StoreError> {
        let name = path.display().to_string();
        let lower = name.to_ascii_lowercase();
        let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
        if lower.ends_with(".sym") {
            let stored = self.add_sym(&name, io::BufReader::new(file))?;
            Ok(ZipAdded {
                stored: vec![stored],
                ignored: Vec::new(),
            })
        } else if lower.ends_with(".zip") {
            self.add_zip(&name, io::BufReader::new(file))
        } else {
            Err(StoreError::UnsupportedInput { name })
        }
    }

    /// Every stored `.sym` file, sorted (`<debug file>/<debug id>/<name>`).
    pub fn list(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let modules = match fs::read_dir(&self.dir) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(StoreError::io(&self.dir, e)),
        };
        for module in modules {
            let module = module.map_err(|e| StoreError::io(&self.dir, e))?;
            let module_name = module.file_name().to_string_lossy().into_owned();
            if module_name.starts_with('.') || !module.path().is_dir() {
                continue;
            }
            let ids = fs::read_dir(module.path()).map_err(|e| StoreError::io(&module.path(), e))?;
            for id in ids {
                let id = id.map_err(|e| StoreError::io(&module.path(), e))?;
                if !id.path().is_dir() {
                    continue;
                }
                let files = fs::read_dir(id.path()).map_err(|e| StoreError::io(&id.path(), e))?;
                for f in files {
                    let f = f.map_err(|e| StoreError::io(&id.path(), e))?;
                    let fname = f.file_name().to_string_lossy().into_owned();
                    if fname.ends_with(".sym") && f.path().is_file() {
                        out.push(format!(
                            "{module_name}/{}/{fname}",
                            id.file_name().to_string_lossy()
                        ));
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Reads the MODULE line, then streams the file into the staging
    /// directory, at most `max_file` bytes (and `remaining` of a zip's budget).
    fn stage(
        &self,
        name: &str,
        mut reader: impl Read,
        max_file: u64,
        remaining: Option<u64>,
    ) -> Result<Staged, StoreError> {
        let head = read_head(&mut reader).map_err(|e| StoreError::Io {
            path: name.to_owned(),
            source: e,
        })?;
        let not_sym = |source| StoreError::NotSymbolFile {
            name: name.to_owned(),
            source,
        };
        let line = match head.iter().position(|b| *b == b'\n') {
            Some(end) => &head[..end],
            None if head.len() >= MAX_MODULE_LINE => {
                return Err(not_sym(ModuleLineError::LineTooLong));
            }
            // the whole file is one line
            None => &head[..],
        };
        let line = std::str::from_utf8(line).map_err(|_| not_sym(ModuleLineError::NotUtf8))?;
        let module = ModuleLine::parse(line).map_err(not_sym)?;
        self.write_staged(name, module, &head, reader, max_file, remaining)
    }

    fn write_staged(
        &self,
        name: &str,
        module: ModuleLine,
        head: &[u8],
        rest: impl Read,
        max_file: u64,
        remaining: Option<u64>,
    ) -> Result<Staged, StoreError> {
        let limit = remaining.map_or(max_file, |r| r.min(max_file));
        let too_large = || {
            if remaining.is_some_and(|r| r < max_file) {
                StoreError::TotalTooLarge {
                    limit: self.limits.max_total_bytes,
                }
            } else {
                StoreError::FileTooLarge {
                    name: name.to_owned(),
                    limit: max_file,
                }
            }
        };
        let head_len = head.len() as u64;
        if head_len > limit {
            return Err(too_large());
        }
        let mut tmp = self.staging_file("sym-")?;
        let tmp_path = tmp.path().to_owned();
        let io_err = |e| StoreError::Io {
            path: format!("{name} -> {}", tmp_path.display()),
            source: e,
        };
        tmp.write_all(head).map_err(io_err)?;
        // One byte over the limit tells "too large" from "exactly the limit".
        let mut limited = rest.take(limit - head_len + 1);
        let copied = io::copy(&mut limited, &mut tmp).map_err(io_err)?;
        let size = head_len + copied;
        if size > limit {
            return Err(too_large());
        }
        tmp.as_file().sync_all().map_err(io_err)?;
        Ok(Staged { tmp, module, size })
    }

    /// Renames a staged file into place (fsyncs the directory on Unix).
    fn commit(&self, staged: Staged) -> Result<StoredFile, StoreError> {
        let rel = staged.module.rel_path();
        let parent = self
            .dir
            .join(&staged.module.debug_file)
            .join(&staged.module.debug_id);
        fs::create_dir_all(&parent).map_err(|e| StoreError::io(&parent, e))?;
        let dest = parent.join(staged.module.sym_file_name());
        let replaced = dest.exists();
        staged
            .tmp
            .persist(&dest)
            .map_err(|e| StoreError::io(&dest, e.error))?;
        sync_dir(&parent).map_err(|e| StoreError::io(&parent, e))?;
        Ok(StoredFile {
            path: rel,
            size: staged.size,
            replaced,
        })
    }
}

/// The generation marker of the store at `dir` (`None` before any write).
pub fn read_generation(dir: &Path) -> Option<String> {
    fs::read_to_string(dir.join(GENERATION_FILE)).ok()
}

/// A zip entry at `<debug file>/<debug id>/<name>.sym` must be what its
/// MODULE line says (Tecken's layout); other names are placed by the line.
fn check_placement(entry_name: &str, module: &ModuleLine) -> Result<(), StoreError> {
    let parts: Vec<&str> = entry_name.split('/').collect();
    let [file, id, sym] = parts.as_slice() else {
        return Ok(());
    };
    let same_id = normalize_debug_id(id).is_some_and(|i| i == module.debug_id);
    if *file == module.debug_file && same_id && *sym == module.sym_file_name() {
        return Ok(());
    }
    Err(StoreError::PathMismatch {
        name: entry_name.to_owned(),
        expected: entry_name.to_owned(),
        actual: module.rel_path(),
    })
}

/// Reads until a newline or [`MAX_MODULE_LINE`] bytes or the end.
fn read_head(reader: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; MAX_MODULE_LINE];
    let mut filled = 0;
    while filled < MAX_MODULE_LINE {
        let n = match reader.read(&mut head[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        let had_newline = head[filled..filled + n].contains(&b'\n');
        filled += n;
        if had_newline {
            break;
        }
    }
    head.truncate(filled);
    Ok(head)
}

fn find_sym_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), StoreError> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| StoreError::io(dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| StoreError::io(dir, e))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| StoreError::io(&path, e))?;
        if kind.is_dir() {
            find_sym_files(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("sym"))
            && path.is_file()
        {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "5A9832E5287241C1838ED98914E9B7FF1";

    fn sym(debug_file: &str, id: &str) -> String {
        format!("MODULE windows x86 {id} {debug_file}\nFILE 1 a.c\nFUNC 1000 10 0 main\n")
    }

    fn store(dir: &Path) -> SymbolStore {
        SymbolStore::at(dir.join("symbols"), StoreConfig::default())
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn module_lines_are_parsed_and_placed() {
        let m = ModuleLine::parse(&format!("MODULE windows x86 {ID} test_app.pdb")).unwrap();
        assert_eq!(m.os, "windows");
        assert_eq!(m.arch, "x86");
        assert_eq!(m.rel_path(), format!("test_app.pdb/{ID}/test_app.sym"));
        let m = ModuleLine::parse(
            "\u{feff}MODULE Linux x86_64 0F9C6B3A1E2D4C5B8A7F6E5D4C3B2A190 libxul.so\r",
        )
        .unwrap();
        assert_eq!(
            m.rel_path(),
            "libxul.so/0F9C6B3A1E2D4C5B8A7F6E5D4C3B2A190/libxul.so.sym"
        );
        // upper-case PDB, a name with spaces, a lower-case id normalised
        let m = ModuleLine::parse(
            "MODULE mac arm64 0f9c6b3a1e2d4c5b8a7f6e5d4c3b2a19a Google Chrome Framework",
        )
        .unwrap();
        assert_eq!(m.debug_id, "0F9C6B3A1E2D4C5B8A7F6E5D4C3B2A19a");
        assert_eq!(m.sym_file_name(), "Google Chrome Framework.sym");
        assert_eq!(sym_file_name("XUL.PDB"), "XUL.sym");
        assert_eq!(sym_file_name("foo.x"), "foo.x.sym");
        assert_eq!(sym_file_name("XUL"), "XUL.sym");
    }

    #[test]
    fn bad_module_lines_are_refused() {
        let cases = [
            ("FILE 1 a.c", ModuleLineError::NotModule),
            ("MODULE windows x86", ModuleLineError::MissingFields),
            (
                "MODULE windows x86 XYZ a.pdb",
                ModuleLineError::BadDebugId("XYZ".into()),
            ),
            (
                "MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 ../../etc",
                ModuleLineError::BadDebugFile {
                    name: "../../etc".into(),
                    source: NameError::Separator,
                },
            ),
            (
                "MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 ..",
                ModuleLineError::BadDebugFile {
                    name: "..".into(),
                    source: NameError::Dots,
                },
            ),
            (
                "MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 c:\\x\\a.pdb",
                ModuleLineError::BadDebugFile {
                    name: "c:\\x\\a.pdb".into(),
                    source: NameError::Separator,
                },
            ),
            (
                "MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 a\0b",
                ModuleLineError::BadDebugFile {
                    name: "a\0b".into(),
                    source: NameError::Control,
                },
            ),
        ];
        for (line, want) in cases {
            assert_eq!(ModuleLine::parse(line).unwrap_err(), want, "{line:?}");
        }
        let long = format!("MODULE linux x86 {ID} {}", "a".repeat(MAX_NAME_LEN + 1));
        assert!(matches!(
            ModuleLine::parse(&long),
            Err(ModuleLineError::BadDebugFile {
                source: NameError::TooLong(_),
                ..
            })
        ));
    }

    #[test]
    fn entry_names_are_checked() {
        assert!(check_entry_name("xul.pdb/ABC/xul.sym").is_ok());
        assert!(check_entry_name("dir/").is_ok());
        assert_eq!(check_entry_name("../x.sym"), Err(NameError::Dots));
        assert_eq!(check_entry_name("a/./x.sym"), Err(NameError::Dots));
        assert_eq!(check_entry_name("/etc/x.sym"), Err(NameError::Absolute));
        assert_eq!(check_entry_name("c:/x.sym"), Err(NameError::Absolute));
        assert_eq!(check_entry_name("a\\..\\x.sym"), Err(NameError::Separator));
        assert_eq!(check_entry_name("a\0.sym"), Err(NameError::Control));
    }

    #[test]
    fn add_sym_places_by_module_line_and_bumps_generation() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        assert_eq!(s.generation(), None);
        let stored = s
            .add_sym("x.sym", sym("test_app.pdb", ID).as_bytes())
            .unwrap();
        assert_eq!(stored.path, format!("test_app.pdb/{ID}/test_app.sym"));
        assert!(!stored.replaced);
        let g1 = s.generation().unwrap();
        let again = s
            .add_sym("x.sym", sym("test_app.pdb", ID).as_bytes())
            .unwrap();
        assert!(again.replaced);
        assert_ne!(s.generation().unwrap(), g1);
        assert_eq!(
            fs::read_to_string(s.dir().join(&stored.path)).unwrap(),
            sym("test_app.pdb", ID)
        );
        assert_eq!(s.list().unwrap(), vec![stored.path.clone()]);
        assert_eq!(
            s.locate("test_app.pdb", &ID.to_lowercase(), "test_app.sym"),
            Some(s.dir().join(&stored.path))
        );
        assert_eq!(s.locate("..", ID, "test_app.sym"), None);
        assert_eq!(s.locate("test_app.pdb", ID, "test_app.txt"), None);
        // only the MODULE line, no newline
        let only = format!("MODULE linux x86_64 {ID} a.so");
        assert_eq!(
            s.add_sym("m", only.as_bytes()).unwrap().path,
            format!("a.so/{ID}/a.so.sym")
        );
        // staging leaves nothing behind
        assert_eq!(fs::read_dir(s.dir().join(TMP_DIR)).unwrap().count(), 0);
    }

    #[test]
    fn bad_files_are_refused_with_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let e = s.add_sym("a.sym", &b"hello\nworld\n"[..]).unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::NotSymbolFile {
                    source: ModuleLineError::NotModule,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.is_client_error());
        let e = s.add_sym("b.sym", &vec![b'M'; 10_000][..]).unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::NotSymbolFile {
                    source: ModuleLineError::LineTooLong,
                    ..
                }
            ),
            "{e}"
        );
        let small = SymbolStore::at(
            dir.path().join("small"),
            StoreConfig {
                max_file_bytes: 100,
                ..Default::default()
            },
        );
        let big = format!("{}{}", sym("a.pdb", ID), "x".repeat(200));
        let e = small.add_sym("big.sym", big.as_bytes()).unwrap_err();
        assert!(
            matches!(e, StoreError::FileTooLarge { limit: 100, .. }),
            "{e}"
        );
        assert!(e.is_too_large());
        assert!(small.list().unwrap().is_empty());
        assert_eq!(s.generation(), None, "nothing stored, nothing changed");
    }

    #[test]
    fn zips_are_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let good = sym("test_app.pdb", ID);
        let z = zip_of(&[
            ("test_app.pdb/", b""),
            (&format!("test_app.pdb/{ID}/test_app.sym"), good.as_bytes()),
            ("flat.sym", sym("libc.so", ID).as_bytes()),
            ("README.txt", b"hi"),
        ]);
        let added = s.add_zip("z.zip", io::Cursor::new(z)).unwrap();
        assert_eq!(
            added
                .stored
                .iter()
                .map(|f| f.path.as_str())
                .collect::<Vec<_>>(),
            vec![
                format!("test_app.pdb/{ID}/test_app.sym"),
                format!("libc.so/{ID}/libc.so.sym")
            ]
        );
        assert_eq!(added.ignored, vec!["README.txt".to_owned()]);

        // one bad entry: nothing from this zip is stored
        let other = "0F9C6B3A1E2D4C5B8A7F6E5D4C3B2A190";
        let z = zip_of(&[
            ("ok.sym", sym("ok.pdb", other).as_bytes()),
            ("bad.sym", b"not a symbol file\n"),
        ]);
        let e = s.add_zip("z.zip", io::Cursor::new(z)).unwrap_err();
        assert!(matches!(e, StoreError::NotSymbolFile { .. }), "{e}");
        assert!(!s.dir().join("ok.pdb").exists());

        // Tecken path that disagrees with the MODULE line
        let z = zip_of(&[(&format!("other.pdb/{ID}/other.sym"), good.as_bytes())]);
        let e = s.add_zip("z.zip", io::Cursor::new(z)).unwrap_err();
        assert!(matches!(e, StoreError::PathMismatch { .. }), "{e}");

        // traversal in an entry name
        let z = zip_of(&[("../../evil.sym", good.as_bytes())]);
        let e = s.add_zip("z.zip", io::Cursor::new(z)).unwrap_err();
        assert!(matches!(e, StoreError::UnsafeName { .. }), "{e}");

        let z = zip_of(&[("README.txt", b"hi")]);
        let e = s.add_zip("z.zip", io::Cursor::new(z)).unwrap_err();
        assert!(matches!(e, StoreError::NoSymbolFiles { .. }), "{e}");

        let e = s
            .add_zip("z.zip", io::Cursor::new(b"PK not a zip".to_vec()))
            .unwrap_err();
        assert!(matches!(e, StoreError::BadZip { .. }), "{e}");
        assert_eq!(fs::read_dir(s.dir().join(TMP_DIR)).unwrap().count(), 0);
    }

    #[test]
    fn zip_bombs_stop_at_the_caps() {
        let dir = tempfile::tempdir().unwrap();
        let limits = StoreConfig {
            max_file_bytes: 1024 * 1024,
            max_total_bytes: 3 * 1024 * 1024 / 2,
            max_files: 3,
            ..Default::default()
        };
        let s = SymbolStore::at(dir.path().join("symbols"), limits);
        // 64 MiB of zeros after a MODULE line: refused on its declared size
        let mut bomb = sym("a.pdb", ID).into_bytes();
        bomb.resize(64 * 1024 * 1024, b'0');
        let z = zip_of(&[("a.sym", &bomb)]);
        assert!(z.len() < 1024 * 1024, "compresses well: {}", z.len());
        drop(bomb);
        let started = std::time::Instant::now();
        let e = s.add_zip("bomb.zip", io::Cursor::new(z)).unwrap_err();
        assert!(matches!(e, StoreError::FileTooLarge { .. }), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));

        // each under the file cap, together over the total cap
        let mut part = sym("a.pdb", ID).into_bytes();
        part.resize(900 * 1024, b'0');
        let other = sym("b.pdb", ID);
        let mut part2 = other.into_bytes();
        part2.resize(900 * 1024, b'0');
        let z = zip_of(&[("a.sym", &part), ("b.sym", &part2)]);
        let e = s.add_zip("two.zip", io::Cursor::new(z)).unwrap_err();
        assert!(matches!(e, StoreError::TotalTooLarge { .. }), "{e}");

        let many: Vec<(String, Vec<u8>)> =
            (0..4).map(|i| (format!("{i}.txt"), Vec::new())).collect();
        let refs: Vec<(&str, &[u8])> = many
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        let e = s
            .add_zip("many.zip", io::Cursor::new(zip_of(&refs)))
            .unwrap_err();
        assert!(
            matches!(e, StoreError::TooManyFiles { count: 4, limit: 3 }),
            "{e}"
        );
        assert!(s.list().unwrap().is_empty());
    }

    #[test]
    fn add_paths_walks_directories() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("a/b")).unwrap();
        fs::write(src.join("a/b/one.sym"), sym("one.pdb", ID)).unwrap();
        fs::write(src.join("a/two.SYM"), sym("two", ID)).unwrap();
        fs::write(src.join("a/notes.txt"), "x").unwrap();
        fs::write(src.join("bad.sym"), "nope\n").unwrap();
        let s = store(dir.path());
        let out = s.add_paths(&[src.clone(), dir.path().join("missing")]);
        let ok: Vec<String> = out
            .iter()
            .filter_map(|o| o.result.as_ref().ok())
            .flat_map(|a| a.stored.iter().map(|f| f.path.clone()))
            .collect();
        assert_eq!(
            ok,
            vec![format!("one.pdb/{ID}/one.sym"), format!("two/{ID}/two.sym")]
        );
        let failed: Vec<&PathOutcome> = out.iter().filter(|o| o.result.is_err()).collect();
        assert_eq!(failed.len(), 2);
        assert!(failed[0].source.ends_with("bad.sym"));
        assert!(matches!(failed[1].result, Err(StoreError::Io { .. })));
    }

    #[test]
    fn config_defaults_and_validation() {
        let c = StoreConfig::default();
        assert!(c.validate().is_ok());
        assert_eq!(c.dir(Path::new("/d")), PathBuf::from("/d/symbols"));
        let bad = StoreConfig {
            max_files: 0,
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("SOCORRO_SYMBOLS__MAX_FILES")
        );
    }
}

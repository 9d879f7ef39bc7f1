//! Filesystem object store: each key is a file under a root directory
//! (`<root>/v1/raw_crash/20261125/<id>`), so the tree mirrors a Socorro
//! bucket and can be synced to or from one with any S3 tool.
//!
//! Writes are atomic and durable: the data goes to a temporary file in the
//! target directory, which is fsync'd, renamed over the key, and then the
//! directory is fsync'd. Temporary files start with `.` and are never listed;
//! keys can never start a segment with `.` (see
//! [`crate::keys::validate_object_key`]), so a
//! leftover temporary file from an interrupted write is invisible.
//!
//! Directory fsyncs are group-committed ([`DirSyncer`]): concurrent writers
//! that renamed into the same directory share one fsync that starts after all
//! of their renames, so the per-crash cost under load is about one fsync per
//! file instead of two.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;
use rand::Rng;

use crate::{ObjectStore, StorageError, keys};

/// Directory-tree object store rooted at a path.
#[derive(Debug, Clone)]
pub struct FsObjectStore {
    root: PathBuf,
    /// Directories known to exist durably (their entry in the parent is fsync'd).
    known_dirs: Arc<Mutex<HashSet<PathBuf>>>,
    dir_syncer: Arc<DirSyncer>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave their data inconsistent.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Group commit for directory fsyncs.
///
/// A writer takes a ticket *after* its rename, then waits for the directory's
/// lock. Whoever holds the lock fsyncs the directory once for every ticket
/// issued before the fsync started, so one fsync covers all renames that
/// completed before it; a writer whose ticket is already covered returns
/// without syncing.
#[derive(Debug, Default)]
struct DirSyncer {
    dirs: Mutex<HashMap<PathBuf, Arc<DirSyncState>>>,
}

#[derive(Debug, Default)]
struct DirSyncState {
    issued: AtomicU64,
    /// Directory fsyncs actually done (for tests and debugging).
    fsyncs: AtomicU64,
    /// Every ticket up to this one is durable.
    synced: Mutex<u64>,
}

impl DirSyncer {
    /// Make every rename into `dir` that completed before this call durable.
    fn sync(&self, dir: &Path) -> io::Result<()> {
        let state = lock(&self.dirs)
            .entry(dir.to_path_buf())
            .or_default()
            .clone();
        let ticket = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let mut synced = lock(&state.synced);
        if *synced >= ticket {
            return Ok(());
        }
        // Everything issued so far renamed before taking its ticket.
        let target = state.issued.load(Ordering::SeqCst);
        sync_dir(dir)?;
        state.fsyncs.fetch_add(1, Ordering::Relaxed);
        *synced = target;
        Ok(())
    }

    #[cfg(test)]
    fn fsyncs(&self, dir: &Path) -> u64 {
        lock(&self.dirs)
            .get(dir)
            .map_or(0, |s| s.fsyncs.load(Ordering::Relaxed))
    }

    fn forget(&self, dir: &Path) {
        lock(&self.dirs).remove(dir);
    }
}

/// Classify an IO error from a write (put, delete, mkdir).
///
/// A missing file or directory during a write means something removed a
/// directory under us: worth a retry, never "not found".
fn write_error(context: String, e: io::Error) -> StorageError {
    match e.kind() {
        io::ErrorKind::PermissionDenied
        | io::ErrorKind::ReadOnlyFilesystem
        | io::ErrorKind::NotADirectory
        | io::ErrorKind::IsADirectory
        | io::ErrorKind::InvalidFilename => StorageError::permanent(context, e),
        _ => StorageError::transient(context, e),
    }
}

/// Whether an IO error from a read means "there is no object at this key"
/// (missing, a directory, or a path through a file).
fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory
    )
}

/// Classify an IO error from a read (get, exists, list).
fn read_error(key: &str, e: io::Error) -> StorageError {
    if is_absent(&e) {
        return StorageError::NotFound(key.to_owned());
    }
    match e.kind() {
        io::ErrorKind::PermissionDenied => StorageError::permanent(format!("reading {key}"), e),
        _ => StorageError::transient(format!("reading {key}"), e),
    }
}

fn join_error(e: tokio::task::JoinError) -> StorageError {
    StorageError::transient("storage worker task failed", e)
}

impl FsObjectStore {
    /// Open (creating if needed) a store rooted at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let root = root.into();
        if root.as_os_str().is_empty() {
            return Err(StorageError::Invalid(
                "storage root must not be empty".into(),
            ));
        }
        let ctx = || format!("creating storage root {}", root.display());
        fs::create_dir_all(&root).map_err(|e| write_error(ctx(), e))?;
        // Make the root's own directory entry durable too.
        if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent).map_err(|e| write_error(ctx(), e))?;
        }
        let store = Self {
            root,
            known_dirs: Arc::new(Mutex::new(HashSet::new())),
            dir_syncer: Arc::new(DirSyncer::default()),
        };
        store.remember_dir(&store.root);
        Ok(store)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Map a key to a path, refusing anything that could escape the root.
    fn path_for(&self, key: &str) -> Result<PathBuf, StorageError> {
        keys::validate_object_key(key)?;
        Ok(self.root.join(key))
    }

    fn remember_dir(&self, dir: &Path) {
        if let Ok(mut known) = self.known_dirs.lock() {
            known.insert(dir.to_path_buf());
        }
    }

    fn forget_dir(&self, dir: &Path) {
        if let Ok(mut known) = self.known_dirs.lock() {
            known.remove(dir);
        }
        self.dir_syncer.forget(dir);
    }

    /// Create `dir` and fsync every directory entry created on the way, once.
    fn ensure_dir(&self, dir: &Path) -> io::Result<()> {
        if self
            .known_dirs
            .lock()
            .map(|k| k.contains(dir))
            .unwrap_or(false)
        {
            return Ok(());
        }
        // Find the first ancestor that exists, then create downwards, fsyncing
        // each parent so the new entries survive a crash.
        let mut missing = Vec::new();
        let mut cur = dir;
        loop {
            match fs::metadata(cur) {
                Ok(meta) if meta.is_dir() => break,
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::NotADirectory,
                        format!("{} exists and is not a directory", cur.display()),
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(cur.to_path_buf()),
                Err(e) => return Err(e),
            }
            match cur.parent() {
                Some(p) if !p.as_os_str().is_empty() => cur = p,
                _ => break,
            }
        }
        for d in missing.iter().rev() {
            match fs::create_dir(d) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            if let Some(parent) = d.parent() {
                sync_dir(parent)?;
            }
        }
        self.remember_dir(dir);
        Ok(())
    }

    /// Write `data` to a fsync'd temporary file next to `path`; returns its path.
    fn write_temp(&self, path: &Path, data: &[u8]) -> io::Result<PathBuf> {
        let dir = path.parent().unwrap_or(&self.root);
        self.ensure_dir(dir)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp.{:016x}", rand::rng().random::<u64>()));
        let create = || -> io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_data()
        };
        let mut result = create();
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::NotFound) {
            // The directory was removed since we cached it: create it again.
            self.forget_dir(dir);
            self.ensure_dir(dir)?;
            result = create();
        }
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(tmp)
    }

    fn put_blocking(&self, key: &str, path: &Path, data: &[u8]) -> Result<(), StorageError> {
        let ctx = || format!("writing {key}");
        let tmp = self
            .write_temp(path, data)
            .map_err(|e| write_error(ctx(), e))?;
        if let Err(e) = fs::rename(&tmp, path) {
            let _ = fs::remove_file(&tmp);
            return Err(write_error(ctx(), e));
        }
        self.dir_syncer
            .sync(path.parent().unwrap_or(&self.root))
            .map_err(|e| write_error(ctx(), e))
    }
}

impl FsObjectStore {
    /// Write every object's temporary file (fsync'd), then rename them all
    /// and sync each touched directory once. One blocking task for the whole
    /// batch: a crash's dumps cost one thread hop, not one per file.
    fn put_many_blocking(
        &self,
        planned: Vec<(String, PathBuf, Bytes)>,
    ) -> Result<(), StorageError> {
        let mut written = Vec::with_capacity(planned.len());
        for (key, path, data) in &planned {
            match self.write_temp(path, data) {
                Ok(tmp) => written.push((key, path, tmp)),
                Err(e) => {
                    for (_, _, tmp) in written {
                        let _ = fs::remove_file(tmp);
                    }
                    return Err(write_error(format!("writing {key}"), e));
                }
            }
        }
        let mut dirs = HashSet::new();
        let mut pending = written.into_iter();
        while let Some((key, path, tmp)) = pending.next() {
            if let Err(e) = fs::rename(&tmp, path) {
                // Leave no temporary file behind, ours or the others'.
                let _ = fs::remove_file(&tmp);
                for (_, _, rest) in pending {
                    let _ = fs::remove_file(rest);
                }
                return Err(write_error(format!("writing {key}"), e));
            }
            dirs.insert(path.parent().unwrap_or(&self.root).to_path_buf());
        }
        for dir in dirs {
            self.dir_syncer
                .sync(&dir)
                .map_err(|e| write_error(format!("syncing {}", dir.display()), e))?;
        }
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Collect the keys of every regular file under `dir` (recursively), skipping
/// names that start with `.` (temporary files) and names that are not UTF-8.
fn list_blocking(root: &Path, dir: &Path, out: &mut Vec<String>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if is_absent(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            // Removed while we were listing.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            tracing::warn!(path = %entry.path().display(), "skipping non utf-8 file name in storage");
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            list_blocking(root, &path, out)?;
        } else if file_type.is_file()
            && let Ok(rel) = path.strip_prefix(root)
        {
            let parts: Option<Vec<&str>> =
                rel.components().map(|c| c.as_os_str().to_str()).collect();
            if let Some(parts) = parts {
                out.push(parts.join("/"));
            }
        }
    }
    Ok(())
}

#[async_trait]
impl ObjectStore for FsObjectStore {
    async fn put(&self, key: &str, data: Bytes) -> Result<(), StorageError> {
        let path = self.path_for(key)?;
        let this = self.clone();
        let key = key.to_owned();
        tokio::task::spawn_blocking(move || this.put_blocking(&key, &path, &data))
            .await
            .map_err(join_error)?
    }

    /// Writes and fsyncs every object's temporary file, then renames them and
    /// fsyncs each touched directory once (see `put_many_blocking`).
    async fn put_many(&self, objects: Vec<(String, Bytes)>) -> Result<(), StorageError> {
        // Validate every key before writing anything.
        let mut planned = Vec::with_capacity(objects.len());
        for (key, data) in objects {
            let path = self.path_for(&key)?;
            planned.push((key, path, data));
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.put_many_blocking(planned))
            .await
            .map_err(join_error)?
    }

    async fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        let path = self.path_for(key)?;
        match tokio::fs::read(&path).await {
            Ok(data) => Ok(Bytes::from(data)),
            Err(e) => Err(read_error(key, e)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        let path = self.path_for(key)?;
        match tokio::fs::metadata(&path).await {
            // A directory is a key prefix, not an object.
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if is_absent(&e) => Ok(false),
            Err(e) => Err(read_error(key, e)),
        }
    }

    /// Keys starting with `prefix`. The prefix normally ends with `/`; a
    /// partial last segment (`v1/raw_crash/2016`) also works, as on S3.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        // The directory holding every match: the prefix up to its last `/`.
        let dir_part = prefix.rfind('/').map_or("", |i| &prefix[..i]);
        let dir = if dir_part.is_empty() {
            self.root.clone()
        } else {
            self.path_for(dir_part)?
        };
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            list_blocking(&root, &dir, &mut out)
                .map_err(|e| StorageError::transient(format!("listing {prefix}"), e))?;
            out.retain(|k| k.starts_with(&prefix));
            out.sort();
            Ok(out)
        })
        .await
        .map_err(join_error)?
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.path_for(key)?;
        let this = self.clone();
        let key = key.to_owned();
        tokio::task::spawn_blocking(move || {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if is_absent(&e) => return Err(StorageError::NotFound(key)),
                Err(e) => return Err(write_error(format!("deleting {key}"), e)),
            }
            // Make the removal durable: delete_crash relies on the raw crash
            // being gone before the rest.
            this.dir_syncer
                .sync(path.parent().unwrap_or(&this.root))
                .map_err(|e| write_error(format!("deleting {key}"), e))
        })
        .await
        .map_err(join_error)?
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        crate::object_store::round_trip(self).await
    }

    fn describe(&self) -> String {
        format!("fs:{}", self.root.display())
    }
}

#[cfg(test)]
mod dir_sync_tests {
    use super::*;

    #[tokio::test]
    async fn sequential_writes_each_sync_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FsObjectStore::open(tmp.path()).unwrap();
        for i in 0..5 {
            store
                .put(&format!("d/k{i}"), Bytes::from_static(b"x"))
                .await
                .unwrap();
        }
        assert_eq!(store.dir_syncer.fsyncs(&tmp.path().join("d")), 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writes_share_directory_fsyncs() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FsObjectStore::open(tmp.path()).unwrap();
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .put(&format!("d/k{i}"), Bytes::from(vec![1u8; 4096]))
                        .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let fsyncs = store.dir_syncer.fsyncs(&tmp.path().join("d"));
        assert!((1..=64).contains(&fsyncs), "{fsyncs}");
        assert_eq!(store.list("d/").await.unwrap().len(), 64);
    }
}

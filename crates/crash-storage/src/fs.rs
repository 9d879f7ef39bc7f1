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
//! Objects of 64 KiB or more (dumps) are written with `O_DIRECT` on Linux:
//! straight from an aligned copy to the disk, skipping the page cache. A
//! buffered write plus `fdatasync` of a 300 KB dump costs about twice the
//! CPU and disk time (page-cache allocation, copy, dirty writeback); with
//! direct IO a crash's three durable files cost about what one buffered
//! file did. Where the filesystem refuses `O_DIRECT` (tmpfs, some FUSE and
//! network filesystems) the store falls back to buffered writes for good.
//!
//! Directory fsyncs are group-committed ([`DirSyncer`]): concurrent writers
//! that renamed into the same directory share one fsync that starts after all
//! of their renames, so the per-crash cost under load is about one fsync per
//! file instead of two.
//!
//! A store opened with [`FsObjectStore::open_journaled`] (what `socorro run`
//! does) makes writes durable through a write-ahead journal instead (see
//! `journal`): a crash costs one shared `fdatasync` of the journal and its
//! files are written without any fsync, synced in bulk by a background
//! checkpoint. The files and keys are exactly the same.

#[cfg(target_os = "linux")]
mod journal;

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;
use rand::Rng;

use crate::{ObjectStore, StorageError, keys};

/// What one storage journal has done since this process opened it (see
/// [`journal_stats`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalStats {
    /// The store root the journal belongs to.
    pub root: PathBuf,
    pub capacity_bytes: u64,
    /// Ring bytes holding records not yet checkpointed.
    pub used_bytes: u64,
    /// Records appended (one per crash or object write).
    pub records: u64,
    /// Journal syncs (each makes every record written so far durable).
    pub syncs: u64,
    /// Appends that had to wait for a checkpoint to free ring space.
    pub ring_waits: u64,
    pub checkpoints: u64,
    /// Time spent in checkpoints (`syncfs` plus the superblock).
    pub checkpoint_seconds: f64,
    /// Whether an IO error stopped the journal (writes fail until restart).
    pub failed: bool,
}

/// The write-ahead journal's file name in a store's root (never listed as
/// an object: keys cannot start with `.`).
pub const JOURNAL_FILE: &str = ".journal";

/// Every storage journal open in this process, for metrics. Empty where
/// there is none (no fs store open, journal off, or not Linux).
pub fn journal_stats() -> Vec<JournalStats> {
    #[cfg(target_os = "linux")]
    {
        let mut stats: Vec<JournalStats> =
            journal::open_journals().iter().map(|j| j.stats()).collect();
        stats.sort_by(|a, b| a.root.cmp(&b.root));
        stats
    }
    #[cfg(not(target_os = "linux"))]
    Vec::new()
}

/// Directory-tree object store rooted at a path.
#[derive(Debug, Clone)]
pub struct FsObjectStore {
    root: PathBuf,
    /// Directories known to exist durably (their entry in the parent is fsync'd).
    known_dirs: Arc<Mutex<HashSet<PathBuf>>>,
    dir_syncer: Arc<DirSyncer>,
    /// Whether large objects are still tried with `O_DIRECT` (cleared the
    /// first time the filesystem refuses it).
    direct_io: Arc<AtomicBool>,
    /// Whether new journaled files are still tried as unnamed files linked
    /// into place (`O_TMPFILE`; cleared the first time that fails here).
    #[cfg(target_os = "linux")]
    unnamed_files: Arc<AtomicBool>,
    /// The write-ahead journal, if this store uses one.
    #[cfg(target_os = "linux")]
    journal: Option<Arc<journal::Journal>>,
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
            direct_io: Arc::new(AtomicBool::new(cfg!(target_os = "linux"))),
            #[cfg(target_os = "linux")]
            unnamed_files: Arc::new(AtomicBool::new(true)),
            #[cfg(target_os = "linux")]
            journal: None,
        };
        store.remember_dir(&store.root);
        Ok(store)
    }

    /// Open a store whose writes go through a write-ahead journal of
    /// `journal_bytes` (at least 1 MiB; 0 means none, as [`Self::open`]),
    /// replaying what a crash or power loss left in it first.
    ///
    /// Another process already journaling this root (or a platform without
    /// the journal) leaves this store writing each file durably, as
    /// [`Self::open`] does. Stores opened on the same root in one process
    /// share the journal.
    pub fn open_journaled(
        root: impl Into<PathBuf>,
        journal_bytes: u64,
    ) -> Result<Self, StorageError> {
        #[allow(unused_mut)] // without the journal on other platforms
        let mut store = Self::open(root)?;
        #[cfg(target_os = "linux")]
        if journal_bytes > 0 {
            let replayer = store.clone();
            let opened = journal::Journal::open(&store.root, journal_bytes, &mut |op, data| {
                replayer.replay(op, data)
            });
            match opened {
                Ok(j) => store.journal = Some(j),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    tracing::info!(root = %store.root.display(), "crash storage journal in use by another process; syncing each file instead");
                }
                Err(e) => {
                    return Err(write_error(
                        format!("opening the journal of {}", store.root.display()),
                        e,
                    ));
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = journal_bytes;
        Ok(store)
    }

    /// Apply one replayed journal op.
    #[cfg(target_os = "linux")]
    fn replay(&self, op: &journal::RecordOp, data: &[u8]) -> io::Result<()> {
        let path = match self.path_for(&op.key) {
            Ok(path) => path,
            Err(e) => {
                tracing::warn!(key = %op.key, error = %e, "skipping a journal record with an invalid key");
                return Ok(());
            }
        };
        let done = if op.put {
            self.write_unsynced(&path, data, None, true)
        } else {
            match fs::remove_file(&path) {
                Err(e) if !is_absent(&e) => Err(e),
                _ => Ok(()),
            }
        };
        match done {
            // A key the tree can no longer hold (a directory or a file is in
            // the way) would stop every start: skip it, loudly. Anything else
            // (a full or failing disk) stops the replay, to be retried.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::IsADirectory
                        | io::ErrorKind::NotADirectory
                        | io::ErrorKind::InvalidFilename
                ) =>
            {
                tracing::error!(key = %op.key, error = %e, "cannot replay a journaled write; skipped");
                Ok(())
            }
            other => other,
        }
    }

    /// Write an object's file without any fsync (the journal holds it
    /// durably): in place, or with `replace` so readers never see it half
    /// written: an unnamed file linked in ([`Self::link_unnamed`]), or a
    /// temporary file renamed over an existing one. `aligned` is `data`
    /// zero-padded to a whole block in a 4 KiB-aligned buffer, for
    /// `O_DIRECT`.
    #[cfg(target_os = "linux")]
    fn write_unsynced(
        &self,
        path: &Path,
        data: &[u8],
        aligned: Option<&[u8]>,
        replace: bool,
    ) -> io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = path.parent().unwrap_or(&self.root);
        // A new file is best made as an unnamed file linked into place: one
        // directory entry instead of a temporary name and a rename.
        if replace && self.in_dir(dir, || self.link_unnamed(dir, path, data))? {
            return Ok(());
        }
        let target = if replace {
            temp_path(dir, path)
        } else {
            path.to_path_buf()
        };
        let create = || -> io::Result<()> {
            if let Some(aligned) = aligned.filter(|_| self.use_direct_io(data.len())) {
                let opened = fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .custom_flags(libc::O_DIRECT)
                    .open(&target);
                match opened {
                    Ok(mut f) => {
                        let whole = data.len() / DIRECT_IO_ALIGN * DIRECT_IO_ALIGN;
                        f.write_all(&aligned[..whole])?;
                        if whole < data.len() {
                            // The last partial block goes through the page
                            // cache: padding it and cutting the file back
                            // would allocate and free (and discard) a block.
                            rustix::fs::fcntl_setfl(&f, rustix::fs::OFlags::empty())?;
                            f.write_all(&data[whole..])?;
                        }
                        return Ok(());
                    }
                    Err(e) if e.kind() == io::ErrorKind::InvalidInput => self.refuse_direct_io(&e),
                    Err(e) => return Err(e),
                }
            }
            File::create(&target)?.write_all(data)
        };
        let mut result = self.in_dir(dir, create);
        if replace {
            result = result.and_then(|()| fs::rename(&target, path));
            if result.is_err() {
                let _ = fs::remove_file(&target);
            }
        }
        result
    }

    /// Write `data` to an unnamed file in `dir` (`O_TMPFILE`) and link it
    /// in as `path`, so no reader ever sees it partly written. `Ok(false)`
    /// when `path` already exists or this system cannot do it (the caller
    /// then writes a temporary file and renames it).
    #[cfg(target_os = "linux")]
    fn link_unnamed(&self, dir: &Path, path: &Path, data: &[u8]) -> io::Result<bool> {
        use rustix::fs::{AtFlags, CWD};
        use rustix::io::Errno;
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        if !self.unnamed_files.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let unsupported = |e: &dyn std::fmt::Display| {
            tracing::info!(root = %self.root.display(), error = %e, "no unnamed files on this system; using temporary names");
            self.unnamed_files.store(false, Ordering::Relaxed);
            Ok(false)
        };
        let mut file = match fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_TMPFILE)
            .open(dir)
        {
            Ok(file) => file,
            Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR)) => {
                return unsupported(&e);
            }
            Err(e) => return Err(e),
        };
        file.write_all(data)?;
        // Linking an open file by descriptor needs no privilege through /proc.
        let fd = format!("/proc/self/fd/{}", file.as_raw_fd());
        match rustix::fs::linkat(CWD, fd.as_str(), CWD, path, AtFlags::SYMLINK_FOLLOW) {
            Ok(()) => Ok(true),
            Err(Errno::EXIST) => Ok(false),
            Err(Errno::NOENT) if !Path::new("/proc/self/fd").is_dir() => {
                unsupported(&"/proc is not mounted")
            }
            Err(e) => Err(e.into()),
        }
    }

    /// [`Self::put_blocking`] through the journal: one durable record for
    /// the whole crash, then its files: `first` written in place when a
    /// `last` follows (readers wait for it), `last` and lone objects linked
    /// or renamed into place.
    #[cfg(target_os = "linux")]
    fn put_journaled(
        &self,
        journal: &journal::Journal,
        first: &[Planned],
        last: Option<&Planned>,
    ) -> Result<(), StorageError> {
        let ops: Vec<journal::Op<'_>> = first
            .iter()
            .chain(last)
            .map(|(key, _, data)| journal::Op::Put(key, data))
            .collect();
        let journal_error = |e| write_error("writing the storage journal".to_owned(), e);
        if journal::record_len(&ops) > journal.max_record() {
            // Too big for the ring: made durable on its own. An older
            // version of one of these objects may still be in the ring, and
            // a replay would write it over this one: checkpoint first.
            journal.checkpoint_all().map_err(journal_error)?;
            return self.put_blocking(first, last);
        }
        let record = journal.append(&ops).map_err(journal_error)?;
        let buf = record.buf.as_slice();
        let write = |i: usize, (key, path, _): &Planned, replace: bool| {
            let range = record.ops[i].data.clone();
            let padded = range.start..range.end.div_ceil(DIRECT_IO_ALIGN) * DIRECT_IO_ALIGN;
            self.write_unsynced(path, &buf[range], Some(&buf[padded]), replace)
                .map_err(|e| write_error(format!("writing {key}"), e))
        };
        match last {
            Some(last) => {
                // Objects behind a `last` are read only once it is visible:
                // they go in place, while the journal syncs. `last` waits for
                // the record to be durable, so a crash whose raw crash
                // survives a power loss is one the journal can replay.
                for (i, planned) in first.iter().enumerate() {
                    write(i, planned, false)?;
                }
                record.wait_durable().map_err(journal_error)?;
                write(first.len(), last, true)
            }
            None => {
                record.wait_durable().map_err(journal_error)?;
                for (i, planned) in first.iter().enumerate() {
                    write(i, planned, true)?;
                }
                Ok(())
            }
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Make every rename into `dirs` that completed before this call
    /// durable (directory fsyncs shared with concurrent writers).
    fn barrier<'a>(&self, dirs: impl IntoIterator<Item = &'a Path>) -> io::Result<()> {
        for dir in dirs {
            self.dir_syncer.sync(dir)?;
        }
        Ok(())
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

    /// Run `create` (which makes a file in `dir`) once `dir` exists; if the
    /// directory was removed since it was cached, create it again and retry.
    fn in_dir<T>(&self, dir: &Path, create: impl Fn() -> io::Result<T>) -> io::Result<T> {
        self.ensure_dir(dir)?;
        match create() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.forget_dir(dir);
                self.ensure_dir(dir)?;
                create()
            }
            other => other,
        }
    }

    /// Whether an object of `len` bytes is written with `O_DIRECT`.
    fn use_direct_io(&self, len: usize) -> bool {
        len >= DIRECT_IO_MIN_BYTES && self.direct_io.load(Ordering::Relaxed)
    }

    /// The filesystem refused `O_DIRECT` (EINVAL): write buffered from now on.
    fn refuse_direct_io(&self, e: &io::Error) {
        tracing::info!(root = %self.root.display(), error = %e, "no direct IO on this file system; using buffered writes");
        self.direct_io.store(false, Ordering::Relaxed);
    }

    /// Create `dir` and fsync every directory entry created on the way, once
    /// (new directories are rare: journaled writes pay this too, so a
    /// directory the cache knows is always durable).
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
        let tmp = temp_path(dir, path);
        let create = || -> io::Result<()> {
            if self.use_direct_io(data.len()) {
                match write_direct(&tmp, data) {
                    Err(e) if e.kind() == io::ErrorKind::InvalidInput => self.refuse_direct_io(&e),
                    other => return other,
                }
            }
            let mut f = File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_data()
        };
        if let Err(e) = self.in_dir(dir, create) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(tmp)
    }

    /// Write `first`, then `last`: every temporary file is written and
    /// fsync'd, the `first` objects are renamed into place and their
    /// directories synced, then `last` is. So once `last` is visible all of
    /// `first` is durable. One blocking task for the whole crash: its files
    /// cost one thread hop, not one per file (or two for `put_many` + `put`).
    /// A failure leaves no temporary file behind.
    fn put_blocking(&self, first: &[Planned], last: Option<&Planned>) -> Result<(), StorageError> {
        let mut temps = Vec::with_capacity(first.len() + 1);
        for (key, path, data) in first.iter().chain(last) {
            match self.write_temp(path, data) {
                Ok(tmp) => temps.push(tmp),
                Err(e) => {
                    remove_all(&temps);
                    return Err(write_error(format!("writing {key}"), e));
                }
            }
        }
        let (first_temps, last_temp) = temps.split_at(first.len());
        let mut dirs = HashSet::new();
        for (i, ((key, path, _), tmp)) in first.iter().zip(first_temps).enumerate() {
            if let Err(e) = fs::rename(tmp, path) {
                // Leave no temporary file behind, ours or the others'.
                remove_all(&temps[i..]);
                return Err(write_error(format!("writing {key}"), e));
            }
            dirs.insert(path.parent().unwrap_or(&self.root));
        }
        if !first.is_empty()
            && let Err(e) = self.barrier(dirs)
        {
            remove_all(last_temp);
            return Err(write_error("syncing directories".to_owned(), e));
        }
        if let (Some((key, path, _)), [tmp]) = (last, last_temp) {
            let ctx = || format!("writing {key}");
            if let Err(e) = fs::rename(tmp, path) {
                let _ = fs::remove_file(tmp);
                return Err(write_error(ctx(), e));
            }
            self.barrier([path.parent().unwrap_or(&self.root)])
                .map_err(|e| write_error(ctx(), e))?;
        }
        Ok(())
    }

    /// Validate every key, then run [`Self::put_blocking`] on a blocking thread.
    async fn put_planned(
        &self,
        first: Vec<(String, Bytes)>,
        last: Option<(String, Bytes)>,
    ) -> Result<(), StorageError> {
        let plan = |(key, data): (String, Bytes)| -> Result<Planned, StorageError> {
            let path = self.path_for(&key)?;
            Ok((key, path, data))
        };
        let first = first.into_iter().map(plan).collect::<Result<Vec<_>, _>>()?;
        let last = last.map(plan).transpose()?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            #[cfg(target_os = "linux")]
            if let Some(journal) = &this.journal {
                return this.put_journaled(journal, &first, last.as_ref());
            }
            this.put_blocking(&first, last.as_ref())
        })
        .await
        .map_err(join_error)?
    }
}

/// A fresh temporary file name for `path` in `dir`: starts with `.`, so
/// never listed.
fn temp_path(dir: &Path, path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    dir.join(format!(".{name}.tmp.{:016x}", rand::rng().random::<u64>()))
}

/// An object to write: key, path, data.
type Planned = (String, PathBuf, Bytes);

fn remove_all(temps: &[PathBuf]) {
    for tmp in temps {
        let _ = fs::remove_file(tmp);
    }
}

/// Objects this large are written with `O_DIRECT` (see the module docs).
const DIRECT_IO_MIN_BYTES: usize = 64 * 1024;
/// Alignment of buffer, offset and length for `O_DIRECT` (covers 512-byte
/// and 4 KiB logical blocks): the journal's block, so its record buffers
/// serve direct IO as they are.
#[cfg(target_os = "linux")]
const DIRECT_IO_ALIGN: usize = journal::BLOCK as usize;

/// Write `data` to a new file at `path` with `O_DIRECT` and make it durable:
/// the data is copied to an aligned buffer padded to whole blocks, written,
/// and the file cut back to its length before `fdatasync`. `InvalidInput`
/// (EINVAL) means the filesystem does not support it; `path` is then absent.
/// Public for the collector benchmark's disk-ceiling measurement.
#[cfg(target_os = "linux")]
pub fn write_direct(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut buf =
        journal::AlignedBuf::with_capacity(data.len().div_ceil(DIRECT_IO_ALIGN) * DIRECT_IO_ALIGN);
    buf.push(data);
    buf.pad();
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)?;
        f.write_all(buf.as_slice())?;
        f.set_len(data.len() as u64)?;
        f.sync_data()
    })();
    if result.is_err() {
        let _ = fs::remove_file(path);
    }
    result
}

/// `O_DIRECT` is Linux-only here: elsewhere this always refuses.
#[cfg(not(target_os = "linux"))]
pub fn write_direct(_path: &Path, _data: &[u8]) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::InvalidInput))
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
        self.put_planned(Vec::new(), Some((key.to_owned(), data)))
            .await
    }

    /// Writes every object's temporary file, then renames them all and syncs
    /// once (see `put_blocking`).
    async fn put_many(&self, objects: Vec<(String, Bytes)>) -> Result<(), StorageError> {
        self.put_planned(objects, None).await
    }

    /// One blocking task and one set of shared syncs for a whole crash.
    async fn put_many_then(
        &self,
        first: Vec<(String, Bytes)>,
        last: (String, Bytes),
    ) -> Result<(), StorageError> {
        self.put_planned(first, Some(last)).await
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
            #[cfg(target_os = "linux")]
            if let Some(journal) = &this.journal {
                return journal
                    .commit(&[journal::Op::Delete(&key)])
                    .map(drop)
                    .map_err(|e| write_error(format!("deleting {key}"), e));
            }
            // Make the removal durable: delete_crash relies on the raw crash
            // being gone before the rest.
            this.barrier([path.parent().unwrap_or(&this.root)])
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

    #[tokio::test]
    async fn large_objects_round_trip_exactly() {
        // Around the direct-IO threshold and block size, and a dump-sized
        // object whose length is not a whole number of blocks.
        let tmp = tempfile::tempdir().unwrap();
        let store = FsObjectStore::open(tmp.path()).unwrap();
        for len in [
            DIRECT_IO_MIN_BYTES - 1,
            DIRECT_IO_MIN_BYTES,
            DIRECT_IO_MIN_BYTES + 1,
            300_001,
            1 << 20,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let key = format!("v1/dump/{len}");
            store.put(&key, Bytes::from(data.clone())).await.unwrap();
            assert_eq!(store.get(&key).await.unwrap(), data, "{len}");
            let on_disk = std::fs::metadata(tmp.path().join(&key)).unwrap().len();
            assert_eq!(on_disk, len as u64);
            // Replacing it with a shorter object leaves no tail behind.
            store
                .put(&key, Bytes::from(vec![9u8; len / 2]))
                .await
                .unwrap();
            assert_eq!(store.get(&key).await.unwrap(), vec![9u8; len / 2]);
        }
        assert_eq!(store.list("v1/dump/").await.unwrap().len(), 5);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn direct_write_is_exact_or_refused_cleanly() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let data: Vec<u8> = (0..100_003).map(|i| (i % 253) as u8).collect();
        match write_direct(&path, &data) {
            Ok(()) => assert_eq!(std::fs::read(&path).unwrap(), data),
            // A filesystem without O_DIRECT (tmpfs): nothing is left behind.
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
                assert!(!path.exists());
            }
        }
    }

    #[tokio::test]
    async fn a_crash_is_one_batch_raw_crash_last() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FsObjectStore::open(tmp.path()).unwrap();
        store
            .put_many_then(
                vec![
                    ("d/a".into(), Bytes::from_static(b"a")),
                    ("n/a".into(), Bytes::from_static(b"n")),
                ],
                ("r/a".into(), Bytes::from_static(b"r")),
            )
            .await
            .unwrap();
        for dir in ["d", "n", "r"] {
            assert_eq!(store.dir_syncer.fsyncs(&tmp.path().join(dir)), 1, "{dir}");
        }
        assert_eq!(store.get("r/a").await.unwrap(), Bytes::from_static(b"r"));
        // A bad key in either part writes nothing at all.
        for (first, last) in [("d/../x", "r/b"), ("d/b", "r/../b")] {
            let result = store
                .put_many_then(
                    vec![(first.into(), Bytes::from_static(b"x"))],
                    (last.into(), Bytes::from_static(b"x")),
                )
                .await;
            assert!(result.is_err());
        }
        assert_eq!(store.list("d/").await.unwrap(), ["d/a"]);
        assert_eq!(store.list("r/").await.unwrap(), ["r/a"]);
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

#[cfg(all(test, target_os = "linux"))]
mod journal_tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn read(root: &Path, key: &str) -> Option<Vec<u8>> {
        fs::read(root.join(key)).ok()
    }

    #[tokio::test]
    async fn journaled_writes_land_in_the_usual_files() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FsObjectStore::open_journaled(tmp.path(), MIB).unwrap();
        assert!(store.journal.is_some());
        let dump: Bytes = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        store
            .put_many_then(
                vec![("v1/dump/a".into(), dump.clone())],
                ("v1/raw_crash/a".into(), Bytes::from_static(b"{}")),
            )
            .await
            .unwrap();
        assert_eq!(read(tmp.path(), "v1/dump/a").unwrap(), dump);
        assert_eq!(store.get("v1/raw_crash/a").await.unwrap(), "{}");
        // Larger than a quarter of the ring: written durably file by file.
        let big: Bytes = vec![7u8; 600_000].into();
        store.put("v1/dump/b", big.clone()).await.unwrap();
        assert_eq!(store.get("v1/dump/b").await.unwrap(), big);
        store.delete("v1/dump/a").await.unwrap();
        assert!(!store.exists("v1/dump/a").await.unwrap());
        // Only the keys: no temporary files, the journal is not listed.
        assert_eq!(
            store.list("").await.unwrap(),
            ["v1/dump/b", "v1/raw_crash/a"]
        );
    }

    #[tokio::test]
    async fn journal_stats_count_what_the_journal_did() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let store = FsObjectStore::open_journaled(&root, MIB).unwrap();
        let mine = || journal_stats().into_iter().find(|s| s.root == root);
        assert_eq!(mine().unwrap().records, 0);
        store.put("a", Bytes::from_static(b"1")).await.unwrap();
        store.put("b", Bytes::from_static(b"2")).await.unwrap();
        let stats = mine().unwrap();
        assert_eq!((stats.records, stats.capacity_bytes), (2, MIB));
        assert!((1..=2).contains(&stats.syncs), "{stats:?}");
        assert!(stats.used_bytes > 0 && !stats.failed, "{stats:?}");
        drop(store);
        assert!(mine().is_none(), "a closed journal is not listed");
    }

    #[tokio::test]
    async fn new_objects_are_linked_in_and_existing_ones_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FsObjectStore::open_journaled(tmp.path(), MIB).unwrap();
        let dir = tmp.path().join("v1/raw_crash");
        store
            .put("v1/raw_crash/a", Bytes::from_static(b"one"))
            .await
            .unwrap();
        // A new name is an unnamed file linked in (ext4 and tmpfs can).
        assert!(store.unnamed_files.load(Ordering::Relaxed));
        assert!(store.link_unnamed(&dir, &dir.join("b"), b"two").unwrap());
        assert_eq!(read(tmp.path(), "v1/raw_crash/b").unwrap(), b"two");
        // An existing name cannot be linked over: it is replaced by rename.
        assert!(!store.link_unnamed(&dir, &dir.join("a"), b"x").unwrap());
        store
            .put("v1/raw_crash/a", Bytes::from_static(b"three"))
            .await
            .unwrap();
        assert_eq!(read(tmp.path(), "v1/raw_crash/a").unwrap(), b"three");
        assert_eq!(
            store.list("").await.unwrap(),
            ["v1/raw_crash/a", "v1/raw_crash/b"]
        );
        // A missing directory is an error, not "unsupported".
        let gone = tmp.path().join("gone");
        assert!(store.link_unnamed(&gone, &gone.join("c"), b"x").is_err());
        assert!(store.unnamed_files.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn reopening_replays_what_a_power_loss_took() {
        let tmp = tempfile::tempdir().unwrap();
        let dump: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        fs::create_dir_all(tmp.path().join("v1/dump/in-the-way")).unwrap();
        fs::write(tmp.path().join("v1/dump/gone"), b"x").unwrap();
        {
            // Records acknowledged but their files never reached the disk.
            let j = journal::Journal::open(tmp.path(), MIB, &mut |_, _| Ok(())).unwrap();
            let ops = [
                journal::Op::Put("v1/dump/a", &dump),
                journal::Op::Put("v1/raw_crash/20261207/a", b"{\"uuid\":\"a\"}"),
            ];
            std::mem::forget(j.commit(&ops).unwrap());
            std::mem::forget(j.commit(&[journal::Op::Delete("v1/dump/gone")]).unwrap());
            std::mem::forget(j.commit(&[journal::Op::Put("../escape", b"no")]).unwrap());
            // A directory now where the object was: skipped, not fatal.
            let blocked = [journal::Op::Put("v1/dump/in-the-way", b"no")];
            std::mem::forget(j.commit(&blocked).unwrap());
            let after = [journal::Op::Put("v1/dump_names/a", b"[]")];
            std::mem::forget(j.commit(&after).unwrap());
        }
        let store = FsObjectStore::open_journaled(tmp.path(), MIB).unwrap();
        assert_eq!(read(tmp.path(), "v1/dump/a").unwrap(), dump);
        assert_eq!(
            store.get("v1/raw_crash/20261207/a").await.unwrap(),
            "{\"uuid\":\"a\"}"
        );
        assert!(read(tmp.path(), "v1/dump/gone").is_none());
        assert!(tmp.path().join("v1/dump/in-the-way").is_dir());
        assert_eq!(read(tmp.path(), "v1/dump_names/a").unwrap(), b"[]");
        assert!(!tmp.path().parent().unwrap().join("escape").exists());
        // Replayed once: a file removed now stays removed on the next open.
        drop(store);
        fs::remove_file(tmp.path().join("v1/dump/a")).unwrap();
        let _store = FsObjectStore::open_journaled(tmp.path(), MIB).unwrap();
        assert!(read(tmp.path(), "v1/dump/a").is_none());
    }

    #[tokio::test]
    async fn an_object_too_big_for_the_ring_is_not_undone_by_a_replay() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FsObjectStore::open_journaled(tmp.path(), MIB).unwrap();
        store
            .put("v1/dump/a", Bytes::from_static(b"old"))
            .await
            .unwrap();
        // Over a quarter of the 1 MiB ring: written and synced on its own.
        let big: Vec<u8> = (0..400_000u32).map(|i| (i % 251) as u8).collect();
        store
            .put("v1/dump/a", Bytes::from(big.clone()))
            .await
            .unwrap();
        // Closed without a last checkpoint, as by a power loss: reopening
        // replays whatever the ring still holds.
        drop(store);
        let _store = FsObjectStore::open_journaled(tmp.path(), MIB).unwrap();
        assert_eq!(read(tmp.path(), "v1/dump/a").unwrap(), big);
    }

    #[tokio::test]
    async fn a_second_process_syncs_each_file_itself() {
        let tmp = tempfile::tempdir().unwrap();
        let other = File::create(tmp.path().join(JOURNAL_FILE)).unwrap();
        rustix::fs::flock(&other, rustix::fs::FlockOperation::LockExclusive).unwrap();
        let store = FsObjectStore::open_journaled(tmp.path(), MIB).unwrap();
        assert!(store.journal.is_none());
        store.put("k", Bytes::from_static(b"v")).await.unwrap();
        assert_eq!(store.dir_syncer.fsyncs(tmp.path()), 1);
    }
}

//! Write-ahead journal of the filesystem store.
//!
//! Making every file of a crash durable on its own costs, per crash, three
//! `fdatasync`s (each an inode write and a disk cache flush), two directory
//! fsyncs and three temporary names in very large directories. With the
//! journal a write is one record appended to a preallocated ring file
//! (`<root>/.journal`) with `O_DIRECT`; concurrent writers share one
//! `fdatasync` of the ring (group commit). The objects are then written to
//! their usual files without any fsync, and a background checkpoint makes
//! them durable in bulk (`syncfs`) before the ring space they used is
//! reclaimed. After a power loss, opening the store replays every record
//! past the last checkpoint, so what was acknowledged is on disk again.
//!
//! Layout: two superblocks (4 KiB each, written alternately, the valid one
//! with the highest generation wins) holding the ring capacity and the
//! checkpoint (logical position and sequence number of the first record not
//! yet known durable in its files), then the ring. A record is 4 KiB
//! aligned: a header (magic, sequence, logical position, length, kind, ops,
//! CRC-32 of the whole record) and each object's bytes on a block boundary,
//! so a large object goes from the record buffer to its file with
//! `O_DIRECT` without another copy. Records never straddle the end of the
//! ring: a wrap record skips to its start.
//!
//! An acknowledged record is one whose bytes and every earlier record's are
//! synced (the durable prefix), so replay, which stops at the first record
//! that is not valid, never misses an acknowledged one.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Range;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::JOURNAL_FILE;

/// Block size: alignment of records, object data and `O_DIRECT` IO.
pub(crate) const BLOCK: u64 = 4096;
const SUPERBLOCKS: u64 = 2 * BLOCK;
const SUPER_MAGIC: &[u8; 8] = b"SOCJRNL1";
const RECORD_MAGIC: &[u8; 8] = b"SOCREC01";
/// A record of object writes and deletes.
const KIND_OPS: u32 = 1;
/// Padding to the end of the ring; the next record (same sequence) is at its start.
const KIND_WRAP: u32 = 2;
/// A record whose write failed: skipped, its sequence number consumed.
const KIND_VOID: u32 = 3;
const OP_PUT: u8 = 1;
const OP_DELETE: u8 = 2;
/// Fixed part of a record header.
const HEADER_FIXED: usize = 48;
/// Checkpoint this often while records are waiting for one.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
/// The smallest ring accepted.
pub(crate) const MIN_CAPACITY: u64 = 1024 * 1024;

/// One change a record carries.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op<'a> {
    Put(&'a str, &'a [u8]),
    Delete(&'a str),
}

/// An op as laid out in a record: the object's bytes are `data` in the
/// record buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordOp {
    pub put: bool,
    pub key: String,
    pub data: Range<usize>,
}

/// A buffer whose start is 4 KiB aligned (for `O_DIRECT`).
#[derive(Debug)]
pub(crate) struct AlignedBuf {
    buf: Vec<u8>,
    offset: usize,
}

/// Buffers of at least this many bytes go back to [`BUFFER_POOL`] when
/// dropped. One record is made per crash: allocating its ~300 KB afresh
/// each time had the kernel fault in and zero new pages for every crash.
const POOLED_MIN_BYTES: usize = 64 * 1024;
/// At most this many bytes wait in the pool.
const POOL_MAX_BYTES: usize = 64 * 1024 * 1024;

/// Free record buffers, and the bytes they hold.
static BUFFER_POOL: Mutex<(Vec<Vec<u8>>, usize)> = Mutex::new((Vec::new(), 0));

fn buffer_pool() -> MutexGuard<'static, (Vec<Vec<u8>>, usize)> {
    BUFFER_POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AlignedBuf {
    pub(crate) fn with_capacity(len: usize) -> Self {
        let block = BLOCK as usize;
        let want = len + block;
        let pooled = (want >= POOLED_MIN_BYTES)
            .then(|| {
                let mut pool = buffer_pool();
                let (free, bytes) = &mut *pool;
                let at = free.iter().rposition(|b| b.capacity() >= want)?;
                let buf = free.swap_remove(at);
                *bytes -= buf.capacity();
                Some(buf)
            })
            .flatten();
        let mut buf = pooled.unwrap_or_else(|| Vec::with_capacity(want));
        buf.clear();
        // The capacity covers everything pushed later, so the allocation never
        // moves and the start stays aligned.
        let offset = buf.as_ptr().align_offset(block);
        buf.resize(offset, 0);
        Self { buf, offset }
    }

    fn zeroed(len: usize) -> Self {
        let mut b = Self::with_capacity(len);
        b.buf.resize(b.offset + len, 0);
        b
    }

    pub(crate) fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Zero-fill up to the next block boundary.
    pub(crate) fn pad(&mut self) {
        let len = self.len();
        let padded = len.div_ceil(BLOCK as usize) * BLOCK as usize;
        self.buf.resize(self.offset + padded, 0);
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.offset
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf[self.offset..]
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.buf[self.offset..]
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let size = self.buf.capacity();
        if size < POOLED_MIN_BYTES {
            return;
        }
        let mut pool = buffer_pool();
        let (free, bytes) = &mut *pool;
        if *bytes + size <= POOL_MAX_BYTES {
            free.push(std::mem::take(&mut self.buf));
            *bytes += size;
        }
    }
}

/// A durable record: its buffer and ops, for writing the objects to their
/// files. Until it is dropped the checkpoint keeps the record in the ring.
#[derive(Debug)]
pub(crate) struct Committed {
    pub buf: AlignedBuf,
    pub ops: Vec<RecordOp>,
    journal: Arc<Shared>,
    start: u64,
    end: u64,
}

impl Committed {
    /// Wait until this record and every earlier one are durable, syncing
    /// the journal for everyone written so far if no one else is (group
    /// commit).
    pub(crate) fn wait_durable(&self) -> io::Result<()> {
        let sh = &self.journal;
        let mut st = sh.lock();
        loop {
            if st.durable >= self.end {
                return Ok(());
            }
            Shared::failed(&st)?;
            if !st.syncing && st.contiguous > st.durable {
                st.syncing = true;
                let target = st.contiguous;
                drop(st);
                let synced = sh.file.sync_data();
                st = sh.lock();
                st.syncing = false;
                match synced {
                    Ok(()) => {
                        st.durable = st.durable.max(target);
                        st.syncs += 1;
                    }
                    Err(e) => sh.fail(&mut st, "syncing the journal", &e),
                }
                sh.synced.notify_all();
                continue;
            }
            st = Shared::wait(&sh.synced, st);
        }
    }
}

impl Drop for Committed {
    fn drop(&mut self) {
        let mut st = self.journal.lock();
        st.in_flight.remove(&self.start);
        if st.checkpoint_wanted {
            self.journal.checkpoints.notify_all();
        }
    }
}

/// The bytes a record with these ops takes in the ring.
pub(crate) fn record_len(ops: &[Op<'_>]) -> u64 {
    let header = header_len(ops) as u64;
    let data: u64 = ops
        .iter()
        .map(|op| match op {
            Op::Put(_, data) => (data.len() as u64).div_ceil(BLOCK) * BLOCK,
            Op::Delete(_) => 0,
        })
        .sum();
    header.div_ceil(BLOCK) * BLOCK + data
}

fn header_len(ops: &[Op<'_>]) -> usize {
    HEADER_FIXED
        + ops
            .iter()
            .map(|op| match op {
                Op::Put(key, _) | Op::Delete(key) => 1 + 2 + key.len() + 16,
            })
            .sum::<usize>()
}

/// Lay out a record (sequence and position still zero).
fn encode(ops: &[Op<'_>]) -> io::Result<(AlignedBuf, Vec<RecordOp>)> {
    let total = record_len(ops);
    let total_usize = usize::try_from(total).map_err(|_| io::Error::other("record too large"))?;
    let mut buf = AlignedBuf::with_capacity(total_usize);
    let header_bytes = header_len(ops);
    let header_blocks = (header_bytes as u64).div_ceil(BLOCK);
    let mut header = Vec::with_capacity(header_bytes);
    header.extend_from_slice(RECORD_MAGIC);
    header.extend_from_slice(&[0; 16]); // sequence, position
    header.extend_from_slice(&total.to_le_bytes());
    header.extend_from_slice(&KIND_OPS.to_le_bytes());
    let nops = u32::try_from(ops.len()).map_err(|_| io::Error::other("too many ops"))?;
    header.extend_from_slice(&nops.to_le_bytes());
    let hlen = u32::try_from(header_bytes).map_err(|_| io::Error::other("keys too long"))?;
    header.extend_from_slice(&hlen.to_le_bytes());
    header.extend_from_slice(&[0; 4]); // crc
    let mut layout = Vec::with_capacity(ops.len());
    let mut data_at = header_blocks * BLOCK;
    for op in ops {
        let (code, key, len) = match op {
            Op::Put(key, data) => (OP_PUT, key, data.len()),
            Op::Delete(key) => (OP_DELETE, key, 0),
        };
        let key_len = u16::try_from(key.len()).map_err(|_| io::Error::other("key too long"))?;
        header.push(code);
        header.extend_from_slice(&key_len.to_le_bytes());
        header.extend_from_slice(key.as_bytes());
        header.extend_from_slice(&data_at.to_le_bytes());
        header.extend_from_slice(&(len as u64).to_le_bytes());
        let start = data_at as usize;
        layout.push(RecordOp {
            put: code == OP_PUT,
            key: (*key).to_owned(),
            data: start..start + len,
        });
        data_at += (len as u64).div_ceil(BLOCK) * BLOCK;
    }
    buf.push(&header);
    buf.pad();
    for op in ops {
        if let Op::Put(_, data) = op {
            buf.push(data);
            buf.pad();
        }
    }
    debug_assert_eq!(buf.len() as u64, total);
    Ok((buf, layout))
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_u64(b: &[u8], at: usize) -> u64 {
    let mut v = [0; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

fn get_u32(b: &[u8], at: usize) -> u32 {
    let mut v = [0; 4];
    v.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(v)
}

/// Fill in sequence and position, then the CRC over `crc_len` bytes.
fn seal(b: &mut [u8], seq: u64, pos: u64, crc_len: usize) {
    put_u64(b, 8, seq);
    put_u64(b, 16, pos);
    b[44..48].fill(0);
    let crc = crc32fast::hash(&b[..crc_len]);
    b[44..48].copy_from_slice(&crc.to_le_bytes());
}

fn crc_ok(b: &[u8]) -> bool {
    let stored = get_u32(b, 44);
    let mut h = crc32fast::Hasher::new();
    h.update(&b[..44]);
    h.update(&[0; 4]);
    h.update(&b[48..]);
    h.finalize() == stored
}

/// A one-block record (wrap or void) covering `len` bytes.
fn marker(kind: u32, seq: u64, pos: u64, len: u64) -> AlignedBuf {
    let mut b = AlignedBuf::zeroed(BLOCK as usize);
    let s = b.as_mut_slice();
    s[..8].copy_from_slice(RECORD_MAGIC);
    put_u64(s, 24, len);
    s[32..36].copy_from_slice(&kind.to_le_bytes());
    seal(s, seq, pos, BLOCK as usize);
    b
}

/// Parse a record's ops (header already checked).
fn parse_ops(b: &[u8]) -> Option<Vec<RecordOp>> {
    let nops = get_u32(b, 36) as usize;
    let hlen = get_u32(b, 40) as usize;
    if hlen > b.len() {
        return None;
    }
    let mut at = HEADER_FIXED;
    let mut ops = Vec::with_capacity(nops);
    for _ in 0..nops {
        let code = *b.get(at)?;
        let key_len = u16::from_le_bytes([*b.get(at + 1)?, *b.get(at + 2)?]) as usize;
        let key = std::str::from_utf8(b.get(at + 3..at + 3 + key_len)?).ok()?;
        at += 3 + key_len;
        let start = usize::try_from(get_u64(b.get(..at + 16)?, at)).ok()?;
        let len = usize::try_from(get_u64(b, at + 8)).ok()?;
        at += 16;
        if start.checked_add(len)? > b.len() || !matches!(code, OP_PUT | OP_DELETE) {
            return None;
        }
        ops.push(RecordOp {
            put: code == OP_PUT,
            key: key.to_owned(),
            data: start..start + len,
        });
    }
    Some(ops)
}

#[derive(Debug, Default)]
struct State {
    /// Logical position and sequence number of the next record.
    next_pos: u64,
    next_seq: u64,
    /// Every byte before this is written.
    contiguous: u64,
    /// Written ranges past `contiguous` (start -> end).
    written: BTreeMap<u64, u64>,
    /// Every byte before this is written and synced.
    durable: u64,
    syncing: bool,
    /// Records not yet done (reserved, or committed and still being written
    /// to their files): start -> sequence number.
    in_flight: BTreeMap<u64, u64>,
    /// Checkpoint: records before this are durable in their files.
    tail: u64,
    generation: u64,
    checkpoint_wanted: bool,
    /// Set on an IO error that leaves the journal unusable until restart.
    failed: Option<String>,
    /// Counters since open, for [`Journal::stats`].
    records: u64,
    syncs: u64,
    ring_waits: u64,
    checkpoints: u64,
    checkpoint_seconds: f64,
    shutdown: bool,
}

#[derive(Debug)]
struct Shared {
    root: PathBuf,
    capacity: u64,
    /// The ring, opened with `O_DIRECT` where the filesystem allows it.
    file: File,
    state: Mutex<State>,
    /// Signalled when records become durable, or may be synced by a waiter
    /// (writers in [`Committed::wait_durable`] wait on it).
    synced: Condvar,
    /// Signalled when a checkpoint is wanted or done (the checkpointer and
    /// writers waiting for ring space wait on it). Kept apart from `synced`
    /// so a busy collector's appends do not wake every waiting writer.
    checkpoints: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wait<'a>(cv: &Condvar, st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        cv.wait(st)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wait until `ready` holds, asking the checkpointer for checkpoints
    /// meanwhile (only a checkpoint frees ring space or moves the tail).
    /// Fails once the journal has failed. Also says whether it had to wait.
    fn wait_for_checkpoints<'a>(
        &self,
        mut st: MutexGuard<'a, State>,
        ready: impl Fn(&State) -> bool,
    ) -> io::Result<(MutexGuard<'a, State>, bool)> {
        let mut waited = false;
        loop {
            Self::failed(&st)?;
            if ready(&st) {
                return Ok((st, waited));
            }
            waited = true;
            if !st.checkpoint_wanted {
                st.checkpoint_wanted = true;
                self.checkpoints.notify_all();
            }
            st = Self::wait(&self.checkpoints, st);
        }
    }

    fn physical(&self, pos: u64) -> u64 {
        SUPERBLOCKS + pos % self.capacity
    }

    fn fail(&self, st: &mut State, what: &str, e: &io::Error) {
        if st.failed.is_none() {
            tracing::error!(root = %self.root.display(), error = %e, "crash storage journal failed: {what}");
            st.failed = Some(format!("{what}: {e}"));
        }
        self.synced.notify_all();
        self.checkpoints.notify_all();
    }

    fn failed(st: &State) -> io::Result<()> {
        match &st.failed {
            Some(msg) => Err(io::Error::other(format!(
                "crash storage journal unusable until restart ({msg})"
            ))),
            None => Ok(()),
        }
    }

    fn write_superblock(&self, generation: u64, tail: u64, tail_seq: u64) -> io::Result<()> {
        let mut b = AlignedBuf::zeroed(BLOCK as usize);
        let s = b.as_mut_slice();
        s[..8].copy_from_slice(SUPER_MAGIC);
        put_u64(s, 8, generation);
        put_u64(s, 16, self.capacity);
        put_u64(s, 24, tail);
        put_u64(s, 32, tail_seq);
        let crc = crc32fast::hash(&s[..40]);
        s[40..44].copy_from_slice(&crc.to_le_bytes());
        self.file
            .write_all_at(b.as_slice(), (generation % 2) * BLOCK)?;
        self.file.sync_data()
    }
}

/// Make every file write done so far on `root`'s filesystem durable.
fn sync_files(root: &Path) -> io::Result<()> {
    let dir = File::open(root)?;
    rustix::fs::syncfs(&dir).map_err(io::Error::from)
}

/// The journal of one store root. Shared by every store opened on the same
/// root in this process; another process holding it makes
/// [`Journal::open`] refuse (`WouldBlock`).
#[derive(Debug)]
pub(crate) struct Journal {
    shared: Arc<Shared>,
    checkpointer: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.checkpoints.notify_all();
        // The checkpointer holds the file lock: release it before returning,
        // so the store can be opened again at once.
        let handle = self
            .checkpointer
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
        let mut journals = registry();
        if journals
            .get(&self.shared.root)
            .is_some_and(|w| w.strong_count() == 0)
        {
            journals.remove(&self.shared.root);
        }
    }
}

/// Every journal open in this process.
pub(crate) fn open_journals() -> Vec<Arc<Journal>> {
    registry().values().filter_map(Weak::upgrade).collect()
}

fn registry() -> MutexGuard<'static, HashMap<PathBuf, Weak<Journal>>> {
    static JOURNALS: LazyLock<Mutex<HashMap<PathBuf, Weak<Journal>>>> =
        LazyLock::new(Mutex::default);
    JOURNALS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Superblock contents.
#[derive(Debug, Clone, Copy)]
struct Super {
    generation: u64,
    capacity: u64,
    tail: u64,
    tail_seq: u64,
}

fn read_superblock(file: &File, slot: u64) -> Option<Super> {
    let mut b = [0u8; 44];
    file.read_exact_at(&mut b, slot * BLOCK).ok()?;
    let crc = get_u32(&b, 40);
    if &b[..8] != SUPER_MAGIC || crc32fast::hash(&b[..40]) != crc {
        return None;
    }
    Some(Super {
        generation: get_u64(&b, 8),
        capacity: get_u64(&b, 16),
        tail: get_u64(&b, 24),
        tail_seq: get_u64(&b, 32),
    })
}

impl Journal {
    /// Open (creating if needed) the journal of `root`, replaying every
    /// record past the last checkpoint through `apply` (object writes and
    /// deletes, in order), then making the result durable.
    pub(crate) fn open(
        root: &Path,
        capacity: u64,
        apply: &mut dyn FnMut(&RecordOp, &[u8]) -> io::Result<()>,
    ) -> io::Result<Arc<Self>> {
        let root = root.canonicalize()?;
        let mut journals = registry();
        if let Some(j) = journals.get(&root).and_then(Weak::upgrade) {
            return Ok(j);
        }
        let capacity = capacity.max(MIN_CAPACITY).div_ceil(BLOCK) * BLOCK;
        let path = root.join(JOURNAL_FILE);
        let plain = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        // One owner per journal: another process writing it would corrupt it.
        rustix::fs::flock(&plain, rustix::fs::FlockOperation::NonBlockingLockExclusive)
            .map_err(|e| io::Error::new(io::ErrorKind::WouldBlock, e))?;
        let found = [0, 1]
            .into_iter()
            .filter_map(|slot| read_superblock(&plain, slot))
            .max_by_key(|s| s.generation);
        let (mut sb, (end, end_seq, replayed)) = match found {
            // Replay with the ring as it was written.
            Some(sb) => (sb, replay(&plain, &sb, apply)?),
            None => {
                if plain.metadata()?.len() > 0 {
                    tracing::error!(path = %path.display(), "crash storage journal has no valid superblock; not replaying it");
                }
                let sb = Super {
                    generation: 0,
                    capacity,
                    tail: 0,
                    tail_seq: 0,
                };
                (sb, (0, 0, 0))
            }
        };
        if replayed > 0 {
            sync_files(&root)?;
            tracing::info!(root = %root.display(), records = replayed, "crash storage journal replayed");
        }
        let need = SUPERBLOCKS + capacity;
        if plain.metadata()?.len() != need {
            plain.set_len(SUPERBLOCKS)?;
            // Allocate the ring now so appends never change the file's
            // metadata (and a full disk shows at start, not mid-crash).
            if rustix::fs::fallocate(&plain, rustix::fs::FallocateFlags::empty(), 0, need).is_err()
            {
                plain.set_len(need)?;
            }
        }
        sb.capacity = capacity;
        let file = open_direct(&path).unwrap_or(plain.try_clone()?);
        let shared = Arc::new(Shared {
            root: root.clone(),
            capacity,
            file,
            state: Mutex::new(State::default()),
            synced: Condvar::new(),
            checkpoints: Condvar::new(),
        });
        // Keep the lock for the life of the journal: the locked description
        // stays open as long as `plain` does, so hold it in the thread.
        let generation = sb.generation + 1;
        shared.write_superblock(generation, end, end_seq)?;
        File::open(&root)?.sync_all()?;
        {
            let mut st = shared.lock();
            st.next_pos = end;
            st.next_seq = end_seq;
            st.contiguous = end;
            st.durable = end;
            st.tail = end;
            st.generation = generation;
        }
        let worker = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("storage-journal".into())
            .spawn(move || checkpointer(&worker, plain))?;
        let journal = Arc::new(Self {
            shared,
            checkpointer: Mutex::new(Some(handle)),
        });
        journals.insert(root, Arc::downgrade(&journal));
        Ok(journal)
    }

    /// The largest record accepted; bigger writes bypass the journal.
    pub(crate) fn max_record(&self) -> u64 {
        self.shared.capacity / 4
    }

    /// Append a record and wait until it (and every earlier one) is durable.
    pub(crate) fn commit(&self, ops: &[Op<'_>]) -> io::Result<Committed> {
        let record = self.append(ops)?;
        record.wait_durable()?;
        Ok(record)
    }

    /// Append a record; [`Committed::wait_durable`] waits until it is
    /// durable, so the caller can do other work meanwhile.
    pub(crate) fn append(&self, ops: &[Op<'_>]) -> io::Result<Committed> {
        let sh = &self.shared;
        let (mut buf, layout) = encode(ops)?;
        let len = buf.len() as u64;
        if len > self.max_record() {
            return Err(io::Error::other("record larger than the journal allows"));
        }
        let (start, wrap_at, seq) = {
            let (mut st, waited) = sh.wait_for_checkpoints(sh.lock(), |st| {
                let end = st.next_pos + gap_before(st.next_pos, len, sh.capacity) + len;
                end - st.tail <= sh.capacity
            })?;
            if waited {
                st.ring_waits += 1;
            }
            let gap = gap_before(st.next_pos, len, sh.capacity);
            let reserved = st.next_pos;
            let seq = st.next_seq;
            st.next_pos += gap + len;
            st.next_seq += 1;
            st.records += 1;
            st.in_flight.insert(reserved, seq);
            if st.next_pos - st.tail > sh.capacity / 4 && !st.checkpoint_wanted {
                st.checkpoint_wanted = true;
                sh.checkpoints.notify_all();
            }
            (reserved + gap, (gap > 0).then_some((reserved, gap)), seq)
        };
        let reserved = wrap_at.map_or(start, |(at, _)| at);
        let end = start + len;
        let crc_len = buf.len();
        seal(buf.as_mut_slice(), seq, start, crc_len);
        let write_wrap = || match wrap_at {
            Some((at, gap)) => {
                let m = marker(KIND_WRAP, seq, at, gap);
                sh.file.write_all_at(m.as_slice(), sh.physical(at))
            }
            None => Ok(()),
        };
        let written =
            write_wrap().and_then(|()| sh.file.write_all_at(buf.as_slice(), sh.physical(start)));
        if written.is_err() {
            // Make the range skippable so later records stay reachable.
            let m = marker(KIND_VOID, seq, start, len);
            let fixed =
                write_wrap().and_then(|()| sh.file.write_all_at(m.as_slice(), sh.physical(start)));
            if let Err(e) = fixed {
                let mut st = sh.lock();
                sh.fail(&mut st, "writing a record", &e);
                st.in_flight.remove(&reserved);
                return Err(e);
            }
        }
        let mut st = sh.lock();
        st.written.insert(reserved, end);
        loop {
            let at = st.contiguous;
            match st.written.remove(&at) {
                Some(e) => st.contiguous = e,
                None => break,
            }
        }
        if let Err(e) = written {
            // The void marker is synced with whatever record comes next.
            st.in_flight.remove(&reserved);
            sh.synced.notify_all();
            sh.checkpoints.notify_all();
            return Err(e);
        }
        // A writer waiting for this gap to close can sync now: wake one (it
        // syncs for everyone), not all of them.
        if !st.syncing && st.contiguous > st.durable {
            sh.synced.notify_one();
        }
        drop(st);
        Ok(Committed {
            buf,
            ops: layout,
            journal: Arc::clone(sh),
            start: reserved,
            end,
        })
    }

    /// Wait until every record appended before this call is checkpointed
    /// (in its files, synced, and behind the ring's tail), so no replay
    /// can write any of them again.
    pub(crate) fn checkpoint_all(&self) -> io::Result<()> {
        let sh = &self.shared;
        let st = sh.lock();
        let target = st.next_pos;
        let (_st, _waited) = sh.wait_for_checkpoints(st, |st| st.tail >= target)?;
        Ok(())
    }

    /// What this journal has done since it was opened.
    pub(crate) fn stats(&self) -> super::JournalStats {
        let sh = &self.shared;
        let st = sh.lock();
        super::JournalStats {
            root: sh.root.clone(),
            capacity_bytes: sh.capacity,
            used_bytes: st.next_pos - st.tail,
            records: st.records,
            syncs: st.syncs,
            ring_waits: st.ring_waits,
            checkpoints: st.checkpoints,
            checkpoint_seconds: st.checkpoint_seconds,
            failed: st.failed.is_some(),
        }
    }

    /// Checkpoints done (for tests).
    #[cfg(test)]
    pub(crate) fn generation(&self) -> u64 {
        self.shared.lock().generation
    }
}

/// Padding needed before a record of `len` bytes at `pos` so it does not
/// straddle the end of the ring.
fn gap_before(pos: u64, len: u64, capacity: u64) -> u64 {
    let offset = pos % capacity;
    if offset + len > capacity {
        capacity - offset
    } else {
        0
    }
}

fn open_direct(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
}

/// Apply every valid record from the checkpoint on; returns the position and
/// sequence number after the last one and how many were applied.
fn replay(
    file: &File,
    sb: &Super,
    apply: &mut dyn FnMut(&RecordOp, &[u8]) -> io::Result<()>,
) -> io::Result<(u64, u64, u64)> {
    let (mut pos, mut seq, mut applied) = (sb.tail, sb.tail_seq, 0);
    if sb.capacity < MIN_CAPACITY || !sb.capacity.is_multiple_of(BLOCK) {
        return Ok((pos, seq, 0));
    }
    let file_len = file.metadata()?.len();
    let mut block = vec![0u8; BLOCK as usize];
    loop {
        let phys = SUPERBLOCKS + pos % sb.capacity;
        if phys + BLOCK > file_len || file.read_exact_at(&mut block, phys).is_err() {
            break;
        }
        let len = get_u64(&block, 24);
        if &block[..8] != RECORD_MAGIC
            || get_u64(&block, 8) != seq
            || get_u64(&block, 16) != pos
            || len < BLOCK
            || !len.is_multiple_of(BLOCK)
            || (pos % sb.capacity) + len > sb.capacity
        {
            break;
        }
        let kind = get_u32(&block, 32);
        match kind {
            KIND_WRAP | KIND_VOID if crc_ok(&block) => {
                pos += len;
                if kind == KIND_VOID {
                    seq += 1;
                }
            }
            KIND_OPS => {
                let Ok(n) = usize::try_from(len) else { break };
                let mut rec = vec![0u8; n];
                if file.read_exact_at(&mut rec, phys).is_err() || !crc_ok(&rec) {
                    break;
                }
                let Some(ops) = parse_ops(&rec) else { break };
                for op in &ops {
                    apply(op, &rec[op.data.clone()])?;
                }
                applied += 1;
                pos += len;
                seq += 1;
            }
            _ => break,
        }
    }
    Ok((pos, seq, applied))
}

/// Background checkpoints: when asked (ring filling up) or every
/// [`CHECKPOINT_INTERVAL`] while records wait, sync every file and move the
/// checkpoint past the records whose files are written. `_lock` keeps the
/// journal's file lock held until the journal is dropped.
fn checkpointer(sh: &Shared, _lock: File) {
    let mut last = Instant::now();
    let mut st = sh.lock();
    loop {
        if st.shutdown {
            return;
        }
        // Everything before the first record still in flight is in its files.
        let (tail, tail_seq) = st
            .in_flight
            .first_key_value()
            .map_or((st.next_pos, st.next_seq), |(p, s)| (*p, *s));
        let due = st.checkpoint_wanted || last.elapsed() >= CHECKPOINT_INTERVAL;
        if tail == st.tail || st.failed.is_some() || !due {
            let wait = CHECKPOINT_INTERVAL.saturating_sub(last.elapsed());
            let wait = if wait.is_zero() {
                CHECKPOINT_INTERVAL
            } else {
                wait
            };
            st = sh
                .checkpoints
                .wait_timeout(st, wait)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
            continue;
        }
        st.checkpoint_wanted = false;
        let generation = st.generation + 1;
        drop(st);
        last = Instant::now();
        let done =
            sync_files(&sh.root).and_then(|()| sh.write_superblock(generation, tail, tail_seq));
        let took = last.elapsed();
        if took > CHECKPOINT_INTERVAL {
            tracing::warn!(root = %sh.root.display(), took_ms = took.as_millis(), "slow storage journal checkpoint");
        } else {
            tracing::debug!(root = %sh.root.display(), took_ms = took.as_millis(), "storage journal checkpoint");
        }
        st = sh.lock();
        match done {
            Ok(()) => {
                st.tail = st.tail.max(tail);
                st.generation = generation;
                st.checkpoints += 1;
                st.checkpoint_seconds += took.as_secs_f64();
            }
            Err(e) => sh.fail(&mut st, "checkpointing", &e),
        }
        sh.checkpoints.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    type Applied = Vec<(bool, String, Vec<u8>)>;

    fn open(root: &Path, capacity: u64) -> (Arc<Journal>, Applied) {
        let mut applied = Vec::new();
        let j = Journal::open(root, capacity, &mut |op, data| {
            applied.push((op.put, op.key.clone(), data.to_vec()));
            Ok(())
        })
        .unwrap();
        (j, applied)
    }

    /// Commit without writing the files: as if power went out right after
    /// the record was acknowledged (the checkpoint cannot pass it).
    fn commit_lost(j: &Journal, ops: &[Op<'_>]) {
        std::mem::forget(j.commit(ops).unwrap());
    }

    fn blob(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    }

    #[test]
    fn acknowledged_records_are_replayed_in_order_once() {
        let dir = tempfile::tempdir().unwrap();
        let big = blob(200_000, 7);
        let (j, applied) = open(dir.path(), MIB);
        assert!(applied.is_empty());
        commit_lost(
            &j,
            &[Op::Put("v1/dump/a", &big), Op::Put("v1/raw_crash/a", b"{}")],
        );
        commit_lost(&j, &[Op::Delete("v1/old")]);
        drop(j);

        let (j, applied) = open(dir.path(), MIB);
        let expected: Applied = vec![
            (true, "v1/dump/a".into(), big.clone()),
            (true, "v1/raw_crash/a".into(), b"{}".to_vec()),
            (false, "v1/old".into(), Vec::new()),
        ];
        assert_eq!(applied, expected);
        drop(j);
        // Replayed records were checkpointed: not applied again.
        let (_j, applied) = open(dir.path(), MIB);
        assert!(applied.is_empty(), "{applied:?}");
    }

    #[test]
    fn records_whose_files_were_written_are_checkpointed() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = open(dir.path(), MIB);
        let before = j.generation();
        drop(j.commit(&[Op::Put("k", b"v")]).unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        while j.generation() == before {
            assert!(Instant::now() < deadline, "no checkpoint");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(j);
        let (_j, applied) = open(dir.path(), MIB);
        assert!(applied.is_empty(), "{applied:?}");
    }

    #[test]
    fn a_torn_record_ends_the_replay() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = open(dir.path(), MIB);
        commit_lost(&j, &[Op::Put("one", b"1")]);
        commit_lost(&j, &[Op::Put("two", &blob(10_000, 1))]);
        commit_lost(&j, &[Op::Put("three", b"3")]);
        drop(j);
        // Flip one byte of the second record's data (it starts one block
        // after the first record, whose header and data take two blocks).
        let f = OpenOptions::new()
            .write(true)
            .open(dir.path().join(JOURNAL_FILE))
            .unwrap();
        f.write_all_at(b"X", SUPERBLOCKS + 3 * BLOCK + 10).unwrap();
        drop(f);
        let (_j, applied) = open(dir.path(), MIB);
        let keys: Vec<&str> = applied.iter().map(|(_, k, _)| k.as_str()).collect();
        assert_eq!(keys, ["one"]);
    }

    #[test]
    fn the_ring_wraps_and_waits_for_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = open(dir.path(), MIB);
        // 40 records of ~100 KB through a 1 MiB ring: it wraps several
        // times, each writer waiting for a checkpoint when it is full.
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let j = Arc::clone(&j);
                std::thread::spawn(move || {
                    for i in 0..10u8 {
                        let data = blob(100_000 + usize::from(i) * 512, t * 16 + i);
                        drop(j.commit(&[Op::Put(&format!("w{t}/{i}"), &data)]).unwrap());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let last = blob(150_000, 99);
        commit_lost(&j, &[Op::Put("last", &last)]);
        drop(j);
        let (_j, mut applied) = open(dir.path(), MIB);
        // The lost record comes back last and intact; before it may come
        // (again, harmlessly) the latest written records not yet past a
        // checkpoint, each intact too.
        assert_eq!(applied.pop(), Some((true, "last".to_owned(), last)));
        assert!(applied.len() < 10, "{} replayed", applied.len());
        for (put, key, data) in applied {
            let (t, i) = key[1..].split_once('/').unwrap();
            let (t, i): (u8, u8) = (t.parse().unwrap(), i.parse().unwrap());
            assert!(put);
            assert_eq!(
                data,
                blob(100_000 + usize::from(i) * 512, t * 16 + i),
                "{key}"
            );
        }
    }

    #[test]
    fn record_buffers_are_reused_aligned_and_rewritten() {
        let (first, _) = encode(&[Op::Put("k", &[9u8; 300_000])]).unwrap();
        let at = first.as_slice().as_ptr();
        drop(first);
        let ops = [Op::Put("k", &[1u8; 200_000]), Op::Delete("gone")];
        let (again, layout) = encode(&ops).unwrap();
        assert_eq!(again.as_slice().as_ptr(), at, "the pooled buffer is reused");
        assert_eq!(at.align_offset(BLOCK as usize), 0);
        assert_eq!(again.len() as u64, record_len(&ops));
        // Nothing of the earlier record shows through, padding included.
        let data = &again.as_slice()[layout[0].data.start..];
        assert!(data[..200_000].iter().all(|&b| b == 1));
        assert!(data[200_000..].iter().all(|&b| b == 0));
    }

    #[test]
    fn records_too_large_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = open(dir.path(), MIB);
        let big = blob(300_000, 0);
        assert!(record_len(&[Op::Put("k", &big)]) > j.max_record());
        assert!(j.commit(&[Op::Put("k", &big)]).is_err());
    }

    #[test]
    fn a_journal_held_by_another_owner_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        let other = File::create(&path).unwrap();
        rustix::fs::flock(&other, rustix::fs::FlockOperation::LockExclusive).unwrap();
        let e = Journal::open(dir.path(), MIB, &mut |_, _| Ok(())).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn one_process_shares_one_journal_per_root() {
        let dir = tempfile::tempdir().unwrap();
        let (a, _) = open(dir.path(), MIB);
        let (b, _) = open(dir.path(), MIB);
        assert!(Arc::ptr_eq(&a, &b));
    }
}

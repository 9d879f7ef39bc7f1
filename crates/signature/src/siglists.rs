//! Signature lists: the four data files that steer C/C++/Rust signatures.
//!
//! A directory holds `irrelevant_signature_re.txt`, `prefix_signature_re.txt`,
//! `signature_sentinels.txt` and `signatures_with_line_numbers_re.txt`, one
//! Python-syntax regular expression (or, for sentinels, one exact frame) per
//! line; blank lines and lines starting with `#` are skipped (Socorro's
//! format). Each regex list is compiled once into a [`regex::RegexSet`] whose
//! entries are anchored at the start, which is what Python's
//! `re.match("a|b|...")` means.

use std::path::{Path, PathBuf};

use regex::{RegexSet, RegexSetBuilder};

use crate::pyre;

/// File names of the four lists, without `.txt`.
pub const IRRELEVANT: &str = "irrelevant_signature_re";
/// Prefix list name.
pub const PREFIX: &str = "prefix_signature_re";
/// Sentinel list name.
pub const SENTINELS: &str = "signature_sentinels";
/// Line-number list name.
pub const LINE_NUMBERS: &str = "signatures_with_line_numbers_re";

/// Why signature lists could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigListError {
    /// The file could not be read.
    #[error("cannot read signature list {path}: {source}")]
    Io {
        /// The list file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not UTF-8.
    #[error("signature list {path} is not UTF-8 at line {line_index}")]
    NotUtf8 {
        /// The list file.
        path: PathBuf,
        /// Zero-based line index (Socorro's numbering).
        line_index: usize,
    },
    /// A line is not a valid (or not a supported) regular expression. The
    /// message matches Socorro's `BadRegularExpressionLineError`; the line
    /// is zero-based like Socorro's.
    #[error("Regex error: {message} in file {path} at line {line_index}")]
    BadRegex {
        /// The list file.
        path: PathBuf,
        /// Zero-based line index (Socorro's numbering).
        line_index: usize,
        /// What is wrong with the pattern.
        message: String,
    },
}

/// One compiled regex list.
#[derive(Debug, Clone)]
pub(crate) struct PatternList {
    entries: Vec<String>,
    set: RegexSet,
    /// Bytes a matching text can start with, when every pattern starts with
    /// a literal character (a cheap pre-check before the regex).
    first_bytes: Option<Box<[bool; 256]>>,
}

impl PatternList {
    /// Python's `re.compile("|".join(lines)).match(text)`. An empty list is
    /// the empty regex, which matches everything (Socorro's behaviour).
    #[inline]
    pub(crate) fn matches(&self, text: &str) -> bool {
        if self.entries.is_empty() {
            return true;
        }
        if let Some(first) = &self.first_bytes {
            match text.as_bytes().first() {
                Some(b) if first[usize::from(*b)] => {}
                _ => return false,
            }
        }
        self.set.is_match(text)
    }

    /// The list entries (Python syntax), for documentation and debugging.
    pub(crate) fn entries(&self) -> &[String] {
        &self.entries
    }
}

/// The four signature lists, compiled.
#[derive(Debug, Clone)]
pub struct SigLists {
    source: String,
    pub(crate) irrelevant: PatternList,
    pub(crate) prefix: PatternList,
    pub(crate) line_numbers: PatternList,
    pub(crate) sentinels: Vec<String>,
    /// Sentinel indexes by byte length, for a fast exact-match lookup.
    sentinels_by_len: Vec<Vec<usize>>,
}

const GENERIC_IRRELEVANT: &str = include_str!("../../../siglists/irrelevant_signature_re.txt");
const GENERIC_PREFIX: &str = include_str!("../../../siglists/prefix_signature_re.txt");
const GENERIC_SENTINELS: &str = include_str!("../../../siglists/signature_sentinels.txt");
const GENERIC_LINE_NUMBERS: &str =
    include_str!("../../../siglists/signatures_with_line_numbers_re.txt");

impl SigLists {
    /// Loads the four lists from `dir` (for example Mozilla's production
    /// lists). Errors name the file and the zero-based line.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, SigListError> {
        let dir = dir.as_ref();
        let read = |name: &str| -> Result<(PathBuf, Vec<u8>), SigListError> {
            let path = dir.join(format!("{name}.txt"));
            let bytes = std::fs::read(&path).map_err(|source| SigListError::Io {
                path: path.clone(),
                source,
            })?;
            Ok((path, bytes))
        };
        let (ip, ib) = read(IRRELEVANT)?;
        let (pp, pb) = read(PREFIX)?;
        let (sp, sb) = read(SENTINELS)?;
        let (lp, lb) = read(LINE_NUMBERS)?;
        Ok(Self {
            source: format!("signature lists from {}", dir.display()),
            irrelevant: compile(&ip, &lines(&ip, &ib)?)?,
            prefix: compile(&pp, &lines(&pp, &pb)?)?,
            sentinels: {
                let entries = lines(&sp, &sb)?;
                // Socorro validates sentinels as regexes too.
                compile(&sp, &entries)?;
                entries.into_iter().map(|(_, e)| e).collect()
            },
            line_numbers: compile(&lp, &lines(&lp, &lb)?)?,
            sentinels_by_len: Vec::new(),
        }
        .index_sentinels())
    }

    /// The project's generic lists (`siglists/` at the repository root),
    /// embedded in the binary: suitable for non-Mozilla C, C++ and Rust
    /// products.
    pub fn generic() -> Result<Self, SigListError> {
        Self::from_texts(
            "included generic signature lists",
            [
                GENERIC_IRRELEVANT,
                GENERIC_PREFIX,
                GENERIC_SENTINELS,
                GENERIC_LINE_NUMBERS,
            ],
        )
    }

    /// Builds lists from in-memory texts in list-file format, in the order
    /// irrelevant, prefix, sentinels, line numbers. `name` describes the
    /// source in debug output; errors use `<name>/<list>.txt` as the path.
    pub fn from_texts(name: &str, texts: [&str; 4]) -> Result<Self, SigListError> {
        let [irr, pre, sen, lin] = texts;
        let path = |list: &str| PathBuf::from(format!("{name}/{list}.txt"));
        let (ip, pp, sp, lp) = (
            path(IRRELEVANT),
            path(PREFIX),
            path(SENTINELS),
            path(LINE_NUMBERS),
        );
        let sentinels = lines(&sp, sen.as_bytes())?;
        compile(&sp, &sentinels)?;
        Ok(Self {
            source: name.to_owned(),
            irrelevant: compile(&ip, &lines(&ip, irr.as_bytes())?)?,
            prefix: compile(&pp, &lines(&pp, pre.as_bytes())?)?,
            sentinels: sentinels.into_iter().map(|(_, e)| e).collect(),
            line_numbers: compile(&lp, &lines(&lp, lin.as_bytes())?)?,
            sentinels_by_len: Vec::new(),
        }
        .index_sentinels())
    }

    /// Builds lists directly from entries (no comments), mainly for tests.
    pub fn from_entries(
        name: &str,
        irrelevant: &[&str],
        prefix: &[&str],
        sentinels: &[&str],
        line_numbers: &[&str],
    ) -> Result<Self, SigListError> {
        let join = |e: &[&str]| e.join("\n");
        Self::from_texts(
            name,
            [
                &join(irrelevant),
                &join(prefix),
                &join(sentinels),
                &join(line_numbers),
            ],
        )
    }

    /// Whether `frame` is exactly one of the sentinels.
    #[inline]
    pub(crate) fn is_sentinel(&self, frame: &str) -> bool {
        self.sentinels_by_len
            .get(frame.len())
            .is_some_and(|idx| idx.iter().any(|&i| self.sentinels[i] == frame))
    }

    fn index_sentinels(mut self) -> Self {
        let max = self.sentinels.iter().map(String::len).max().unwrap_or(0);
        let mut by_len = vec![Vec::new(); max + 1];
        for (i, s) in self.sentinels.iter().enumerate() {
            by_len[s.len()].push(i);
        }
        self.sentinels_by_len = by_len;
        self
    }

    /// Renames the source shown in the debug log
    /// (`using <source>`), e.g. to hide a machine-specific path.
    #[must_use]
    pub fn named(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Where the lists came from (used in the debug log).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Irrelevant-frame patterns (Python syntax).
    pub fn irrelevant_entries(&self) -> &[String] {
        self.irrelevant.entries()
    }

    /// Prefix-frame patterns (Python syntax).
    pub fn prefix_entries(&self) -> &[String] {
        self.prefix.entries()
    }

    /// Sentinel frames (exact strings).
    pub fn sentinels(&self) -> &[String] {
        &self.sentinels
    }

    /// Patterns of functions that get `:<line>` appended.
    pub fn line_number_entries(&self) -> &[String] {
        self.line_numbers.entries()
    }
}

/// Parses one list file: `(zero-based line index, entry)` for each non-blank,
/// non-comment line, stripped.
pub(crate) fn lines(path: &Path, bytes: &[u8]) -> Result<Vec<(usize, String)>, SigListError> {
    let mut out = Vec::new();
    let mut chunks = bytes.split(|b| *b == b'\n').enumerate().peekable();
    while let Some((i, raw)) = chunks.next() {
        if raw.is_empty() && chunks.peek().is_none() {
            break; // text after the last newline is empty: no line there
        }
        let text = std::str::from_utf8(raw).map_err(|_| SigListError::NotUtf8 {
            path: path.to_owned(),
            line_index: i,
        })?;
        let line = crate::py::strip(text);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push((i, line.to_owned()));
    }
    Ok(out)
}

fn compile(path: &Path, entries: &[(usize, String)]) -> Result<PatternList, SigListError> {
    let bad = |i: usize, message: String| SigListError::BadRegex {
        path: path.to_owned(),
        line_index: i,
        message,
    };
    let mut anchored = Vec::with_capacity(entries.len());
    for (i, entry) in entries {
        let rust = pyre::translate(entry).map_err(|m| bad(*i, m))?;
        anchored.push(format!("^(?:{rust})"));
    }
    let build = |patterns: &[String]| {
        RegexSetBuilder::new(patterns)
            .size_limit(64 << 20)
            .dfa_size_limit(16 << 20)
            .build()
    };
    let set = match build(&anchored) {
        Ok(set) => set,
        Err(err) => {
            // Find the offending line for the error message.
            for ((i, _), pattern) in entries.iter().zip(&anchored) {
                if let Err(e) = build(std::slice::from_ref(pattern)) {
                    return Err(bad(*i, last_line(&e.to_string())));
                }
            }
            let first = entries.first().map_or(0, |(i, _)| *i);
            return Err(bad(first, last_line(&err.to_string())));
        }
    };
    Ok(PatternList {
        entries: entries.iter().map(|(_, e)| e.clone()).collect(),
        set,
        first_bytes: first_bytes(entries.iter().map(|(_, e)| e.as_str())),
    })
}

/// The set of first bytes of the Python patterns, if each starts with a
/// plain literal character that cannot be followed by a quantifier making it
/// optional, and no pattern sets flags.
fn first_bytes<'a>(patterns: impl Iterator<Item = &'a str>) -> Option<Box<[bool; 256]>> {
    let mut set = Box::new([false; 256]);
    for p in patterns {
        let mut chars = p.chars();
        let first = chars.next()?;
        if !first.is_ascii_alphanumeric() && first != '_' && first != ':' && first != '~' {
            return None;
        }
        if matches!(chars.next(), Some('?' | '*' | '{' | '|')) || p.contains('|') {
            return None;
        }
        let b = u8::try_from(u32::from(first)).ok()?;
        set[usize::from(b)] = true;
    }
    Some(set)
}

fn last_line(msg: &str) -> String {
    msg.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(msg)
        .trim()
        .to_owned()
}

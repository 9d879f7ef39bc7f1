//! Socorro's storage key layout, shared by every backend.
//!
//! | key | content |
//! |---|---|
//! | `v1/raw_crash/<YYYYMMDD>/<id>` | raw crash JSON (sorted keys), written last |
//! | `v1/dump_names/<id>` | JSON list of dump names, sorted |
//! | `v1/<dump name>/<id>` | dump bytes; `upload_file_minidump` and `""` are stored as `dump` |
//! | `v1/processed_crash/<id>` | processed crash JSON |

use crate::{CrashId, StorageError};

/// The name Antenna gives the main minidump in storage.
pub const MAIN_DUMP_STORAGE_NAME: &str = "dump";
/// The form field name Breakpad clients use for the main minidump.
pub const MAIN_DUMP_FIELD: &str = "upload_file_minidump";
/// Dump names that would collide with other key prefixes.
pub const RESERVED_DUMP_NAMES: [&str; 3] = ["dump_names", "processed_crash", "raw_crash"];

/// Longest object key accepted (S3 and GCS allow 1,024 bytes).
pub const MAX_KEY_LEN: usize = 1024;

/// Check that `key` is a safe relative object key: non-empty, at most
/// [`MAX_KEY_LEN`] bytes, `/`-separated segments that are neither empty nor
/// start with `.` (so no `.`, `..`, hidden or temporary names), and no backslash,
/// NUL or other control characters. Every backend calls this, so a key that
/// one backend refuses is refused by all, and no key can leave a
/// filesystem root.
pub fn validate_object_key(key: &str) -> Result<(), StorageError> {
    let bad = key.is_empty()
        || key.len() > MAX_KEY_LEN
        || key
            .split('/')
            .any(|seg| seg.is_empty() || seg.starts_with('.'))
        || key.chars().any(|c| c == '\\' || c.is_control());
    if bad {
        return Err(StorageError::Invalid(format!("invalid object key {key:?}")));
    }
    Ok(())
}

/// Check that a dump name can be stored: its storage name (see
/// [`dump_storage_name`]) must be one valid key segment (no `/`, not starting
/// with `.`, no control characters) and not one of [`RESERVED_DUMP_NAMES`].
pub fn validate_dump_name(name: &str) -> Result<(), StorageError> {
    let stored = dump_storage_name(name);
    if RESERVED_DUMP_NAMES.contains(&stored) {
        return Err(StorageError::Invalid(format!(
            "reserved dump name {name:?}"
        )));
    }
    if stored.contains('/') || validate_object_key(stored).is_err() {
        return Err(StorageError::Invalid(format!("invalid dump name {name:?}")));
    }
    Ok(())
}

/// Key of the raw crash JSON: `v1/raw_crash/<YYYYMMDD>/<id>`.
pub fn raw_crash(id: &CrashId) -> String {
    format!("v1/raw_crash/{}/{}", id.date_key(), id)
}

/// The prefix under which all raw crashes of one day (`YYYYMMDD`) live.
pub fn raw_crash_day_prefix(date_key: &str) -> String {
    format!("v1/raw_crash/{date_key}/")
}

/// Key of the JSON list of dump names: `v1/dump_names/<id>`.
pub fn dump_names(id: &CrashId) -> String {
    format!("v1/dump_names/{id}")
}

/// Storage name of a dump: `upload_file_minidump` and `""` become `dump`.
pub fn dump_storage_name(name: &str) -> &str {
    if name.is_empty() || name == MAIN_DUMP_FIELD {
        MAIN_DUMP_STORAGE_NAME
    } else {
        name
    }
}

/// Key of one dump: `v1/<storage name>/<id>` (see [`dump_storage_name`]).
pub fn dump(name: &str, id: &CrashId) -> String {
    format!("v1/{}/{}", dump_storage_name(name), id)
}

/// Key of the processed crash JSON: `v1/processed_crash/<id>`.
pub fn processed_crash(id: &CrashId) -> String {
    format!("v1/processed_crash/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_socorro() {
        let id = CrashId::parse("de1bb258-cbbf-4589-a673-34f800160918").unwrap();
        assert_eq!(
            raw_crash(&id),
            "v1/raw_crash/20160918/de1bb258-cbbf-4589-a673-34f800160918"
        );
        assert_eq!(
            dump_names(&id),
            "v1/dump_names/de1bb258-cbbf-4589-a673-34f800160918"
        );
        assert_eq!(
            dump("upload_file_minidump", &id),
            "v1/dump/de1bb258-cbbf-4589-a673-34f800160918"
        );
        assert_eq!(
            dump("", &id),
            "v1/dump/de1bb258-cbbf-4589-a673-34f800160918"
        );
        assert_eq!(
            dump("upload_file_minidump_browser", &id),
            "v1/upload_file_minidump_browser/de1bb258-cbbf-4589-a673-34f800160918"
        );
        assert_eq!(
            processed_crash(&id),
            "v1/processed_crash/de1bb258-cbbf-4589-a673-34f800160918"
        );
    }

    #[test]
    fn object_keys_are_validated() {
        for good in [
            "v1/raw_crash/20160918/x",
            "test/testfile-1.txt",
            "a",
            "a/b-c_d.e",
        ] {
            assert!(validate_object_key(good).is_ok(), "{good:?}");
        }
        let long = "a".repeat(MAX_KEY_LEN + 1);
        for bad in [
            "",
            "/abs",
            "../x",
            "a/../../b",
            ".hidden",
            "a/.x.tmp.1",
            "a//b",
            "a/",
            "./a",
            "a\\b",
            "a\0b",
            "a\nb",
            &long,
        ] {
            assert!(
                matches!(validate_object_key(bad), Err(StorageError::Invalid(_))),
                "{bad:?} should be invalid"
            );
        }
    }

    #[test]
    fn dump_names_are_validated() {
        for good in [
            "",
            "upload_file_minidump",
            "upload_file_minidump_browser",
            "memory_report",
            "dump",
        ] {
            assert!(validate_dump_name(good).is_ok(), "{good:?}");
        }
        for bad in [
            "raw_crash",
            "dump_names",
            "processed_crash",
            "a/b",
            "..",
            ".x",
            "a\nb",
        ] {
            assert!(
                validate_dump_name(bad).is_err(),
                "{bad:?} should be invalid"
            );
        }
    }
}

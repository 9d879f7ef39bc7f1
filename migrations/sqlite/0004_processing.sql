-- Crashes found unprocessed by verifyprocessed, and crashes the processor gave up on.

CREATE TABLE missing_processed_crash (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    crash_id TEXT NOT NULL UNIQUE,
    is_processed BOOLEAN NOT NULL DEFAULT FALSE,
    created TEXT NOT NULL
);
CREATE INDEX missing_processed_crash_created ON missing_processed_crash (created);

CREATE TABLE processing_dead_letter (
    crash_id TEXT PRIMARY KEY,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    first_failed TEXT NOT NULL,
    last_failed TEXT NOT NULL
);
CREATE INDEX processing_dead_letter_last_failed ON processing_dead_letter (last_failed);

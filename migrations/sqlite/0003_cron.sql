-- Crontabber bookkeeping: one row per job, one log row per run.

CREATE TABLE cron_job (
    app_name TEXT PRIMARY KEY,
    next_run TEXT,
    first_run TEXT,
    last_run TEXT,
    last_success TEXT,
    -- consecutive failures
    error_count INTEGER NOT NULL DEFAULT 0,
    depends_on TEXT,
    -- {"type", "value", "traceback"} of the last failure
    last_error TEXT,
    -- lock: when and by whom the job was started; NULL when idle
    ongoing TEXT,
    ongoing_owner TEXT
);

CREATE TABLE cron_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_name TEXT NOT NULL,
    log_time TEXT NOT NULL,
    -- seconds
    duration REAL NOT NULL,
    -- the run time on success, else NULL
    success TEXT,
    exc_type TEXT,
    exc_value TEXT,
    exc_traceback TEXT
);
CREATE INDEX cron_log_app_time ON cron_log (app_name, log_time);
CREATE INDEX cron_log_time ON cron_log (log_time);

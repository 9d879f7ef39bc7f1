//! `run!`: one repository call on either engine, with retries.

/// Runs `$body` (an expression using the engine's pool bound to `$pool`, of
/// type `Result<T, sqlx::Error>`) against whichever engine `$db` holds,
/// retrying transient errors per the handle's policy. The body is expanded once
/// per engine, so it must be written in SQL both understand.
macro_rules! run {
    ($db:expr, $op:expr, |$pool:ident| $body:expr) => {{
        let db: &$crate::Db = $db;
        let mut attempt: u32 = 0;
        let started = ::std::time::Instant::now();
        loop {
            let result = match db.pool() {
                $crate::pool::Pool::Sqlite($pool) => $body,
                $crate::pool::Pool::Postgres($pool) => $body,
            };
            match result {
                Ok(value) => break Ok(value),
                Err(error) => {
                    if let Err(e) = db.after_failure($op, attempt, started, error).await {
                        break Err(e);
                    }
                    attempt += 1;
                }
            }
        }
    }};
}

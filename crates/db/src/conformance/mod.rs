//! The repository conformance suite (feature `testsuite`): every repository
//! function, run against any [`Db`]. `tests/conformance_sqlite.rs` and
//! `tests/conformance_postgres.rs` run it on each engine, one test per area.
//! Each function expects a freshly migrated database.

mod bug_associations;
mod cron;
mod migrations;
mod permissions;
mod processing;
mod product_versions;
mod products;
mod signatures;
mod tokens;
mod users;

pub use bug_associations::bug_associations;
pub use cron::{cron_jobs, cron_lock_is_exclusive, cron_log};
pub use migrations::migrations_current;
pub use permissions::groups_and_permissions;
pub use processing::{dead_letters, missing_processed};
pub use product_versions::product_versions;
pub use products::products;
pub use signatures::signatures;
pub use tokens::tokens;
pub use users::users;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use crate::users::NewUser;
use crate::{Db, DbError};

pub(crate) fn t0() -> DateTime<Utc> {
    // sub-second part checks that both engines keep microseconds
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + TimeDelta::microseconds(123_456)
}

pub(crate) fn at(hours: i64) -> DateTime<Utc> {
    t0() + TimeDelta::hours(hours)
}

pub(crate) async fn make_user(db: &Db, name: &str, superuser: bool) -> Result<i64, DbError> {
    let user = db
        .users()
        .create(
            &NewUser {
                username: name,
                email: "",
                password: Some("s3cret-passw0rd"),
                is_superuser: superuser,
                is_active: true,
            },
            t0(),
        )
        .await?;
    Ok(user.id)
}

/// Every area in turn (for callers that want one test).
pub async fn run_all(db: &Db) -> Result<(), DbError> {
    migrations_current(db).await?;
    products(db).await?;
    product_versions(db).await?;
    signatures(db).await?;
    bug_associations(db).await?;
    groups_and_permissions(db).await?;
    users(db).await?;
    tokens(db).await?;
    cron_jobs(db).await?;
    cron_lock_is_exclusive(db).await?;
    cron_log(db).await?;
    missing_processed(db).await?;
    dead_letters(db).await?;
    Ok(())
}

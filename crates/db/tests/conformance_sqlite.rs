//! The repository conformance suite on SQLite (a fresh file per test).

use db::conformance as c;
use db::testing::TestDb;

macro_rules! area {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let t = TestDb::sqlite().await.unwrap();
            c::$name(t.db()).await.unwrap();
        }
    )*};
}

area!(
    migrations_current,
    products,
    product_versions,
    signatures,
    bug_associations,
    users,
    groups_and_permissions,
    tokens,
    cron_jobs,
    cron_lock_is_exclusive,
    cron_log,
    missing_processed,
    dead_letters,
);

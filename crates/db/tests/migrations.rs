//! Migrations forward from empty, idempotent re-runs, status, and clear
//! failures, on both engines.

use db::testing::TestDb;
use db::{Db, DbError, URL_SETTING};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn forward_from_empty(t: &TestDb) -> TestResult {
    let db = t.db();
    let versions: Vec<i64> = db.migrator().iter().map(|m| m.version).collect();
    assert!(versions.len() >= 4, "{versions:?}");

    let before = db.status().await?;
    assert_eq!(before.pending(), versions);
    assert!(before.applied().is_empty());
    assert!(!before.is_current());
    // status only reads
    assert_eq!(db.status().await?, before);

    assert_eq!(db.migrate().await?, versions);
    let after = db.status().await?;
    assert!(after.is_current(), "{after:?}");
    assert_eq!(after.applied(), versions);
    // re-run: nothing to do, nothing changes
    assert!(db.migrate().await?.is_empty());
    assert_eq!(db.status().await?, after);
    // the schema works (seeded permissions)
    assert_eq!(db.permissions().list().await?.len(), 7);

    // a second handle (another process) sees it current too
    let other = Db::connect(&t.config(), std::path::Path::new(".")).await?;
    assert!(other.migrate().await?.is_empty());
    Ok(())
}

async fn concurrent_first_migrations(t: &TestDb) -> TestResult {
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let cfg = t.config();
        tasks.push(tokio::spawn(async move {
            let db = Db::connect(&cfg, std::path::Path::new(".")).await?;
            db.migrate().await?;
            db.status().await
        }));
    }
    for task in tasks {
        let status = task.await??;
        assert!(status.is_current(), "{status:?}");
    }
    Ok(())
}

async fn modified_migration_is_a_clear_error(t: &TestDb) -> TestResult {
    let db = t.db();
    db.migrate().await?;
    let sql = "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1";
    match (db.sqlite_pool(), db.postgres_pool()) {
        (Some(p), _) => sqlx::query(sql)
            .bind(vec![0u8; 4])
            .execute(p)
            .await
            .map(|_| ()),
        (_, Some(p)) => sqlx::query(sql)
            .bind(vec![0u8; 4])
            .execute(p)
            .await
            .map(|_| ()),
        _ => unreachable!(),
    }?;
    let status = db.status().await?;
    assert!(status.migrations[0].modified && !status.is_current());
    let Err(err) = db.migrate().await else {
        panic!("migrate must fail")
    };
    assert!(matches!(err, DbError::Migrate { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(URL_SETTING) && msg.contains("migration 1"),
        "{msg}"
    );
    Ok(())
}

async fn unknown_applied_migration_is_a_clear_error(t: &TestDb) -> TestResult {
    let db = t.db();
    db.migrate().await?;
    let sql =
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
               VALUES (9999, 'from the future', TRUE, $1, 1)";
    match (db.sqlite_pool(), db.postgres_pool()) {
        (Some(p), _) => sqlx::query(sql)
            .bind(vec![1u8; 4])
            .execute(p)
            .await
            .map(|_| ()),
        (_, Some(p)) => sqlx::query(sql)
            .bind(vec![1u8; 4])
            .execute(p)
            .await
            .map(|_| ()),
        _ => unreachable!(),
    }?;
    assert_eq!(db.status().await?.unknown_applied, [9999]);
    let Err(err) = db.migrate().await else {
        panic!("migrate must fail")
    };
    let msg = err.to_string();
    assert!(msg.contains(URL_SETTING) && msg.contains("9999"), "{msg}");
    Ok(())
}

#[tokio::test]
async fn sqlite_forward_from_empty() {
    forward_from_empty(&TestDb::sqlite_empty().await.unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn postgres_forward_from_empty() {
    forward_from_empty(&TestDb::postgres_empty().await.unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_first_migrations() {
    concurrent_first_migrations(&TestDb::sqlite_empty().await.unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_first_migrations() {
    concurrent_first_migrations(&TestDb::postgres_empty().await.unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn sqlite_modified_migration() {
    modified_migration_is_a_clear_error(&TestDb::sqlite_empty().await.unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn postgres_modified_migration() {
    modified_migration_is_a_clear_error(&TestDb::postgres_empty().await.unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn sqlite_unknown_applied_migration() {
    unknown_applied_migration_is_a_clear_error(&TestDb::sqlite_empty().await.unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn postgres_unknown_applied_migration() {
    unknown_applied_migration_is_a_clear_error(&TestDb::postgres_empty().await.unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn open_migrates_on_start() {
    let dir = tempfile::tempdir().unwrap();
    // default URL: sqlite file under the data dir, created with its directory
    let data = dir.path().join("data");
    let db = Db::open(&db::DbConfig::default(), &data).await.unwrap();
    assert_eq!(db.engine(), db::Engine::Sqlite);
    assert!(db.status().await.unwrap().is_current());
    assert!(
        std::fs::metadata(data.join(db::DEFAULT_SQLITE_FILE))
            .unwrap()
            .is_file()
    );
    let cfg = db::DbConfig {
        migrate_on_start: false,
        ..db::DbConfig::default()
    };
    let db2 = Db::open(&cfg, &dir.path().join("other")).await.unwrap();
    assert!(!db2.status().await.unwrap().is_current());
}

/// The two dialects must define the same tables and columns.
#[tokio::test]
async fn both_engines_have_the_same_tables_and_columns() {
    use std::collections::BTreeSet;
    let lite = TestDb::sqlite().await.unwrap();
    let pg = TestDb::postgres().await.unwrap();

    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
         AND name NOT LIKE 'sqlite%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(lite.db().sqlite_pool().unwrap())
    .await
    .unwrap();
    let mut sqlite_cols = BTreeSet::new();
    for t in tables {
        let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
            .bind(&t)
            .fetch_all(lite.db().sqlite_pool().unwrap())
            .await
            .unwrap();
        for c in cols {
            sqlite_cols.insert((t.clone(), c));
        }
    }
    let pg_cols: BTreeSet<(String, String)> = sqlx::query_as::<_, (String, String)>(
        "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pg.db().postgres_pool().unwrap())
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert!(sqlite_cols.len() > 40, "{sqlite_cols:?}");
    assert_eq!(sqlite_cols, pg_cols);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_sqlite_is_one_database() {
    let db = Db::open(
        &db::DbConfig::with_url("sqlite::memory:"),
        std::path::Path::new("."),
    )
    .await
    .unwrap();
    // several pooled connections must see the same data
    db::conformance::cron_lock_is_exclusive(&db).await.unwrap();
    db::conformance::products(&db).await.unwrap();
}

/// The embedded migrators (built from `build.rs`'s list, not `sqlx::migrate!`)
/// hold exactly what sqlx itself reads from the directories: same versions,
/// descriptions, types, SQL, checksums (what databases already migrated by
/// earlier builds recorded) and transaction opt-outs.
#[tokio::test]
async fn embedded_migrations_match_what_sqlx_reads_from_the_directories() -> TestResult {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    for (dir, embedded) in [
        ("postgres", &*db::POSTGRES_MIGRATOR),
        ("sqlite", &*db::SQLITE_MIGRATOR),
    ] {
        let read = sqlx::migrate::Migrator::new(root.join(dir)).await?;
        let summary = |m: &sqlx::migrate::Migrator| {
            m.iter()
                .map(|m| {
                    (
                        m.version,
                        m.description.to_string(),
                        m.migration_type,
                        m.sql.as_str().to_owned(),
                        m.checksum.to_vec(),
                        m.no_tx,
                    )
                })
                .collect::<Vec<_>>()
        };
        let expected = summary(&read);
        assert!(expected.len() >= 4, "{dir}: {} migrations", expected.len());
        assert_eq!(summary(embedded), expected, "{dir}");
    }
    Ok(())
}

//! Bad settings and unreachable servers give errors naming the setting; a
//! lost connection is recovered from.

use std::path::Path;
use std::time::{Duration, Instant};

use db::testing::{TestDb, postgres_admin_url, with_database};
use db::{Db, DbConfig, DbError, URL_SETTING};

fn cfg(url: &str) -> DbConfig {
    DbConfig {
        connect_timeout_secs: 1,
        ..DbConfig::with_url(url)
    }
}

async fn connect_err(url: &str) -> DbError {
    match Db::connect(&cfg(url), Path::new(".")).await {
        Ok(_) => panic!("{url}: connect must fail"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn unsupported_scheme_names_the_setting() {
    let err = connect_err("mysql://root:hunter2@x/db").await;
    assert!(
        matches!(err, DbError::Config { setting, .. } if setting == URL_SETTING),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(URL_SETTING) && msg.contains("mysql"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
}

#[tokio::test]
async fn unparsable_url_names_the_setting() {
    for url in ["not a url", "postgres://[::1/x", "postgres://h:notaport/db"] {
        let msg = connect_err(url).await.to_string();
        assert!(msg.contains(URL_SETTING), "{url}: {msg}");
    }
}

#[tokio::test]
async fn unknown_host_names_the_setting_and_gives_up_in_time() {
    let started = Instant::now();
    let err = connect_err("postgres://u:hunter2@nohost.invalid/x").await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, DbError::Connect { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(URL_SETTING) && msg.contains("nohost.invalid"),
        "{msg}"
    );
    assert!(!msg.contains("hunter2") && msg.contains("***"), "{msg}");
}

#[tokio::test]
async fn refused_port_names_the_setting() {
    let err = connect_err("postgres://postgres@127.0.0.1:1/x").await;
    assert!(matches!(err, DbError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains(URL_SETTING));
}

#[tokio::test]
async fn missing_database_fails_fast() {
    let url = with_database(&postgres_admin_url(), "socorro_no_such_database");
    let started = Instant::now();
    let err = connect_err(&url).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "not transient: {:?}",
        started.elapsed()
    );
    let msg = err.to_string();
    assert!(
        msg.contains(URL_SETTING) && msg.contains("socorro_no_such_database"),
        "{msg}"
    );
}

#[tokio::test]
async fn unusable_sqlite_path_names_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    // a directory cannot be created under a regular file
    let err = connect_err(&format!("sqlite://{}/sub/db.sqlite", file.display())).await;
    assert!(err.to_string().contains(URL_SETTING), "{err}");
}

#[tokio::test]
async fn bad_numbers_name_their_setting() {
    let err = Db::connect(
        &DbConfig {
            max_connections: 0,
            ..DbConfig::default()
        },
        Path::new("."),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("SOCORRO_DB__MAX_CONNECTIONS"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_connections_are_recovered() {
    let t = TestDb::postgres().await.unwrap();
    let db = t.db();
    let name = t.database_name().unwrap().to_owned();
    db.products()
        .upsert(&db::products::Product {
            product_name: "Firefox".into(),
            sort: 1,
            is_active: true,
        })
        .await
        .unwrap();
    let admin = sqlx::PgPool::connect(&postgres_admin_url()).await.unwrap();
    for round in 0..3 {
        // kill every connection of the pool, as a server restart or a
        // network cut would
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
        )
        .bind(&name)
        .fetch_all(&admin)
        .await
        .unwrap();
        assert!(!killed.is_empty(), "round {round}: no connection to kill");
        let got = db.products().get("Firefox").await.unwrap();
        assert_eq!(got.map(|p| p.sort), Some(1), "round {round}");
        db.signatures()
            .record("sig", chrono::Utc::now(), round)
            .await
            .unwrap();
    }
    admin.close().await;
}

#[tokio::test]
async fn closed_pool_is_an_error_not_a_hang() {
    let t = TestDb::sqlite().await.unwrap();
    t.db().close().await;
    let started = Instant::now();
    let err = t.db().products().list().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!err.is_transient(), "{err:?}");
}

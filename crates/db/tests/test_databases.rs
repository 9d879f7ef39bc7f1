//! Per-test databases are separate and removed afterwards, even when the test fails.

use db::testing::{TestDb, postgres_admin_url};

async fn database_exists(name: &str) -> bool {
    let check = async {
        let admin = sqlx::PgPool::connect(&postgres_admin_url()).await?;
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_optional(&admin)
            .await?;
        admin.close().await;
        Ok::<bool, sqlx::Error>(found.is_some())
    };
    match check.await {
        Ok(found) => found,
        Err(e) => panic!("querying pg_database: {e}"),
    }
}

#[tokio::test]
async fn postgres_database_is_dropped() {
    let a = TestDb::postgres().await.unwrap();
    let b = TestDb::postgres().await.unwrap();
    let (na, nb) = (
        a.database_name().unwrap().to_owned(),
        b.database_name().unwrap().to_owned(),
    );
    assert_ne!(na, nb);
    a.db()
        .signatures()
        .record("only in a", chrono::Utc::now(), 1)
        .await
        .unwrap();
    assert_eq!(b.db().signatures().count().await.unwrap(), 0);
    assert!(database_exists(&na).await);
    drop(a);
    assert!(!database_exists(&na).await);
    assert!(database_exists(&nb).await);
}

#[tokio::test]
async fn postgres_database_is_dropped_when_the_test_panics() {
    let name = tokio::spawn(async {
        let t = TestDb::postgres().await.unwrap();
        let name = t.database_name().unwrap().to_owned();
        // leak the name out through the panic payload
        std::panic::panic_any(name);
    })
    .await
    .unwrap_err()
    .into_panic()
    .downcast::<String>()
    .unwrap();
    assert!(name.starts_with(db::testing::DATABASE_PREFIX));
    assert!(!database_exists(&name).await);
}

#[tokio::test]
async fn sqlite_file_is_removed() {
    let t = TestDb::sqlite().await.unwrap();
    let path = t.url().trim_start_matches("sqlite://").to_owned();
    assert!(std::fs::metadata(&path).is_ok());
    t.db().close().await;
    drop(t);
    assert!(std::fs::metadata(&path).is_err());
}

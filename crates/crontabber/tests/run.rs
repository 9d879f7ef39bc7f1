//! `crontabber::run` (what `socorro-crontabber` calls) on the embedded
//! defaults: opens the backends under a data dir, runs due jobs, stops on
//! shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use crontabber::CrontabberConfig;

#[tokio::test]
async fn runs_due_jobs_until_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = CrontabberConfig {
        data_dir: dir.path().to_owned(),
        ..CrontabberConfig::default()
    };
    cfg.cron.tick_secs = 3600;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(crontabber::run(cfg.clone(), shutdown.clone()));

    let deadline = Instant::now() + Duration::from_secs(20);
    let db_file = dir.path().join(db::DEFAULT_SQLITE_FILE);
    let db = loop {
        assert!(
            Instant::now() < deadline,
            "the crontabber never created its database"
        );
        if std::fs::metadata(&db_file).is_ok()
            && let Ok(db) = db::Db::connect(&cfg.db, dir.path()).await
            && let Ok(Some(job)) = db.cron_jobs().get("update-signatures").await
            && job.last_success.is_some()
        {
            break db;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("stops on shutdown")
        .unwrap()
        .unwrap();
    let names: Vec<String> = db
        .cron_jobs()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.app_name)
        .collect();
    for expected in [
        "cleanse-cron-log",
        "update-missing",
        "update-signatures",
        "verify-processed",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(
        !names.iter().any(|n| n == "bug-associations"),
        "off by default"
    );
    assert!(std::fs::metadata(dir.path().join("queue.sqlite")).is_ok());
}

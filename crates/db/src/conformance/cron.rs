//! Conformance: cron.

use super::at;
use crate::cron_jobs::{JobError, LockOutcome};
use crate::cron_log::NewCronLog;
use crate::{Db, DbError};
use chrono::{DateTime, TimeDelta, Utc};

/// Cron job state: bookkeeping, lock, stale lock takeover.
pub async fn cron_jobs(db: &Db) -> Result<(), DbError> {
    let c = db.cron_jobs();
    assert_eq!(c.get("bugassociations").await?, None);
    c.ensure("bugassociations", None).await?;
    c.ensure("bugassociations", Some("updatesignatures"))
        .await?;
    let job = c
        .get("bugassociations")
        .await?
        .ok_or_else(|| DbError::NotFound("job".into()))?;
    assert_eq!(job.depends_on.as_deref(), Some("updatesignatures"));
    assert_eq!(
        (job.next_run, job.error_count, job.ongoing),
        (None, 0, None)
    );

    // lock
    let max = TimeDelta::hours(2);
    assert_eq!(
        c.try_lock("bugassociations", "host-a:1", at(0), max)
            .await?,
        LockOutcome::Acquired
    );
    assert_eq!(
        c.try_lock("bugassociations", "host-b:2", at(1), max)
            .await?,
        LockOutcome::Held {
            owner: Some("host-a:1".into()),
            since: at(0)
        }
    );
    assert!(!c.unlock("bugassociations", "host-b:2").await?);
    // stale after two hours: taken over
    assert_eq!(
        c.try_lock("bugassociations", "host-b:2", at(3), max)
            .await?,
        LockOutcome::Acquired
    );
    let job = c
        .get("bugassociations")
        .await?
        .ok_or_else(|| DbError::NotFound("job".into()))?;
    assert_eq!(
        (job.ongoing, job.ongoing_owner.as_deref()),
        (Some(at(3)), Some("host-b:2"))
    );
    assert!(!c.unlock("bugassociations", "host-a:1").await?);
    assert!(c.unlock("bugassociations", "host-b:2").await?);
    // lock on a job never seen creates it
    assert_eq!(
        c.try_lock("newjob", "me", at(0), max).await?,
        LockOutcome::Acquired
    );

    // failure then success
    let err = JobError {
        exc_type: "Timeout".into(),
        exc_value: "bugzilla".into(),
        exc_traceback: "a\nb".into(),
    };
    c.mark_failure(
        "bugassociations",
        at(4),
        at(4) + TimeDelta::seconds(60),
        &err,
    )
    .await?;
    c.mark_failure(
        "bugassociations",
        at(5),
        at(5) + TimeDelta::seconds(60),
        &err,
    )
    .await?;
    let job = c
        .get("bugassociations")
        .await?
        .ok_or_else(|| DbError::NotFound("job".into()))?;
    assert_eq!(job.error_count, 2);
    assert_eq!(job.last_error.as_ref(), Some(&err));
    assert_eq!(job.first_run, Some(at(4)));
    assert_eq!(job.last_run, Some(at(5)));
    assert_eq!(job.last_success, None);
    c.mark_success(
        "bugassociations",
        at(6),
        at(6) - TimeDelta::minutes(10),
        at(7),
    )
    .await?;
    let job = c
        .get("bugassociations")
        .await?
        .ok_or_else(|| DbError::NotFound("job".into()))?;
    assert_eq!((job.error_count, job.last_error), (0, None));
    assert_eq!(job.first_run, Some(at(4)));
    assert_eq!(job.last_run, Some(at(6)));
    assert_eq!(job.last_success, Some(at(6) - TimeDelta::minutes(10)));
    assert_eq!(job.next_run, Some(at(7)));
    c.set_next_run("bugassociations", None).await?;
    assert_eq!(
        c.get("bugassociations").await?.and_then(|j| j.next_run),
        None
    );

    let names: Vec<String> = c.list().await?.into_iter().map(|j| j.app_name).collect();
    assert_eq!(names, ["bugassociations", "newjob"]);
    assert!(c.reset("newjob").await?);
    assert!(!c.reset("newjob").await?);
    assert!(matches!(c.ensure("", None).await, Err(DbError::Invalid(_))));
    Ok(())
}

/// Many concurrent lockers (separate tasks and connections): exactly one wins.
pub async fn cron_lock_is_exclusive(db: &Db) -> Result<(), DbError> {
    db.cron_jobs().ensure("race", None).await?;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            db.cron_jobs()
                .try_lock("race", &format!("worker-{i}"), at(0), TimeDelta::hours(2))
                .await
        }));
    }
    let mut acquired = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(LockOutcome::Acquired)) => acquired += 1,
            Ok(Ok(LockOutcome::Held { .. })) => {}
            Ok(Err(e)) => return Err(e),
            Err(join) => panic!("locker task failed: {join}"),
        }
    }
    assert_eq!(acquired, 1);
    Ok(())
}

/// Cron log: insert, list, cleanse.
pub async fn cron_log(db: &Db) -> Result<(), DbError> {
    let l = db.cron_log();
    let ok = NewCronLog {
        app_name: "a",
        log_time: at(1),
        duration: 1.5,
        success: Some(at(1)),
        exc_type: None,
        exc_value: None,
        exc_traceback: None,
    };
    let id1 = l.insert(&ok).await?;
    let id2 = l
        .insert(&NewCronLog {
            log_time: at(2),
            success: None,
            exc_type: Some("Boom"),
            exc_value: Some("it broke"),
            exc_traceback: Some("trace"),
            ..ok.clone()
        })
        .await?;
    l.insert(&NewCronLog {
        app_name: "b",
        log_time: at(3),
        ..ok.clone()
    })
    .await?;
    assert!(id2 > id1);
    let all = l.list(None, 10).await?;
    let order: Vec<(&str, DateTime<Utc>)> = all
        .iter()
        .map(|e| (e.app_name.as_str(), e.log_time))
        .collect();
    assert_eq!(order, [("b", at(3)), ("a", at(2)), ("a", at(1))]);
    let a = l.list(Some("a"), 10).await?;
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].exc_type.as_deref(), Some("Boom"));
    assert_eq!(a[0].success, None);
    assert_eq!(a[1].success, Some(at(1)));
    assert!((a[1].duration - 1.5).abs() < 1e-9);
    assert_eq!(l.list(None, 1).await?.len(), 1);
    assert_eq!(l.delete_before(at(2)).await?, 1);
    assert_eq!(l.list(None, 10).await?.len(), 2);
    Ok(())
}

//! Scheduler semantics on both engines: frequency, time of day, depends_on,
//! backfill after downtime, error recording, panics, lock takeover.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::{Behaviour, ScriptedJob, TestClock, at};
use crontabber::{
    Crontabber, Frequency, Outcome, Schedule, ScheduledJob, SchedulerSettings, TimeOfDay,
};
use db::Db;
use db::cron_jobs::LockOutcome;
use db::testing::TestDb;

fn hourly() -> Schedule {
    Schedule {
        frequency: Frequency::hours(1),
        time: None,
        backfill: false,
    }
}

fn daily_at(h: u32, backfill: bool) -> Schedule {
    Schedule {
        frequency: Frequency::days(1),
        time: TimeOfDay::new(h, 0),
        backfill,
    }
}

fn tabber(db: &Db, jobs: Vec<ScheduledJob>, clock: &TestClock) -> Crontabber {
    Crontabber::new(db.clone(), jobs, SchedulerSettings::default())
        .unwrap()
        .with_clock(clock.clock())
        .with_owner("test-owner")
}

async fn outcome(t: &Crontabber, job: &str) -> Outcome {
    t.run_due()
        .await
        .into_iter()
        .find(|r| r.job == job)
        .unwrap()
        .outcome
}

async fn frequency(db: &Db) {
    let job = ScriptedJob::new("hourly");
    let clock = TestClock::new(at(1, 10, 0));
    let t = tabber(
        db,
        vec![ScheduledJob::new(Arc::new(job.clone()), hourly())],
        &clock,
    );
    assert_eq!(
        outcome(&t, "hourly").await,
        Outcome::Ran(vec![at(1, 10, 0)])
    );
    let state = db.cron_jobs().get("hourly").await.unwrap().unwrap();
    assert_eq!(state.next_run, Some(at(1, 11, 0)));
    assert_eq!(state.last_success, Some(at(1, 10, 0)));
    assert_eq!(state.first_run, Some(at(1, 10, 0)));
    assert_eq!(state.ongoing, None, "lock released");
    clock.set(at(1, 10, 30));
    assert_eq!(outcome(&t, "hourly").await, Outcome::NotDue);
    clock.set(at(1, 11, 0));
    assert_eq!(
        outcome(&t, "hourly").await,
        Outcome::NotDue,
        "due strictly after next_run"
    );
    clock.set(at(1, 11, 1));
    assert_eq!(
        outcome(&t, "hourly").await,
        Outcome::Ran(vec![at(1, 11, 1)])
    );
    assert_eq!(job.take(), vec![at(1, 10, 0), at(1, 11, 1)]);
    let log = db.cron_log().list(Some("hourly"), 10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].success, Some(at(1, 11, 1)));
    assert!(
        log.iter()
            .all(|l| l.exc_type.is_none() && l.duration >= 0.0)
    );
}

async fn time_of_day(db: &Db) {
    let job = ScriptedJob::new("daily");
    let clock = TestClock::new(at(1, 3, 0));
    let t = tabber(
        db,
        vec![ScheduledJob::new(Arc::new(job.clone()), daily_at(4, false))],
        &clock,
    );
    assert_eq!(
        outcome(&t, "daily").await,
        Outcome::NotDue,
        "never ran, before 04:00"
    );
    clock.set(at(1, 4, 7));
    assert_eq!(outcome(&t, "daily").await, Outcome::Ran(vec![at(1, 4, 7)]));
    let state = db.cron_jobs().get("daily").await.unwrap().unwrap();
    assert_eq!(
        state.next_run,
        Some(at(2, 4, 0)),
        "aligned to the time of day"
    );
    clock.set(at(1, 23, 59));
    assert_eq!(outcome(&t, "daily").await, Outcome::NotDue);
    clock.set(at(2, 4, 1));
    assert_eq!(outcome(&t, "daily").await, Outcome::Ran(vec![at(2, 4, 1)]));
    assert_eq!(job.take().len(), 2);
}

async fn depends_on(db: &Db) {
    let parent = ScriptedJob::new("parent");
    let child = ScriptedJob::new("child");
    let clock = TestClock::new(at(1, 10, 0));
    // The child is listed first: the scheduler still runs the parent first.
    let t = tabber(
        db,
        vec![
            ScheduledJob::new(Arc::new(child.clone()), hourly()).depends_on(["parent"]),
            ScheduledJob::new(Arc::new(parent.clone()), hourly()),
        ],
        &clock,
    );
    let names: Vec<&str> = t.jobs().iter().map(|j| j.name()).collect();
    assert_eq!(names, ["parent", "child"]);

    parent.set(Behaviour::Fail);
    let reports = t.run_due().await;
    assert!(matches!(reports[0].outcome, Outcome::Failed { .. }));
    assert!(
        matches!(&reports[1].outcome, Outcome::Blocked { parent, .. } if parent == "parent"),
        "{reports:?}"
    );
    assert!(
        child.run_times().is_empty(),
        "a failing parent holds the child"
    );
    let state = db.cron_jobs().get("child").await.unwrap().unwrap();
    assert_eq!(state.depends_on.as_deref(), Some("parent"));

    // Parent still failing on its retry: child still held.
    clock.set(at(1, 10, 2));
    let reports = t.run_due().await;
    assert!(matches!(reports[1].outcome, Outcome::Blocked { .. }));

    // Parent recovers: child runs in the same pass.
    parent.set(Behaviour::Succeed);
    clock.set(at(1, 10, 4));
    let reports = t.run_due().await;
    assert_eq!(reports[0].outcome, Outcome::Ran(vec![at(1, 10, 4)]));
    assert_eq!(reports[1].outcome, Outcome::Ran(vec![at(1, 10, 4)]));

    // A forced run ignores the parent.
    // A parent that succeeded before but failed its last run holds the child.
    parent.set(Behaviour::Fail);
    clock.set(at(1, 11, 5));
    let reports = t.run_due().await;
    assert!(matches!(reports[0].outcome, Outcome::Failed { .. }));
    assert!(
        matches!(&reports[1].outcome, Outcome::Blocked { reason, .. } if reason.contains("failed")),
        "{reports:?}"
    );
    let forced = t.run_job("child", true).await.unwrap();
    assert_eq!(forced.outcome, Outcome::Ran(vec![at(1, 11, 5)]));
    assert!(t.run_job("nope", false).await.is_none());
}

async fn backfill_after_downtime(db: &Db) {
    let job = ScriptedJob::new("backfill");
    let clock = TestClock::new(at(1, 4, 5));
    let t = tabber(
        db,
        vec![ScheduledJob::new(Arc::new(job.clone()), daily_at(4, true))],
        &clock,
    );
    assert_eq!(
        outcome(&t, "backfill").await,
        Outcome::Ran(vec![at(1, 4, 5)])
    );
    // Down for four days; a failure on day 4 stops the catch-up there.
    job.fail_at(Some(at(4, 4, 0)));
    clock.set(at(5, 9, 30));
    let got = outcome(&t, "backfill").await;
    assert!(
        matches!(&got, Outcome::Failed { succeeded, run_time, .. }
            if *succeeded == vec![at(2, 4, 0), at(3, 4, 0)] && *run_time == at(4, 4, 0)),
        "{got:?}"
    );
    let state = db.cron_jobs().get("backfill").await.unwrap().unwrap();
    assert_eq!(
        state.last_success,
        Some(at(3, 4, 0)),
        "resumes from the failed interval"
    );
    assert_eq!(state.error_count, 1);
    // Each run got the previous interval as last_success.
    let runs = job.runs.lock().unwrap().clone();
    assert_eq!(runs[1], (at(2, 4, 0), Some(at(1, 4, 5))));
    assert_eq!(runs[2], (at(3, 4, 0), Some(at(2, 4, 0))));
    job.take();
    // Fixed; the retry (60 s later) backfills the rest.
    job.fail_at(None);
    clock.set(at(5, 9, 32));
    assert_eq!(
        outcome(&t, "backfill").await,
        Outcome::Ran(vec![at(4, 4, 0), at(5, 4, 0)])
    );
    let state = db.cron_jobs().get("backfill").await.unwrap().unwrap();
    assert_eq!(state.last_success, Some(at(5, 4, 0)));
    assert_eq!(state.next_run, Some(at(6, 4, 0)));
    assert_eq!(state.error_count, 0);
    let log = db.cron_log().list(Some("backfill"), 20).await.unwrap();
    let successes: Vec<_> = log.iter().filter_map(|l| l.success).collect();
    assert_eq!(successes.len(), 5, "one log row per interval: {log:?}");
    assert_eq!(log.iter().filter(|l| l.exc_type.is_some()).count(), 1);
}

async fn error_recording(db: &Db) {
    let bad = ScriptedJob::new("bad");
    let boom = ScriptedJob::new("boom");
    let good = ScriptedJob::new("good");
    let clock = TestClock::new(at(1, 10, 0));
    let registry = prometheus::Registry::new();
    let metrics = crontabber::CronMetrics::registered(&registry).unwrap();
    let t = tabber(
        db,
        vec![
            ScheduledJob::new(Arc::new(bad.clone()), hourly()),
            ScheduledJob::new(Arc::new(boom.clone()), hourly()),
            ScheduledJob::new(Arc::new(good.clone()), hourly()),
        ],
        &clock,
    )
    .with_metrics(metrics.clone());
    bad.set(Behaviour::Fail);
    boom.set(Behaviour::Panic);
    let reports = t.run_due().await;
    assert!(matches!(reports[0].outcome, Outcome::Failed { .. }));
    assert!(
        matches!(&reports[1].outcome, Outcome::Failed { error, .. } if error.contains("scripted panic")),
        "{reports:?}"
    );
    assert_eq!(
        reports[2].outcome,
        Outcome::Ran(vec![at(1, 10, 0)]),
        "errors never stop the pass"
    );

    let runs = |job: &str, result: &str| {
        metrics
            .job_runs_total
            .with_label_values(&[job, result])
            .get()
    };
    assert_eq!(runs("bad", "failure"), 1);
    assert_eq!(runs("boom", "failure"), 1);
    assert_eq!(runs("good", "success"), 1);
    assert_eq!(runs("good", "failure"), 0);
    let state = db.cron_jobs().get("bad").await.unwrap().unwrap();
    assert_eq!(state.error_count, 1);
    assert_eq!(state.next_run, Some(at(1, 10, 0) + TimeDelta::seconds(60)));
    let err = state.last_error.unwrap();
    assert_eq!(err.exc_type, "Other");
    assert_eq!(err.exc_value, "scripted failure");
    assert_eq!(state.ongoing, None, "lock released after a failure");
    let panicked = db.cron_jobs().get("boom").await.unwrap().unwrap();
    assert_eq!(panicked.last_error.unwrap().exc_type, "Panicked");
    assert_eq!(panicked.ongoing, None, "lock released after a panic");
    let log = db.cron_log().list(Some("bad"), 5).await.unwrap();
    assert_eq!(log[0].success, None);
    assert_eq!(log[0].exc_type.as_deref(), Some("Other"));

    clock.set(at(1, 10, 0) + TimeDelta::seconds(61));
    t.run_due().await;
    assert_eq!(
        db.cron_jobs()
            .get("bad")
            .await
            .unwrap()
            .unwrap()
            .error_count,
        2
    );

    bad.set(Behaviour::Succeed);
    clock.set(at(1, 10, 3));
    t.run_due().await;
    let state = db.cron_jobs().get("bad").await.unwrap().unwrap();
    assert_eq!(state.error_count, 0);
    assert_eq!(state.last_error, None);

    let status = crontabber::cli::status(db, at(1, 10, 3), TimeDelta::hours(2))
        .await
        .unwrap();
    assert_eq!(status.status, "Broken");
    assert_eq!(status.broken, vec!["boom"]);
}

async fn lock_takeover(db: &Db) {
    let job = ScriptedJob::new("locked");
    let clock = TestClock::new(at(1, 10, 0));
    let t = tabber(
        db,
        vec![ScheduledJob::new(Arc::new(job.clone()), hourly())],
        &clock,
    );
    // Another crontabber took the lock at 10:00 and died.
    let other = db
        .cron_jobs()
        .try_lock("locked", "other-host:1", at(1, 10, 0), TimeDelta::hours(2))
        .await
        .unwrap();
    assert_eq!(other, LockOutcome::Acquired);
    clock.set(at(1, 11, 0));
    let got = outcome(&t, "locked").await;
    assert_eq!(
        got,
        Outcome::Locked {
            owner: Some("other-host:1".into()),
            since: at(1, 10, 0)
        }
    );
    assert!(job.run_times().is_empty());
    clock.set(at(1, 12, 1));
    assert_eq!(
        outcome(&t, "locked").await,
        Outcome::Ran(vec![at(1, 12, 1)]),
        "stale lock taken over"
    );
    let state = db.cron_jobs().get("locked").await.unwrap().unwrap();
    assert_eq!(state.ongoing, None);
    // The old holder's unlock no longer releases anything.
    assert!(
        !db.cron_jobs()
            .unlock("locked", "other-host:1")
            .await
            .unwrap()
    );
}

async fn run_loop_stops(db: &Db) {
    let job = ScriptedJob::new("looped");
    let t = Crontabber::new(
        db.clone(),
        vec![ScheduledJob::new(Arc::new(job.clone()), hourly())],
        SchedulerSettings {
            tick: Duration::from_millis(20),
            ..SchedulerSettings::default()
        },
    )
    .unwrap();
    let token = tokio_util::sync::CancellationToken::new();
    let handle = {
        let (t, token) = (t.clone(), token.clone());
        tokio::spawn(async move { t.run_loop(token).await })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while job.run_times().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "loop never ran the job"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    token.cancel();
    tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .expect("run_loop stops on shutdown")
        .unwrap();
    assert_eq!(job.run_times().len(), 1, "hourly job ran once");
}

fn invalid_job_lists() {
    let a = || ScheduledJob::new(Arc::new(ScriptedJob::new("a")), hourly());
    let b = || ScheduledJob::new(Arc::new(ScriptedJob::new("b")), hourly());
    let check = |jobs: Vec<ScheduledJob>| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let db = TestDb::sqlite().await.unwrap();
            Crontabber::new(db.db().clone(), jobs, SchedulerSettings::default()).map(|_| ())
        })
    };
    assert!(check(vec![a(), a()]).is_err(), "duplicate");
    assert!(
        check(vec![a().depends_on(["x"])]).is_err(),
        "unknown parent"
    );
    assert!(
        check(vec![a().depends_on(["b"]), b().depends_on(["a"])]).is_err(),
        "cycle"
    );
    assert!(check(vec![a(), b().depends_on(["a"])]).is_ok());
}

#[test]
fn job_list_is_validated() {
    invalid_job_lists();
}

macro_rules! on_both_engines {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $case() {
                let t = db::testing::TestDb::sqlite().await.unwrap();
                super::$case(t.db()).await;
            })*
        }
        mod postgres {
            $(#[tokio::test] async fn $case() {
                let t = db::testing::TestDb::postgres().await.unwrap();
                super::$case(t.db()).await;
            })*
        }
    };
}

on_both_engines!(
    frequency,
    time_of_day,
    depends_on,
    backfill_after_downtime,
    error_recording,
    lock_takeover,
    run_loop_stops,
);

#[allow(dead_code)]
fn _unused(_: DateTime<Utc>) {}

//! Two crontabber processes on one database never run a job at once: both
//! try the same due job at the same moment; one runs it, the other sees the
//! lock. Child processes are this test binary re-executed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{Behaviour, ScriptedJob};
use crontabber::{Crontabber, Frequency, Outcome, Schedule, ScheduledJob, SchedulerSettings};
use db::testing::TestDb;

const DB_ENV: &str = "CRONTABBER_TEST_CHILD_DB";
const BARRIER_ENV: &str = "CRONTABBER_TEST_CHILD_BARRIER";
const CHILD_TEST: &str = "child_runs_the_slow_job";
const JOB_SECONDS: u64 = 2;

/// Marks this child ready, then waits until both are (a file barrier), so
/// both try the job at the same moment however slowly each one started.
async fn barrier(dir: &Path) {
    std::fs::write(dir.join(format!("{}.ready", std::process::id())), b"").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ready = std::fs::read_dir(dir).unwrap().count();
        if ready >= 2 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the other child never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Only does something when re-executed (with [`DB_ENV`] set): once both
/// children are ready, runs the job `slow` once and prints the outcome.
#[tokio::test]
async fn child_runs_the_slow_job() {
    let Some(url) = std::env::var_os(DB_ENV) else {
        return;
    };
    let barrier_dir = std::env::var_os(BARRIER_ENV).unwrap();
    let cfg = db::DbConfig::with_url(url.to_string_lossy().into_owned());
    let db = db::Db::connect(&cfg, Path::new(".")).await.unwrap();
    let job = ScriptedJob::new("slow");
    job.set(Behaviour::Sleep(Duration::from_secs(JOB_SECONDS)));
    let schedule = Schedule {
        frequency: Frequency::hours(1),
        time: None,
        backfill: false,
    };
    let tabber = Crontabber::new(
        db,
        vec![ScheduledJob::new(Arc::new(job), schedule)],
        SchedulerSettings::default(),
    )
    .unwrap()
    .with_owner(format!("child-{}", std::process::id()));
    barrier(Path::new(&barrier_dir)).await;
    let report = tabber.run_job("slow", false).await.unwrap();
    let word = match report.outcome {
        Outcome::Ran(_) => "ran".to_owned(),
        Outcome::Locked { owner, .. } => format!("locked-by {}", owner.unwrap_or_default()),
        other => format!("other {other:?}"),
    };
    println!("\nOUTCOME {word}");
}

async fn two_processes(url: &str, db: &db::Db) {
    let barrier_dir = tempfile::tempdir().unwrap();
    let spawn = || {
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads", "1"])
            .env(DB_ENV, url)
            .env(BARRIER_ENV, barrier_dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children = [spawn(), spawn()];
    let mut outcomes = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("OUTCOME ").map(|(_, rest)| rest))
            .unwrap_or_else(|| panic!("no outcome in {stdout}"))
            .to_owned();
        outcomes.push(line);
    }
    outcomes.sort();
    // sorted: "locked-by ..." < "ran"
    assert_eq!(outcomes[1], "ran", "{outcomes:?}");
    assert!(outcomes[0].starts_with("locked-by child-"), "{outcomes:?}");
    let log = db.cron_log().list(Some("slow"), 10).await.unwrap();
    assert_eq!(log.len(), 1, "ran exactly once: {log:?}");
    assert!(log[0].duration >= JOB_SECONDS as f64 - 0.5);
    let state = db.cron_jobs().get("slow").await.unwrap().unwrap();
    assert_eq!(state.ongoing, None);
}

#[tokio::test]
async fn two_processes_sqlite() {
    let t = TestDb::sqlite().await.unwrap();
    two_processes(t.url(), t.db()).await;
}

#[tokio::test]
async fn two_processes_postgres() {
    let t = TestDb::postgres().await.unwrap();
    two_processes(t.url(), t.db()).await;
}

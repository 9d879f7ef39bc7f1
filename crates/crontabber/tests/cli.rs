//! `socorro cron list|run|reset|log|status` through clap, as the `socorro`
//! binary wires them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use clap::Parser;
use common::{Behaviour, ScriptedJob};
use crontabber::cli::{CliError, CronArgs};
use crontabber::{Crontabber, Frequency, Schedule, ScheduledJob, SchedulerSettings, TimeOfDay};
use db::testing::TestDb;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(clap::Subcommand)]
enum Top {
    Cron(CronArgs),
}

async fn cron(t: &Crontabber, args: &[&str]) -> (Result<(), CliError>, String) {
    let cli = Cli::try_parse_from(["socorro", "cron"].iter().chain(args)).unwrap();
    let Top::Cron(args) = cli.command;
    let mut out = Vec::new();
    let r = crontabber::cli::run(t, args, &mut out).await;
    (r, String::from_utf8(out).unwrap())
}

#[tokio::test]
async fn cron_commands() {
    let db = TestDb::sqlite().await.unwrap();
    let ok = ScriptedJob::new("ok-job");
    let bad = ScriptedJob::new("bad-job");
    bad.set(Behaviour::Fail);
    let daily = Schedule {
        frequency: Frequency::days(1),
        time: TimeOfDay::new(23, 59),
        backfill: true,
    };
    let t = Crontabber::new(
        db.db().clone(),
        vec![
            ScheduledJob::new(Arc::new(ok.clone()), daily.clone()),
            ScheduledJob::new(Arc::new(bad.clone()), daily),
        ],
        SchedulerSettings::default(),
    )
    .unwrap();

    let (r, out) = cron(&t, &["list"]).await;
    r.unwrap();
    assert!(
        out.contains("ok-job") && out.contains("23:59") && out.contains("yes"),
        "{out}"
    );

    let (r, out) = cron(&t, &["status"]).await;
    r.unwrap();
    assert!(out.contains("\"Stale\""), "never ran: {out}");

    // Not due before 23:59 unless forced (the clock is real: force both ways).
    let (r, out) = cron(&t, &["run", "ok-job", "--force"]).await;
    r.unwrap();
    assert!(out.starts_with("ok-job: ok ("), "{out}");
    assert_eq!(ok.run_times().len(), 1);

    let (r, out) = cron(&t, &["run", "bad-job", "--force"]).await;
    assert!(matches!(r, Err(CliError::JobFailed { .. })), "{out}");
    assert!(out.contains("FAILED"), "{out}");

    let (r, out) = cron(&t, &["log", "bad-job"]).await;
    r.unwrap();
    assert!(out.contains("FAILED Other: scripted failure"), "{out}");
    let (r, out) = cron(&t, &["log", "ok-job", "--limit", "1"]).await;
    r.unwrap();
    assert_eq!(out.lines().count(), 1);
    assert!(out.contains("success run_time="), "{out}");

    let (r, out) = cron(&t, &["list"]).await;
    r.unwrap();
    assert!(out.contains("Other: scripted failure"), "{out}");

    let (r, out) = cron(&t, &["status"]).await;
    r.unwrap();
    assert!(
        out.contains("\"Broken\"") && out.contains("bad-job"),
        "{out}"
    );

    let (r, out) = cron(&t, &["reset", "bad-job"]).await;
    r.unwrap();
    assert!(out.contains("state reset"), "{out}");
    assert!(db.db().cron_jobs().get("bad-job").await.unwrap().is_none());

    let (r, _) = cron(&t, &["run", "nope"]).await;
    assert!(matches!(r, Err(CliError::UnknownJob(_))));
    let (r, _) = cron(&t, &["log", "nope"]).await;
    assert!(matches!(r, Err(CliError::UnknownJob(_))));

    let (r, out) = cron(&t, &["run", "all", "--force"]).await;
    assert!(r.is_err(), "bad-job still fails: {out}");
    assert_eq!(out.lines().count(), 2, "{out}");
}

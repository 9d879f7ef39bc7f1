//! `socorro cron list|run|reset|log|status`: arguments and their commands,
//! writing to any `Write` (the `socorro` binary passes stdout).

use std::io::Write;

use chrono::{DateTime, TimeDelta, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::scheduler::{Crontabber, Outcome, RunReport};

/// `socorro cron ...`.
#[derive(Debug, Clone, Args)]
pub struct CronArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CronCommand,
}

/// The cron subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum CronCommand {
    /// Every configured job: schedule, next run, last success, errors, lock.
    List,
    /// Run a job now if it is due (`all`: every due job, in order).
    Run {
        /// Job name, or `all`.
        job: String,
        /// Run even if not due or a parent failed (still locked and recorded).
        #[arg(long)]
        force: bool,
    },
    /// Forget a job's state: it is due again at once (or at its time of day).
    Reset {
        /// Job name.
        job: String,
    },
    /// A job's recent runs, newest first.
    Log {
        /// Job name.
        job: String,
        /// How many rows.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Overall health as JSON (Socorro's `/monitoring/cron/`).
    Status,
}

/// A command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The database failed.
    #[error("database error")]
    Db(#[from] db::DbError),
    /// Writing the output failed.
    #[error("cannot write output")]
    Io(#[from] std::io::Error),
    /// No configured job has that name.
    #[error("unknown job {0:?} (see `socorro cron list`)")]
    UnknownJob(String),
    /// The job ran and failed, or could not run.
    #[error("job {job} did not succeed: {detail}")]
    JobFailed {
        /// Job name.
        job: String,
        /// What happened.
        detail: String,
    },
}

/// Runs a cron command against `tabber`'s database and job list.
pub async fn run(tabber: &Crontabber, args: CronArgs, out: &mut dyn Write) -> Result<(), CliError> {
    match args.command {
        CronCommand::List => list(tabber, out).await,
        CronCommand::Run { job, force } => run_jobs(tabber, &job, force, out).await,
        CronCommand::Reset { job } => {
            known(tabber, &job)?;
            let existed = tabber.db().cron_jobs().reset(&job).await?;
            if existed {
                writeln!(out, "{job}: state reset")?;
            } else {
                writeln!(out, "{job}: had no state")?;
            }
            Ok(())
        }
        CronCommand::Log { job, limit } => {
            known(tabber, &job)?;
            for row in tabber.db().cron_log().list(Some(&job), limit).await? {
                let result = match (&row.success, &row.exc_type) {
                    (Some(t), _) => format!("success run_time={}", fmt_time(Some(*t))),
                    (None, Some(kind)) => {
                        format!("FAILED {kind}: {}", row.exc_value.as_deref().unwrap_or(""))
                    }
                    (None, None) => "FAILED".to_owned(),
                };
                writeln!(
                    out,
                    "{}  {:>9.3}s  {result}",
                    fmt_time(Some(row.log_time)),
                    row.duration
                )?;
            }
            Ok(())
        }
        CronCommand::Status => {
            let s = status(tabber.db(), Utc::now(), max_ongoing(tabber)).await?;
            let text = serde_json::to_string_pretty(&s).unwrap_or_default();
            writeln!(out, "{text}")?;
            Ok(())
        }
    }
}

fn max_ongoing(tabber: &Crontabber) -> TimeDelta {
    tabber.settings().max_ongoing
}

fn known(tabber: &Crontabber, job: &str) -> Result<(), CliError> {
    if tabber.jobs().iter().any(|j| j.name() == job) {
        Ok(())
    } else {
        Err(CliError::UnknownJob(job.to_owned()))
    }
}

fn fmt_time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

async fn list(tabber: &Crontabber, out: &mut dyn Write) -> Result<(), CliError> {
    writeln!(
        out,
        "{:<22} {:>5} {:>5} {:<8} {:<21} {:<21} {:>6}  LOCK / LAST ERROR",
        "JOB", "FREQ", "TIME", "BACKFILL", "NEXT RUN", "LAST SUCCESS", "ERRORS"
    )?;
    for job in tabber.jobs() {
        let state = tabber.db().cron_jobs().get(job.name()).await?;
        let s = state.as_ref();
        let extra = match s {
            Some(s) if s.ongoing.is_some() => format!(
                "locked by {} since {}",
                s.ongoing_owner.as_deref().unwrap_or("?"),
                fmt_time(s.ongoing)
            ),
            Some(s) => s
                .last_error
                .as_ref()
                .map(|e| format!("{}: {}", e.exc_type, e.exc_value))
                .unwrap_or_default(),
            None => String::new(),
        };
        writeln!(
            out,
            "{:<22} {:>5} {:>5} {:<8} {:<21} {:<21} {:>6}  {}",
            job.name(),
            job.schedule.frequency.to_string(),
            job.schedule
                .time
                .map_or_else(|| "-".to_owned(), |t| t.to_string()),
            if job.schedule.backfill { "yes" } else { "no" },
            fmt_time(s.and_then(|s| s.next_run)),
            fmt_time(s.and_then(|s| s.last_success)),
            s.map_or(0, |s| s.error_count),
            extra
        )?;
    }
    Ok(())
}

async fn run_jobs(
    tabber: &Crontabber,
    job: &str,
    force: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let reports = if job == "all" {
        if force {
            let mut all = Vec::new();
            for j in tabber.jobs() {
                all.extend(tabber.run_job(j.name(), true).await);
            }
            all
        } else {
            tabber.run_due().await
        }
    } else {
        vec![
            tabber
                .run_job(job, force)
                .await
                .ok_or_else(|| CliError::UnknownJob(job.to_owned()))?,
        ]
    };
    let mut failed = None;
    for r in &reports {
        writeln!(out, "{}: {}", r.job, describe(r))?;
        if matches!(
            r.outcome,
            Outcome::Failed { .. } | Outcome::SchedulerError(_)
        ) && failed.is_none()
        {
            failed = Some(r.clone());
        }
    }
    match failed {
        Some(r) => Err(CliError::JobFailed {
            job: r.job.clone(),
            detail: describe(&r),
        }),
        None => Ok(()),
    }
}

/// One line describing a run report.
pub fn describe(r: &RunReport) -> String {
    match &r.outcome {
        Outcome::NotDue => "not due (use --force to run anyway)".to_owned(),
        Outcome::NothingToBackfill => "no missed interval yet".to_owned(),
        Outcome::Blocked { parent, reason } => format!("blocked: {parent}: {reason}"),
        Outcome::Locked { owner, since } => format!(
            "running elsewhere ({} since {})",
            owner.as_deref().unwrap_or("?"),
            fmt_time(Some(*since))
        ),
        Outcome::Ran(times) => {
            let times: Vec<String> = times.iter().map(|t| fmt_time(Some(*t))).collect();
            format!("ok ({})", times.join(", "))
        }
        Outcome::Failed {
            run_time, error, ..
        } => format!("FAILED at run time {}: {error}", fmt_time(Some(*run_time))),
        Outcome::SchedulerError(e) => format!("scheduler error: {e}"),
    }
}

/// Overall crontabber health (Socorro's `/monitoring/cron/` body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CronStatus {
    /// `ALLGOOD`, `Stale` (nothing ran within `max_ongoing`, or never) or
    /// `Broken` (a job's last run failed).
    pub status: &'static str,
    /// The most recent run, when stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<DateTime<Utc>>,
    /// Jobs whose last run failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub broken: Vec<String>,
}

/// Computes [`CronStatus`] at `now`. Unlike Socorro, "Stale" means no run
/// within `max_ongoing` (Socorro compared minutes to seconds: 5 days).
pub async fn status(
    db: &db::Db,
    now: DateTime<Utc>,
    max_ongoing: TimeDelta,
) -> Result<CronStatus, db::DbError> {
    let jobs = db.cron_jobs().list().await?;
    let broken: Vec<String> = jobs
        .iter()
        .filter(|j| j.error_count > 0)
        .map(|j| j.app_name.clone())
        .collect();
    let most_recent = jobs.iter().filter_map(|j| j.last_run).max();
    let mut s = CronStatus {
        status: "ALLGOOD",
        last_run: None,
        broken: Vec::new(),
    };
    match most_recent {
        Some(t) if t < now - max_ongoing => {
            s.status = "Stale";
            s.last_run = Some(t);
        }
        Some(_) => {}
        None => s.status = "Stale",
    }
    if !broken.is_empty() {
        s.status = "Broken";
        s.broken = broken;
    }
    Ok(s)
}

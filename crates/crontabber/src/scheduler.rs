//! The scheduler: for each due job, in dependency order: take the lock in
//! `cron_job`, run (once per missed interval for backfill jobs), record
//! success or failure in `cron_job` and `cron_log`, release the lock.
//!
//! Errors never stop the loop: a failing job is recorded and retried after
//! the error retry time; a panicking job is caught and recorded; a database
//! error while scheduling one job is logged and the next job runs.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use db::cron_jobs::LockOutcome;
use db::cron_log::NewCronLog;
use db::{Db, DbError};
use futures_util::FutureExt as _;
use tokio_util::sync::CancellationToken;

use crate::job::{Job, JobContext, JobError};
use crate::metrics::CronMetrics;
use crate::schedule::Schedule;

/// The time source; tests inject one to drive time without sleeping.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// A job with its schedule and dependencies.
#[derive(Clone)]
pub struct ScheduledJob {
    /// When it runs.
    pub schedule: Schedule,
    /// Jobs whose last run must have succeeded before this one runs.
    pub depends_on: Vec<String>,
    /// The work.
    pub job: Arc<dyn Job>,
}

impl ScheduledJob {
    /// A job with no dependencies.
    pub fn new(job: Arc<dyn Job>, schedule: Schedule) -> Self {
        Self {
            schedule,
            depends_on: Vec::new(),
            job,
        }
    }

    /// The same, depending on `parents`.
    pub fn depends_on<S: Into<String>>(mut self, parents: impl IntoIterator<Item = S>) -> Self {
        self.depends_on = parents.into_iter().map(Into::into).collect();
        self
    }

    /// The job's name.
    pub fn name(&self) -> &str {
        self.job.name()
    }
}

impl std::fmt::Debug for ScheduledJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduledJob")
            .field("name", &self.name())
            .field("schedule", &self.schedule)
            .field("depends_on", &self.depends_on)
            .finish()
    }
}

/// Scheduler settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerSettings {
    /// A lock older than this is taken over; a run longer than this is
    /// stopped (so two runs never overlap). Socorro: 2 h.
    pub max_ongoing: TimeDelta,
    /// After a failure the job is due again after this. Socorro: 60 s.
    pub error_retry: TimeDelta,
    /// How often [`Crontabber::run_loop`] looks for due jobs.
    pub tick: Duration,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            max_ongoing: db::cron_jobs::DEFAULT_MAX_ONGOING,
            error_retry: TimeDelta::seconds(60),
            tick: Duration::from_secs(60),
        }
    }
}

/// The job list is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JobListError {
    /// Two jobs have one name.
    #[error("job {0:?} is listed twice")]
    Duplicate(String),
    /// A dependency names no configured job.
    #[error("job {job:?} depends on {parent:?}, which is not a configured job")]
    UnknownParent {
        /// The child.
        job: String,
        /// The missing parent.
        parent: String,
    },
    /// Dependencies form a cycle.
    #[error("jobs depend on each other in a cycle: {0}")]
    Cycle(String),
}

/// What happened to one job in one pass.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Not time yet.
    NotDue,
    /// A parent's last run failed or it never succeeded.
    Blocked {
        /// The parent.
        parent: String,
        /// Why it blocks.
        reason: String,
    },
    /// Another crontabber holds the lock (Socorro's `OngoingJobError`).
    Locked {
        /// The holder.
        owner: Option<String>,
        /// Since when.
        since: DateTime<Utc>,
    },
    /// A backfill job whose next interval has not fully passed.
    NothingToBackfill,
    /// Every run succeeded; the run times, oldest first.
    Ran(Vec<DateTime<Utc>>),
    /// A run failed; earlier intervals (if any) succeeded and stay recorded.
    Failed {
        /// Run times that succeeded before the failure.
        succeeded: Vec<DateTime<Utc>>,
        /// The failed run time.
        run_time: DateTime<Utc>,
        /// The error with its causes.
        error: String,
    },
    /// Scheduling itself failed (database); the job did not run or its
    /// result may not be recorded.
    SchedulerError(String),
}

/// One job's outcome in one pass.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    /// Job name.
    pub job: String,
    /// What happened.
    pub outcome: Outcome,
}

/// The crontabber: a job list in dependency order over one database.
#[derive(Clone)]
pub struct Crontabber {
    db: Db,
    jobs: Vec<ScheduledJob>,
    settings: SchedulerSettings,
    clock: Clock,
    owner: String,
    metrics: Option<CronMetrics>,
}

impl std::fmt::Debug for Crontabber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crontabber")
            .field("jobs", &self.jobs)
            .field("settings", &self.settings)
            .field("owner", &self.owner)
            .finish()
    }
}

impl Crontabber {
    /// A crontabber over `db` running `jobs` (ordered so parents come before
    /// children, otherwise in the given order), with the wall clock and a
    /// lock owner of `<host>:<pid>:<random>`.
    pub fn new(
        db: Db,
        jobs: Vec<ScheduledJob>,
        settings: SchedulerSettings,
    ) -> Result<Self, JobListError> {
        Ok(Self {
            db,
            jobs: dependency_order(jobs)?,
            settings,
            clock: system_clock(),
            owner: default_owner(),
            metrics: None,
        })
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the lock owner name.
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// Records run counts and durations in `metrics`.
    pub fn with_metrics(mut self, metrics: CronMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The jobs in the order they run.
    pub fn jobs(&self) -> &[ScheduledJob] {
        &self.jobs
    }

    /// The scheduler settings.
    pub fn settings(&self) -> &SchedulerSettings {
        &self.settings
    }

    /// The lock owner name.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Runs every due job once, in dependency order (Socorro's `cronrun`).
    pub async fn run_due(&self) -> Vec<RunReport> {
        let mut out = Vec::with_capacity(self.jobs.len());
        for job in &self.jobs {
            out.push(self.report(job, false).await);
        }
        out
    }

    /// Runs one job by name: when due (and its parents succeeded), or with
    /// `force` regardless of schedule and parents. A forced run still takes
    /// the lock and is recorded; a forced backfill job with no missed interval
    /// runs once for now. `None` when no job has that name.
    pub async fn run_job(&self, name: &str, force: bool) -> Option<RunReport> {
        let job = self.jobs.iter().find(|j| j.name() == name)?;
        Some(self.report(job, force).await)
    }

    /// Runs due jobs every `tick` until `shutdown` is cancelled. A run in
    /// progress finishes first.
    pub async fn run_loop(&self, shutdown: CancellationToken) {
        tracing::info!(owner = %self.owner, jobs = self.jobs.len(), "crontabber started");
        loop {
            for report in self.run_due().await {
                log_report(&report);
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.settings.tick) => {}
            }
        }
        tracing::info!("crontabber stopped");
    }

    async fn report(&self, job: &ScheduledJob, force: bool) -> RunReport {
        let outcome = match self.try_run(job, force).await {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::error!(job = job.name(), %error, "scheduling failed");
                Outcome::SchedulerError(error.to_string())
            }
        };
        RunReport {
            job: job.name().to_owned(),
            outcome,
        }
    }

    async fn try_run(&self, job: &ScheduledJob, force: bool) -> Result<Outcome, DbError> {
        let name = job.name();
        let repo = self.db.cron_jobs();
        let depends = (!job.depends_on.is_empty()).then(|| job.depends_on.join(","));
        repo.ensure(name, depends.as_deref()).await?;
        let now = (self.clock)();
        let state = repo.get(name).await?;
        if !force {
            if !job
                .schedule
                .is_due(state.as_ref().and_then(|s| s.next_run), now)
            {
                return Ok(Outcome::NotDue);
            }
            if let Some(blocked) = self.blocked_by(job).await? {
                return Ok(blocked);
            }
        }
        match repo
            .try_lock(name, &self.owner, now, self.settings.max_ongoing)
            .await?
        {
            LockOutcome::Acquired => {}
            LockOutcome::Held { owner, since } => return Ok(Outcome::Locked { owner, since }),
        }
        let result = self.run_locked(job, now, force).await;
        if let Err(error) = repo.unlock(name, &self.owner).await {
            tracing::error!(job = name, %error, "could not release the lock; it expires after max_ongoing");
        }
        result
    }

    async fn blocked_by(&self, job: &ScheduledJob) -> Result<Option<Outcome>, DbError> {
        for parent in &job.depends_on {
            let state = self.db.cron_jobs().get(parent).await?;
            let reason = match state {
                Some(p) if p.error_count > 0 => "its last run failed",
                Some(p) if p.last_success.is_some() => continue,
                _ => "it has not succeeded yet",
            };
            return Ok(Some(Outcome::Blocked {
                parent: parent.clone(),
                reason: reason.to_owned(),
            }));
        }
        Ok(None)
    }

    async fn run_locked(
        &self,
        job: &ScheduledJob,
        now: DateTime<Utc>,
        force: bool,
    ) -> Result<Outcome, DbError> {
        let name = job.name();
        let repo = self.db.cron_jobs();
        // Re-read under the lock: another crontabber may have run it meanwhile.
        let state = repo.get(name).await?;
        let (next_run, mut last_success) = state
            .as_ref()
            .map_or((None, None), |s| (s.next_run, s.last_success));
        if !force && !job.schedule.is_due(next_run, now) {
            return Ok(Outcome::NotDue);
        }
        let mut run_times = job.schedule.run_times(last_success, now);
        if run_times.is_empty() {
            if !force {
                return Ok(Outcome::NothingToBackfill);
            }
            run_times.push(now);
        }
        let mut succeeded = Vec::with_capacity(run_times.len());
        for run_time in run_times {
            let ctx = JobContext {
                db: self.db.clone(),
                last_success,
                interval: job.schedule.frequency.delta(),
                now,
            };
            tracing::info!(job = name, run_time = %run_time, "running");
            let started = Instant::now();
            let result = self.guarded_run(job.job.as_ref(), &ctx, run_time).await;
            let duration = started.elapsed().as_secs_f64();
            if let Some(m) = &self.metrics {
                m.observe(name, result.is_ok(), duration);
            }
            match result {
                Ok(()) => {
                    let next = job.schedule.next_run_after_success(now);
                    repo.mark_success(name, now, run_time, next).await?;
                    self.log(NewCronLog {
                        app_name: name,
                        log_time: (self.clock)(),
                        duration,
                        success: Some(run_time),
                        exc_type: None,
                        exc_value: None,
                        exc_traceback: None,
                    })
                    .await?;
                    last_success = Some(run_time);
                    succeeded.push(run_time);
                }
                Err(error) => {
                    tracing::error!(job = name, run_time = %run_time, error = %error.full_message(), "job failed");
                    let record = error.to_record();
                    repo.mark_failure(name, now, now + self.settings.error_retry, &record)
                        .await?;
                    self.log(NewCronLog {
                        app_name: name,
                        log_time: (self.clock)(),
                        duration,
                        success: None,
                        exc_type: Some(&record.exc_type),
                        exc_value: Some(&record.exc_value),
                        exc_traceback: Some(&record.exc_traceback),
                    })
                    .await?;
                    return Ok(Outcome::Failed {
                        succeeded,
                        run_time,
                        error: record.exc_value,
                    });
                }
            }
        }
        Ok(Outcome::Ran(succeeded))
    }

    /// Runs the job, turning a panic or an overrun into an error.
    async fn guarded_run(
        &self,
        job: &dyn Job,
        ctx: &JobContext,
        run_time: DateTime<Utc>,
    ) -> Result<(), JobError> {
        let limit = self
            .settings
            .max_ongoing
            .to_std()
            .unwrap_or(Duration::from_secs(7200));
        let run = AssertUnwindSafe(job.run(ctx, run_time)).catch_unwind();
        match tokio::time::timeout(limit, run).await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_owned());
                Err(JobError::Panicked(message))
            }
            Err(_) => Err(JobError::TimedOut(limit)),
        }
    }

    async fn log(&self, entry: NewCronLog<'_>) -> Result<(), DbError> {
        self.db.cron_log().insert(&entry).await.map(|_| ())
    }
}

fn log_report(report: &RunReport) {
    let job = report.job.as_str();
    match &report.outcome {
        Outcome::NotDue => tracing::debug!(job, "not due"),
        Outcome::NothingToBackfill => tracing::debug!(job, "no interval to backfill yet"),
        Outcome::Blocked { parent, reason } => {
            tracing::warn!(job, parent = %parent, reason = %reason, "blocked by a parent job")
        }
        Outcome::Locked { owner, since } => {
            tracing::warn!(job, owner = owner.as_deref().unwrap_or("?"), since = %since, "job is running elsewhere; skipped")
        }
        Outcome::Ran(times) => tracing::info!(job, runs = times.len(), "job succeeded"),
        Outcome::Failed { error, .. } => {
            tracing::warn!(job, error = %error, "job failed; will retry")
        }
        Outcome::SchedulerError(error) => tracing::error!(job, error = %error, "scheduling failed"),
    }
}

fn default_owner() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Stable topological order: repeatedly take the first job (in the given
/// order) whose parents are all placed.
fn dependency_order(jobs: Vec<ScheduledJob>) -> Result<Vec<ScheduledJob>, JobListError> {
    let mut names = BTreeSet::new();
    for j in &jobs {
        if !names.insert(j.name().to_owned()) {
            return Err(JobListError::Duplicate(j.name().to_owned()));
        }
    }
    for j in &jobs {
        if let Some(parent) = j.depends_on.iter().find(|p| !names.contains(p.as_str())) {
            return Err(JobListError::UnknownParent {
                job: j.name().to_owned(),
                parent: parent.clone(),
            });
        }
    }
    let mut placed = BTreeSet::<String>::new();
    let mut pending: BTreeMap<usize, ScheduledJob> = jobs.into_iter().enumerate().collect();
    let mut out = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .find(|(_, j)| j.depends_on.iter().all(|p| placed.contains(p)))
            .map(|(i, _)| *i);
        let Some(i) = ready else {
            let cycle: Vec<&str> = pending.values().map(ScheduledJob::name).collect();
            return Err(JobListError::Cycle(cycle.join(", ")));
        };
        if let Some(job) = pending.remove(&i) {
            placed.insert(job.name().to_owned());
            out.push(job);
        }
    }
    Ok(out)
}

//! Each job against real backends: FS crash storage, the SQLite queue, the
//! relational store (SQLite here; the scheduler suite covers PostgreSQL),
//! Socorro's historical processed crashes and product details, and a local
//! HTTP server serving Bugzilla-shaped responses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use common::{Canned, ScriptedJob, TestClock, TestServer, at, ctx};
use crash_queue::{CrashQueue, QueueName, SqliteQueue};
use crash_storage::{CrashId, CrashStorage, DumpSet, FsObjectStore, KeyedCrashStorage, RawCrash};
use crontabber::config::BugzillaConfig;
use crontabber::jobs::bug_associations::BugAssociations;
use crontabber::jobs::cleanse_cron_log::CleanseCronLog;
use crontabber::jobs::product_versions::{ProductVersions, Source};
use crontabber::jobs::search_index_cleanup::SearchIndexCleanup;
use crontabber::jobs::storage_retention::StorageRetention;
use crontabber::jobs::update_missing::UpdateMissing;
use crontabber::jobs::update_signatures::UpdateSignatures;
use crontabber::jobs::verify_processed::VerifyProcessed;
use crontabber::{
    Backends, BoxError, CronConfig, Crontabber, Frequency, IndexRetention, Job, Outcome, Schedule,
    ScheduledJob, SchedulerSettings,
};
use db::testing::TestDb;
use serde_json::Value;

const TESTDATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/socorro"
);
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

struct Env {
    db: TestDb,
    dir: tempfile::TempDir,
    storage: Arc<dyn CrashStorage>,
    queue: Arc<SqliteQueue>,
}

impl Env {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = FsObjectStore::open(dir.path().join("crashes")).unwrap();
        let storage: Arc<dyn CrashStorage> = Arc::new(KeyedCrashStorage::new(Arc::new(store)));
        let queue = Arc::new(
            SqliteQueue::open(&dir.path().join("queue.sqlite"))
                .await
                .unwrap(),
        );
        Self {
            db: TestDb::sqlite().await.unwrap(),
            dir,
            storage,
            queue,
        }
    }

    fn db(&self) -> &db::Db {
        self.db.db()
    }

    fn crash_root(&self) -> PathBuf {
        self.dir.path().join("crashes")
    }

    async fn save(&self, id: &CrashId, processed: Option<&Value>) {
        let mut raw = RawCrash::new();
        raw.insert("ProductName", "Firefox");
        raw.insert("uuid", id.as_str());
        self.storage
            .save_raw_crash(id, &raw, &DumpSet::new())
            .await
            .unwrap();
        if let Some(p) = processed {
            self.storage.save_processed_crash(id, p).await.unwrap();
        }
    }

    fn tabber(&self, jobs: Vec<ScheduledJob>, clock: &TestClock) -> Crontabber {
        Crontabber::new(self.db().clone(), jobs, SchedulerSettings::default())
            .unwrap()
            .with_clock(clock.clock())
    }
}

/// Socorro's historical processed crashes (2015-11-30), uncompressed.
fn historical() -> Vec<Value> {
    let dir = Path::new(TESTDATA).join("historical/processed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let mut input = std::io::BufReader::new(std::fs::File::open(f).unwrap());
            let mut out = Vec::new();
            lzma_rs::xz_decompress(&mut input, &mut out).unwrap();
            serde_json::from_slice(&out).unwrap()
        })
        .collect()
}

fn uuid_of(v: &Value) -> CrashId {
    CrashId::parse(v["uuid"].as_str().unwrap()).unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn update_signatures_records_first_date_and_build() {
    let env = Env::new().await;
    let crashes = historical();
    assert_eq!(crashes.len(), 6);
    for c in &crashes {
        env.save(&uuid_of(c), Some(c)).await;
    }
    // Later sighting of one signature with an older build: build lowers, date stays.
    let mut later = crashes[2].clone();
    let later_id = CrashId::parse("11111111-2222-4333-8444-555555151130").unwrap();
    later["uuid"] = later_id.as_str().into();
    later["date_processed"] = "2015-11-30T00:40:00.000000+00:00".into();
    later["build"] = "20100101000000".into();
    env.save(&later_id, Some(&later)).await;
    // Outside the window: ignored.
    let mut outside = crashes[0].clone();
    let outside_id = CrashId::parse("11111111-2222-4333-8444-666666151130").unwrap();
    outside["uuid"] = outside_id.as_str().into();
    outside["signature"] = "too late".into();
    outside["date_processed"] = "2015-11-30T01:00:00.000000+00:00".into();
    env.save(&outside_id, Some(&outside)).await;
    // No build id: skipped, as in Socorro.
    let mut no_build = crashes[0].clone();
    let no_build_id = CrashId::parse("11111111-2222-4333-8444-777777151130").unwrap();
    no_build["uuid"] = no_build_id.as_str().into();
    no_build["signature"] = "no build".into();
    no_build["build"] = "".into();
    env.save(&no_build_id, Some(&no_build)).await;
    // Raw crash not processed yet: skipped.
    env.save(
        &CrashId::parse("11111111-2222-4333-8444-888888151130").unwrap(),
        None,
    )
    .await;

    // Hourly backfill through the scheduler: last success 00:00, now 01:00:30.
    let job = UpdateSignatures::new(env.storage.clone());
    let run_for = Utc.with_ymd_and_hms(2015, 11, 30, 1, 0, 0).unwrap();
    job.run(
        &ctx(env.db(), Some(run_for - TimeDelta::hours(1)), run_for),
        run_for,
    )
    .await
    .unwrap();

    let sigs = env.db().signatures();
    assert_eq!(sigs.count().await.unwrap(), 6, "six distinct signatures");
    for c in &crashes {
        let got = sigs
            .get(c["signature"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(got.first_date <= utc(c["date_processed"].as_str().unwrap()));
    }
    let js = sigs.get("js_compare_strings").await.unwrap().unwrap();
    assert_eq!(js.first_build, 20100101000000, "min build");
    assert_eq!(
        js.first_date,
        utc("2015-11-30T00:00:22.981651+00:00"),
        "min date"
    );
    assert!(sigs.get("too late").await.unwrap().is_none());
    assert!(sigs.get("no build").await.unwrap().is_none());
    let flash = sigs
        .get("libflashplayer.so@0x798f4d")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(flash.first_build, 20130307122853);

    // A second, earlier window lowers first_date.
    let mut early = crashes[1].clone();
    let early_id = CrashId::parse("11111111-2222-4333-8444-999999151129").unwrap();
    early["uuid"] = early_id.as_str().into();
    early["date_processed"] = "2015-11-29T23:30:00+00:00".into();
    env.save(&early_id, Some(&early)).await;
    let run_for = Utc.with_ymd_and_hms(2015, 11, 30, 0, 0, 0).unwrap();
    job.run(&ctx(env.db(), None, run_for), run_for)
        .await
        .unwrap();
    let flash = sigs
        .get("libflashplayer.so@0x798f4d")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(flash.first_date, utc("2015-11-29T23:30:00+00:00"));
}

const BUG_SCHEDULE: Schedule = Schedule {
    frequency: Frequency::hours(1),
    time: None,
    backfill: false,
};

#[tokio::test]
async fn bug_associations_sync_and_survive_malformed_responses() {
    let env = Env::new().await;
    let fixture =
        |name: &str| std::fs::read(Path::new(FIXTURES).join("bugzilla").join(name)).unwrap();
    let server = TestServer::start(vec![
        Canned::json(fixture("bugs.json")),
        Canned::json(fixture("malformed.json")),
        Canned::json(fixture("wrong_shape.json")),
        Canned {
            status: 500,
            content_type: "text/html",
            body: b"<html>oops</html>".to_vec(),
        },
        Canned::json(fixture("bugs.json")),
    ]);
    let ba = env.db().bug_associations();
    ba.add(1000001, "stale signature").await.unwrap();
    ba.add(1000003, "old signature").await.unwrap();
    ba.add(42, "untouched").await.unwrap();

    let cfg = BugzillaConfig {
        base_url: format!("{}/rest/", server.base_url),
        api_key: Some("k3y".into()),
        timeout_secs: 5,
    };
    let after = ScriptedJob::new("after");
    let clock = TestClock::new(at(1, 10, 0));
    let tabber = env.tabber(
        vec![
            ScheduledJob::new(Arc::new(BugAssociations::new(&cfg).unwrap()), BUG_SCHEDULE),
            ScheduledJob::new(Arc::new(after.clone()), BUG_SCHEDULE),
        ],
        &clock,
    );
    let reports = tabber.run_due().await;
    assert_eq!(
        reports[0].outcome,
        Outcome::Ran(vec![at(1, 10, 0)]),
        "{reports:?}"
    );
    let links: Vec<(i64, String)> = ba
        .signatures_for_bugs(&[42, 1000001, 1000002, 1000003, 1000004])
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.bug_id, b.signature))
        .collect();
    let want: Vec<(i64, String)> = [
        (42, "untouched"),
        (1000001, "OOM | small"),
        (1000001, "js::GCMarker::processMarkStackTop"),
        (1000002, "shutdownhang | KiIntSystemCall"),
        (
            1000002,
            "shutdownhang | WaitForSingleObjectEx | WaitForSingleObject",
        ),
        (1000004, "mozilla::dom::Foo<T>::Bar[]"),
    ]
    .into_iter()
    .map(|(b, s)| (b, s.to_owned()))
    .collect();
    assert_eq!(links, want);
    let first = &server.requests()[0];
    assert!(
        first.starts_with("/rest/bug?chfieldfrom=2024-02-29&chfieldto=Now&chfield=%5BBug+creation%5D&chfield=cf_crash_signature&include_fields=id&include_fields=cf_crash_signature"),
        "{first}"
    );

    // Malformed JSON, wrong shape, HTTP 500: each run fails, is recorded,
    // changes nothing, and the next job in the pass still runs.
    for (i, kind) in [(1, "BadResponse"), (2, "BadResponse"), (3, "BadResponse")] {
        clock.set(at(1, 11, 1) + TimeDelta::minutes(2 * i));
        let reports = tabber.run_due().await;
        assert!(
            matches!(reports[0].outcome, Outcome::Failed { .. }),
            "{reports:?}"
        );
        assert!(matches!(
            reports[1].outcome,
            Outcome::Ran(_) | Outcome::NotDue
        ));
        let state = env
            .db()
            .cron_jobs()
            .get("bug-associations")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(state.error_count, i32::try_from(i).unwrap());
        assert_eq!(state.last_error.unwrap().exc_type, kind);
        assert_eq!(ba.count().await.unwrap(), 6, "nothing changed");
    }
    let requests = server.requests();
    assert!(
        requests[1].contains("chfieldfrom=2024-03-01"),
        "last success date: {}",
        requests[1]
    );
    let log = env
        .db()
        .cron_log()
        .list(Some("bug-associations"), 10)
        .await
        .unwrap();
    assert_eq!(log.iter().filter(|l| l.exc_type.is_some()).count(), 3);
    assert!(
        log[0].exc_value.as_deref().unwrap().contains("500"),
        "{log:?}"
    );

    // Bugzilla is back: recovers.
    clock.set(at(1, 12, 0));
    let reports = tabber.run_due().await;
    assert!(matches!(reports[0].outcome, Outcome::Ran(_)), "{reports:?}");
    let state = env
        .db()
        .cron_jobs()
        .get("bug-associations")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.error_count, 0);
}

#[tokio::test]
async fn bug_associations_unreachable_server_is_an_error_not_a_crash() {
    let env = Env::new().await;
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = BugzillaConfig {
        base_url: format!("http://127.0.0.1:{port}/rest"),
        api_key: None,
        timeout_secs: 2,
    };
    let job = BugAssociations::new(&cfg).unwrap();
    let err = job
        .run(&ctx(env.db(), None, at(1, 0, 0)), at(1, 0, 0))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "Http");
}

/// Drains the reprocessing queue through the real processor
/// (`processor::Processor::process_crash`), acking each crash once saved.
async fn process_reprocessing_queue(env: &Env) -> Vec<CrashId> {
    let registry = prometheus::Registry::new();
    let processor = processor::Processor::new(
        processor::ProcessorSettings::default(),
        &env.dir.path().join("processor"),
        env.storage.clone(),
        env.queue.clone(),
        env.db().clone(),
        &registry,
    )
    .unwrap();
    let mut done = Vec::new();
    loop {
        let msgs = env
            .queue
            .pull(QueueName::Reprocessing, 10, Duration::from_secs(60))
            .await
            .unwrap();
        if msgs.is_empty() {
            return done;
        }
        for m in &msgs {
            let item = m.item().unwrap();
            let processed = processor.process_crash(&item).await.unwrap();
            assert_eq!(processed["uuid"].as_str(), Some(item.crash_id.as_str()));
            done.push(item.crash_id);
        }
        let leases: Vec<_> = msgs.iter().map(|m| m.lease.clone()).collect();
        env.queue.ack(&leases).await.unwrap();
    }
}

#[tokio::test]
async fn verify_processed_requeues_a_crash_that_lost_its_processed_crash() {
    let env = Env::new().await;
    let crashes = historical();
    for c in &crashes {
        env.save(&uuid_of(c), Some(c)).await;
    }
    // A crash of another day is not looked at.
    let other_day = CrashId::parse("22222222-2222-4333-8444-555555151201").unwrap();
    env.save(&other_day, None).await;
    // Delete one processed crash from the FS store.
    let victim = uuid_of(&crashes[3]);
    let path = env
        .crash_root()
        .join(crash_storage::keys::processed_crash(&victim));
    assert!(
        std::fs::metadata(&path).unwrap().is_file(),
        "{}",
        path.display()
    );
    std::fs::remove_file(&path).unwrap();
    assert!(!env.storage.processed_crash_exists(&victim).await.unwrap());

    let metrics = crontabber::CronMetrics::new().unwrap();
    let verify = VerifyProcessed::new(
        env.storage.clone(),
        env.queue.clone(),
        Some(metrics.clone()),
    );
    let update = UpdateMissing::new(env.storage.clone());
    let daily = |h| Schedule {
        frequency: Frequency::days(1),
        time: crontabber::TimeOfDay::new(h, 0),
        backfill: true,
    };
    // 2015-12-01 04:10: verify-processed checks 2015-11-30.
    let clock = TestClock::new(Utc.with_ymd_and_hms(2015, 12, 1, 4, 10, 0).unwrap());
    let tabber = env.tabber(
        vec![
            ScheduledJob::new(Arc::new(verify), daily(4)),
            ScheduledJob::new(
                Arc::new(update),
                Schedule {
                    backfill: false,
                    ..daily(3)
                },
            ),
        ],
        &clock,
    );
    let reports = tabber.run_due().await;
    assert!(
        reports.iter().all(|r| matches!(r.outcome, Outcome::Ran(_))),
        "{reports:?}"
    );

    let missing = env.db().missing_processed();
    let row = missing.get(victim.as_str()).await.unwrap().unwrap();
    assert!(!row.is_processed, "update-missing ran before reprocessing");
    assert_eq!(missing.count(None).await.unwrap(), 1);
    assert_eq!(
        env.queue.depth(QueueName::Reprocessing).await.unwrap(),
        Some(1)
    );
    assert_eq!(metrics.missing_processed.get(), 1);

    // The reprocessing queue is drained: the crash is processed again.
    let processed = process_reprocessing_queue(&env).await;
    assert_eq!(processed, vec![victim.clone()]);
    assert!(env.storage.processed_crash_exists(&victim).await.unwrap());

    // Next day: update-missing marks it processed; verify-processed (for
    // 2015-12-01: only the unprocessed crash of that day) finds no repeat.
    clock.set(Utc.with_ymd_and_hms(2015, 12, 2, 4, 10, 0).unwrap());
    let reports = tabber.run_due().await;
    assert!(
        reports.iter().all(|r| matches!(r.outcome, Outcome::Ran(_))),
        "{reports:?}"
    );
    assert!(
        missing
            .get(victim.as_str())
            .await
            .unwrap()
            .unwrap()
            .is_processed
    );
    assert!(
        missing.get(other_day.as_str()).await.unwrap().is_some(),
        "12-01's unprocessed crash found"
    );
    assert_eq!(missing.count(None).await.unwrap(), 2);
}

#[tokio::test]
async fn product_versions_from_socorro_product_details_dir_file_and_url() {
    let env = Env::new().await;
    let dir = Path::new(TESTDATA).join("fixtures/product_details");
    let job = ProductVersions::new(Source::Path(dir)).unwrap();
    job.run(&ctx(env.db(), None, at(1, 0, 0)), at(1, 0, 0))
        .await
        .unwrap();
    let products: Vec<(String, i32)> = env
        .db()
        .products()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.product_name, p.sort))
        .collect();
    let want: Vec<(String, i32)> = [
        ("Firefox", 1),
        ("Fenix", 2),
        ("Focus", 3),
        ("MozillaVPN", 4),
        ("ReferenceBrowser", 11),
        ("Thunderbird", 80),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_owned(), s))
    .collect();
    assert_eq!(products, want);
    // "auto" and product_details.* are resolved by the webapp, not stored.
    assert!(
        env.db()
            .product_versions()
            .featured("Firefox")
            .await
            .unwrap()
            .is_empty()
    );

    let doc = serde_json::json!({"products": [{
        "name": "Firefox",
        "home_page_sort": 1,
        "featured_versions": ["auto", "128.0", "129.0b"],
        "versions": [
            {"release_channel": "beta", "version_string": "128.0b3", "release_version": "128.0",
             "build_id": "20240610091817"},
            {"release_channel": "release", "version_string": "127.0.1", "build_id": "20240618000000",
             "archive_url": "https://archive.example/127.0.1/"}
        ]
    }]});
    let file = env.dir.path().join("details.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let job = ProductVersions::new(Source::parse(file.to_str().unwrap())).unwrap();
    for _ in 0..2 {
        job.run(&ctx(env.db(), None, at(1, 0, 0)), at(1, 0, 0))
            .await
            .unwrap();
    }
    let versions = env.db().product_versions().list("Firefox").await.unwrap();
    assert_eq!(versions.len(), 2, "no duplicates on re-run");
    let beta = versions
        .iter()
        .find(|v| v.version_string == "128.0b3")
        .unwrap();
    assert_eq!(
        (beta.major_version, beta.release_version.as_str()),
        (128, "128.0")
    );
    let rel = versions
        .iter()
        .find(|v| v.version_string == "127.0.1")
        .unwrap();
    assert_eq!(rel.release_version, "127.0.1");
    assert_eq!(
        env.db()
            .product_versions()
            .featured("Firefox")
            .await
            .unwrap(),
        vec!["128.0", "129.0b"]
    );

    // Same document over HTTP; then a broken one fails without writing.
    let server = TestServer::start(vec![
        Canned::json(
            serde_json::to_vec(&serde_json::json!([{"name": "Thunderbird", "home_page_sort": 5}]))
                .unwrap(),
        ),
        Canned::json(b"{\"products\": [{\"home_page_sort\": 1}]}".to_vec()),
    ]);
    let job =
        ProductVersions::new(Source::parse(&format!("{}/details.json", server.base_url))).unwrap();
    job.run(&ctx(env.db(), None, at(1, 0, 0)), at(1, 0, 0))
        .await
        .unwrap();
    assert_eq!(
        env.db()
            .products()
            .get("Thunderbird")
            .await
            .unwrap()
            .unwrap()
            .sort,
        5
    );
    let err = job
        .run(&ctx(env.db(), None, at(1, 0, 0)), at(1, 0, 0))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "BadResponse");
    assert_eq!(env.db().products().list().await.unwrap().len(), 6);
    let missing = ProductVersions::new(Source::parse("/nonexistent/details")).unwrap();
    assert!(
        missing
            .run(&ctx(env.db(), None, at(1, 0, 0)), at(1, 0, 0))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn storage_retention_deletes_only_expired_crashes() {
    let env = Env::new().await;
    let run_for = Utc.with_ymd_and_hms(2024, 6, 1, 2, 0, 0).unwrap();
    let day = |back: i64| (run_for - TimeDelta::days(back)).date_naive();
    let mut ids = Vec::new();
    for back in [100, 95, 91, 90, 89, 10] {
        let id = CrashId::generate(crash_storage::ThrottleDigit::Accept, day(back));
        env.save(&id, Some(&serde_json::json!({"uuid": id.as_str()})))
            .await;
        ids.push((back, id));
    }
    let job = StorageRetention::new(env.storage.clone(), 90, 30);
    job.run(&ctx(env.db(), None, run_for), run_for)
        .await
        .unwrap();
    for (back, id) in &ids {
        let exists = env.storage.raw_crash_exists(id).await.unwrap();
        let processed = env.storage.processed_crash_exists(id).await.unwrap();
        assert_eq!(exists, *back <= 90, "crash {back} days old");
        assert_eq!(processed, *back <= 90, "processed crash {back} days old");
    }
}

struct FakeIndex {
    partitions: Mutex<Vec<(String, NaiveDate)>>,
    cutoffs: Mutex<Vec<DateTime<Utc>>>,
}

#[async_trait]
impl IndexRetention for FakeIndex {
    async fn drop_partitions_before(&self, cutoff: DateTime<Utc>) -> Result<Vec<String>, BoxError> {
        self.cutoffs.lock().unwrap().push(cutoff);
        let mut parts = self.partitions.lock().unwrap();
        let (old, keep): (Vec<_>, Vec<_>) = parts
            .drain(..)
            .partition(|(_, end)| *end < cutoff.date_naive());
        *parts = keep;
        Ok(old.into_iter().map(|(n, _)| n).collect())
    }
}

#[tokio::test]
async fn search_index_cleanup_drops_partitions_older_than_retention() {
    let env = Env::new().await;
    let week = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let index = Arc::new(FakeIndex {
        partitions: Mutex::new(vec![
            ("socorro202330".into(), week(2023, 7, 30)),
            ("socorro202352".into(), week(2023, 12, 31)),
            ("socorro202410".into(), week(2024, 3, 10)),
        ]),
        cutoffs: Mutex::default(),
    });
    let clock = TestClock::new(Utc.with_ymd_and_hms(2024, 3, 4, 6, 1, 0).unwrap());
    let schedule = Schedule {
        frequency: Frequency::days(7),
        time: crontabber::TimeOfDay::new(6, 0),
        backfill: false,
    };
    let tabber = env.tabber(
        vec![ScheduledJob::new(
            Arc::new(SearchIndexCleanup::new(index.clone(), 182)),
            schedule,
        )],
        &clock,
    );
    let reports = tabber.run_due().await;
    assert!(matches!(reports[0].outcome, Outcome::Ran(_)), "{reports:?}");
    assert_eq!(
        index.cutoffs.lock().unwrap().clone(),
        vec![Utc.with_ymd_and_hms(2023, 9, 4, 6, 1, 0).unwrap()]
    );
    let left: Vec<String> = index
        .partitions
        .lock()
        .unwrap()
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(left, ["socorro202352", "socorro202410"]);
    let state = env
        .db()
        .cron_jobs()
        .get("search-index-cleanup")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        state.next_run,
        Some(Utc.with_ymd_and_hms(2024, 3, 11, 6, 0, 0).unwrap())
    );
}

#[tokio::test]
async fn cleanse_cron_log_keeps_recent_rows() {
    let env = Env::new().await;
    let now = at(20, 5, 0);
    for days_ago in [400, 181, 179, 1] {
        env.db()
            .cron_log()
            .insert(&db::cron_log::NewCronLog {
                app_name: "x",
                log_time: now - TimeDelta::days(days_ago),
                duration: 1.0,
                success: Some(now),
                exc_type: None,
                exc_value: None,
                exc_traceback: None,
            })
            .await
            .unwrap();
    }
    CleanseCronLog::new(180)
        .run(&ctx(env.db(), None, now), now)
        .await
        .unwrap();
    assert_eq!(
        env.db().cron_log().list(Some("x"), 10).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn jobs_from_config() {
    let env = Env::new().await;
    let backends = Backends {
        db: env.db().clone(),
        storage: env.storage.clone(),
        queue: env.queue.clone(),
        index: None,
        metrics: None,
    };
    let names = |t: &Crontabber| {
        t.jobs()
            .iter()
            .map(|j| j.name().to_owned())
            .collect::<Vec<_>>()
    };
    let t = Crontabber::from_config(&CronConfig::default(), &backends).unwrap();
    assert_eq!(
        names(&t),
        [
            "cleanse-cron-log",
            "update-signatures",
            "verify-processed",
            "update-missing"
        ]
    );

    let cfg: crontabber::CrontabberConfig = service::config::load_config_from(
        [
            ("SOCORRO_CRON__JOBS__BUG_ASSOCIATIONS__ENABLED", "true"),
            (
                "SOCORRO_CRON__JOBS__UPDATE_SIGNATURES__DEPENDS_ON",
                "product-versions",
            ),
            ("SOCORRO_CRON__PRODUCT_DETAILS", "/nonexistent"),
            ("SOCORRO_CRON__STORAGE_RETENTION_DAYS", "90"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap();
    let index: Arc<dyn IndexRetention> = Arc::new(FakeIndex {
        partitions: Mutex::default(),
        cutoffs: Mutex::default(),
    });
    let backends = Backends {
        index: Some(index),
        metrics: Some(crontabber::CronMetrics::new().unwrap()),
        ..backends
    };
    let t = Crontabber::from_config(&cfg.cron, &backends).unwrap();
    assert_eq!(
        names(&t),
        [
            "cleanse-cron-log",
            "bug-associations",
            "search-index-cleanup",
            "verify-processed",
            "update-missing",
            "product-versions",
            "update-signatures",
            "storage-retention",
        ]
    );
    // A child of a job that is off cannot be scheduled.
    let cfg: crontabber::CrontabberConfig = service::config::load_config_from(
        [(
            "SOCORRO_CRON__JOBS__UPDATE_SIGNATURES__DEPENDS_ON",
            "product-versions",
        )]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap();
    let err = Crontabber::from_config(&cfg.cron, &backends).unwrap_err();
    assert!(err.to_string().contains("product-versions"), "{err}");
}

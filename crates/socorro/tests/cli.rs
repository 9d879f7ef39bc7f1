//! The `socorro` binary end to end: `socorro run` on a temp data dir, a real
//! `curl -F` submission, `socorro submit`, `socorro crash show`, and bad
//! configuration failing at start with the variable's name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_socorro");

fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ))
    .join(rel)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn socorro(data_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("SOCORRO_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn");
    cmd
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(data_dir: &Path, port: u16) -> Running {
    start_with(data_dir, port, &["run"])
}

fn start_with(data_dir: &Path, port: u16, args: &[&str]) -> Running {
    let child = socorro(data_dir, args)
        .env("SOCORRO_COLLECTOR__LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "SOCORRO_WEBAPP__LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Owned by the guard at once, so a failing test still reaps it.
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return running;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("socorro run did not listen on {port}");
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn crash_id(answer: &str) -> String {
    let id = answer
        .trim()
        .strip_prefix("CrashID=bp-")
        .unwrap_or_else(|| panic!("not a CrashID: {answer:?}"));
    assert_eq!(id.len(), 36);
    id.to_owned()
}

#[test]
fn curl_submission_is_stored_with_socorro_keys_and_queued() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Without a processor, so the queued id stays there to be seen (a
    // processor in the same process is woken by the publish at once).
    let _server = start_with(dir.path(), port, &["run", "--only", "collector"]);
    let dump = testdata("rust-minidump/testdata/linux-mini.dmp");
    let out = Command::new("curl")
        .args(["-sS", "-F", "ProductName=Firefox", "-F", "Version=120.0"])
        .arg("-F")
        .arg(format!("upload_file_minidump=@{}", dump.display()))
        .arg(format!("http://127.0.0.1:{port}/submit"))
        .output()
        .expect("curl is installed");
    let id = crash_id(&stdout(&out));
    let day = format!("20{}", &id[30..]);
    let crashes = dir.path().join("crashes/v1");
    assert!(crashes.join(format!("raw_crash/{day}/{id}")).is_file());
    assert_eq!(
        std::fs::read(crashes.join(format!("dump/{id}"))).unwrap(),
        std::fs::read(&dump).unwrap()
    );
    assert!(crashes.join(format!("dump_names/{id}")).is_file());

    // Queued in `standard`.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let queued: Vec<String> = rt.block_on(async {
        use crash_queue::CrashQueue;
        let q = crash_queue::SqliteQueue::open(&dir.path().join("queue.sqlite"))
            .await
            .unwrap();
        let msgs = q
            .pull(
                crash_queue::QueueName::Standard,
                100,
                Duration::from_millis(1),
            )
            .await
            .unwrap();
        msgs.into_iter().map(|m| m.data).collect()
    });
    assert_eq!(queued, vec![id.clone()]);

    // `socorro crash show` prints it.
    let shown = stdout(
        &socorro(dir.path(), &["crash", "show", &format!("bp-{id}")])
            .output()
            .unwrap(),
    );
    let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(v["raw_crash"]["ProductName"], "Firefox");
    assert_eq!(
        v["dumps"]["upload_file_minidump"]["size"],
        std::fs::metadata(&dump).unwrap().len()
    );
    assert!(v["processed_crash"].is_null());
}

#[test]
fn socorro_submit_posts_like_breakpad() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = start(dir.path(), port);
    let extra = dir.path().join("extra.json");
    std::fs::write(
        &extra,
        r#"{"ProductName": "MyApp", "Version": "2.0", "ReleaseChannel": "beta"}"#,
    )
    .unwrap();
    let dump = testdata("rust-minidump/testdata/linux-mini.dmp");
    let url = format!("http://127.0.0.1:{port}/submit");
    let out = socorro(
        dir.path(),
        &[
            "submit",
            "--url",
            &url,
            "--gzip",
            "-a",
            "BuildID=20261125000000",
        ],
    )
    .arg("--extra")
    .arg(&extra)
    .arg("--dump")
    .arg(&dump)
    .output()
    .unwrap();
    let id = crash_id(&stdout(&out));
    let shown = stdout(
        &socorro(dir.path(), &["crash", "show", &id])
            .output()
            .unwrap(),
    );
    let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let raw = &v["raw_crash"];
    assert_eq!(raw["ProductName"], "MyApp");
    assert_eq!(raw["BuildID"], "20261125000000");
    assert_eq!(raw["metadata"]["payload"], "json");
    assert_eq!(raw["metadata"]["payload_compressed"], "1");
    assert_eq!(
        raw["metadata"]["collector_notes"],
        serde_json::json!(["includes annotations in both json-encoded extra and formdata parts"])
    );

    // A refused submission makes `socorro submit` fail.
    let out = socorro(dir.path(), &["submit", "--url", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Discarded=malformed_no_annotations"
    );
}

#[test]
fn unknown_crash_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = socorro(
        dir.path(),
        &["crash", "show", "de1bb258-cbbf-4589-a673-34f800160918"],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    let out = socorro(dir.path(), &["crash", "show", "nonsense"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a crash id"));
}

#[test]
fn bad_configuration_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("SOCORRO_COLLECTOR__LISTEN", "not-an-address"),
        ("SOCORRO_COLLECTOR__MAX_BODY_BYTES", "lots"),
        ("SOCORRO_STORAGE__BACKEND", "floppy"),
        ("SOCORRO_QUEUE__BACKEND", "carrier-pigeon"),
        ("SOCORRO_COLLECTOR__THROTTLER__RULESET", "strict"),
    ] {
        let out = socorro(dir.path(), &["run"])
            .env(var, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}={value} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(var),
            "{var}={value}: error does not name it: {err}"
        );
    }
    let out = socorro(dir.path(), &["run", "--only", "nothing"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown service"));
}

#[test]
fn db_users_and_tokens_commands_are_wired() {
    let dir = tempfile::tempdir().unwrap();
    let status = stdout(&socorro(dir.path(), &["db", "status"]).output().unwrap());
    assert!(status.contains("pending"), "{status}");
    let migrated = stdout(&socorro(dir.path(), &["db", "migrate"]).output().unwrap());
    assert!(migrated.contains("applied"), "{migrated}");
    let out = socorro(dir.path(), &["db", "status", "--check"])
        .output()
        .unwrap();
    assert!(out.status.success());

    let mut child = socorro(
        dir.path(),
        &[
            "users",
            "create",
            "alice",
            "--group",
            "Hackers",
            "--password-stdin",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery\n")
        .unwrap();
    stdout(&child.wait_with_output().unwrap());
    let users = stdout(&socorro(dir.path(), &["users", "list"]).output().unwrap());
    assert!(
        users.contains("alice") && users.contains("Hackers"),
        "{users}"
    );

    let token = stdout(
        &socorro(
            dir.path(),
            &["tokens", "create", "alice", "--permission", "view_pii"],
        )
        .output()
        .unwrap(),
    );
    let first = token.lines().next().unwrap().trim();
    assert_eq!(first.len(), 32, "{token}");
    let listed = stdout(&socorro(dir.path(), &["tokens", "list"]).output().unwrap());
    assert!(
        listed.contains("view_pii") && !listed.contains(first),
        "token listed in full: {listed}"
    );
    // A permission alice does not have is refused.
    let out = socorro(
        dir.path(),
        &[
            "tokens",
            "create",
            "alice",
            "--permission",
            "upload_symbols",
        ],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
}

#[test]
fn signature_reads_files_stdin_and_stored_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let processed = serde_json::json!({
        "uuid": "de1bb258-cbbf-4589-a673-34f800160918",
        "signature": "old",
        "crashing_thread": 0,
        "json_dump": {"threads": [{"frames": [
            {"frame": 0, "function": "abort", "module": "libc.so.6"},
            {"frame": 1, "function": "MyApp::Crash()", "module": "myapp"},
            {"frame": 2, "function": "main", "module": "myapp"}
        ]}]}
    });
    let id: crash_storage::CrashId = "de1bb258-cbbf-4589-a673-34f800160918".parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use crash_storage::CrashStorage;
        let store = crash_storage::FsObjectStore::open(dir.path().join("crashes")).unwrap();
        let storage = crash_storage::KeyedCrashStorage::new(std::sync::Arc::new(store));
        storage.save_processed_crash(&id, &processed).await.unwrap();
    });
    let out = stdout(
        &socorro(
            dir.path(),
            &["signature", "--format", "json", "--crash-id", id.as_str()],
        )
        .output()
        .unwrap(),
    );
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["original_signature"], "old");
    let sig = v["signature"].as_str().unwrap();
    assert!(sig.contains("MyApp::Crash"), "{sig}");

    let file = dir.path().join("pc.json");
    std::fs::write(&file, processed.to_string()).unwrap();
    let from_file = stdout(
        &socorro(dir.path(), &["signature", "--format", "json"])
            .arg(&file)
            .output()
            .unwrap(),
    );
    let v2: serde_json::Value = serde_json::from_str(from_file.lines().next().unwrap()).unwrap();
    assert_eq!(v2["signature"], v["signature"]);

    let out = socorro(
        dir.path(),
        &[
            "signature",
            "--crash-id",
            "de1bb258-cbbf-4589-a673-34f800160919",
        ],
    )
    .output()
    .unwrap();
    assert!(!out.status.success(), "a missing crash must fail");
}

#[test]
fn run_processes_submitted_crashes_and_cli_reaches_processor_and_cron() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = start(dir.path(), port);
    let dump = testdata("rust-minidump/testdata/linux-mini.dmp");
    let out = Command::new("curl")
        .args(["-sS", "-F", "ProductName=MyApp", "-F", "Version=1.0"])
        .arg("-F")
        .arg(format!("upload_file_minidump=@{}", dump.display()))
        .arg(format!("http://127.0.0.1:{port}/submit"))
        .output()
        .unwrap();
    let id = crash_id(&stdout(&out));
    let processed = dir.path().join(format!("crashes/v1/processed_crash/{id}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !processed.is_file() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&processed).expect("crash processed within 30 s"))
            .unwrap();
    assert_eq!(v["uuid"], id.as_str());
    assert_eq!(v["product"], "MyApp");
    assert_eq!(v["os_name"], "Linux");
    assert!(!v["signature"].as_str().unwrap().is_empty());
    assert!(
        v["json_dump"]["threads"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    drop(server);

    // The same dump through `socorro process --dump` (no storage involved).
    let out = socorro(dir.path(), &["process", "--dump"])
        .arg(&dump)
        .output()
        .unwrap();
    let once: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(once["signature"], v["signature"]);

    // Reprocessing queues the id; cron jobs are listed.
    let out = stdout(&socorro(dir.path(), &["reprocess", &id]).output().unwrap());
    assert!(out.contains("published 1"), "{out}");
    let out = socorro(dir.path(), &["reprocess", "not-a-crash-id"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let jobs = stdout(&socorro(dir.path(), &["cron", "list"]).output().unwrap());
    assert!(
        jobs.contains("verify-processed") && jobs.contains("update-signatures"),
        "{jobs}"
    );
}

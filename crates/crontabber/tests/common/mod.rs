//! Shared test helpers: a controllable clock, scriptable jobs, backends in a
//! temp dir, and a tiny HTTP server that serves canned responses.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use crontabber::{Clock, Job, JobContext, JobError};

/// A clock the test moves.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    pub fn new(t: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(t)))
    }
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
    pub fn clock(&self) -> Clock {
        let inner = self.0.clone();
        Arc::new(move || *inner.lock().unwrap())
    }
}

pub fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, d, h, m, 0).unwrap()
}

/// One recorded run: `(run_for, last_success)`.
pub type Run = (DateTime<Utc>, Option<DateTime<Utc>>);

/// What a [`ScriptedJob`] does on a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Succeed,
    Fail,
    Panic,
    Sleep(Duration),
}

/// A job that records each `run_for` (and `last_success`) and behaves as told.
#[derive(Clone)]
pub struct ScriptedJob {
    name: String,
    behaviour: Arc<Mutex<Behaviour>>,
    /// Fail when `run_for` equals this.
    fail_at: Arc<Mutex<Option<DateTime<Utc>>>>,
    pub runs: Arc<Mutex<Vec<Run>>>,
}

impl ScriptedJob {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            behaviour: Arc::new(Mutex::new(Behaviour::Succeed)),
            fail_at: Arc::new(Mutex::new(None)),
            runs: Arc::default(),
        }
    }
    pub fn set(&self, b: Behaviour) {
        *self.behaviour.lock().unwrap() = b;
    }
    pub fn fail_at(&self, t: Option<DateTime<Utc>>) {
        *self.fail_at.lock().unwrap() = t;
    }
    pub fn run_times(&self) -> Vec<DateTime<Utc>> {
        self.runs.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }
    pub fn take(&self) -> Vec<DateTime<Utc>> {
        let out = self.run_times();
        self.runs.lock().unwrap().clear();
        out
    }
}

#[async_trait]
impl Job for ScriptedJob {
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self, ctx: &JobContext, run_for: DateTime<Utc>) -> Result<(), JobError> {
        self.runs.lock().unwrap().push((run_for, ctx.last_success));
        if *self.fail_at.lock().unwrap() == Some(run_for) {
            return Err(JobError::Invalid(format!("scripted failure at {run_for}")));
        }
        let b = *self.behaviour.lock().unwrap();
        match b {
            Behaviour::Succeed => Ok(()),
            Behaviour::Fail => Err(JobError::Other("scripted failure".into())),
            Behaviour::Panic => panic!("scripted panic"),
            Behaviour::Sleep(d) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
        }
    }
}

/// One canned HTTP response.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Canned {
    pub fn json(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            content_type: "application/json",
            body: body.into(),
        }
    }
}

/// A plain-HTTP server on 127.0.0.1 answering each request with the next
/// canned response (the last one repeats), recording request targets.
pub struct TestServer {
    pub base_url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
    responses: Arc<Mutex<VecDeque<Canned>>>,
}

impl TestServer {
    pub fn start(responses: Vec<Canned>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let responses = Arc::new(Mutex::new(VecDeque::from(responses)));
        let (reqs, resps) = (requests.clone(), responses.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf);
                let target = head
                    .lines()
                    .next()
                    .and_then(|l| l.split_whitespace().nth(1))
                    .unwrap_or("")
                    .to_owned();
                reqs.lock().unwrap().push(target);
                let canned = {
                    let mut r = resps.lock().unwrap();
                    if r.len() > 1 {
                        r.pop_front().unwrap()
                    } else {
                        r.front().cloned().unwrap()
                    }
                };
                let head = format!(
                    "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    canned.status,
                    canned.content_type,
                    canned.body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&canned.body);
                let _ = stream.flush();
            }
        });
        Self {
            base_url: format!("http://{addr}"),
            requests,
            responses,
        }
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// A `JobContext` for calling a job directly.
pub fn ctx(db: &db::Db, last_success: Option<DateTime<Utc>>, now: DateTime<Utc>) -> JobContext {
    JobContext {
        db: db.clone(),
        last_success,
        interval: chrono::TimeDelta::hours(1),
        now,
    }
}

//! Google Pub/Sub backend (feature `pubsub`), on Google's official
//! `google-cloud-pubsub` client: its `Publisher` to publish, its `Subscriber`
//! (StreamingPull with automatic lease renewal) to receive.
//!
//! # How the trait maps onto Pub/Sub
//!
//! The client's public API hands out each received message with a
//! `Handler` that can only `ack()` or `nack()` (nack = redeliver now). It
//! renews the server-side ack deadline of every message it holds
//! (`ModifyAckDeadline` to [`PubSubQueueConfig::ack_deadline_secs`], every few
//! seconds) until it is acked or nacked; ack ids and per-message deadlines are
//! not exposed (the crate's generated data-plane clients are private). So the
//! trait's leases are kept here, in this process:
//!
//! - Per queue, one background StreamingPull session, started by the first
//!   `pull` of that queue (so a process that only publishes never takes
//!   messages). It fills a buffer of at most [`BUFFER_CAPACITY`] messages and
//!   stops reading the stream while the buffer is full (with flow control
//!   [`MAX_OUTSTANDING`] asked of the server).
//! - `pull(queue, max, lease)` takes up to `max` messages from that buffer at
//!   once (possibly none) and leases them locally until `now + lease`. The
//!   handle is `<instance>-<sequence>`: opaque, valid in this queue object only.
//! - `ack` acks through the handler; `extend` moves the local deadline;
//!   `nack(0)` nacks; `nack(delay)` keeps the message (the client keeps
//!   renewing it) and nacks it when `delay` is over.
//! - A reaper task nacks every message whose local lease expired, so it is
//!   redelivered (possibly to another consumer) right after its lease. A
//!   later `ack`, `nack` or `extend` of that handle is [`QueueError::LeaseLost`]
//!   and sends nothing. Messages left in the buffer longer than [`BUFFER_TTL`]
//!   are nacked too, so an idle or busy consumer does not hide them from
//!   others for long.
//! - If the process dies, the server redelivers its messages once their ack
//!   deadline (at most `ack_deadline_secs` after the last renewal) is over.
//!   During a network partition longer than that, the server may redeliver a
//!   message this process still believes it holds: at-least-once, as always
//!   with Pub/Sub.
//!
//! Acks are sent in the background (batched every 100 ms by the client) and
//! not confirmed; a lost ack means a redelivery. `depth` is unknown (`None`):
//! the backlog is a Cloud Monitoring metric, not an API call. Delivery
//! attempts are known only with a dead-letter policy on the subscription
//! (else 0). Order within a queue is best effort.
//!
//! # Errors and health
//!
//! The client retries a broken StreamingPull by itself and does not report
//! it, so when a `pull` finds the buffer empty it checks that the endpoint
//! accepts TCP connections (at most every [`PROBE_INTERVAL`]); if not, the
//! pull fails with [`QueueError::Transient`], and once the endpoint is back
//! the session is restarted at once (rather than after the client's backoff,
//! up to 60 s). A publish retries transient errors for
//! `publish_timeout_secs`, then fails with [`QueueError::Transient`]. A
//! missing topic or subscription (`NotFound`) is [`QueueError::Permanent`]
//! naming it and its variable; a pull session that failed so is started
//! again by the next pull.
//!
//! `check_health` connects to the endpoint and reports the last permanent
//! error of a pull session. It cannot prove that the topics and
//! subscriptions exist: the only side-effect-free calls for that
//! (`GetTopic`, `GetSubscription`) need `roles/pubsub.viewer`, which
//! Socorro's processor and webapp do not have, and the crate's admin clients
//! speak REST, which the emulator does not serve.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use google_cloud_gax::error::rpc::Code;
use google_cloud_gax::retry_policy::RetryPolicyExt;
use google_cloud_pubsub::client::{BasePublisher, Publisher, Subscriber};
use google_cloud_pubsub::subscriber::handler::Handler;
use google_cloud_pubsub::subscriber::{MessageStream, ShutdownBehavior};
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::config::{ENV_PREFIX, PubSubQueueConfig};
use crate::error::BoxError;
use crate::{CrashQueue, Lease, Message, QueueError, QueueName};

/// Messages one pull session buffers before it stops reading its stream.
pub const BUFFER_CAPACITY: usize = 32;

/// Flow control asked of the server per session: messages received and not
/// yet acked or nacked (buffered or leased).
pub const MAX_OUTSTANDING: i64 = 128;

/// How long a message may wait in a session's buffer before it is given back.
pub const BUFFER_TTL: Duration = Duration::from_secs(10);

/// The longest the client library keeps renewing one message, whatever the
/// local lease says (its safety net against a leaked handler).
pub const MAX_HOLD: Duration = Duration::from_secs(12 * 3600);

/// How long a TCP probe result of the endpoint is reused.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// How long a TCP probe of the endpoint may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest the reaper sleeps (buffer expiries are checked this often).
const REAPER_MAX_SLEEP: Duration = Duration::from_secs(1);

const DEFAULT_ENDPOINT: &str = "https://pubsub.googleapis.com";

/// A message of one of [`PubSubQueue`]'s sessions, waiting to be pulled.
struct Buffered {
    message: google_cloud_pubsub::model::Message,
    handler: Handler,
    received: Instant,
}

/// A message handed out by `pull`, under a local lease.
struct Held {
    queue: QueueName,
    handler: Handler,
    deadline: Instant,
}

/// Why a pull session stopped, reported by the next pull.
struct SessionFailure {
    transient: bool,
    context: String,
    source: BoxError,
}

impl SessionFailure {
    fn into_error(self) -> QueueError {
        to_queue_error(self.transient, self.context, self.source)
    }

    fn to_error(&self) -> QueueError {
        let source: BoxError = self.source.to_string().into();
        to_queue_error(self.transient, self.context.clone(), source)
    }
}

/// One queue's StreamingPull session: a task reading the stream into `buffer`.
struct Session {
    generation: u64,
    buffer: VecDeque<Buffered>,
    /// Signalled when the buffer has room again.
    room: Arc<Notify>,
    failure: Option<SessionFailure>,
    /// Set when a probe found the endpoint down: restart once it is back.
    restart_when_reachable: bool,
    task: AbortHandle,
}

impl Drop for Session {
    fn drop(&mut self) {
        // Dropping the stream shuts the client's lease loop down; handed-out
        // handlers stay valid. Buffered handlers are dropped = nacked.
        self.task.abort();
    }
}

#[derive(Default)]
struct State {
    sessions: [Option<Session>; 3],
    leased: HashMap<u64, Held>,
    /// `nack(delay)`: handlers to nack at the instant.
    parked: Vec<(Instant, Handler)>,
    next_generation: u64,
}

struct Probe {
    at: Instant,
    result: Result<(), String>,
}

struct Inner {
    cfg: PubSubQueueConfig,
    endpoint: String,
    /// `host:port` of the endpoint, for the TCP probe.
    authority: (String, u16),
    /// Full paths: `projects/<p>/topics/<t>`, `projects/<p>/subscriptions/<s>`.
    topics: [String; 3],
    subscriptions: [String; 3],
    publishers: [Publisher; 3],
    subscriber: Subscriber,
    instance: u64,
    next_sequence: AtomicU64,
    state: Mutex<State>,
    reaper_wake: Arc<Notify>,
    reaper: Mutex<Option<AbortHandle>>,
    probe: Mutex<Option<Probe>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.reaper).take() {
            task.abort();
        }
    }
}

/// The queues on Google Pub/Sub (or its emulator). See the module docs.
pub struct PubSubQueue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PubSubQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSubQueue")
            .field("describe", &self.describe())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn index(queue: QueueName) -> usize {
    match queue {
        QueueName::Standard => 0,
        QueueName::Priority => 1,
        QueueName::Reprocessing => 2,
    }
}

/// `(host, port)` of an `http(s)://host[:port][/...]` URL.
fn authority(endpoint: &str) -> Result<(String, u16), String> {
    let (rest, default_port) = if let Some(r) = endpoint.strip_prefix("http://") {
        (r, 80)
    } else if let Some(r) = endpoint.strip_prefix("https://") {
        (r, 443)
    } else {
        return Err(format!("{endpoint:?} is not an http:// or https:// URL"));
    };
    let hostport = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("bad IPv6 address in {endpoint:?}"))?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in {endpoint:?}"));
    }
    let port = match port {
        Some(p) => p
            .parse()
            .map_err(|_| format!("bad port {p:?} in {endpoint:?}"))?,
        None => default_port,
    };
    Ok((host.to_owned(), port))
}

fn variable(queue: QueueName, subscription: bool) -> String {
    let (topic_var, subscription_var) = PubSubQueueConfig::variables(queue);
    let var = if subscription {
        subscription_var
    } else {
        topic_var
    };
    format!("{ENV_PREFIX}__{var}")
}

/// Classify an error of the client library.
fn classify(
    e: &google_cloud_pubsub::Error,
    context: impl FnOnce(Option<Code>) -> String,
) -> (bool, String) {
    let code = e.status().map(|s| s.code);
    let transient = match code {
        Some(
            Code::NotFound
            | Code::PermissionDenied
            | Code::Unauthenticated
            | Code::InvalidArgument
            | Code::FailedPrecondition
            | Code::AlreadyExists
            | Code::OutOfRange
            | Code::Unimplemented,
        ) => false,
        Some(_) => true,
        // No status: connection and I/O problems, timeouts, retries
        // exhausted are worth retrying; credentials and malformed requests
        // are not.
        None => !(e.is_authentication() || e.is_serialization() || e.is_deserialization()),
    };
    (transient, context(code))
}

fn to_queue_error(transient: bool, context: String, source: BoxError) -> QueueError {
    if transient {
        QueueError::transient(context, source)
    } else {
        QueueError::permanent(context, source)
    }
}

fn build_error(
    what: &str,
    anonymous: bool,
    e: impl std::error::Error + Send + Sync + 'static,
) -> QueueError {
    let hint = if anonymous {
        String::new()
    } else {
        format!(
            " (Application Default Credentials: set GOOGLE_APPLICATION_CREDENTIALS, or {ENV_PREFIX}__PUBSUB__ANONYMOUS=true for an emulator)"
        )
    };
    QueueError::permanent(format!("building the Pub/Sub {what} client{hint}"), e)
}

impl PubSubQueue {
    /// Build the clients for `cfg` (validated first). Contacts nothing: a
    /// wrong endpoint or a missing topic shows on first use or in
    /// [`CrashQueue::check_health`]. Must run inside a Tokio runtime.
    pub async fn connect(cfg: &PubSubQueueConfig) -> Result<Self, QueueError> {
        cfg.validate_with_prefix(ENV_PREFIX)?;
        let endpoint = cfg
            .endpoint
            .clone()
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        let authority = authority(&endpoint).map_err(|m| {
            QueueError::permanent(
                format!("{ENV_PREFIX}__PUBSUB__ENDPOINT is not usable"),
                BoxError::from(m),
            )
        })?;
        if endpoint.starts_with("https://") {
            // TLS (tonic) and token requests (reqwest) need a process-wide
            // rustls provider; ring is the one the workspace builds. Someone
            // may have installed one already: that one is kept.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let anonymous = cfg.is_anonymous();
        let project = &cfg.project_id;
        let topics =
            QueueName::ALL.map(|q| format!("projects/{project}/topics/{}", cfg.names(q).0));
        let subscriptions =
            QueueName::ALL.map(|q| format!("projects/{project}/subscriptions/{}", cfg.names(q).1));

        let retry = google_cloud_pubsub::retry_policy::RetryableErrors
            .with_time_limit(Duration::from_secs(cfg.publish_timeout_secs));
        let mut publisher = BasePublisher::builder()
            .with_endpoint(endpoint.clone())
            .with_retry_policy(retry);
        let mut subscriber = Subscriber::builder().with_endpoint(endpoint.clone());
        if anonymous {
            let anon = google_cloud_auth::credentials::anonymous::Builder::new().build();
            publisher = publisher.with_credentials(anon.clone());
            subscriber = subscriber.with_credentials(anon);
        }
        let publisher = publisher
            .build()
            .await
            .map_err(|e| build_error("publisher", anonymous, e))?;
        let subscriber = subscriber
            .build()
            .await
            .map_err(|e| build_error("subscriber", anonymous, e))?;
        let publishers = topics.clone().map(|t| publisher.publisher(t).build());

        let inner = Arc::new(Inner {
            cfg: cfg.clone(),
            endpoint,
            authority,
            topics,
            subscriptions,
            publishers,
            subscriber,
            instance: rand::random::<u64>() >> 16,
            next_sequence: AtomicU64::new(1),
            state: Mutex::new(State::default()),
            reaper_wake: Arc::new(Notify::new()),
            reaper: Mutex::new(None),
            probe: Mutex::new(None),
        });
        let reaper = tokio::spawn(run_reaper(
            Arc::downgrade(&inner),
            inner.reaper_wake.clone(),
        ));
        *lock(&inner.reaper) = Some(reaper.abort_handle());
        tracing::debug!(queue = %inner.describe(), anonymous, "pubsub queue ready");
        Ok(Self { inner })
    }
}

impl Inner {
    fn describe(&self) -> String {
        format!(
            "pubsub:{}/{},{},{}@{}",
            self.cfg.project_id,
            self.cfg.standard_topic,
            self.cfg.priority_topic,
            self.cfg.reprocessing_topic,
            self.endpoint
        )
    }

    fn handle(&self, sequence: u64) -> String {
        format!("{:012x}-{sequence}", self.instance)
    }

    /// The sequence of a handle this queue object issued, if it is one.
    fn sequence(&self, handle: &str) -> Option<u64> {
        let (instance, sequence) = handle.split_once('-')?;
        if u64::from_str_radix(instance, 16).ok()? != self.instance {
            return None;
        }
        sequence.parse().ok()
    }

    /// Start a pull session for `queue` (the caller stores it).
    fn start_session(self: &Arc<Self>, st: &mut State, queue: QueueName) -> Session {
        st.next_generation += 1;
        let generation = st.next_generation;
        let stream = self
            .subscriber
            .subscribe(self.subscriptions[index(queue)].clone())
            .set_max_lease(MAX_HOLD)
            .set_max_lease_extension(Duration::from_secs(self.cfg.ack_deadline_secs))
            .set_max_outstanding_messages(MAX_OUTSTANDING)
            .set_shutdown_behavior(ShutdownBehavior::WaitForProcessing)
            .build();
        let room = Arc::new(Notify::new());
        let task = tokio::spawn(run_session(
            Arc::downgrade(self),
            queue,
            generation,
            stream,
            room.clone(),
        ));
        tracing::debug!(queue = %queue, subscription = %self.subscriptions[index(queue)], generation, "pull session started");
        Session {
            generation,
            buffer: VecDeque::new(),
            room,
            failure: None,
            restart_when_reachable: false,
            task: task.abort_handle(),
        }
    }

    /// The session of `queue` if it is still `generation`.
    fn session_mut(st: &mut State, queue: QueueName, generation: u64) -> Option<&mut Session> {
        st.sessions[index(queue)]
            .as_mut()
            .filter(|s| s.generation == generation)
    }

    /// Is the endpoint accepting connections? Reuses a result younger than
    /// [`PROBE_INTERVAL`] unless `fresh`.
    async fn probe(&self, fresh: bool) -> Result<(), String> {
        if !fresh
            && let Some(p) = lock(&self.probe).as_ref()
            && p.at.elapsed() < PROBE_INTERVAL
        {
            return p.result.clone();
        }
        let (host, port) = &self.authority;
        let result = match tokio::time::timeout(
            PROBE_TIMEOUT,
            tokio::net::TcpStream::connect((host.as_str(), *port)),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("cannot connect to {}: {e}", self.endpoint)),
            Err(_) => Err(format!(
                "cannot connect to {} within {PROBE_TIMEOUT:?}",
                self.endpoint
            )),
        };
        *lock(&self.probe) = Some(Probe {
            at: Instant::now(),
            result: result.clone(),
        });
        result
    }

    /// Nack what is due, return when to look again.
    fn reap(&self) -> Instant {
        let now = Instant::now();
        let mut next = now + REAPER_MAX_SLEEP;
        let mut given_back: Vec<Handler> = Vec::new();
        {
            let mut st = lock(&self.state);
            let expired: Vec<u64> = st
                .leased
                .iter()
                .filter(|(_, h)| h.deadline <= now)
                .map(|(&seq, _)| seq)
                .collect();
            for seq in expired {
                if let Some(held) = st.leased.remove(&seq) {
                    tracing::debug!(queue = %held.queue, handle = %self.handle(seq), "lease expired; message given back");
                    given_back.push(held.handler);
                }
            }
            for held in st.leased.values() {
                next = next.min(held.deadline);
            }
            let parked = std::mem::take(&mut st.parked);
            for (due, handler) in parked {
                if due <= now {
                    given_back.push(handler);
                } else {
                    next = next.min(due);
                    st.parked.push((due, handler));
                }
            }
            for (slot, session) in st.sessions.iter_mut().enumerate() {
                let Some(session) = session.as_mut() else {
                    continue;
                };
                let before = session.buffer.len();
                while session
                    .buffer
                    .front()
                    .is_some_and(|b| b.received + BUFFER_TTL <= now)
                {
                    if let Some(b) = session.buffer.pop_front() {
                        given_back.push(b.handler);
                    }
                }
                if session.buffer.len() < before {
                    tracing::debug!(
                        subscription = %self.subscriptions[slot],
                        given_back = before - session.buffer.len(),
                        "buffered messages not pulled in time; given back"
                    );
                    session.room.notify_one();
                }
                if let Some(b) = session.buffer.front() {
                    next = next.min(b.received + BUFFER_TTL);
                }
            }
        }
        // Dropping a handler nacks its message (outside the lock).
        for handler in given_back {
            handler.nack();
        }
        next
    }

    /// Settle leases: `act` runs on each still-held one; the others are lost.
    fn settle(
        &self,
        leases: &[Lease],
        mut act: impl FnMut(&mut State, u64, Held, Instant),
    ) -> Result<(), QueueError> {
        let now = Instant::now();
        let mut lost = Vec::new();
        let mut expired = Vec::new();
        {
            let mut st = lock(&self.state);
            for lease in leases {
                let held = self
                    .sequence(&lease.handle)
                    .and_then(|seq| st.leased.remove(&seq).map(|h| (seq, h)));
                match held {
                    Some((seq, held)) if held.queue == lease.queue && held.deadline > now => {
                        act(&mut st, seq, held, now);
                    }
                    Some((seq, held)) if held.queue != lease.queue => {
                        st.leased.insert(seq, held);
                        lost.push(lease.handle.clone());
                    }
                    Some((_, held)) => {
                        // Expired, not reaped yet: give it back now.
                        expired.push(held.handler);
                        lost.push(lease.handle.clone());
                    }
                    None => lost.push(lease.handle.clone()),
                }
            }
        }
        for handler in expired {
            handler.nack();
        }
        if lost.is_empty() {
            Ok(())
        } else {
            Err(QueueError::LeaseLost(lost.join(", ")))
        }
    }
}

/// Read `queue`'s stream into its session buffer while there is room.
async fn run_session(
    inner: Weak<Inner>,
    queue: QueueName,
    generation: u64,
    mut stream: MessageStream,
    room: Arc<Notify>,
) {
    loop {
        loop {
            let notified = room.notified();
            {
                let Some(inner) = inner.upgrade() else { return };
                let mut st = lock(&inner.state);
                match Inner::session_mut(&mut st, queue, generation) {
                    None => return,
                    Some(s) if s.buffer.len() < BUFFER_CAPACITY => break,
                    Some(_) => {}
                }
            }
            notified.await;
        }
        let next = stream.next().await;
        let Some(inner) = inner.upgrade() else { return };
        let failure = match next {
            Some(Ok((message, handler))) => {
                let mut st = lock(&inner.state);
                match Inner::session_mut(&mut st, queue, generation) {
                    Some(s) => s.buffer.push_back(Buffered {
                        message,
                        handler,
                        received: Instant::now(),
                    }),
                    // Replaced meanwhile: the handler is dropped = nacked.
                    None => return,
                }
                continue;
            }
            Some(Err(e)) => {
                let subscription = &inner.subscriptions[index(queue)];
                let (transient, context) = classify(&e, |code| match code {
                    Some(Code::NotFound) => format!(
                        "subscription {subscription} does not exist ({}; create it, or name an existing one)",
                        variable(queue, true)
                    ),
                    Some(Code::PermissionDenied) => format!(
                        "pulling from {subscription} is not allowed (the identity needs roles/pubsub.subscriber on it)"
                    ),
                    _ => format!("pulling from {subscription}"),
                });
                SessionFailure {
                    transient,
                    context,
                    source: Box::new(e),
                }
            }
            None => SessionFailure {
                transient: true,
                context: format!("pulling from {}", inner.subscriptions[index(queue)]),
                source: "the message stream ended".into(),
            },
        };
        tracing::warn!(queue = %queue, error = %failure.context, source = %failure.source, "pull session stopped");
        let mut st = lock(&inner.state);
        if let Some(s) = Inner::session_mut(&mut st, queue, generation) {
            s.failure = Some(failure);
        }
        return;
    }
}

/// Give back expired leases, due delayed nacks and stale buffered messages.
async fn run_reaper(inner: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let notified = wake.notified();
        let next = match inner.upgrade() {
            Some(inner) => inner.reap(),
            None => return,
        };
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = notified => {}
        }
    }
}

fn published_at(message: &google_cloud_pubsub::model::Message) -> Option<DateTime<Utc>> {
    let t = message.publish_time.as_ref()?;
    DateTime::from_timestamp(t.seconds(), u32::try_from(t.nanos()).ok()?)
}

#[async_trait]
impl CrashQueue for PubSubQueue {
    async fn publish_raw(&self, queue: QueueName, data: Vec<String>) -> Result<(), QueueError> {
        if data.is_empty() {
            return Ok(());
        }
        let inner = &self.inner;
        let publisher = &inner.publishers[index(queue)];
        let pending: Vec<_> = data
            .into_iter()
            .map(|d| publisher.publish(google_cloud_pubsub::model::Message::new().set_data(d)))
            .collect();
        let count = pending.len();
        for published in pending {
            if let Err(e) = published.await {
                let topic = &inner.topics[index(queue)];
                let (transient, context) = match &e {
                    google_cloud_pubsub::error::PublishError::Rpc(rpc) => {
                        classify(rpc, |code| match code {
                            Some(Code::NotFound) => format!(
                                "topic {topic} does not exist ({}; create it, or name an existing one)",
                                variable(queue, false)
                            ),
                            Some(Code::PermissionDenied) => format!(
                                "publishing to {topic} is not allowed (the identity needs roles/pubsub.publisher on it)"
                            ),
                            _ => format!("publishing to {topic}"),
                        })
                    }
                    _ => (true, format!("publishing to {topic}")),
                };
                tracing::warn!(queue = %queue, topic = %topic, count, error = %e, "publish failed");
                return Err(to_queue_error(transient, context, Box::new(e)));
            }
        }
        Ok(())
    }

    async fn pull(
        &self,
        queue: QueueName,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Message>, QueueError> {
        let inner = &self.inner;
        let mut out = Vec::new();
        {
            let mut st = lock(&inner.state);
            let slot = index(queue);
            if let Some(failure) = st.sessions[slot].as_mut().and_then(|s| s.failure.take()) {
                // Reported once; the next pull starts a new session.
                st.sessions[slot] = None;
                return Err(failure.into_error());
            }
            if st.sessions[slot].is_none() {
                let session = inner.start_session(&mut st, queue);
                st.sessions[slot] = Some(session);
            }
            let now = Instant::now();
            let deadline = now + lease;
            let mut taken = Vec::new();
            if let Some(session) = st.sessions[slot].as_mut() {
                while taken.len() < max {
                    let Some(b) = session.buffer.pop_front() else {
                        break;
                    };
                    taken.push(b);
                }
                if !taken.is_empty() {
                    session.room.notify_one();
                }
            }
            for b in taken {
                let seq = inner.next_sequence.fetch_add(1, Ordering::Relaxed);
                let delivery_attempt = b
                    .handler
                    .delivery_attempt()
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(0);
                out.push(Message {
                    queue,
                    data: String::from_utf8_lossy(&b.message.data).into_owned(),
                    lease: Lease {
                        queue,
                        handle: inner.handle(seq),
                    },
                    delivery_attempt,
                    published_at: published_at(&b.message),
                });
                st.leased.insert(
                    seq,
                    Held {
                        queue,
                        handler: b.handler,
                        deadline,
                    },
                );
            }
        }
        if !out.is_empty() {
            inner.reaper_wake.notify_one();
            return Ok(out);
        }
        if max == 0 {
            return Ok(out);
        }
        // Nothing buffered: idle, or the stream is broken (which the client
        // library retries without telling). Tell them apart by the endpoint.
        let probe = inner.probe(false).await;
        let mut st = lock(&inner.state);
        let slot = index(queue);
        match probe {
            Err(reason) => {
                if let Some(s) = st.sessions[slot].as_mut() {
                    s.restart_when_reachable = true;
                }
                Err(QueueError::transient(
                    format!("pulling from {}", inner.subscriptions[slot]),
                    reason,
                ))
            }
            Ok(()) => {
                if st.sessions[slot]
                    .as_ref()
                    .is_some_and(|s| s.restart_when_reachable)
                {
                    tracing::info!(queue = %queue, endpoint = %inner.endpoint, "endpoint reachable again; restarting the pull session");
                    st.sessions[slot] = None;
                    let session = inner.start_session(&mut st, queue);
                    st.sessions[slot] = Some(session);
                }
                Ok(out)
            }
        }
    }

    async fn ack(&self, leases: &[Lease]) -> Result<(), QueueError> {
        let mut acked = Vec::new();
        let result = self.inner.settle(leases, |_, _, held, _| {
            acked.push(held.handler);
        });
        for handler in acked {
            handler.ack();
        }
        result
    }

    async fn nack(&self, leases: &[Lease], delay: Duration) -> Result<(), QueueError> {
        let mut now_nacked = Vec::new();
        let result = self.inner.settle(leases, |st, _, held, now| {
            if delay.is_zero() {
                now_nacked.push(held.handler);
            } else {
                // The client keeps renewing it meanwhile; the reaper nacks it.
                st.parked.push((now + delay, held.handler));
            }
        });
        for handler in now_nacked {
            handler.nack();
        }
        if !delay.is_zero() {
            self.inner.reaper_wake.notify_one();
        }
        result
    }

    async fn extend(&self, leases: &[Lease], lease: Duration) -> Result<(), QueueError> {
        self.inner.settle(leases, |st, seq, mut held, now| {
            held.deadline = now + lease;
            st.leased.insert(seq, held);
        })
    }

    async fn depth(&self, _queue: QueueName) -> Result<Option<u64>, QueueError> {
        Ok(None)
    }

    async fn check_health(&self) -> Result<(), QueueError> {
        let inner = &self.inner;
        inner.probe(true).await.map_err(|reason| {
            QueueError::transient(format!("checking Pub/Sub at {}", inner.endpoint), reason)
        })?;
        let st = lock(&inner.state);
        for session in st.sessions.iter().flatten() {
            if let Some(failure) = session.failure.as_ref().filter(|f| !f.transient) {
                return Err(failure.to_error());
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_of_endpoints() {
        assert_eq!(
            authority("http://127.0.0.1:8085").unwrap(),
            ("127.0.0.1".to_owned(), 8085)
        );
        assert_eq!(
            authority("https://pubsub.googleapis.com").unwrap(),
            ("pubsub.googleapis.com".to_owned(), 443)
        );
        assert_eq!(
            authority("http://[::1]:9/x").unwrap(),
            ("::1".to_owned(), 9)
        );
        assert_eq!(authority("http://h/").unwrap(), ("h".to_owned(), 80));
        assert!(authority("h:1").is_err());
        assert!(authority("http://:1").is_err());
        assert!(authority("http://h:x").is_err());
    }
}

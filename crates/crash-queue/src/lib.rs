//! The crash queue: crash ids waiting to be processed.
//!
//! Three named queues, as in Socorro: `standard` (the collector publishes
//! here), `priority` (a report page opened before processing) and
//! `reprocessing` (API, cron `verify-processed`, CLI). Delivery is
//! at-least-once: a pulled message is leased to one consumer; it is removed
//! only by [`CrashQueue::ack`], returned at once by [`CrashQueue::nack`], and
//! redelivered to someone else if its lease expires (consumer died).
//!
//! Backends: [`SqliteQueue`] (the embedded default) and, with the `pubsub`
//! feature (on by default), `PubSubQueue` on Google Pub/Sub. [`config::build`]
//! opens the configured one.

pub mod config;
pub mod error;
pub mod item;
#[cfg(feature = "pubsub")]
pub mod pubsub;
pub mod queue;
pub mod retrying;
pub mod sqlite;

#[cfg(feature = "testsuite")]
pub mod conformance;

pub use config::{PubSubQueueConfig, QueueBackend, QueueConfig, SqliteQueueConfig};
pub use error::QueueError;
pub use item::{QueueItem, QueueName};
#[cfg(feature = "pubsub")]
pub use pubsub::PubSubQueue;
pub use queue::{CrashQueue, Lease, Message, pull_in_order};
pub use retrying::Retrying;
pub use sqlite::SqliteQueue;
